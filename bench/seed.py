"""Incidents straight into the database, many at once, for the benchmarks."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, insert, select

from handover.models import Incident
from handover.store.db import Database

ANSWERS = {
    "headline": "E-mail down for all staff",
    "services": ["E-mail"],
    "symptoms": "Cannot connect",
    "users_affected": "over-1000",
}


def seed_incidents(
    db: Database, count: int, now: datetime, status: str = "handed_over", owner: str | None = None
) -> list[int]:
    """`count` incidents handed over at `now`, in one transaction; their ids."""
    with db.session() as s:
        first = (s.scalar(select(func.max(Incident.seq))) or 0) + 1
    rows = [
        {
            "reference": f"MI-BENCH-{first + n:06d}",
            "year": now.year,
            "seq": first + n,
            "headline": ANSWERS["headline"],
            "answers": ANSWERS,
            "handed_over_answers": ANSWERS,
            "priority": "P1",
            "proposed_priority": "P1",
            "quality_score": 60,
            "quality_band": "amber",
            "reporter_id": "U0AGENT001",
            "status": status,
            "phase": "initial",
            "handed_over_at": now,
            "phase_ends_at": now + timedelta(minutes=15),
            "next_update_due_at": now + timedelta(minutes=30),
            "mim_channel": "C0MIMS0001",
            "card_ts": f"1700000000.{n:06d}",  # as if posted: notices go to its thread
            "owner_id": owner,
            "trgs": [],
        }
        for n in range(count)
    ]
    with db.session() as s:
        s.execute(insert(Incident), rows)
        return list(s.scalars(select(Incident.id).where(Incident.seq >= first)))
