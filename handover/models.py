"""Database models. The schema changes only through Alembic migrations (migrations/)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from handover.times import utcnow
from handover.vocabulary import (
    DeadlineStatus,
    IncidentStatus,
    NoticeStatus,
    OutboxStatus,
    Phase,
    StakeholderState,
)


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
    # Drills number separately (DRILL-2026-0001) so they leave no gaps in the real sequence.
    __table_args__ = (UniqueConstraint("is_drill", "year", "seq", name="uq_incidents_sequence"),)

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
    status: Mapped[str] = mapped_column(
        String(16), default=IncidentStatus.HANDED_OVER, index=True
    )  # IncidentStatus
    phase: Mapped[str] = mapped_column(String(16), default=Phase.INITIAL)  # Phase
    handed_over_at: Mapped[datetime] = mapped_column(default=utcnow)
    mim_channel: Mapped[str] = mapped_column(String(32))
    card_ts: Mapped[str | None] = mapped_column(String(32), default=None)
    # Set when the card reached the managers only after Slack had refused it: how long after
    # the handover (the card says so on itself).
    card_late_by_s: Mapped[int | None] = mapped_column(Integer, default=None)
    # The incident's own Slack channel (C…), once Baton made it (`incident_channel` is on).
    incident_channel: Mapped[str | None] = mapped_column(String(32), default=None)
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Ownership and the phase clock.
    owner_id: Mapped[str | None] = mapped_column(String(32), default=None)
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    phase_ends_at: Mapped[datetime | None] = mapped_column(default=None)
    trgs: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    trgs_engaged_at: Mapped[datetime | None] = mapped_column(default=None)
    initial_comms_at: Mapped[datetime | None] = mapped_column(default=None)
    last_update_at: Mapped[datetime | None] = mapped_column(default=None)
    next_update_due_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    stood_down_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    stakeholder_state: Mapped[str] = mapped_column(
        String(16),
        default=StakeholderState.INVESTIGATING,
        server_default=StakeholderState.INVESTIGATING.value,
    )


class Deadline(Base):
    """A moment the clock must act on. The row is the truth; APScheduler only wakes us up.

    `status` goes pending → fired (claimed atomically, so it fires once across replicas) or
    pending → cancelled.
    """

    __tablename__ = "deadlines"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # DeadlineKind
    due_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default=DeadlineStatus.PENDING, index=True)
    fired_at: Mapped[datetime | None] = mapped_column(default=None)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Outbox(Base):
    """Something to say in Slack, stored in the same transaction as the change that caused it,
    then delivered (with retries) by the bot. `key` makes one intent one message."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    # What to say (an OutboxKind or EventKind, rendered by the front end from `params`, typed
    # in handover/intents.py), and where (a Target).
    what: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    result_ts: Mapped[str | None] = mapped_column(String(32), default=None)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    # Since when every attempt has failed (retryably): past a limit, the row gives up.
    failing_since: Mapped[datetime | None] = mapped_column(default=None)


class Event(Base):
    """The timeline: every event of an incident, with its time and actor."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))  # EventKind
    # The kind's detail (handover/clock/timeline.py), as JSON.
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str] = mapped_column(Text, default="")


class Notice(Base):
    """A stakeholder notice: drafted from the templates, checked and sent by the manager.

    The text is rendered once, when the draft is shown, so what the manager checked is what is
    published; an edit replaces it and is kept in `edits`.
    """

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # NoticeKind
    status: Mapped[str] = mapped_column(String(16), default=NoticeStatus.DRAFT)  # NoticeStatus
    doing: Mapped[str] = mapped_column(Text, default="")  # "what we are doing", kept onwards
    eta: Mapped[str] = mapped_column(Text, default="")
    next_update_at: Mapped[datetime | None] = mapped_column(default=None)
    # The record's comms-relevant state when drafted; the next update says what changed.
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(Text, default="")
    body_mrkdwn: Mapped[str] = mapped_column(Text, default="")
    body_plain: Mapped[str] = mapped_column(Text, default="")
    rendered: Mapped[bool] = mapped_column(Boolean, default=False)
    draft_ts: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(32), default="baton")
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_by: Mapped[str | None] = mapped_column(String(32), default=None)
    channel: Mapped[str | None] = mapped_column(String(32), default=None)
    sent_ts: Mapped[str | None] = mapped_column(String(32), default=None)
    # Why the last attempt to publish it failed (a Slack error code), until it is sent.
    publish_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    edits: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class Reask(Base):
    """A checklist field the manager had to fill in or correct after the handover: the truest
    measure of a handover's quality (docs/domain.md)."""

    __tablename__ = "reasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    field_id: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    by: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ExceptionReport(Base):
    """After closure, a weak handover's report for the service desk lead (training, blameless)."""

    __tablename__ = "exception_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sent_to: Mapped[str] = mapped_column(String(32), default="")


class Receipt(Base):
    """A request from outside (a Slack delivery) taken once, by its natural key, with the
    answer it got: a redelivery of it is answered the same and runs nothing."""

    __tablename__ = "receipts"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # None while the first delivery is still being handled.
    answer: Mapped[dict[str, Any] | None] = mapped_column(default=None)
