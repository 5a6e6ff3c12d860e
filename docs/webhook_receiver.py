"""A receiver of Baton's webhooks, stdlib only (README, "Webhooks"): run it with
`BATON_WEBHOOK_SECRET=… python docs/webhook_receiver.py 8080`. tests/test_webhooks.py runs it."""

import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ.get("BATON_WEBHOOK_SECRET", "")
seen: set[str] = set()  # event ids already handled: a retry is answered, not handled again


def verify(secret: str, header: str, body: bytes, now: float | None = None) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if not parts.get("t", "").isdigit() or abs((now or time.time()) - int(parts["t"])) > 300:
        return False  # no time, or older than 5 minutes: perhaps a replay
    signed = parts["t"].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))  # constant time


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        signed = verify(SECRET, self.headers.get("Baton-Signature", ""), body)
        event = json.loads(body) if signed else {}
        if signed and event["id"] not in seen:
            seen.add(event["id"])
            print(event["type"], event["incident"]["reference"], flush=True)  # your work here
        self.send_response(200 if signed else 401)
        self.end_headers()


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver).serve_forever()
