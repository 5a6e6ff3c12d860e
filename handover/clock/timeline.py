"""The incident's timeline: every event, with its time and actor and a typed detail, written
through one function (`record_event`) that can also say it in the card's thread and refresh
the card. Wording is the front end's: bot/slack/outbox_text.py and timeline_text.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from handover import webhooks
from handover.models import Event, Incident
from handover.payload import Payload
from handover.store import outbox
from handover.times import to_iso
from handover.vocabulary import EventKind, OutboxKind, Target


@dataclass(frozen=True, kw_only=True)
class Detail(Payload):
    """What an event of one kind records."""

    kind: ClassVar[EventKind]
    # Said in the card's thread as a line of its own (others are said by the clock's lines,
    # by the draft they change, or not at all).
    in_thread: ClassVar[bool] = False

    @property
    def event_kind(self) -> EventKind:
        return self.kind


@dataclass(frozen=True, kw_only=True)
class HandedOver(Detail):
    kind = EventKind.HANDED_OVER
    priority: str
    quality_score: int


@dataclass(frozen=True, kw_only=True)
class Accepted(Detail):
    kind = EventKind.ACCEPTED
    in_thread = True
    after_s: int
    late_by_s: int | None = None  # after the first phase ended


@dataclass(frozen=True, kw_only=True)
class Late(Detail):
    """A deadline's event: when it was due, and whether it fired late (Baton was down)."""

    due_at: str
    late: bool


@dataclass(frozen=True, kw_only=True)
class Escalated(Late):
    kind = EventKind.ESCALATED
    waited_s: int
    escalate_to: str


@dataclass(frozen=True, kw_only=True)
class PhaseVerdict(Late):
    kind = EventKind.PHASE_MET  # or PHASE_MISSED, as `event_kind` says
    met: bool
    done: list[tuple[str, int]]  # objective's label, seconds after T0
    missing: list[str]
    phase_s: int

    @property
    def event_kind(self) -> EventKind:
        return EventKind.PHASE_MET if self.met else EventKind.PHASE_MISSED


@dataclass(frozen=True, kw_only=True)
class UpdateOverdue(Late):
    kind = EventKind.UPDATE_OVERDUE


@dataclass(frozen=True, kw_only=True)
class TrgsEngaged(Detail):
    kind = EventKind.TRGS_ENGAGED
    in_thread = True
    groups: list[str]
    after_s: int
    late_by_s: int | None = None


@dataclass(frozen=True, kw_only=True)
class NoticeSent(Detail):
    # Defaults: events written before notices were rows (migration 0003) have none of these.
    notice: int = 0
    channel: str = ""
    after_s: int = 0
    next_update_at: str | None = None


@dataclass(frozen=True, kw_only=True)
class InitialCommsSent(NoticeSent):
    kind = EventKind.INITIAL_COMMS_SENT
    in_thread = True
    late_by_s: int | None = None


@dataclass(frozen=True, kw_only=True)
class UpdateSent(NoticeSent):
    kind = EventKind.UPDATE_SENT
    in_thread = True
    was_due_at: str | None = None
    on_time: bool = True


@dataclass(frozen=True, kw_only=True)
class ResolutionSent(NoticeSent):
    kind = EventKind.RESOLUTION_SENT
    in_thread = True


@dataclass(frozen=True, kw_only=True)
class StateChanged(Detail):
    kind = EventKind.STATE_CHANGED
    json_names: ClassVar[dict[str, str]] = {"before": "from", "after": "to"}
    before: str
    after: str


@dataclass(frozen=True, kw_only=True)
class NoticeEdited(Detail):
    kind = EventKind.NOTICE_EDITED
    json_names: ClassVar[dict[str, str]] = {"notice_kind": "kind"}
    notice: int
    notice_kind: str
    sent: bool


@dataclass(frozen=True, kw_only=True)
class GapFilled(Detail):
    kind = EventKind.GAP_FILLED
    in_thread = True
    field: str
    label: str
    was_blank: bool


