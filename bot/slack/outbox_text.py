"""The words of the thread lines and direct messages the outbox delivers (handover/store/outbox.py).

The domain says *what* happened with plain parameters; this module says it in Slack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from slack_sdk.models.blocks import ActionsBlock, SectionBlock

from bot.slack.blocks import button, md
from bot.slack.comms.views import KIND_NAMES
from bot.slack.ids import COMMAND, Action
from bot.slack.mrkdwn import MESSAGE_TEXT_LIMIT, SLACK, escape, mention, slack_time, truncate
from bot.slack.ownership.card import ACCEPT_LABEL
from bot.slack.ownership.timeline_text import exception_report_text
from bot.slack.refusal_words import refusal_in_words
from handover.checklist.card_content import card_content
from handover.checklist.definition import in_sentence
from handover.clock.timeline import (
    Accepted,
    Closed,
    EmailRefused,
    EmailUncertain,
    Escalated,
    GapFilled,
    HandedOn,
    InitialCommsSent,
    Late,
    NoticeEmailed,
    PageAcknowledged,
    Paged,
    PageRefused,
    PhaseVerdict,
    PriorityChanged,
    ResolutionSent,
    Resolved,
    StoodDown,
    TrgsEngaged,
    UpdateOverdue,
    UpdateSent,
    detail_of,
)
from handover.intents import (
    AcceptedDm,
    CardUndeliveredAlert,
    CardUndeliveredDm,
    ChannelOutcome,
    ChannelRefusedLine,
    EventLine,
    ExceptionReportMessage,
    HandedOnDm,
    HandedOverDm,
    InitialNoticeDm,
    InitialNoticeNudge,
    NoticeUndeliveredLine,
    PhaseMissedDm,
    PhaseReminder,
    ResolvedDm,
    StoodDownDm,
    UpdateReminder,
    WebhookRefusedLine,
    intent_of,
)
from handover.models import Incident
from handover.settings import OrgConfig, Settings
from handover.times import humanize, parse_time
from handover.vocabulary import ACTIVE, EventKind, NoticeKind, OutboxKind, PageAction, Pager, Phase


@dataclass(frozen=True)
class Context:
    """What some messages need beyond the incident and their params."""

    org: OrgConfig
    card_link: str = ""  # the card's permalink, for the agent's confirmation


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


def _who(i: Incident, org: OrgConfig) -> str:
    """Who a clock's line pings: the owner once there is one, until then `card_mention`
    (docs/architecture.md, "Who gets pinged")."""
    who = mention(i.owner_id or org.card_mention)
    return f"{who} " if who else ""


def _escalation(i: Incident, p: Escalated, ctx: Context) -> str:
    who = mention(p.escalate_to or ctx.org.card_mention)
    return (
        f":rotating_light: {who + ' ' if who else ''}*{i.reference}* has not been accepted "
        f"{_d(p.waited_s)} after handover. Please take ownership: press *{ACCEPT_LABEL}* on "
        f"the card.{_late(p)}"
    )


def _phase_reminder(i: Incident, p: PhaseReminder, ctx: Context) -> str:
    first = "" if p.notice_out else "*The initial notice has not gone out yet*: send it now. "
    return (
        f":hourglass_flowing_sand: {_who(i, ctx.org)}{first}*{i.reference}*: the first phase ends "
        f"{_t(p.ends_at)}. Still open: {', '.join(p.open)}.{_late(p)}"
    )


def _phase_verdict(i: Incident, p: PhaseVerdict, ctx: Context) -> str:
    phase = humanize(timedelta(seconds=p.phase_s))
    done = ", ".join(f"{label} after {_d(sec)}" for label, sec in p.done)
    # Announced only once a notice has gone out: an update follows a notice.
    due = (
        f" Next stakeholder update due {slack_time(i.next_update_due_at)}."
        if i.next_update_due_at and i.initial_comms_at
        else ""
    )
    if p.met:
        return (
            f":white_check_mark: {_who(i, ctx.org)}First {phase} *met* for *{i.reference}*: "
            f"{done}.{due}{_late(p)}"
        )
    done_part = f" Done: {done}." if done else ""
    chase = (
        " No stakeholder has been told yet: send the initial notice now."
        if not i.initial_comms_at
        else ""
    )
    return (
        f":x: {_who(i, ctx.org)}First {phase} *missed* for *{i.reference}*: "
        f"{', '.join(p.missing)}.{done_part}{chase}{due}{_late(p)}"
    )


def _initial_notice_nudge(i: Incident, p: InitialNoticeNudge, ctx: Context) -> str:
    return (
        f":loudspeaker: {_who(i, ctx.org)}The initial notice for *{i.reference}* has still "
        f"not gone out, {_d(p.since_s)} after handover. Stakeholders know nothing yet: send "
        "it now."
    )


def _update_reminder(i: Incident, p: UpdateReminder, ctx: Context) -> str:
    return (
        f":bell: {_who(i, ctx.org)}Stakeholder update for *{i.reference}* is due "
        f"{_t(p.update_due_at)}. It is due even when there is no news.{_late(p)}"
    )


def _update_overdue(i: Incident, p: UpdateOverdue, ctx: Context) -> str:
    return (
        f":warning: {_who(i, ctx.org)}Stakeholder update for *{i.reference}* is *overdue*: it was "
        f"due {_t(p.due_at)}. Send one now, even if there is no news."
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
    return f":pencil2: {mention(e.actor)} filled in *{in_sentence(p.label)}* on the record."


def _priority_changed(i: Incident, e: EventLine, p: PriorityChanged) -> str:
    moved = f" Next stakeholder update now due {_t(p.next_update_at)}." if p.next_update_at else ""
    return (
        f":arrows_clockwise: {mention(e.actor)} changed *{i.reference}* from {p.before} to "
        f"*{p.after}*: {escape(p.reason)}. Updates follow the {p.after} cadence from the next "
        f"one on.{moved}"
    )


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


def _handed_over_dm(i: Incident, p: HandedOverDm, ctx: Context) -> str:
    card = f"<{ctx.card_link}|the card>" if ctx.card_link else "the card"
    return (
        f"You handed over *{i.reference}*: {escape(i.headline)}. The incident managers have "
        f"it in <#{i.mim_channel}> ({card}). `{COMMAND} status {i.reference}` shows where it "
        "stands; you will get the initial notice here once it goes out, to read to callers."
    )


def _phase_missed_dm(i: Incident, p: PhaseMissedDm) -> str:
    return (
        f":x: The first phase of *{i.reference}* ({escape(i.headline)}) was missed: "
        f"{', '.join(p.missing)}. It is yours: the card in <#{i.mim_channel}> has what is open."
    )


def _initial_notice_dm(i: Incident, p: InitialNoticeDm) -> str:
    quoted = "\n".join(f"> {line}" for line in f"*{p.subject}*\n{p.body}".split("\n"))
    return (
        f":mega: Stakeholders of *{i.reference}* were told this in <#{p.channel}>; read it to "
        f"callers who ask:\n{quoted}"
    )


def _resolved_dm(i: Incident, p: ResolvedDm) -> str:
    return (
        f":white_check_mark: *{i.reference}* ({escape(i.headline)}) is resolved "
        f"{_t(p.resolved_at)}. Thank you for the handover; callers can be told it works again."
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


# What escalate_to needs to act on a card the managers never got.
ALERT_FACTS = ("Services", "Impact", "Users affected (estimate)", "Started")


def _card_undelivered_alert(i: Incident, p: CardUndeliveredAlert, ctx: Context) -> str:
    c = card_content(i, ctx.org, SLACK, mention=lambda user: f"<@{user}>")
    known = dict(c.facts)
    facts = " · ".join(f"*{label}:* {known[label]}" for label in ALERT_FACTS if label in known)
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


# The incident channel ----------------------------------------------------------------------


def channel_record(incident: Incident, settings: Settings, card_link: str) -> str:
    """The handover record pinned in the incident channel: what anyone joining reads first."""
    c = card_content(incident, settings.org, SLACK, mention=lambda user: f"<@{user}>")
    card = f"<{card_link}|the card>" if card_link else "the card"
    facts = "\n".join(f"*{label}:* {value}" for label, value in c.facts[:8])
    owner = f"Owner {mention(incident.owner_id)} · " if incident.owner_id else ""
    return (
        f":rotating_light: *{incident.reference}* · {incident.priority} · *{c.headline}*\n"
        f"{owner}handed over by {c.reporter} {slack_time(incident.handed_over_at)} · "
        f"{card} in <#{incident.mim_channel}>\n{facts}"
    )


def _phase_words(incident: Incident, settings: Settings) -> str:
    first = humanize(settings.initial_phase)
    return {
        Phase.INITIAL: f"first {first}",
        Phase.POST_INITIAL: f"after the first {first}",
        Phase.RESOLUTION: "resolved",
        Phase.CLOSED: "closed",
    }.get(Phase(incident.phase), str(incident.phase))


def channel_topic(incident: Incident, settings: Settings, owner_name: str) -> str:
    """ "P1 · first 15 min · owner @name": plain text, as a topic shows no mentions."""
    owner = f" · owner @{owner_name}" if owner_name else ""
    return f"{incident.priority} · {_phase_words(incident, settings)}{owner}"


def _channel_outcome(i: Incident, p: ChannelOutcome) -> str:
    """The end, in the incident channel as in the card's thread."""
    detail = detail_of(p.event, p.detail)
    return EVENT_LINES[EventKind(p.event)](i, EventLine(p.actor, p.at, detail), detail)


