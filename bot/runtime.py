"""Wiring for `baton serve`: database, services, the bolt App and its runner."""

from __future__ import annotations

import logging
import signal
import sys

from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError

from bot.app import Services, build_app
from bot.server import make_http_server, run_socket_mode, wsgi_app
from handover.db import Database, migrate
from handover.service import Handovers
from handover.settings import Settings

log = logging.getLogger("baton")


def serve(settings: Settings) -> None:
    migrate(settings.database_url)
    db = Database(settings.database_url)
    services = Services(handovers=Handovers(db, settings))
    try:
        app = build_app(settings, services)
    except (BoltError, SlackApiError) as exc:
        # Typically a revoked or mistyped token: auth.test refused it.
        print(f"baton: Slack refused SLACK_BOT_TOKEN ({_reason(exc)})", file=sys.stderr)
        sys.exit(2)
    if settings.socket_mode:
        log.info("Baton is serving in Socket Mode")
        run_socket_mode(app, settings.slack_app_token)
        return
    server = make_http_server(wsgi_app(app, db), settings.port)
    # SIGTERM (orchestrators) ends the serve loop like Ctrl-C; deadlines stay in the database.
    signal.signal(signal.SIGTERM, lambda *_: server.close())
    log.info(
        "Baton is serving HTTP on port %s (POST /slack/events, GET /healthz)", server.effective_port
    )
    try:
        server.run()
    except (KeyboardInterrupt, OSError):
        pass
    finally:
        db.dispose()
        log.info("Baton stopped")


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "error"))
    return str(exc).splitlines()[0][:200]
