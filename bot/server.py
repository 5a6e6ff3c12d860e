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
HEALTH_PATH = "/healthz"


def health_app(db: Database, socket_connected: Callable[[], bool] | None = None) -> Callable:
    """`GET /healthz` for probes: the database answers (and, in Socket Mode, the WebSocket to
    Slack is open). Every other path is 404: in Socket Mode nothing else is served over HTTP."""

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != HEALTH_PATH:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        if not db.healthy():
            status = "database unavailable"
        elif socket_connected is not None and not socket_connected():
            status = "not connected to Slack"
        else:
            status = "ok"
        body = json.dumps({"status": status}).encode()
        start_response(
            "200 OK" if status == "ok" else "503 Service Unavailable",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return application


def wsgi_app(app: App, db: Database) -> Callable:
    """`POST /slack/events` for Slack (signature-checked by bolt), `GET /healthz` for probes."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)
    health = health_app(db)

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            return health(environ, start_response)
        return slack(environ, start_response)

    return application


def make_http_server(application: Callable, port: int, host: str = "0.0.0.0"):
    """A waitress server, not yet running: `.run()` serves, `.close()` stops."""
    from waitress.server import create_server

    return create_server(application, host=host, port=port, threads=8, ident="baton")
