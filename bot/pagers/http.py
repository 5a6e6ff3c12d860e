"""One JSON POST to a pager (or a webhook, bot/webhooks.py), and what its answer means for
the outbox: done, try again later (rate limits, the receiver's own errors, the network), or
refused for good."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass

TIMEOUT = 10  # seconds: the outbox tries again later rather than wait long


@dataclass
class ReceiverRefused(Exception):
    """The receiver (a pager, a webhook) did not take the request. `retryable` when trying
    again may work."""

    error: str
    retryable: bool
    retry_after: int | None = None
    status: int | None = None  # the receiver's HTTP status, when it answered

    def __str__(self) -> str:
        return self.error


def post_json(url: str, body: dict, headers: dict[str, str] | None = None) -> dict:
    """POST `body`; the answer's JSON on a 2xx, ReceiverRefused otherwise."""
    return post_raw(url, json.dumps(body).encode(), headers)


def post_raw(url: str, data: bytes, headers: dict[str, str] | None = None) -> dict:
    """POST these exact bytes as JSON (a signature covers them); as `post_json` answers."""
    request = urllib.request.Request(
        url,
        data=data,
        headers={"Content-Type": "application/json", "User-Agent": "Baton", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            raw = answer.read()
    except urllib.error.HTTPError as exc:
        raise _refusal(exc) from None
    except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException) as exc:
        # The network, or an answer cut short (BadStatusLine, IncompleteRead): the receiver
        # may or may not have it; trying again is safe (dedup keys, event ids).
        reason = getattr(exc, "reason", exc)
        raise ReceiverRefused(f"unreachable ({type(reason).__name__})", retryable=True) from None
    except ValueError:
        # A header urllib will not send (a key with a newline in it): named, never shown.
        raise ReceiverRefused("the request could not be built (check the keys)", False) from None
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return {}


def _refusal(exc: urllib.error.HTTPError) -> ReceiverRefused:
    status = exc.code
    try:
        data = json.loads(exc.read() or b"{}")
    except ValueError:
        data = {}
    # PagerDuty: {"message": …, "errors": […]}; Opsgenie: {"message": …}. Neither echoes a key.
    detail = str(data.get("message") or exc.reason or "")
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        detail += ": " + "; ".join(str(e) for e in errors)
    after = exc.headers.get("Retry-After") if exc.headers else None
    retryable = status == 429 or status >= 500
    return ReceiverRefused(
        f"{status} {detail}".strip()[:200],
        retryable=retryable,
        retry_after=int(after) if after and after.isdigit() else None,
        status=status,
    )
