"""Runners: HTTP (a production WSGI server, waitress) or Socket Mode."""

from __future__ import annotations

import json
import logging
import signal
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus

from slack_bolt import App
from slack_bolt.request import BoltRequest

from bot.metrics import CONTENT_TYPE, Metrics, kind_of
from bot.slack.transport.replays import ReplayGuard
from handover.store.db import Database

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
# Enough for 50 concurrent requests on a small machine: each waits for its listener's ack.
HTTP_THREADS = 16

Response = tuple[int, list[tuple[str, str]], bytes]


def health_app(
    db: Database,
    socket_connected: Callable[[], bool] | None = None,
    metrics: Metrics | None = None,
) -> Callable:
    """`GET /healthz` for probes: the database answers (and, in Socket Mode, the WebSocket to
    Slack is open); with `metrics`, `GET /metrics` too. Every other path is 404: in Socket
    Mode, payloads never come over HTTP."""

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == METRICS_PATH and metrics is not None:
            body = metrics.exposition()
            start_response(
                "200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))]
            )
            return [body]
        if path != HEALTH_PATH:
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


def with_preflight(application: Callable, reasons: Callable[[], list[str]]) -> Callable:
    """`GET /healthz` also says what the Slack preflight found (bot/slack/preflight.py):
    `{"status": "degraded", "reasons": [...]}` while a configured channel or the token cannot
    be used. `reasons` only reads the latest findings: a probe never waits for Slack.

    Degraded is 200, not 503. A probe that sees 503 restarts the process or takes it out of
    the load balancer, and neither helps: a restart does not invite Baton to a channel, and
    out of rotation it would stop serving what still works (the checklist, the other
    channels, DMs) for every replica at once, since they share the configuration. 503 stays
    for what a probe can act on: this process's database or WebSocket. Alert on the body, or
    on `baton_channel_ok` in /metrics."""

    def wrapped(environ: dict, start_response: Callable) -> Iterable[bytes]:
        found = reasons() if environ.get("PATH_INFO") == HEALTH_PATH else []
        if not found:
            return application(environ, start_response)
        answered: list[str] = []

        def capture(status: str, headers: list, exc_info=None) -> Callable:
            answered.append(status)
            if status.startswith("200"):
                return lambda data: None  # held back: the degraded answer replaces it
            return start_response(status, headers, exc_info)

        inner = b"".join(application(environ, capture))
        if not answered or not answered[0].startswith("200"):
            return [inner]  # already answered: the database or the WebSocket is down
        body = json.dumps({"status": "degraded", "reasons": found}).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return wrapped


def wsgi_app(app: App, db: Database, metrics: Metrics, replays: ReplayGuard) -> Callable:
    """`POST /slack/events` for Slack (signature-checked by bolt, replays refused), `GET
    /healthz` for probes, `GET /metrics` for Prometheus."""
    health = health_app(db, metrics=metrics)

    def slack(environ: dict) -> Response:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].lower().replace("_", "-"): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        try:
            body = raw.decode("utf-8")
            request = BoltRequest(body=body, query=environ.get("QUERY_STRING", ""), headers=headers)
        except Exception:
            # Not UTF-8, a `payload=` that is not a JSON object…: not from Slack, and bolt
            # would answer 500. Refused before anything looks at it, signed or not.
            return 400, [("Content-Type", "text/plain")], b""
        kind = kind_of(request.body)
        started = time.perf_counter()
        with metrics.in_flight.track_inprogress():
            if _replayed(replays, body, headers, kind):
                log.warning("refused a replayed request (its signature was used before)")
                metrics.requests.labels(kind, "401").inc()
                return 401, [("Content-Type", "text/plain")], b"Replayed request"
            answer = app.dispatch(request)
        metrics.observe(kind, answer.status, time.perf_counter() - started)
        out = [(k, v) for k, values in answer.headers.items() for v in values]
        # "replace": text a user typed may hold what UTF-8 cannot carry (a lone surrogate).
        return answer.status, out, (answer.body or "").encode("utf-8", "replace")

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if path in (HEALTH_PATH, METRICS_PATH):
            return health(environ, start_response)
        if path == EVENTS_PATH and method == "POST":
            status, headers, body = slack(environ)
        else:
            status, headers, body = 404, [("Content-Type", "text/plain")], b"Not Found"
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        start_response(_status_line(status), [*headers, ("Content-Length", str(len(body)))])
        return [body]

    return application


def _replayed(replays: ReplayGuard, body: str, headers: dict[str, str], kind: str) -> bool:
    try:
        return replays.replayed(body, headers, kind)
    except Exception:
        # The database is away: the request cannot do much either, but it gets its answer
        # from bolt (and its listeners' own errors), not a 500 from here.
        log.exception("could not check whether a request is a replay; letting it through")
        return False


def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"


def make_http_server(application: Callable, port: int, host: str = "127.0.0.1"):
    """A waitress server, not yet running: `.run()` serves, `.close()` stops."""
    from waitress.server import create_server

    return create_server(application, host=host, port=port, threads=HTTP_THREADS, ident="baton")


def stop_on_sigterm(server) -> None:
    """SIGTERM (what orchestrators send) stops serving like Ctrl-C, and more gracefully: the
    port closes at once, so no new request comes in; the requests being answered finish
    (waitress waits up to 5 s for them); then `server.run()` returns. A second SIGTERM is
    ignored so that it cannot cut that short. Idle keep-alive connections do not hold it up."""
    from waitress import wasyncore

    def terminate(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        log.info("SIGTERM: taking no new requests, finishing those in flight, then stopping")
        wasyncore.dispatcher.close(server)  # the listening socket only
        raise KeyboardInterrupt  # waitress's run() finishes the tasks in flight, then returns

    signal.signal(signal.SIGTERM, terminate)
