"""A stand-in for a DataSphere node: it takes the node's input variables as a
JSON object by POST and answers its output variables as a JSON object. Here the
"model" is a small linear formula, so the answers are easy to check.

    PORT=8082 python3 examples/datasphere/node.py
"""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def predict(inputs):
    area = float(inputs.get("area", 0))
    rooms = int(inputs.get("rooms", 1))
    price = 1500 + 95.5 * area + 2000 * rooms
    return {"price": round(price, 2), "currency": "EUR", "model": "linear-v1"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            outputs, status = predict(json.loads(self.rfile.read(length))), 200
        except (ValueError, TypeError) as e:
            outputs, status = {"error": str(e)}, 422
        answer = json.dumps(outputs, sort_keys=True).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8082"))
    print(f"DataSphere node on http://127.0.0.1:{port}/predict", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
