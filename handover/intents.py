"""What Baton has to say that is not an event of the timeline, typed: the params of the
clock's lines in the card's thread and of direct messages. Stored as an outbox row's params
(handover/store/outbox.py); bot/slack/outbox_text.py words each kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from handover.clock.timeline import DETAILS, Escalated, Late, PhaseVerdict, UpdateOverdue
from handover.payload import Payload
from handover.vocabulary import EventKind, OutboxKind


@dataclass(frozen=True, kw_only=True)
class PhaseReminder(Late):
    open: list[str]  # the objectives still open, in words
    ends_at: str
    notice_out: bool = True  # False: the initial notice has not gone out yet (said first)


@dataclass(frozen=True, kw_only=True)
class InitialNoticeNudge(Payload):
    """After the first phase: the initial notice has still not gone out."""

    since_s: int  # since the handover


@dataclass(frozen=True, kw_only=True)
class UpdateReminder(Late):
    update_due_at: str


@dataclass(frozen=True, kw_only=True)
class DirectMessage(Payload):
    user: str  # to whom


@dataclass(frozen=True, kw_only=True)
class HandedOverDm(DirectMessage):
    pass


@dataclass(frozen=True, kw_only=True)
class AcceptedDm(DirectMessage):
    owner: str


@dataclass(frozen=True, kw_only=True)
class PhaseMissedDm(DirectMessage):
    """To the owner: the first phase ended with objectives still open."""

    missing: list[str]


@dataclass(frozen=True, kw_only=True)
class InitialNoticeDm(DirectMessage):
    """To the agent: the initial notice as stakeholders received it, to read out to callers."""

    channel: str
    subject: str  # mrkdwn, escaped when it was rendered
    body: str


@dataclass(frozen=True, kw_only=True)
class ResolvedDm(DirectMessage):
    resolved_at: str


@dataclass(frozen=True, kw_only=True)
class StoodDownDm(DirectMessage):
    owner: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class HandedOnDm(DirectMessage):
    json_names: ClassVar[dict[str, str]] = {"previous": "from"}
    previous: str


@dataclass(frozen=True, kw_only=True)
class ExceptionReportMessage(Payload):
    user: str  # the service desk lead: a user (a DM) or a channel
    channel: str
    report: dict[str, Any]  # handover/reporting/exception_reports.py: exception_report


@dataclass(frozen=True, kw_only=True)
class CardUndeliveredDm(DirectMessage):
    """To the agent: the managers have NOT received the handover, and what to do now."""

    channel: str  # where the card should have gone
    error: str
    escalated_to: str  # who else was told ("" when nobody is configured)


@dataclass(frozen=True, kw_only=True)
class CardUndeliveredAlert(DirectMessage):
    """To `escalate_to`: the handover's essentials, so they can act without the card."""

    channel: str
    error: str


@dataclass(frozen=True, kw_only=True)
class NoticeUndeliveredLine(Payload):
    """In the card's thread, to whoever pressed Send: the notice did not go out."""

    user: str
    notice_kind: str
    channel: str
    error: str


# The incident channel (handover/ownership/incident_channel.py) ---------------------------


@dataclass(frozen=True, kw_only=True)
class ChannelCreate(Payload):
    """Make the incident's channel under the first of `names` Slack has free (name, name-2,
    name-3…)."""

    names: list[str]


@dataclass(frozen=True, kw_only=True)
class ChannelInvite(Payload):
    """Into the incident channel: these users, and the members of these user groups (S…),
    looked up when the row is sent (a group's members change)."""

    users: list[str] = field(default_factory=list)
    usergroups: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ChannelRecord(Payload):
    """The handover record, posted in the channel and pinned: what anyone joining reads."""


@dataclass(frozen=True, kw_only=True)
class ChannelTopic(Payload):
    """The channel's topic: priority, phase, owner, as they are when it is sent."""


@dataclass(frozen=True, kw_only=True)
class ChannelBookmark(Payload):
    url: str  # the bridge


@dataclass(frozen=True, kw_only=True)
class ChannelOutcome(Payload):
    """An end of the incident (resolved, closed, stood down), said in its channel as the
    card's thread says it: the event's kind, actor, time and detail."""

    event: str  # EventKind
    actor: str
    at: str
    detail: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class ChannelArchive(Payload):
    pass


@dataclass(frozen=True, kw_only=True)
class ChannelRefusedLine(Payload):
    """In the card's thread, to the owner: a step of the incident channel Slack refused, or
    the people it would not invite (user → Slack's error)."""

    user: str
    step: str  # the OutboxKind refused
    error: str = ""
    refused: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class WebhookRefusedLine(Payload):
    """In the card's thread, once per webhook and incident: it gave up on an event (the owner
    mentioned, once there is one). Later events are still sent to it."""

    user: str
    url: str
    event: str  # WebhookEvent
    error: str


INTENTS: dict[OutboxKind, type[Payload]] = {
    OutboxKind.ESCALATION: Escalated,
    OutboxKind.PHASE_REMINDER: PhaseReminder,
    OutboxKind.PHASE_VERDICT: PhaseVerdict,
    OutboxKind.UPDATE_REMINDER: UpdateReminder,
    OutboxKind.UPDATE_OVERDUE: UpdateOverdue,
    OutboxKind.HANDED_OVER_DM: HandedOverDm,
    OutboxKind.ACCEPTED_DM: AcceptedDm,
    OutboxKind.STOOD_DOWN_DM: StoodDownDm,
    OutboxKind.HANDED_ON_DM: HandedOnDm,
    OutboxKind.EXCEPTION_REPORT: ExceptionReportMessage,
    OutboxKind.CARD_UNDELIVERED_DM: CardUndeliveredDm,
    OutboxKind.CARD_UNDELIVERED_ALERT: CardUndeliveredAlert,
    OutboxKind.NOTICE_UNDELIVERED_LINE: NoticeUndeliveredLine,
    OutboxKind.INITIAL_NOTICE_NUDGE: InitialNoticeNudge,
    OutboxKind.PHASE_MISSED_DM: PhaseMissedDm,
    OutboxKind.INITIAL_NOTICE_DM: InitialNoticeDm,
    OutboxKind.RESOLVED_DM: ResolvedDm,
    OutboxKind.CHANNEL_CREATE: ChannelCreate,
    OutboxKind.CHANNEL_INVITE: ChannelInvite,
    OutboxKind.CHANNEL_RECORD: ChannelRecord,
    OutboxKind.CHANNEL_TOPIC: ChannelTopic,
    OutboxKind.CHANNEL_BOOKMARK: ChannelBookmark,
    OutboxKind.CHANNEL_OUTCOME: ChannelOutcome,
    OutboxKind.CHANNEL_ARCHIVE: ChannelArchive,
    OutboxKind.CHANNEL_REFUSED_LINE: ChannelRefusedLine,
    OutboxKind.WEBHOOK_REFUSED_LINE: WebhookRefusedLine,
}


@dataclass(frozen=True)
class EventLine:
    """A line in the card's thread saying an event of the timeline."""

    actor: str
    at: str
    detail: Payload


def intent_of(what: str, params: dict[str, Any]) -> Payload | EventLine:
    """An outbox row's params as the typed object its kind says."""
    if what in INTENTS:
        return INTENTS[OutboxKind(what)].from_json(params)
    detail = DETAILS[EventKind(what)].from_json(params)
    return EventLine(params["actor"], params["at"], detail)
