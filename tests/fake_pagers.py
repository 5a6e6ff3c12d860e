"""A fake PagerDuty Events API v2 and a fake Opsgenie Alert API on 127.0.0.1, over real HTTP.

As strict as the real ones where Baton could get it wrong: PagerDuty refuses an unknown routing
key, a missing summary, source or severity, and folds a trigger with a dedup key it has into the
alert it has; Opsgenie wants its `GenieKey` header, a message of at most 130 characters, and
closes by alias only what it has. Both can be told to fail the next requests (429 with
Retry-After, 500)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlparse

SEVERITIES = {"critical", "error", "warning", "info"}
ENQUEUE = "/v2/enqueue"
ALERTS = "/v2/alerts"


@dataclass
class Request:
    path: str
    body: dict
    headers: dict[str, str]
    status: int
    at: float


@dataclass
class Failure:
    status: int
    retry_after: int | None = None


@dataclass
class FakePagers:
    routing_keys: set[str] = field(default_factory=set)
    opsgenie_key: str = "opsgenie-test-key"
    requests: list[Request] = field(default_factory=list)
    # PagerDuty's alerts by dedup key ("triggered", "resolved"); Opsgenie's by alias ("open",
    # "closed").
    pagerduty_alerts: dict[str, str] = field(default_factory=dict)
    opsgenie_alerts: dict[str, str] = field(default_factory=dict)
    # Seconds to wait before answering (a slow pager: time to kill Baton mid-request), and the
    # paths received so far, counted before the answer.
    slow: float = 0
    received: list[str] = field(default_factory=list)
    _failures: dict[str, list[Failure]] = field(default_factory=dict)
    # Re-entrant: a request is answered and recorded under it, in one step.
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def start(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def events_url(self) -> str:
        return self.url + ENQUEUE

    def fail(self, which: str, *failures: Failure) -> None:
        """The next requests to `which` ("pagerduty" or "opsgenie") fail, in order."""
        with self._lock:
            self._failures.setdefault(which, []).extend(failures)

    def to(self, which: str) -> list[Request]:
        prefix = ENQUEUE if which == "pagerduty" else ALERTS
        return [r for r in self.requests if r.path.startswith(prefix)]

    def wait_for(self, predicate, timeout: float = 10) -> list[Request]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = [r for r in self.requests if predicate(r)]
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError("no such request to the pagers in time")

    # The APIs ------------------------------------------------------------------------------

    def _answer(self, path: str, body: dict, headers: dict[str, str]) -> tuple[int, dict, dict]:
        which = "pagerduty" if path == ENQUEUE else "opsgenie"
        with self._lock:
            queued = self._failures.get(which) or []
            failure = queued.pop(0) if queued else None
        if failure:
            extra = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            return failure.status, {"message": "injected failure"}, extra
        if which == "pagerduty":
            return (*self._pagerduty(body), {})
        return (*self._opsgenie(path, body, headers), {})

    def _pagerduty(self, event: dict) -> tuple[int, dict]:
        errors = []
        if event.get("routing_key") not in self.routing_keys:
            errors.append("Invalid routing key")
        action = event.get("event_action")
        if action not in ("trigger", "acknowledge", "resolve"):
            errors.append("'event_action' is invalid")
        key = event.get("dedup_key") or ""
        if len(key) > 255:
            errors.append("'dedup_key' is too long")
        if action == "trigger":
            payload = event.get("payload") or {}
            for name in ("summary", "source", "severity"):
                if not payload.get(name):
                    errors.append(f"'payload.{name}' is missing or blank")
            if payload.get("severity") and payload["severity"] not in SEVERITIES:
                errors.append("'payload.severity' is invalid")
            if len(payload.get("summary") or "") > 1024:
                errors.append("'payload.summary' is too long")
        elif not key:
            errors.append("'dedup_key' is required to acknowledge or resolve")
        if errors:
            return 400, {
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": errors,
            }
        with self._lock:
            if action == "trigger" and self.pagerduty_alerts.get(key) != "triggered":
                self.pagerduty_alerts[key] = "triggered"
            elif action == "resolve" and key in self.pagerduty_alerts:
                self.pagerduty_alerts[key] = "resolved"
        return 202, {"status": "success", "message": "Event processed", "dedup_key": key}

    def _opsgenie(self, path: str, body: dict, headers: dict[str, str]) -> tuple[int, dict]:
        if headers.get("authorization") != f"GenieKey {self.opsgenie_key}":
            return 401, {"message": "Could not authenticate"}
        if path == ALERTS:
            message = body.get("message") or ""
            if not message or len(message) > 130:
                return 422, {"message": "Message can not be empty or longer than 130 characters"}
            alias = body.get("alias") or message
            if len(alias) > 512:
                return 422, {"message": "Alias can not be longer than 512 characters"}
            with self._lock:
                self.opsgenie_alerts[alias] = "open"
            return 202, {"result": "Request will be processed", "requestId": alias}
        alias = unquote(path.removeprefix(ALERTS + "/").removesuffix("/close"))
        if path.endswith("#by-id"):
            return 404, {"message": "Alert with id not found"}
        with self._lock:
            if alias not in self.opsgenie_alerts:
                return 404, {"message": f"Alert with alias [{alias}] not found"}
            self.opsgenie_alerts[alias] = "closed"
        return 202, {"result": "Request will be processed", "requestId": alias}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body: Any = json.loads(raw or b"{}")
                except ValueError:
                    body = None
                fake.received.append(self.path)
                time.sleep(fake.slow)
                url = urlparse(self.path)
                path = url.path
                if "identifierType=alias" not in url.query and path.endswith("/close"):
                    path += "#by-id"  # without it Opsgenie reads the alias as an alert id
                headers = {k.lower(): v for k, v in self.headers.items()}
                with fake._lock:  # what an answer changed, and its record, seen together
                    if not isinstance(body, dict):
                        status, answer, extra = 400, {"message": "invalid JSON"}, {}
                    elif path != ENQUEUE and not path.startswith(ALERTS):
                        status, answer, extra = 404, {"message": "not found"}, {}
                    else:
                        status, answer, extra = fake._answer(path, body, headers)
                    kept = body if isinstance(body, dict) else {}
                    fake.requests.append(Request(path, kept, headers, status, time.time()))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
