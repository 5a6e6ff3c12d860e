"""Runners: HTTP (a production WSGI server, waitress) or Socket Mode."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from handover.db import Database

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def wsgi_app(app: App, db: Database) -> Callable:
    """`POST /slack/events` for Slack (signature-checked by bolt), `GET /healthz` for probes."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            ok = db.healthy()
            body = json.dumps({"status": "ok" if ok else "database unavailable"}).encode()
            start_response(
                "200 OK" if ok else "503 Service Unavailable",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return slack(environ, start_response)

    return application


def make_http_server(application: Callable, port: int, host: str = "0.0.0.0"):
    """A waitress server, not yet running: `.run()` serves, `.close()` stops."""
    from waitress.server import create_server

    return create_server(application, host=host, port=port, threads=8, ident="baton")


def run_socket_mode(app: App, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    SocketModeHandler(app, app_token).start()
