"""`POST /pagerduty/webhook`: PagerDuty's v3 webhooks, when PAGERDUTY_WEBHOOK_SECRET is set.

Each delivery is signed (`X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw body>`, one
per secret while a secret is rotated); anything else is refused with 401 and has no effect. An
acknowledgement of one of Baton's pages is said in the incident's thread and timeline."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from http import HTTPStatus

from handover.ownership.paging import Paging
from handover.times import parse_time, utcnow
from handover.vocabulary import Pager

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/pagerduty/webhook"
MAX_BODY = 1024 * 1024  # PagerDuty's payloads are a few kilobytes
ACKNOWLEDGED = "incident.acknowledged"


def signed(secret: str, body: bytes, header: str) -> bool:
    """At least one `v1=` signature in `header` is the body's, compared in constant time."""
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    given = [s.strip()[3:] for s in header.split(",") if s.strip().startswith("v1=")]
    return any(hmac.compare_digest(expected, s) for s in given)


def _when(raw: object) -> datetime:
    try:
        return parse_time(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return utcnow()


def answer(secret: str, paging: Paging, environ: dict) -> HTTPStatus:
    """What a delivery gets: 200 once taken (PagerDuty stops sending it), 401 unsigned."""
    if environ.get("REQUEST_METHOD") != "POST":
        return HTTPStatus.METHOD_NOT_ALLOWED
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return HTTPStatus.BAD_REQUEST
    if length > MAX_BODY:
        return HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    body = environ["wsgi.input"].read(length) if length else b""
    if not signed(secret, body, environ.get("HTTP_X_PAGERDUTY_SIGNATURE", "")):
        log.warning("refused a PagerDuty webhook without a valid signature")
        return HTTPStatus.UNAUTHORIZED
    try:
        event = json.loads(body)["event"]
        kind, data = event["event_type"], event.get("data") or {}
    except (ValueError, KeyError, TypeError):
        return HTTPStatus.BAD_REQUEST
    if kind == ACKNOWLEDGED and isinstance(data, dict):
        by = (event.get("agent") or {}).get("summary") or "someone on call"
        key = str(data.get("incident_key") or "")
        if not paging.acknowledged(key, Pager.PAGERDUTY, str(by), _when(event.get("occurred_at"))):
            log.info("a PagerDuty acknowledgement of an alert that is not Baton's: ignored")
    return HTTPStatus.OK  # other event types are not Baton's business: taken, not retried


def with_webhook(application: Callable, secret: str, paging: Paging) -> Callable:
    """`application`, with the webhook in front when a secret is configured."""
    if not secret:
        return application

    def wrapped(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != WEBHOOK_PATH:
            return application(environ, start_response)
        status = answer(secret, paging, environ)
        body = status.phrase.encode()
        start_response(
            f"{status.value} {status.phrase}",
            [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return wrapped
