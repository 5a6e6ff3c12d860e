"""Wiring for `baton serve` (and the tests): database, services, clock, delivery, bolt App."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from dataclasses import dataclass

from slack_bolt import App
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app import Services, build_app, make_client
from bot.delivery import Deliverer
from bot.server import health_app, make_http_server, wsgi_app
from bot.socket_mode import BatonSocketModeHandler
from handover.alarm import Alarm
from handover.clock import Clock
from handover.db import Database, migrate
from handover.incidents import Incidents
from handover.notices import Notices
from handover.receipts import Receipts
from handover.service import Handovers
from handover.settings import Settings

log = logging.getLogger("baton")


@dataclass
class Runtime:
    settings: Settings
    db: Database
    services: Services
    app: App
    clock: Clock
    alarm: Alarm
    deliverer: Deliverer

    def start(self) -> None:
        count = self.alarm.start()
        self.deliverer.start()
        log.info("clock started with %s pending deadline(s)", count)

    def stop(self) -> None:
        """Finish what is in flight; pending deadlines and messages stay in the database."""
        self.alarm.shutdown()
        self.deliverer.stop()
        self.db.dispose()


def build_runtime(settings: Settings, client: WebClient | None = None) -> Runtime:
    db = Database(settings.database_url)
    client = client or make_client(settings)
    services = Services(
        handovers=Handovers(db, settings),
        incidents=Incidents(db, settings),
        notices=Notices(db, settings),
    )
    app = build_app(settings, services, client)
    clock = Clock(db, settings)
    alarm = Alarm(clock)
    deliverer = Deliverer(db, client, settings)
    db.after_commit.extend([alarm.on_commit, deliverer.on_commit])
    return Runtime(settings, db, services, app, clock, alarm, deliverer)


def serve(settings: Settings) -> None:
    migrate(settings.database_url)
    try:
        runtime = build_runtime(settings)
    except (BoltError, SlackApiError) as exc:
        # Typically a revoked or mistyped token: auth.test refused it.
        print(f"baton: Slack refused SLACK_BOT_TOKEN ({_reason(exc)})", file=sys.stderr)
        sys.exit(2)
    runtime.start()
    socket: BatonSocketModeHandler | None = None
    try:
        if settings.socket_mode:
            # Payloads come over the WebSocket; HTTP on PORT serves only the health probe.
            socket = BatonSocketModeHandler(
                runtime.app, settings.slack_app_token, Receipts(runtime.db)
            )
            socket.connect()
            application = health_app(runtime.db, socket.connected)
            serving = "in Socket Mode (GET /healthz on port {port})"
        else:
            application = wsgi_app(runtime.app, runtime.db)
            serving = "HTTP on port {port} (POST /slack/events, GET /healthz)"
        server = make_http_server(application, settings.port)
        # SIGTERM (orchestrators) ends the serve loop like Ctrl-C.
        signal.signal(signal.SIGTERM, lambda *_: server.close())
        log.info("Baton is serving %s", serving.format(port=server.effective_port))
        with contextlib.suppress(KeyboardInterrupt, OSError):
            server.run()
    finally:
        if socket is not None:
            socket.close()
        runtime.stop()
        log.info("Baton stopped")


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "error"))
    return str(exc).splitlines()[0][:200]