@dataclass(frozen=True, kw_only=True)
class PriorityChanged(Detail):
    kind = EventKind.PRIORITY_CHANGED
    in_thread = True
    json_names: ClassVar[dict[str, str]] = {"before": "from", "after": "to"}
    before: str
    after: str
    reason: str
    next_update_at: str | None = None  # the update deadline, when the change moved it


@dataclass(frozen=True, kw_only=True)
class HandedOn(Detail):
    kind = EventKind.HANDED_ON
    in_thread = True
    json_names: ClassVar[dict[str, str]] = {"previous": "from", "new": "to"}
    previous: str
    new: str


@dataclass(frozen=True, kw_only=True)
class StoodDown(Detail):
    kind = EventKind.STOOD_DOWN
    in_thread = True
    reason: str


@dataclass(frozen=True, kw_only=True)
class Resolved(Detail):
    kind = EventKind.RESOLVED
    in_thread = True
    resolved_at: str
    after_s: int


@dataclass(frozen=True, kw_only=True)
class Closed(Detail):
    kind = EventKind.CLOSED
    in_thread = True
    durations: dict[str, int | None]  # label → seconds from T0, None when not reached


@dataclass(frozen=True, kw_only=True)
class Denied(Detail):
    kind = EventKind.DENIED
    action: str
    owner: str | None


@dataclass(frozen=True, kw_only=True)
class CardUndelivered(Detail):
    """Slack refused the card: the managers do not have the handover."""

    kind = EventKind.CARD_UNDELIVERED
    channel: str
    error: str  # Slack's error code; the front end says it in words


@dataclass(frozen=True, kw_only=True)
class CardLate(Detail):
    kind = EventKind.CARD_LATE
    late_by_s: int


@dataclass(frozen=True, kw_only=True)
class NoticeUndelivered(Detail):
    kind = EventKind.NOTICE_UNDELIVERED
    notice: int
    channel: str
    error: str


@dataclass(frozen=True, kw_only=True)
class MessageUndelivered(Detail):
    """A thread line, a DM or a card update that Baton gave up on."""

    kind = EventKind.MESSAGE_UNDELIVERED
    what: str
    target: str
    error: str


@dataclass(frozen=True, kw_only=True)
class Paged(Detail):
    """A resolver group's pager has the alert (or, `resolved`, knows it is over)."""

    kind = EventKind.PAGED
    in_thread = True
    group: str
    pager: str  # Pager
    resolved: bool = False

    @property
    def event_kind(self) -> EventKind:
        return EventKind.PAGE_RESOLVED if self.resolved else EventKind.PAGED


@dataclass(frozen=True, kw_only=True)
class PageRefused(Detail):
    kind = EventKind.PAGE_REFUSED
    in_thread = True
    group: str
    pager: str
    action: str  # PageAction
    error: str
    owner: str | None = None  # who is told


@dataclass(frozen=True, kw_only=True)
class PageAcknowledged(Detail):
    kind = EventKind.PAGE_ACKNOWLEDGED
    in_thread = True
    group: str
    pager: str
    by: str  # the responder's name, as the pager gives it
    acknowledged_at: str


@dataclass(frozen=True, kw_only=True)
class WebhookRefused(Detail):
    """A webhook did not take an event: refused for good, or failing past `retry_for`."""

    kind = EventKind.WEBHOOK_REFUSED
    url: str
    event: str  # WebhookEvent
    error: str


@dataclass(frozen=True, kw_only=True)
class NoticeEmailed(Detail):
    """The mail server took a notice's e-mail, for these addresses."""

    kind = EventKind.NOTICE_EMAILED
    in_thread = True  # the owner hears it went, as a page's "paged"
    notice: int
    notice_kind: str
    to: list[str]


@dataclass(frozen=True, kw_only=True)
class EmailRefused(Detail):
    """The mail server refused a notice's e-mail for good: to everyone (`error`), or to the
    addresses in `refused` (address → the server's answer) while the others have it."""

    kind = EventKind.EMAIL_REFUSED
    in_thread = True
    notice: int
    notice_kind: str
    error: str = ""
    refused: dict[str, str] = field(default_factory=dict)
    owner: str | None = None  # who is told


