"""Engaging a resolver group pages it (docs/architecture.md, "Paging"): a PagerDuty trigger
and/or an Opsgenie alert per group, through the outbox like every message, so each is sent
once (and a retry carries the same dedup key, which the pager folds into the first). Resolving
the incident resolves every page. What the pager says back (accepted, refused for good,
acknowledged by someone on call) is an event on the timeline and a line in the thread.

The wire formats are the bot's (bot/pagers/); here is only who is paged, when, and with what.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handover.clock.timeline import PageAcknowledged, Paged, PageRefused, record_event
from handover.models import Event, Incident, Outbox
from handover.payload import Payload
from handover.settings import ResolverGroup, Settings
from handover.store import outbox
from handover.store.db import Database
from handover.times import to_iso, utcnow
from handover.vocabulary import EventKind, OutboxKind, OutboxStatus, PageAction, Pager, Target


@dataclass(frozen=True, kw_only=True)
class Page(Payload):
    """An outbox row's params: one page, or its resolution, for one group on one pager."""

    group: str
    pager: str  # Pager
    action: str  # PageAction
    dedup_key: str


def dedup_key(incident: Incident, group: str) -> str:
    """The same for the trigger, its retries and its resolve: the pager's alert key (PagerDuty
    allows 255 characters, Opsgenie's alias 512)."""
    return f"{incident.reference}/{group}"[:255]


def pagers_of(group: ResolverGroup) -> list[Pager]:
    return [
        pager
        for pager, configured in (
            (Pager.PAGERDUTY, group.pagerduty_routing_key),
            (Pager.OPSGENIE, group.opsgenie_team),
        )
        if configured
    ]


def _key(incident_id: int, page: Page) -> str:
    return f"page:{incident_id}:{page.group}:{page.pager}:{page.action}"


def _queue(s: Session, incident: Incident, page: Page, now: datetime) -> None:
    outbox.enqueue(
        s,
        _key(incident.id, page),
        OutboxKind.PAGE,
        Target.PAGER,
        incident_id=incident.id,
        params=page.to_json(),
        now=now,
    )


def page_groups(
    s: Session, incident: Incident, groups: list[str], settings: Settings, now: datetime
) -> None:
    """Page each of `groups` through every pager it has (none configured: nothing to send)."""
    for name in groups:
        group = settings.org.groups.get(name)
        for pager in pagers_of(group) if group else []:
            page = Page(
                group=name,
                pager=pager,
                action=PageAction.TRIGGER,
                dedup_key=dedup_key(incident, name),
            )
            _queue(s, incident, page, now)


def resolve_pages(s: Session, incident: Incident, now: datetime) -> None:
    """Resolve every page not refused (one still on its way is resolved once it arrives: the
    trigger row was queued first, so it goes first)."""
    for page in _pages(s, incident.id):
        _queue(s, incident, Page(**{**page.to_json(), "action": PageAction.RESOLVE}), now)


def _pages(s: Session, incident_id: int) -> list[Page]:
    """The triggers queued for the incident, sent or on their way (a refused one has nothing
    to resolve, and resolving it would be refused again)."""
    rows = s.scalars(
        select(Outbox).where(
            Outbox.incident_id == incident_id,
            Outbox.what == OutboxKind.PAGE,
            Outbox.status != OutboxStatus.FAILED,
        )
    )
    pages = [Page.from_json(row.params) for row in rows]
    return [p for p in pages if p.action == PageAction.TRIGGER]


def refused(s: Session, incident: Incident, row: Outbox, error: str, now: datetime) -> None:
    """The pager refused the page for good (a wrong key, a team it does not know): the owner
    hears it in the thread, so that they call the group another way."""
    page = Page.from_json(row.params)
    detail = PageRefused(
        group=page.group,
        pager=page.pager,
        action=page.action,
        error=error,
        owner=incident.owner_id,
    )
    record_event(s, incident, "baton", detail, now, card=False)


def trigger_unsent(s: Session, row: Outbox) -> bool:
    """Is the trigger a resolve undoes still to go (waiting out a back-off, or in another
    replica's hands)? The resolve waits for it: sent first, it would leave the alert open."""
    page = Page.from_json(row.params)
    if page.action != PageAction.RESOLVE:
        return False
    trigger_key = _key(
        row.incident_id or 0, Page(**{**page.to_json(), "action": PageAction.TRIGGER})
    )
    trigger = s.scalars(select(Outbox).where(Outbox.key == trigger_key)).first()
    return trigger is not None and trigger.status in (OutboxStatus.PENDING, OutboxStatus.SENDING)


class Paging:
    """What the pagers say back, recorded once each."""

    def __init__(self, db: Database, settings: Settings, now: Callable[[], datetime] = utcnow):
        self.db = db
        self.settings = settings
        self.now = now

    def waits(self, row: Outbox) -> bool:
        with self.db.session() as s:
            return trigger_unsent(s, row)

    def delivered(self, row_id: int) -> None:
        """The pager accepted the row's page (or its resolution)."""
        with self.db.session() as s:
            row = s.get_one(Outbox, row_id)
            page = Page.from_json(row.params)
            incident = s.get_one(Incident, row.incident_id, with_for_update=True)
            resolved = page.action == PageAction.RESOLVE
            kind = EventKind.PAGE_RESOLVED if resolved else EventKind.PAGED
            if self._said(s, incident.id, kind, page.group, page.pager):
                return  # sent again after a crash before it was marked: once is enough
            detail = Paged(group=page.group, pager=page.pager, resolved=resolved)
            record_event(s, incident, "baton", detail, self.now(), card=False)

    def acknowledged(self, key: str, pager: Pager, by: str, at: datetime) -> bool:
        """Someone on call acknowledged the page with dedup key `key`. False when no page of
        Baton's has that key (another integration's alert)."""
        reference, _, group = key.partition("/")
        with self.db.session() as s:
            incident = s.scalars(
                select(Incident).where(Incident.reference == reference).with_for_update()
            ).first()
            if incident is None or group not in incident.trgs:
                return False
            if self._said(s, incident.id, EventKind.PAGE_ACKNOWLEDGED, group, pager):
                return True  # the pager sends a webhook again until it is answered
            detail = PageAcknowledged(group=group, pager=pager, by=by, acknowledged_at=to_iso(at))
            record_event(s, incident, "baton", detail, self.now(), card=False)
            return True

    @staticmethod
    def _said(s: Session, incident_id: int, kind: EventKind, group: str, pager: str) -> bool:
        events = s.scalars(
            select(Event).where(Event.incident_id == incident_id, Event.kind == kind)
        )
        return any(
            e.detail.get("group") == group and e.detail.get("pager") == pager for e in events
        )