CHANNEL_STEPS = {
    OutboxKind.CHANNEL_CREATE: "make the incident channel",
    OutboxKind.CHANNEL_INVITE: "invite people to the incident channel",
    OutboxKind.CHANNEL_RECORD: "post and pin the record in the incident channel",
    OutboxKind.CHANNEL_TOPIC: "set the incident channel's topic",
    OutboxKind.CHANNEL_BOOKMARK: "bookmark the bridge in the incident channel",
    OutboxKind.CHANNEL_OUTCOME: "say the outcome in the incident channel",
    OutboxKind.CHANNEL_ARCHIVE: "archive the incident channel",
}


def _invitee(who: str) -> str:
    """A person, or a user group named without pinging all of it over a refusal."""
    return f"the user group `{who}`" if who.startswith("S") else mention(who)


def _channel_refused_line(i: Incident, p: ChannelRefusedLine) -> str:
    who = f"{mention(p.user)} " if p.user else ""
    where = i.incident_channel or ""
    if p.refused:
        people = ", ".join(
            f"{_invitee(who)} ({refusal_in_words(error, where)})"
            for who, error in p.refused.items()
        )
        return (
            f":warning: {who}Slack would not add these to the incident channel <#{where}>: "
            f"{people}. Everyone else is in; add them by hand if they need to be."
        )
    step = CHANNEL_STEPS.get(OutboxKind(p.step), "do that")
    return (
        f":warning: {who}Baton could *not* {step}: {refusal_in_words(p.error, where)}. "
        "Once the cause is fixed, `baton outbox retry` does it."
    )


