"""Slack's Socket Mode end, on 127.0.0.1: a real WebSocket server that the fake Web API's
`apps.connections.open` points to.

Like Slack, it greets each connection with `hello`, sends envelopes to the app
(`{"envelope_id", "type", "payload", "accepts_response_payload", "retry_attempt",
"retry_reason"}`), records the acks it gets back (`{"envelope_id", "payload"?}`), and can
ask for a refresh (`{"type": "disconnect"}`) or drop a connection.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

APP_ID = "A0000BATON"


class SocketModeEnd:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self.open: list[ServerConnection] = []  # connected now, oldest first
        self.opened = 0  # connections ever opened
        self.acks: dict[str, dict[str, Any]] = {}  # envelope_id → the app's ack
        self.sent: dict[str, dict[str, Any]] = {}  # envelope_id → the envelope
        self._tickets = itertools.count(1)
        self.server = serve(self._serve, "127.0.0.1", 0, compression=None, close_timeout=1)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()

    def new_url(self) -> str:
        """What `apps.connections.open` answers: a fresh, single-use-looking URL."""
        port = self.server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket={next(self._tickets)}&app_id={APP_ID}"

    def _serve(self, conn: ServerConnection) -> None:
        with self._lock:
            self.open.append(conn)
            self.opened += 1
            count = len(self.open)
        conn.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": count,
                    "debug_info": {"host": "fake-slack", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": APP_ID},
                }
            )
        )
        with self._lock:
            self._lock.notify_all()
        try:
            for message in conn:
                ack = json.loads(message)
                with self._lock:
                    self.acks[ack["envelope_id"]] = ack
                    self._lock.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self.open.remove(conn)
                self._lock.notify_all()

    # Waiting -----------------------------------------------------------------------------

    def _wait(self, ready, what: str, timeout: float):
        deadline = time.monotonic() + timeout
        with self._lock:
            while not (found := ready()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{what} did not happen within {timeout} s")
                self._lock.wait(remaining)
            return found

    def wait_connected(self, opened: int = 1, timeout: float = 20) -> ServerConnection:
        """Wait until `opened` connections were made and one is open; return the newest."""
        return self._wait(
            lambda: self.opened >= opened and self.open and self.open[-1],
            f"connection #{opened}",
            timeout,
        )

    def wait_open(self, count: int, timeout: float = 10) -> None:
        """Wait until exactly `count` connections are open."""
        self._wait(lambda: len(self.open) == count, f"{count} open connection(s)", timeout)

    def wait_ack(self, envelope_id: str, timeout: float = 10) -> dict[str, Any]:
        return self._wait(lambda: self.acks.get(envelope_id), f"ack of {envelope_id}", timeout)

    # Sending -----------------------------------------------------------------------------

    def deliver(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        connection: int = -1,
    ) -> str:
        """Send one envelope on an open connection (the newest by default); its id."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": retry_reason,
        }
        self.wait_connected()
        with self._lock:
            conn = self.open[connection]
            self.sent[envelope_id] = envelope
        conn.send(json.dumps(envelope))
        return envelope_id

    def redeliver(self, envelope_id: str, connection: int = -1) -> str:
        """Slack's retry of an envelope: the same payload, a new envelope, retry_attempt + 1."""
        first = self.sent[envelope_id]
        return self.deliver(
            first["type"],
            first["payload"],
            retry_attempt=first["retry_attempt"] + 1,
            retry_reason="timeout",
            connection=connection,
        )

    def refresh(self, connection: int = -1) -> None:
        """Slack's notice that this connection will close soon: the app should open another."""
        with self._lock:
            conn = self.open[connection]
        conn.send(
            json.dumps(
                {
                    "type": "disconnect",
                    "reason": "refresh_requested",
                    "debug_info": {"host": "fake-slack"},
                }
            )
        )

    def drop(self, connection: int = -1) -> None:
        """Close a connection from Slack's side (a deploy, a network blip)."""
        with self._lock:
            conn = self.open[connection]
        # Not waiting for the app's answer to the close frame: Slack's side just goes.
        threading.Thread(target=conn.close, args=(1001, "going away"), daemon=True).start()
