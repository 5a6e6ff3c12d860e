"""Signed webhooks (README, "Webhooks"; docs/architecture.md, "Webhooks"): the incident's
events that outside systems (a status page, a chat-ops bot, a data warehouse) receive.

An event becomes one outbox row per webhook that wants it, in the same unit of work as the
event itself: an event recorded is an event announced, and one rolled back is never sent.
Which receivers exist comes from the unit of work (`Database.context["webhooks"]`), so that
`record_event` needs no settings. The wire format, the signature and the POST are the bot's
(bot/webhooks.py); here is only which event goes to whom, with what.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from handover.models import Event, Incident, Notice
from handover.payload import Payload
from handover.settings import Webhook
from handover.store import outbox
from handover.times import to_iso
from handover.vocabulary import EventKind, OutboxKind, Target, WebhookEvent

# The unit of work's context key holding the configured receivers (bot/runtime.py sets it).
CONTEXT = "webhooks"

# The timeline's events a receiver may hear of, by their public name. The rest (reminders,
# Slack's refusals, denied clicks) are Baton's own business.
PUBLIC: dict[EventKind, WebhookEvent] = {
    EventKind.HANDED_OVER: WebhookEvent.HANDED_OVER,
    EventKind.ACCEPTED: WebhookEvent.ACCEPTED,
    EventKind.TRGS_ENGAGED: WebhookEvent.ENGAGED,
    EventKind.INITIAL_COMMS_SENT: WebhookEvent.NOTICE_PUBLISHED,
    EventKind.UPDATE_SENT: WebhookEvent.NOTICE_PUBLISHED,
    EventKind.RESOLUTION_SENT: WebhookEvent.NOTICE_PUBLISHED,
    EventKind.PRIORITY_CHANGED: WebhookEvent.PRIORITY_CHANGED,
    EventKind.RESOLVED: WebhookEvent.RESOLVED,
    EventKind.CLOSED: WebhookEvent.CLOSED,
}


@dataclass(frozen=True, kw_only=True)
class Delivery(Payload):
    """An outbox row's params: one event for one webhook. Everything the body says is fixed
    when the event happens, so a retry sends the same body (only the signature's time moves);
    the secret is not here: the sender takes it from the configuration."""

    webhook: str  # Webhook.id
    url: str
    event_id: str  # the body's `id`: stable across retries, for the receiver to dedupe
    type: str  # WebhookEvent
    created_at: str
    incident: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)


def receivers(s: Session) -> tuple[Webhook, ...]:
    return tuple(s.info.get(CONTEXT, ()))


def event_id(incident: Incident, suffix: str) -> str:
    return f"evt_{incident.reference}_{suffix}"


def snapshot(incident: Incident) -> dict[str, Any]:
    """The incident as it stands when the event happens (the card's link is added when sent,
    once the card has one)."""
    return {
        "reference": incident.reference,
        "headline": incident.headline,
        "priority": incident.priority,
        "status": incident.status,
        "owner": incident.owner_id,
        "reporter": incident.reporter_id,
        "services": list(incident.answers.get("services") or []),
    }


def announce_event(s: Session, incident: Incident, event: Event) -> None:
    """Queue the event for every webhook that wants it (called by `record_event`)."""
    kind = PUBLIC.get(EventKind(event.kind))
    if kind is None or not receivers(s) or incident.is_drill:
        return  # a drill is practice: nobody outside is told of it
    data = {**event.detail, "actor": event.actor}
    if kind == WebhookEvent.NOTICE_PUBLISHED:
        data = _notice_data(s, data)
    announce(s, incident, kind, event_id(incident, str(event.id)), event.at, data)


def _notice_data(s: Session, data: dict[str, Any]) -> dict[str, Any]:
    """A published notice as its readers got it: kind, subject and plain text, and where."""
    notice = s.get(Notice, data.get("notice") or 0)
    if notice is None:
        return data
    return {
        **data,
        "kind": notice.kind,
        "subject": notice.subject,
        "text": notice.body_plain,
        "channel": notice.channel or data.get("channel", ""),
    }


def announce(
    s: Session,
    incident: Incident,
    kind: WebhookEvent,
    evt_id: str,
    at: datetime,
    data: dict[str, Any],
) -> None:
    """One row per webhook that wants `kind`; the key makes a second announcement of the same
    event to the same webhook the same row."""
    for hook in receivers(s):
        if not hook.wants(kind) or incident.is_drill:
            continue
        delivery = Delivery(
            webhook=hook.id,
            url=hook.url,
            event_id=evt_id,
            type=kind,
            created_at=to_iso(at),
            incident=snapshot(incident),
            data=data,
        )
        outbox.enqueue(
            s,
            f"webhook:{hook.id}:{evt_id}"[:120],
            OutboxKind.WEBHOOK,
            Target.WEBHOOK,
            incident_id=incident.id,
            params=delivery.to_json(),
            now=at,
        )
