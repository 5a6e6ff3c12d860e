"""A fake Slack Web API on 127.0.0.1: records every call and answers like Slack does.

The real `slack_sdk` WebClient talks HTTP to it (SLACK_API_URL). Failures can be scripted per
method (`fail`), to prove retries and idempotent delivery. `apps.connections.open` points to a
Socket Mode WebSocket server on loopback (tests/fake_socket_mode.py).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from tests.fake_socket_mode import SocketModeEnd
from tests.slack_limits import message_problems, view_problems

BOT_USER = "UBATON0001"


def dm(user: str) -> str:
    """The direct-message channel Slack opens with `user` (conversations.open)."""
    return "D" + user[1:]


TEAM = "T0000TEAM1"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.time)
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class Failure:
    status: int = 500
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # Carried out first (the message is posted), then answered with this failure: an answer
    # lost on the way back, or one so slow that the caller gave up waiting.
    carried_out: bool = False


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.responses: list[Call] = []  # posts to response_url
        self._failures: dict[str, list[Failure]] = {}
        self.latency = 0.0  # seconds before every Web API answer, as Slack takes its time
        self._holds: dict[str, threading.Event] = {}
        self._lock = threading.Condition()
        self._ts = itertools.count(1)
        self._views = itertools.count(1)
        self.messages: dict[str, list[dict]] = {}  # channel → posted messages, oldest first
        self._socket_mode: SocketModeEnd | None = None
        # Payloads over Slack's Block Kit limits: refused as Slack would, and listed here.
        self.limit_problems: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # Lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        for gate in self._holds.values():
            gate.set()
        self.server.shutdown()
        self.server.server_close()
        if self._socket_mode is not None:
            self._socket_mode.stop()

    @property
    def socket_mode(self) -> SocketModeEnd:
        """The Socket Mode WebSocket server, started when first needed."""
        with self._lock:
            if self._socket_mode is None:
                self._socket_mode = SocketModeEnd()
            return self._socket_mode

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/api/"

    @property
    def response_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/response/1"

    # Scripting and inspection ------------------------------------------------------------

    def fail(self, method: str, *failures: Failure) -> None:
        """The next calls of `method` get these answers, in order, before normal service."""
        with self._lock:
            self._failures.setdefault(method, []).extend(failures)

    def hold(self, method: str) -> threading.Event:
        """Answers to `method` wait until the returned event is set: Slack at its slowest."""
        gate = self._holds[method] = threading.Event()
        return gate

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 10.0, where=None
    ) -> list[Call]:
        """Wait until `count` calls of `method` (matching `where`) arrived; return them."""
        deadline = time.time() + timeout
        with self._lock:
            while True:
                found = [
                    c for c in self.calls if c.method == method and (where is None or where(c.args))
                ]
                if len(found) >= count:
                    return found
                remaining = deadline - time.time()
                if remaining <= 0:
                    seen = [c.method for c in self.calls]
                    raise AssertionError(f"{count} call(s) of {method} expected; saw {seen}")
                self._lock.wait(remaining)

    def thread(self, ts: str) -> list[str]:
        """The texts posted in the thread of message `ts`, in order."""
        return [
            c.args["text"]
            for c in self.calls_to("chat.postMessage")
            if c.args.get("thread_ts") == ts
        ]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.responses.clear()

    # Answers ---------------------------------------------------------------------------

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        problems = []
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            problems = message_problems(args)
        elif method.startswith("views."):
            problems = view_problems(args.get("view"))
        if problems:
            self.limit_problems.extend(f"{method}: {p}" for p in problems)
            return {"ok": False, "error": "invalid_blocks"}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://example.slack.com/",
                "team": "Example",
                "user": "baton",
                "team_id": TEAM,
                "user_id": BOT_USER,
                "bot_id": "B0000BOT1",
            }
        if method in ("views.open", "views.push", "views.update", "views.publish"):
            view = args.get("view")
            view = json.loads(view) if isinstance(view, str) else dict(view or {})
            view.setdefault("id", args.get("view_id") or f"V{next(self._views):09d}")
            return {"ok": True, "view": view}
        if method in ("chat.postMessage", "chat.update"):
            ts = args.get("ts") or f"{1700000000 + next(self._ts)}.000100"
            channel = args.get("channel")
            if channel and channel.startswith("U"):  # a DM: Slack answers with the IM channel
                channel = dm(channel)
            if method == "chat.postMessage":
                metadata = args.get("metadata")
                if isinstance(metadata, str):
                    metadata = json.loads(metadata)
                self.messages.setdefault(channel, []).append(
                    {
                        "ts": ts,
                        "text": args.get("text"),
                        "thread_ts": args.get("thread_ts"),
                        "metadata": metadata,
                    }
                )
            return {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "message": {"text": args.get("text"), "ts": ts},
            }
        if method in ("conversations.history", "conversations.replies"):
            posted = self.messages.get(args.get("channel"), [])
            if method == "conversations.history":
                found = [m for m in posted if not m["thread_ts"]][::-1]
            else:
                found = [m for m in posted if args.get("ts") in (m["ts"], m["thread_ts"])]
            with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
            messages = [
                {k: v for k, v in m.items() if k != "metadata" or with_metadata} for m in found
            ]
            return {"ok": True, "has_more": False, "messages": messages}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{1700000000 + next(self._ts)}.000200"}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": dm(str(args.get("users", "UX")))}}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_mode.new_url()}
        if method == "usergroups.users.list":
            return {"ok": True, "users": []}
        return {"ok": False, "error": "unknown_method"}

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                self.path = path
                self._handle({k: v[0] for k, v in parse_qs(query).items()})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    args = json.loads(raw or "{}")
                else:
                    args = {k: v[0] for k, v in parse_qs(raw).items()}
                self._handle(args)

            def _handle(self, args: dict) -> None:
                if self.path.startswith("/response/"):
                    with fake._lock:
                        fake.limit_problems.extend(
                            f"response_url: {p}" for p in message_problems(args)
                        )
                        fake.responses.append(Call("response_url", args))
                        fake._lock.notify_all()
                    self._send(200, {"ok": True})
                    return
                method = self.path.removeprefix("/api/")
                time.sleep(fake.latency)
                gate = fake._holds.get(method)
                if gate is not None:
                    gate.wait(30)
                with fake._lock:
                    pending = fake._failures.get(method)
                    failure = pending.pop(0) if pending else None
                if failure is not None and not failure.carried_out:
                    time.sleep(failure.delay)
                    with fake._lock:
                        fake.calls.append(Call(f"{method}!failed", args))
                        fake._lock.notify_all()
                    self._send(
                        failure.status,
                        failure.body or {"ok": False, "error": "fatal"},
                        failure.headers,
                    )
                    return
                with fake._lock:
                    body = fake.answer(method, args)
                    fake.calls.append(Call(method, args, result=body))
                    fake._lock.notify_all()
                if failure is not None:
                    time.sleep(failure.delay)
                    self._send(failure.status, failure.body or body, failure.headers)
                    return
                self._send(200, body)

            def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                # The caller may have given up waiting (a timeout): nobody to answer.
                with contextlib.suppress(ConnectionError):
                    self.end_headers()
                    self.wfile.write(data)

        return Handler
