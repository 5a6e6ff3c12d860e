"""Sends an outbox row of kind `webhook`: the event's JSON body, signed as Slack and Stripe
sign theirs (README, "Webhooks"), POSTed to the receiver (bot/slack/delivery.py calls it).

The signature is `Baton-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>`:
the time is the time of sending, so each retry is signed afresh and a receiver may refuse
anything older than five minutes (a replay); the event's id (`Baton-Event-Id`, and `id` in the
body) stays the same, so a receiver dedupes a retry whose first answer was lost.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable

from bot.pagers.http import ReceiverRefused, post_raw
from handover.models import Outbox
from handover.settings import Settings, Webhook
from handover.webhooks import Delivery

SIGNATURE_HEADER = "Baton-Signature"
EVENT_ID_HEADER = "Baton-Event-Id"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header's value for `body` sent at `timestamp`."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def body_of(delivery: Delivery, card_link: str) -> bytes:
    """The body receivers get (README, "Webhooks"): the same bytes at every retry."""
    incident = {**delivery.incident, "card_link": card_link or None}
    body = {
        "id": delivery.event_id,
        "type": delivery.type,
        "created_at": delivery.created_at,
        "incident": incident,
        "data": delivery.data,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


class Webhooks:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time):
        self.by_id = {hook.id: hook for hook in settings.org.webhooks}
        self.clock = clock

    def send(self, row: Outbox, card_link: str) -> None:
        """POST the row's event; ReceiverRefused (retryable or not) when the receiver did not
        take it."""
        delivery = Delivery.from_json(row.params)
        hook: Webhook | None = self.by_id.get(delivery.webhook)
        if hook is None:  # taken out of BATON_CONFIG (or its URL changed) since it was queued
            raise ReceiverRefused("the webhook is no longer configured", retryable=False)
        body = body_of(delivery, card_link)
        headers = {
            SIGNATURE_HEADER: signature(hook.secret, int(self.clock()), body),
            EVENT_ID_HEADER: delivery.event_id,
        }
        post_raw(hook.url, body, headers)
