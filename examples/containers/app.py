"""A stand-in for a Serverless Container: any HTTP server works. It answers
with what the gateway forwarded: method, path, query, Host, the client's
address in X-Forwarded-For, and the operation context from the spec.

    PORT=8081 python3 examples/containers/app.py
"""
import base64
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        ctx = self.headers.get("X-Yc-Apigateway-Operation-Context")
        answer = json.dumps({
            "container": "orders",
            "method": self.command,
            "path": self.path,
            "host": self.headers.get("Host"),
            "forwarded_for": self.headers.get("X-Forwarded-For"),
            "context": json.loads(base64.b64decode(ctx)) if ctx else None,
            "body": body,
        }, sort_keys=True).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8081"))
    print(f"container on http://127.0.0.1:{port}", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
