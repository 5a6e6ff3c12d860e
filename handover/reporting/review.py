"""What the post-incident review is made of (docs/domain.md, "The post-incident review"): the
record, the first phase's objectives against its target, the timeline, the comms sent, the
groups engaged and paged, and what the manager had to fill in. Gathered here from the database;
worded by the front end (bot/review.py), as Markdown for the thread and the command line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from handover.clock.deadlines import objectives
from handover.clock.timeline import TimelineEntry, timeline
from handover.models import Event, Incident, Notice, Reask
from handover.ownership.incidents import key_durations
from handover.vocabulary import EventKind, NoticeStatus


@dataclass(frozen=True)
class Milestone:
    label: str
    after: timedelta | None  # from the handover (T0); None: not reached
    target: timedelta | None  # the first phase's length, for its objectives

    @property
    def late_by(self) -> timedelta | None:
        """How far past the target it was reached (None: in time, or no target)."""
        if self.after is None or self.target is None or self.after <= self.target:
            return None
        return self.after - self.target


@dataclass(frozen=True)
class ReviewFacts:
    incident: Incident
    milestones: tuple[Milestone, ...]
    entries: tuple[TimelineEntry, ...]
    notices: tuple[Notice, ...]  # sent, in order
    reasks: tuple[Reask, ...]
    paged: tuple[tuple[str, str], ...]  # (group, pager), as the pagers took them


def gather(s: Session, incident: Incident, first_phase: timedelta) -> ReviewFacts:
    """Everything the review says about `incident`, read in one unit of work."""
    events = list(s.scalars(select(Event).where(Event.incident_id == incident.id)))
    notices = s.scalars(
        select(Notice)
        .where(Notice.incident_id == incident.id, Notice.status == NoticeStatus.SENT)
        .order_by(Notice.sent_at, Notice.id)
    )
    reasks = s.scalars(
        select(Reask).where(Reask.incident_id == incident.id).order_by(Reask.at, Reask.id)
    )
    t0 = incident.handed_over_at
    first = [
        Milestone(o.label, (o.done_at - t0) if o.done_at else None, first_phase)
        for o in objectives(incident)
    ]
    resolved = key_durations(incident)[-1][1]
    paged = tuple(
        dict.fromkeys(
            (str(e.detail.get("group")), str(e.detail.get("pager")))
            for e in events
            if e.kind == EventKind.PAGED
        )
    )
    return ReviewFacts(
        incident=incident,
        milestones=(*first, Milestone("resolved", resolved, None)),
        entries=tuple(timeline(incident, events)),
        notices=tuple(notices),
        reasks=tuple(reasks),
        paged=paged,
    )