def _webhook_refused_line(i: Incident, p: WebhookRefusedLine) -> str:
    who = f"{mention(p.user)} " if p.user else ""
    return (
        f":warning: {who}The webhook {escape(_host(p.url))} did not get `{p.event}` of "
        f"{i.reference} ({escape(p.error)}), and Baton gave up on it. Whatever it feeds (a "
        "status page, another tool) may be behind; `baton outbox` lists what it missed. "
        "Said once: later events are still sent to it."
    )


def _host(url: str) -> str:
    """A webhook by its host: enough to know which one, without a path that may hold a token."""
    return urlsplit(url).netloc or "?"


def _plain(render: Callable[[Incident, Any], str]) -> Callable[[Incident, Any, Context], str]:
    return lambda incident, intent, ctx: render(incident, intent)


# What each outbox kind says, and each event said in the thread (a test checks that every
# kind has its words here).
MESSAGES: dict[OutboxKind, Callable[[Incident, Any, Context], str]] = {
    OutboxKind.ESCALATION: _escalation,
    OutboxKind.PHASE_REMINDER: _phase_reminder,
    OutboxKind.PHASE_VERDICT: _phase_verdict,
    OutboxKind.INITIAL_NOTICE_NUDGE: _initial_notice_nudge,
    OutboxKind.UPDATE_REMINDER: _update_reminder,
    OutboxKind.UPDATE_OVERDUE: _update_overdue,
    OutboxKind.PHASE_MISSED_DM: _plain(_phase_missed_dm),
    OutboxKind.INITIAL_NOTICE_DM: _plain(_initial_notice_dm),
    OutboxKind.RESOLVED_DM: _plain(_resolved_dm),
    OutboxKind.HANDED_OVER_DM: _handed_over_dm,
    OutboxKind.ACCEPTED_DM: _plain(_accepted_dm),
    OutboxKind.STOOD_DOWN_DM: _plain(_stood_down_dm),
    OutboxKind.HANDED_ON_DM: _plain(_handed_on_dm),
    OutboxKind.EXCEPTION_REPORT: _plain(_exception_report),
    OutboxKind.CARD_UNDELIVERED_DM: _plain(_card_undelivered_dm),
    OutboxKind.CARD_UNDELIVERED_ALERT: _card_undelivered_alert,
    OutboxKind.NOTICE_UNDELIVERED_LINE: _plain(_notice_undelivered_line),
    OutboxKind.CHANNEL_OUTCOME: _plain(_channel_outcome),
    OutboxKind.CHANNEL_REFUSED_LINE: _plain(_channel_refused_line),
    OutboxKind.WEBHOOK_REFUSED_LINE: _plain(_webhook_refused_line),
}
# The pagers by the names people know them by.
PAGER_NAMES = {Pager.PAGERDUTY: "PagerDuty", Pager.OPSGENIE: "Opsgenie"}


