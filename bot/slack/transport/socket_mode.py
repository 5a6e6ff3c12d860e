"""Socket Mode: Baton opens a WebSocket to Slack and receives payloads over it (no public URL).

Which client: slack_sdk's websocket-client based one (bolt's `socket_mode.websocket_client`
adapter), not the built-in one. Time until an envelope is acked again after the connection
ends, measured against the test suite's WebSocket server (tests/fake_socket_mode.py), 8 runs
each:

    how it ends                         built-in client        websocket-client
    Slack asks for a refresh            3.2 s                  0.5 s (10.5 s in 2 runs of 8)
    Slack closes it (close frame)       10 s                   0.5 s
    the TCP connection just ends        about 60 s             0.5 s

The built-in client acts on a close only at its next health check (every 10 s), and after a
TCP close keeps reading the ended socket until five pings have failed. websocket-client
notices both at once; its slow case is a race in the SDK when it closes the old connection on
a refresh (the old reader waits out a 10 s select). The asyncio `websockets` adapter would
need an AsyncApp and an aiohttp client. Slack spreads payloads over all of an app's open
connections (up to 10), so with two or more replicas a reconnecting one loses nothing.

Slack redelivers an envelope it did not see acknowledged (`retry_attempt` > 0), possibly on
another connection, so to another replica. Every envelope is therefore taken once by its
payload's natural key (Receipts, in the database); a redelivery is acked with the first
delivery's answer and runs nothing: no second draft, incident or acceptance.
"""

from __future__ import annotations

import json
import logging
from time import perf_counter
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode.internals import run_bolt_app
from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler
from slack_bolt.response import BoltResponse
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.socket_mode.websocket_client import SocketModeClient

from bot.metrics import Metrics, kind_of
from handover.store.receipts import Receipts

log = logging.getLogger(__name__)


def delivery_key(req: SocketModeRequest) -> str:
    """What makes a delivery the same one again: the event's id, the interaction's or the
    command's trigger id (new for every click, submission and command); else the envelope."""
    payload = req.payload or {}
    natural = payload.get("event_id") if req.type == "events_api" else payload.get("trigger_id")
    return f"{req.type}:{natural}" if natural else f"envelope:{req.envelope_id}"


def ack_payload(resp: BoltResponse) -> dict[str, Any]:
    """The payload of the ack for bolt's response, as bolt's own adapter builds it."""
    if not resp.body:
        return {}
    if resp.headers.get("content-type", [""])[0].startswith("application/json"):
        return json.loads(resp.body)
    return {"text": resp.body}


class BatonSocketModeHandler(SocketModeHandler):
    """bolt's handler, with each envelope taken once (see the module's docstring)."""

    def __init__(self, app: App, app_token: str, receipts: Receipts, metrics: Metrics):
        super().__init__(app, app_token)
        self.receipts = receipts
        self.metrics = metrics

    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        with self.metrics.in_flight.track_inprogress():
            self._handle(client, req)

    def _handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:
        started = perf_counter()
        kind = kind_of(req.payload or {})
        key = delivery_key(req)
        if not self.receipts.claim(key):
            log.info(
                "envelope %s redelivered (retry %s): acked as before, not run again",
                req.type,
                req.retry_attempt,
            )
            self._ack(client, req, self.receipts.answer_of(key))
            self.metrics.observe(kind, 200, perf_counter() - started)
            return
        resp = run_bolt_app(self.app, req)
        if resp.status != 200:  # refused or failed: a redelivery may try again
            self.receipts.release(key)
            self.metrics.requests.labels(kind, str(resp.status)).inc()
            log.info("envelope %s not acked (status %s)", req.type, resp.status)
            return
        payload = ack_payload(resp)
        self._ack(client, req, payload)
        self.metrics.observe(kind, resp.status, perf_counter() - started)
        self.receipts.answered(key, payload)

    @staticmethod
    def _ack(client: SocketModeClient, req: SocketModeRequest, payload: dict[str, Any]) -> None:
        client.send_socket_mode_response(
            SocketModeResponse(envelope_id=req.envelope_id, payload=payload or None)
        )

    def connected(self) -> bool:
        return self.client.is_connected()
