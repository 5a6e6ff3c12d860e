"""Wiring for `baton serve` (and the tests): database, services, clock, delivery, bolt App."""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from slack_bolt import App
from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError

from bot.logs import safe_url
from bot.metrics import Metrics
from bot.pagers.webhook import with_webhook
from bot.slack import preflight
from bot.slack.app import Services, build_app, make_client
from bot.slack.delivery import Deliverer
from bot.slack.transport.replays import ReplayGuard
from bot.slack.transport.server import (
    health_app,
    make_http_server,
    stop_on_sigterm,
    with_preflight,
    wsgi_app,
)
from bot.slack.transport.socket_mode import BatonSocketModeHandler
from handover import webhooks
from handover.clock.alarm import Alarm
from handover.clock.phase_clock import Clock
from handover.comms.notices import Notices
from handover.handovers import Handovers
from handover.ownership.incidents import Incidents
from handover.ownership.paging import Paging
from handover.settings import Settings
from handover.store.db import Database, migrate
from handover.store.receipts import Receipts

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
    metrics: Metrics

    def start(self) -> None:
        count = self.alarm.start()
        self.deliverer.start()
        log.info("clock started with %s pending deadline(s)", count)

    def wsgi(self) -> Callable:
        """The WSGI application `baton serve` (and the tests) serve over HTTP."""
        replays = ReplayGuard.for_database(self.settings.slack_signing_secret, self.db)
        return self.with_webhooks(wsgi_app(self.app, self.db, self.metrics, replays))

    def with_webhooks(self, application: Callable) -> Callable:
        """The pagers' webhooks beside `application` (when configured)."""
        paging = Paging(self.db, self.settings)
        return with_webhook(application, self.settings.pagerduty_webhook_secret, paging)

    def stop(self) -> None:
        """Finish what is in flight; pending deadlines and messages stay in the database."""
        # Listeners still working after their ack (a views.open, a save) finish first.
        self.app.listener_runner.listener_executor.shutdown(wait=True)
        self.alarm.shutdown()
        self.deliverer.stop()
        self.db.dispose()


def build_runtime(settings: Settings) -> Runtime:
    db = Database(settings.database_url)
    # Every unit of work queues its events for these (handover/webhooks.py).
    db.context[webhooks.CONTEXT] = settings.org.webhooks
    client = make_client(settings)
    metrics = Metrics(db)
    services = Services(
        handovers=Handovers(db, settings),
        incidents=Incidents(db, settings),
        notices=Notices(db, settings),
    )
    app = build_app(settings, services, client, metrics)
    clock = Clock(db, settings)
    alarm = Alarm(clock)
    deliverer = Deliverer(db, make_client(settings, retry=False), settings, metrics)
    db.after_commit.extend([alarm.on_commit, deliverer.on_commit])
    return Runtime(settings, db, services, app, clock, alarm, deliverer, metrics)


def _stop(line: str) -> NoReturn:
    """A start that cannot go on: one line, exit 2 (never a traceback)."""
    log.critical("%s", line)
    sys.exit(2)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def serve(settings: Settings) -> None:
    try:
        migrate(settings.database_url)
    except Exception as exc:  # unreachable, refused, unwritable, a migration that failed
        _stop(f"cannot open the database at {safe_url(settings.database_url)}: {_first_line(exc)}")
    # The Slack preflight: a refused token or a Slack that cannot be reached stops here, in one
    # line; a channel Baton cannot use is a warning, and /healthz says "degraded" until it is
    # fixed, live (checked again every BATON_PREFLIGHT_INTERVAL in a thread of its own:
    # serving never waits for it).
    slack = preflight.client_for(settings)
    findings = preflight.check(slack, settings)
    if findings.token_refused or findings.unreachable:
        _stop(findings.problems[0])
    try:
        runtime = build_runtime(settings)
    except (BoltError, SlackApiError) as exc:
        # Typically a revoked or mistyped token: auth.test refused it.
        _stop(f"Slack refused SLACK_BOT_TOKEN ({_reason(exc)})")
    except (urllib.error.URLError, OSError) as exc:
        _stop(f"cannot reach Slack at {settings.slack_api_url} ({_first_line(exc)})")
    monitor = preflight.Monitor(
        lambda: preflight.check(slack, settings), runtime.metrics, settings.preflight_interval
    )
    socket: BatonSocketModeHandler | None = None
    if settings.socket_mode:
        # Payloads come over the WebSocket; HTTP on PORT serves the health probe and metrics.
        socket = BatonSocketModeHandler(
            runtime.app, settings.slack_app_token, Receipts(runtime.db), runtime.metrics
        )
        application = runtime.with_webhooks(
            health_app(runtime.db, socket.connected, runtime.metrics)
        )
        serving = "in Socket Mode (GET /healthz and /metrics on {host}:{port})"
    else:
        application = runtime.wsgi()
        serving = "HTTP on {host}:{port} (POST /slack/events, GET /healthz, GET /metrics)"
    try:  # bound before anything starts: a port in use stops here, with nothing to undo
        server = make_http_server(
            with_preflight(application, monitor.reasons), settings.port, host=settings.host
        )
    except OSError as exc:  # the port is taken, or the address is not this machine's
        runtime.db.dispose()
        _stop(
            f"cannot listen on {settings.host}:{settings.port} ({exc.strerror or exc}): "
            "set PORT (or BATON_HOST) to one that is free"
        )
    monitor.publish(findings)
    monitor.start()
    runtime.start()
    # What start-up built (modules, SQLAlchemy's mappers, bolt, cached blocks) lives as long
    # as the process: out of the collector's sight, a full collection takes under a
    # millisecond instead of about 50, a pause every request in flight shared
    # (bench/gc_pause.py).
    gc.freeze()
    try:
        if socket is not None:
            socket.connect()
        stop_on_sigterm(server)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C, or SIGTERM before run()
            where = serving.format(host=settings.host, port=server.effective_port)
            log.info("Baton is serving %s", where)
            server.run()
    finally:
        monitor.stop()
        if socket is not None:
            socket.close()
        runtime.stop()  # listeners' work after their ack, the clock, the outbox sender
        log.info("Baton stopped")


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "error"))
    return str(exc).splitlines()[0][:200]