def _paged(i: Incident, e: EventLine, p: Paged) -> str:
    pager, group = PAGER_NAMES[Pager(p.pager)], escape(p.group)
    if p.resolved:
        return f":white_check_mark: {pager} told that {i.reference} is resolved: *{group}*."
    return f":pager: *{group}* paged through {pager} {_t(e.at)}."


def _page_refused(i: Incident, e: EventLine, p: PageRefused) -> str:
    pager, group = PAGER_NAMES[Pager(p.pager)], escape(p.group)
    who = f"{mention(p.owner)} " if p.owner else ""
    if p.action == PageAction.RESOLVE:
        return (
            f":x: {who}{pager} refused to resolve the page of *{group}* ({escape(p.error)}): "
            f"resolve it in {pager} by hand."
        )
    return (
        f":x: {who}*{group}* was NOT paged: {pager} refused it ({escape(p.error)}). Call "
        f"them another way now, and check the group's {pager} settings in BATON_CONFIG."
    )


def _addresses(addresses: list[str], limit: int = 10) -> str:
    shown = ", ".join(escape(a) for a in addresses[:limit])
    return shown + (f" and {len(addresses) - limit} more" if len(addresses) > limit else "")


def _notice_emailed(i: Incident, e: EventLine, p: NoticeEmailed) -> str:
    kind = KIND_NAMES.get(NoticeKind(p.notice_kind), "notice")
    count = f"{len(p.to)} address{'es' if len(p.to) != 1 else ''}"
    return f":email: {kind[0].upper()}{kind[1:]} e-mailed to {count} {_t(e.at)}."


