"""apigw runtime adapter for Python handlers (standard library only).

apigw starts this file once per function binding and keeps it warm. It
imports the user's unchanged handler (handler: "index.handler" in dir) and
serves invocations over HTTP on 127.0.0.1:$APIGW_ADAPTER_PORT:

  GET  /healthz  200 once the handler module is imported
  POST /invoke   body: the event JSON; answers 200 with the handler's return
                 value as JSON, or 502 with {errorMessage, errorType,
                 stackTrace} and X-Function-Error: true when it raises

Like a Yandex Cloud Functions instance, it runs one invocation at a time, so
handlers may keep state in globals. The second handler argument carries the
context fields a YC handler reads (request_id, function_name,
function_version, memory_limit_in_mb, token, deadline_ms,
get_remaining_time_in_millis()).
"""

import asyncio
import importlib
import inspect
import json
import os
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Context:
    def __init__(self, headers):
        self.request_id = headers.get("X-Request-Id", "")
        self.aws_request_id = self.request_id
        self.function_name = headers.get("X-Apigw-Function-Id", "")
        self.function_version = headers.get("X-Apigw-Function-Version", "$latest")
        self.invoked_function_arn = self.function_name
        self.memory_limit_in_mb = int(headers.get("X-Apigw-Memory-Limit-Mb") or 128)
        self.deadline_ms = int(headers.get("X-Apigw-Deadline-Ms") or 0)
        token = headers.get("X-Apigw-Token")
        self.token = {"access_token": token, "expires_in": 3600, "token_type": "Bearer"} if token else None

    def get_remaining_time_in_millis(self):
        if not self.deadline_ms:
            return 300000
        return max(0, self.deadline_ms - int(time.time() * 1000))


def load_handler():
    spec = os.environ["APIGW_HANDLER"]
    module_name, _, func_name = spec.rpartition(".")
    directory = os.environ.get("APIGW_DIR") or "."
    sys.path.insert(0, os.path.abspath(directory))
    module = importlib.import_module(module_name)
    handler = getattr(module, func_name, None)
    if not callable(handler):
        raise AttributeError("module %r has no function %r" % (module_name, func_name))
    return handler


HANDLER = None
ONE_AT_A_TIME = threading.Lock()


def error_body(exc):
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


class Server(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY the second
    # waits for the gateway's delayed ACK, 40 ms per invocation.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # the gateway logs requests itself
        pass

    def send(self, status, obj, function_error=False):
        data = json.dumps(obj, default=vars, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if function_error:
            self.send_header("X-Function-Error", "true")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/healthz":
            self.send(200, {"status": "ok"})
        else:
            self.send(404, {"message": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            event = json.loads(raw) if raw else None
        except ValueError:
            event = raw.decode("utf-8", "replace")
        context = Context(self.headers)
        with ONE_AT_A_TIME:
            try:
                result = HANDLER(event, context)
                if inspect.isawaitable(result):
                    result = asyncio.run(result)
            except BaseException as exc:  # SystemExit too: report, keep serving
                traceback.print_exc()
                sys.stderr.flush()
                self.send(502, error_body(exc), function_error=True)
                return
        try:
            self.send(200, result)
        except (TypeError, ValueError) as exc:
            self.send(502, error_body(exc), function_error=True)


def main():
    global HANDLER
    try:
        HANDLER = load_handler()
    except ModuleNotFoundError as exc:
        # A package the handler needs is not installed: one line that says
        # what to run, not a traceback through importlib.
        handler_module = os.environ["APIGW_HANDLER"].rpartition(".")[0]
        if exc.name and exc.name.split(".")[0] != handler_module.split(".")[0]:
            directory = os.path.abspath(os.environ.get("APIGW_DIR") or ".")
            print("handler %s needs the Python package %s, which is not installed: pip install it (requirements.txt in %s, if there is one)"
                  % (os.environ["APIGW_HANDLER"], exc.name, directory), file=sys.stderr)
        else:
            traceback.print_exc()
        sys.exit(3)
    except BaseException:
        traceback.print_exc()
        sys.exit(3)
    port = int(os.environ["APIGW_ADAPTER_PORT"])
    ThreadingHTTPServer.request_queue_size = 128  # the default 5 drops connections under load
    server = ThreadingHTTPServer(("127.0.0.1", port), Server)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)
    main()
