#!/usr/bin/env python3
"""Recording reverse proxy for the AIM wire-compatibility replay data (not used by CI).

Run it between an AIM SDK and an Aim server; it forwards every request unchanged and appends
{method, path, headers, body, status, response} as one JSON line per exchange to the output file.
The C# replay test (AimSdkReplayTests) reads the committed recording.

    python3 record_aim_sdk.py --listen 18081 --target http://127.0.0.1:18080 --out aim-python-sdk.jsonl
"""
import argparse
import http.client
import http.server
import json
import threading
import urllib.parse

# Headers the recording keeps (the SDK's own; transport headers are not part of the wire contract).
KEPT = {"content-type", "user-agent", "x-agent-id", "x-signature", "x-timestamp", "x-public-key", "x-aim-api-key", "x-sdk-token"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    target = urllib.parse.urlparse(args.target)
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            # Host is kept: the server answers registration with aim_url built from it, and the SDK then keeps using the proxy.
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "accept-encoding")}
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            connection.request(self.command, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            self.send_response(response.status)
            for k, v in response.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            record = {
                "method": self.command,
                "path": self.path,
                "headers": {k: v for k, v in self.headers.items() if k.lower() in KEPT},
                "body": body.decode("utf-8"),
                "status": response.status,
                "response": answer.decode("utf-8", "replace"),
            }
            with lock, open(args.out, "a", encoding="utf-8") as f:
                f.write(json.dumps(record, sort_keys=True) + "\n")

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

        def log_message(self, *a):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", args.listen), Handler).serve_forever()


if __name__ == "__main__":
    main()