def _email_refused(i: Incident, e: EventLine, p: EmailRefused) -> str:
    who = f"{mention(p.owner)} " if p.owner else ""
    kind = KIND_NAMES.get(NoticeKind(p.notice_kind), "notice")
    if p.refused:
        answers = "; ".join(f"{escape(a)} ({escape(r)})" for a, r in list(p.refused.items())[:10])
        return (
            f":email: {who}The mail server refused the {kind} for {answers}: they did NOT get "
            "it by e-mail (the others did). Tell them another way, and check the addresses in "
            "BATON_CONFIG."
        )
    return (
        f":x: {who}The {kind} was NOT e-mailed ({escape(p.error)}). Tell the e-mail "
        "stakeholders another way, and check "
        "BATON_SMTP_URL, BATON_MAIL_FROM and the addresses in BATON_CONFIG."
    )


def _email_uncertain(i: Incident, e: EventLine, p: EmailUncertain) -> str:
    who = f"{mention(p.owner)} " if p.owner else ""
    kind = KIND_NAMES.get(NoticeKind(p.notice_kind), "notice")
    return (
        f":warning: {who}The {kind}'s e-mail may or may not have gone out: Baton stopped "
        "while the mail server was taking it, and does not send it again (never twice). "
        f"Check with one of {_addresses(p.to)} whether it arrived."
    )


def _page_acknowledged(i: Incident, e: EventLine, p: PageAcknowledged) -> str:
    pager = PAGER_NAMES[Pager(p.pager)]
    return (
        f":eyes: *{escape(p.group)}* acknowledged {_t(p.acknowledged_at)} "
        f"({escape(p.by)}, in {pager})."
    )


EVENT_LINES: dict[EventKind, Callable[[Incident, EventLine, Any], str]] = {
    EventKind.ACCEPTED: _accepted,
    EventKind.TRGS_ENGAGED: _trgs_engaged,
    EventKind.INITIAL_COMMS_SENT: _initial_comms_sent,
    EventKind.UPDATE_SENT: _update_sent,
    EventKind.RESOLUTION_SENT: _resolution_sent,
    EventKind.GAP_FILLED: _gap_filled,
    EventKind.PRIORITY_CHANGED: _priority_changed,
    EventKind.HANDED_ON: _handed_on,
    EventKind.STOOD_DOWN: _stood_down,
    EventKind.RESOLVED: _resolved,
    EventKind.CLOSED: _closed,
    EventKind.PAGED: _paged,
    EventKind.PAGE_RESOLVED: _paged,
    EventKind.PAGE_REFUSED: _page_refused,
    EventKind.PAGE_ACKNOWLEDGED: _page_acknowledged,
    EventKind.NOTICE_EMAILED: _notice_emailed,
    EventKind.EMAIL_REFUSED: _email_refused,
    EventKind.EMAIL_UNCERTAIN: _email_uncertain,
}


def text_for(
    what: str, incident: Incident, params: dict, settings: Settings, card_link: str = ""
) -> str:
    """The words of one outbox row. A reason or a headline can be long: the line is cut to
    fit, the record keeps it all. `card_link`: the card's permalink, for the agent's
    confirmation."""
    intent = intent_of(what, params)
    if isinstance(intent, EventLine):
        text = EVENT_LINES[EventKind(what)](incident, intent, intent.detail)
    else:
        text = MESSAGES[OutboxKind(what)](incident, intent, Context(settings.org, card_link))
    return truncate(text, MESSAGE_TEXT_LIMIT)


def _chases_initial_notice(what: str, incident: Incident, params: dict) -> bool:
    if incident.initial_comms_at is not None or incident.status not in ACTIVE:
        return False
    if what == OutboxKind.INITIAL_NOTICE_NUDGE:
        return True
    return what == OutboxKind.PHASE_REMINDER and not params.get("notice_out", True)


def blocks_for(what: str, incident: Incident, params: dict, text: str) -> list[dict] | None:
    """Blocks for the lines that offer an action: a line chasing the initial notice has its
    *Send now* (the current draft, whichever it is when pressed)."""
    if not _chases_initial_notice(what, incident, params):
        return None
    send_now = button("Send now", Action.SEND_INITIAL, incident.id, "primary")
    return [
        SectionBlock(text=md(text)).to_dict(),
        ActionsBlock(block_id="chase", elements=[send_now]).to_dict(),
    ]
