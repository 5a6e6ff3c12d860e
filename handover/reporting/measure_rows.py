"""Reading the report's rows: the incidents handed over in a period, with their comms events.

Pages of PAGE incidents, each in its own short transaction: on SQLite every transaction takes
the write lock (handover/store/db.py), and a long report must not hold up the bot.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import func, select

from handover.models import Event, Incident
from handover.reporting.measures import EventRow, IncidentRow, Period
from handover.store.db import Database
from handover.vocabulary import EventKind

PAGE = 500
COMMS_EVENTS = (EventKind.UPDATE_SENT, EventKind.UPDATE_OVERDUE)


def _in(period: Period):
    return Incident.handed_over_at >= period.start, Incident.handed_over_at < period.end


def count_incidents(db: Database, period: Period) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Incident).where(*_in(period))) or 0


def incident_rows(db: Database, period: Period) -> Iterator[IncidentRow]:
    """Every incident handed over in `period` (drills and stood-down ones too), by id."""
    after = 0
    while True:
        with db.session() as s:
            incidents = s.scalars(
                select(Incident)
                .where(*_in(period), Incident.id > after)
                .order_by(Incident.id)
                .limit(PAGE)
            ).all()
            if not incidents:
                return
            events = defaultdict(list)
            for e in s.scalars(
                select(Event)
                .where(Event.incident_id.in_([i.id for i in incidents]))
                .where(Event.kind.in_(COMMS_EVENTS))
                .order_by(Event.at, Event.id)
            ):
                events[e.incident_id].append(EventRow(e.kind, e.at, e.detail))
        for i in incidents:
            yield IncidentRow(
                reference=i.reference,
                is_drill=i.is_drill,
                status=i.status,
                reporter_id=i.reporter_id,
                handed_over_at=i.handed_over_at,
                quality_score=i.quality_score,
                quality_band=i.quality_band,
                handed_over_answers=i.handed_over_answers,
                accepted_at=i.accepted_at,
                trgs_engaged_at=i.trgs_engaged_at,
                initial_comms_at=i.initial_comms_at,
                resolved_at=i.resolved_at,
                events=tuple(events[i.id]),
            )
        after = incidents[-1].id
