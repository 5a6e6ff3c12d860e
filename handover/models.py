"""Database models. The schema changes only through Alembic migrations (migrations/)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from handover.times import utcnow


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Draft(Base):
    """A handover in progress: saved at every step so closing the modal loses nothing."""

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), index=True)
    team_id: Mapped[str] = mapped_column(String(32), default="")
    channel_id: Mapped[str] = mapped_column(String(32), default="")
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    step: Mapped[str] = mapped_column(String(16), default="what")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), default=None)


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (UniqueConstraint("year", "seq", name="uq_incidents_year_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    headline: Mapped[str] = mapped_column(String(200))
    answers: Mapped[dict[str, Any]] = mapped_column()
    # The record exactly as handed over: what counts for training, whatever the MIM fills in.
    handed_over_answers: Mapped[dict[str, Any]] = mapped_column()
    priority: Mapped[str] = mapped_column(String(2))
    proposed_priority: Mapped[str] = mapped_column(String(2))
    quality_score: Mapped[int] = mapped_column(Integer)
    quality_band: Mapped[str] = mapped_column(String(8))
    reporter_id: Mapped[str] = mapped_column(String(32), index=True)
    reporter_team: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(16), default="handed_over", index=True)
    phase: Mapped[str] = mapped_column(String(16), default="initial")
    handed_over_at: Mapped[datetime] = mapped_column(default=utcnow)
    mim_channel: Mapped[str] = mapped_column(String(32))
    card_ts: Mapped[str | None] = mapped_column(String(32), default=None)


class Event(Base):
    """The timeline: every event of an incident, with its time and actor."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