@dataclass(frozen=True, kw_only=True)
class EmailUncertain(Detail):
    """Baton stopped after handing the e-mail's text to the server and before its answer: it
    may or may not have gone out, and it is not sent again (never twice)."""

    kind = EventKind.EMAIL_UNCERTAIN
    in_thread = True
    notice: int
    notice_kind: str
    to: list[str]
    owner: str | None = None


_KINDS: tuple[type[Detail], ...] = (
    HandedOver,
    Accepted,
    Escalated,
    PhaseVerdict,
    TrgsEngaged,
    InitialCommsSent,
    UpdateSent,
    UpdateOverdue,
    ResolutionSent,
    StateChanged,
    NoticeEdited,
    GapFilled,
    PriorityChanged,
    HandedOn,
    StoodDown,
    Resolved,
    Closed,
    Denied,
    CardUndelivered,
    CardLate,
    NoticeUndelivered,
    MessageUndelivered,
    Paged,
    PageRefused,
    PageAcknowledged,
    WebhookRefused,
    NoticeEmailed,
    EmailRefused,
    EmailUncertain,
)
DETAILS: dict[EventKind, type[Detail]] = {cls.kind: cls for cls in _KINDS} | {
    EventKind.PHASE_MISSED: PhaseVerdict,  # one detail, two kinds: met or missed
    EventKind.PAGE_RESOLVED: Paged,
}


def detail_of(kind: str, data: dict[str, Any]) -> Detail:
    return DETAILS[EventKind(kind)].from_json(data)


def record_event(
    s: Session,
    incident: Incident,
    actor: str,
    detail: Detail,
    now: datetime,
    *,
    card: bool = True,
) -> Event:
    """The one way an event is written: the row on the timeline, with a line in the card's
    thread when its kind is said there, (unless `card` is False) the card refreshed, and a
    delivery to each webhook that wants it (handover/webhooks.py)."""
    kind, data, thread = detail.event_kind, detail.to_json(), detail.in_thread
    event = Event(incident_id=incident.id, at=now, actor=actor, kind=kind, detail=data)
    s.add(event)
    announced = kind in webhooks.PUBLIC and bool(webhooks.receivers(s))
    if thread or card or announced:
        s.flush()  # the event's id keys its messages
    if announced:
        webhooks.announce_event(s, incident, event)
    if thread:
        params = {**data, "actor": actor, "at": to_iso(now)}
        say_in_thread(s, incident, f"event:{event.id}", kind, params, now)
    if card:
        refresh_card(s, incident, f"event:{event.id}", now)
    return event


def record_denial(s: Session, incident: Incident, user: str, action: str, now: datetime) -> None:
    """A refused attempt, kept in the timeline: who tried what, and who owned it."""
    record_event(s, incident, user, Denied(action=action, owner=incident.owner_id), now, card=False)


def say_in_thread(
    s: Session, incident: Incident, key: str, what: str, params: dict, now: datetime
) -> None:
    outbox.enqueue(s, key, what, Target.THREAD, incident_id=incident.id, params=params, now=now)


def tell(
    s: Session, incident: Incident, key: str, what: OutboxKind, dm: Payload, now: datetime
) -> None:
    """A direct message about the incident (`dm` says to whom), once per key."""
    outbox.enqueue(s, key, what, Target.DM, incident_id=incident.id, params=dm.to_json(), now=now)


def refresh_card(s: Session, incident: Incident, key: str, now: datetime) -> None:
    outbox.enqueue(
        s,
        f"card:{incident.id}:{key}",
        OutboxKind.CARD,
        Target.CARD,
        incident_id=incident.id,
        now=now,
    )


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    since_t0: timedelta
    actor: str
    kind: EventKind
    detail: Detail


def timeline(incident: Incident, events: list[Event]) -> list[TimelineEntry]:
    """Every event in order, with the time elapsed since T0 (the handover)."""
    ordered = sorted(events, key=lambda e: (e.at, e.id))
    return [
        TimelineEntry(
            e.at,
            e.at - incident.handed_over_at,
            e.actor,
            EventKind(e.kind),
            detail_of(e.kind, e.detail),
        )
        for e in ordered
    ]
