"""The words of the thread lines and direct messages the outbox delivers (handover/store/outbox.py).

The domain says *what* happened with plain parameters; this module says it in Slack.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.slack.comms.views import KIND_NAMES
from bot.slack.ids import COMMAND
from bot.slack.mrkdwn import MESSAGE_TEXT_LIMIT, SLACK, escape, slack_time, truncate
from bot.slack.ownership.timeline_text import exception_report_text
from bot.slack.refusal_words import refusal_in_words
from handover.checklist.card_content import card_content
from handover.clock.timeline import (
    Accepted,
    Closed,
    Escalated,
    GapFilled,
    HandedOn,
    InitialCommsSent,
    Late,
    PhaseVerdict,
    ResolutionSent,
    Resolved,
    StoodDown,
    TrgsEngaged,
    UpdateOverdue,
    UpdateSent,
)
from handover.intents import (
    AcceptedDm,
    CardUndeliveredAlert,
    CardUndeliveredDm,
    EventLine,
    ExceptionReportMessage,
    HandedOnDm,
    HandedOverDm,
    NoticeUndeliveredLine,
    PhaseReminder,
    StoodDownDm,
    UpdateReminder,
    intent_of,
)
from handover.models import Incident
from handover.settings import OrgConfig, Settings
from handover.times import humanize, parse_time
from handover.vocabulary import EventKind, NoticeKind, OutboxKind


def mention(user_or_group: str) -> str:
    if user_or_group.startswith("S"):
        return f"<!subteam^{user_or_group}>"
    return f"<@{user_or_group}>"


def _t(iso: str) -> str:
    return slack_time(parse_time(iso))


def _d(seconds: int | None) -> str:
    return humanize(timedelta(seconds=seconds or 0))


def _late(p: Late) -> str:
    if not p.late:
        return ""
    return f" _(late: this was due {_t(p.due_at)}, when Baton was not running)_"


def _after_phase(late_by_s: int | None) -> str:
    return f" ({_d(late_by_s)} after the end of the first phase)" if late_by_s else ""


# The clock's lines ------------------------------------------------------------------------


def _escalation(i: Incident, p: Escalated) -> str:
    who = f"{mention(p.escalate_to)} " if p.escalate_to else ""
    return (
        f":rotating_light: {who}*{i.reference}* has not been accepted "
        f"{_d(p.waited_s)} after handover. Please take ownership: press *Accept* on the "
        f"card.{_late(p)}"
    )


def _phase_reminder(i: Incident, p: PhaseReminder) -> str:
    return (
        f":hourglass_flowing_sand: *{i.reference}*: the first phase ends "
        f"{_t(p.ends_at)}. Still open: {', '.join(p.open)}.{_late(p)}"
    )


def _phase_verdict(i: Incident, p: PhaseVerdict) -> str:
    phase = humanize(timedelta(seconds=p.phase_s))
    done = ", ".join(f"{label} after {_d(sec)}" for label, sec in p.done)
    due = (
        f" Next stakeholder update due {slack_time(i.next_update_due_at)}."
        if (i.next_update_due_at)
        else ""
    )
    if p.met:
        return f":white_check_mark: First {phase} *met* for *{i.reference}*: {done}.{due}{_late(p)}"
    missing = ", ".join(p.missing)
    done_part = f" Done: {done}." if done else ""
    return (
        f":x: First {phase} *missed* for *{i.reference}*. Still open at the end: "
        f"{missing}.{done_part}{due}{_late(p)}"
    )


def _update_reminder(i: Incident, p: UpdateReminder) -> str:
    return (
        f":bell: Stakeholder update for *{i.reference}* is due "
        f"{_t(p.update_due_at)}. It is due even when there is no news.{_late(p)}"
    )


def _update_overdue(i: Incident, p: UpdateOverdue) -> str:
    return (
        f":warning: Stakeholder update for *{i.reference}* is *overdue*: it was due "
        f"{_t(p.due_at)}. Send one now, even if there is no news."
    )


# Events said in the thread ----------------------------------------------------------------


def _accepted(i: Incident, e: EventLine, p: Accepted) -> str:
    return (
        f":raised_hand: {mention(e.actor)} accepted *{i.reference}* {_t(e.at)}, "
        f"{_d(p.after_s)} after handover{_after_phase(p.late_by_s)}. They own it now."
    )


def _trgs_engaged(i: Incident, e: EventLine, p: TrgsEngaged) -> str:
    groups = ", ".join(escape(g) for g in p.groups)
    return (
        f":hammer_and_wrench: {mention(e.actor)} engaged resolver groups: {groups} "
        f"({_d(p.after_s)} after handover{_after_phase(p.late_by_s)})."
    )


def _initial_comms_sent(i: Incident, e: EventLine, p: InitialCommsSent) -> str:
    return (
        f":mega: Initial notice sent to <#{p.channel}> by {mention(e.actor)}, "
        f"{_d(p.after_s)} after handover{_after_phase(p.late_by_s)}. "
        f"Next update due {_t(p.next_update_at)}."
    )


def _update_sent(i: Incident, e: EventLine, p: UpdateSent) -> str:
    timing = "on time" if p.on_time else f"late: it was due {_t(p.was_due_at)}"
    return (
        f":mega: Update sent to <#{p.channel}> by {mention(e.actor)} ({timing}). "
        f"Next update due {_t(p.next_update_at)}."
    )


def _resolution_sent(i: Incident, e: EventLine, p: ResolutionSent) -> str:
    return f":mega: Resolution notice sent to <#{p.channel}> by {mention(e.actor)}."


def _gap_filled(i: Incident, e: EventLine, p: GapFilled) -> str:
    return f":pencil2: {mention(e.actor)} filled in *{p.label.lower()}* on the record."


def _handed_on(i: Incident, e: EventLine, p: HandedOn) -> str:
    return (
        f":arrows_counterclockwise: {mention(p.previous)} handed *{i.reference}* on to "
        f"{mention(p.new)}, who owns it now."
    )


def _stood_down(i: Incident, e: EventLine, p: StoodDown) -> str:
    return (
        f":octagonal_sign: {mention(e.actor)} stood *{i.reference}* down: not a major "
        f"incident. Reason: {escape(p.reason)}"
    )


def _resolved(i: Incident, e: EventLine, p: Resolved) -> str:
    return (
        f":white_check_mark: *{i.reference}* resolved {_t(p.resolved_at)}, "
        f"{_d(p.after_s)} after handover (recorded by {mention(e.actor)})."
    )


def _closed(i: Incident, e: EventLine, p: Closed) -> str:
    parts = [
        f"{label} {_d(sec) if sec is not None else 'not reached'}"
        for label, sec in p.durations.items()
    ]
    return (
        f":checkered_flag: *{i.reference}* closed by {mention(e.actor)}. " + "; ".join(parts) + "."
    )


# Direct messages --------------------------------------------------------------------------


def _handed_over_dm(i: Incident, p: HandedOverDm) -> str:
    return (
        f"You handed over *{i.reference}*: {escape(i.headline)}. The incident managers have "
        f"it in <#{i.mim_channel}>. `{COMMAND} status {i.reference}` shows where it stands."
    )


def _accepted_dm(i: Incident, p: AcceptedDm) -> str:
    return (
        f"{mention(p.owner)} accepted *{i.reference}* ({escape(i.headline)}) and owns it "
        "now. They may call you; keep noting anything new in the ticket."
    )


def _stood_down_dm(i: Incident, p: StoodDownDm) -> str:
    return (
        f"{mention(p.owner)} decided *{i.reference}* ({escape(i.headline)}) is not a major "
        f"incident: {escape(p.reason)}\nThis is not a rejection of your handover; "
        "thank you for raising it. Carry on with it as a normal ticket."
    )


def _handed_on_dm(i: Incident, p: HandedOnDm) -> str:
    return (
        f"{mention(p.previous)} handed *{i.reference}* ({escape(i.headline)}) on to you: you "
        f"own it now. The card is in <#{i.mim_channel}>."
    )


def _exception_report(i: Incident, p: ExceptionReportMessage) -> str:
    return exception_report_text(p.report)


# When Slack refuses ------------------------------------------------------------------------


def _card_undelivered_dm(i: Incident, p: CardUndeliveredDm) -> str:
    also = f" {mention(p.escalated_to)} has been told as well." if p.escalated_to else ""
    return (
        f":rotating_light: *The incident managers have NOT received {i.reference}* "
        f"({escape(i.headline)}). Slack refused to post the handover in <#{p.channel}>: "
        f"{refusal_in_words(p.error, p.channel)}.\n*Call the incident managers now* and give "
        f"them the reference {i.reference}.{also} Your handover is saved: once the cause is "
        "fixed, `baton outbox retry` posts the card, marked late."
    )


def _card_undelivered_alert(i: Incident, p: CardUndeliveredAlert, org: OrgConfig) -> str:
    c = card_content(i, org, SLACK, mention=lambda user: f"<@{user}>")
    facts = " · ".join(f"*{label}:* {value}" for label, value in c.facts)
    return (
        f":rotating_light: *{i.reference} ({i.priority}) did not reach the incident managers.* "
        f"Slack refused to post it in <#{p.channel}>: {refusal_in_words(p.error, p.channel)}. "
        f"Handed over by {c.reporter} {slack_time(i.handed_over_at)}; act on it from "
        f"here:\n*{c.headline}*\n{facts}"
    )


def _notice_undelivered_line(i: Incident, p: NoticeUndeliveredLine) -> str:
    who = f"{mention(p.user)} " if p.user else ""
    kind = KIND_NAMES.get(NoticeKind(p.notice_kind), "notice")
    return (
        f":x: {who}The {kind} could *not* be published to <#{p.channel}>: "
        f"{refusal_in_words(p.error, p.channel)}. It is not sent and not counted; once the "
        "cause is fixed, press *Send* on the draft again."
    )


def _without_org(
    render: Callable[[Incident, Any], str],
) -> Callable[[Incident, Any, OrgConfig], str]:
    return lambda incident, intent, org: render(incident, intent)


# What each outbox kind says, and each event said in the thread (a test checks that every
# kind has its words here).
MESSAGES: dict[OutboxKind, Callable[[Incident, Any, OrgConfig], str]] = {
    OutboxKind.ESCALATION: _without_org(_escalation),
    OutboxKind.PHASE_REMINDER: _without_org(_phase_reminder),
    OutboxKind.PHASE_VERDICT: _without_org(_phase_verdict),
    OutboxKind.UPDATE_REMINDER: _without_org(_update_reminder),
    OutboxKind.UPDATE_OVERDUE: _without_org(_update_overdue),
    OutboxKind.HANDED_OVER_DM: _without_org(_handed_over_dm),
    OutboxKind.ACCEPTED_DM: _without_org(_accepted_dm),
    OutboxKind.STOOD_DOWN_DM: _without_org(_stood_down_dm),
    OutboxKind.HANDED_ON_DM: _without_org(_handed_on_dm),
    OutboxKind.EXCEPTION_REPORT: _without_org(_exception_report),
    OutboxKind.CARD_UNDELIVERED_DM: _without_org(_card_undelivered_dm),
    OutboxKind.CARD_UNDELIVERED_ALERT: _card_undelivered_alert,
    OutboxKind.NOTICE_UNDELIVERED_LINE: _without_org(_notice_undelivered_line),
}
EVENT_LINES: dict[EventKind, Callable[[Incident, EventLine, Any], str]] = {
    EventKind.ACCEPTED: _accepted,
    EventKind.TRGS_ENGAGED: _trgs_engaged,
    EventKind.INITIAL_COMMS_SENT: _initial_comms_sent,
    EventKind.UPDATE_SENT: _update_sent,
    EventKind.RESOLUTION_SENT: _resolution_sent,
    EventKind.GAP_FILLED: _gap_filled,
    EventKind.HANDED_ON: _handed_on,
    EventKind.STOOD_DOWN: _stood_down,
    EventKind.RESOLVED: _resolved,
    EventKind.CLOSED: _closed,
}


def text_for(what: str, incident: Incident, params: dict, settings: Settings) -> str:
    """The words of one outbox row. A reason or a headline can be long: the line is cut to
    fit, the record keeps it all."""
    intent = intent_of(what, params)
    if isinstance(intent, EventLine):
        text = EVENT_LINES[EventKind(what)](incident, intent, intent.detail)
    else:
        text = MESSAGES[OutboxKind(what)](incident, intent, settings.org)
    return truncate(text, MESSAGE_TEXT_LIMIT)
