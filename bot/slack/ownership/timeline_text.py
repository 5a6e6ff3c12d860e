"""Looking back, in words: the exception report for the service desk lead, and the timeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

from bot.slack.mrkdwn import escape, slack_time
from handover.checklist.definition import in_sentence
from handover.clock.timeline import (
    CardLate,
    CardUndelivered,
    EmailRefused,
    GapFilled,
    HandedOn,
    MessageUndelivered,
    NoticeEmailed,
    NoticeUndelivered,
    PageAcknowledged,
    Paged,
    PageRefused,
    StateChanged,
    StoodDown,
    TimelineEntry,
    TrgsEngaged,
    WebhookRefused,
)
from handover.comms.templates import STATES
from handover.models import Incident
from handover.times import humanize
from handover.vocabulary import EventKind

# The timeline's words for each event kind (a test checks that every kind has them).
EVENT_WORDS: dict[EventKind, str] = {
    EventKind.HANDED_OVER: "handed over",
    EventKind.ACCEPTED: "accepted ownership",
    EventKind.ESCALATED: "escalated: not accepted yet",
    EventKind.TRGS_ENGAGED: "engaged resolver groups",
    EventKind.INITIAL_COMMS_SENT: "sent the initial notice",
    EventKind.UPDATE_SENT: "sent a stakeholder update",
    EventKind.UPDATE_OVERDUE: "stakeholder update overdue",
    EventKind.RESOLUTION_SENT: "sent the resolution notice",
    EventKind.PHASE_MET: "first phase met",
    EventKind.PHASE_MISSED: "first phase missed",
    EventKind.STATE_CHANGED: "changed the stakeholder status",
    EventKind.NOTICE_EDITED: "edited a notice",
    EventKind.GAP_FILLED: "filled in a gap",
    EventKind.PRIORITY_CHANGED: "changed the priority",
    EventKind.HANDED_ON: "handed it on",
    EventKind.STOOD_DOWN: "stood it down",
    EventKind.RESOLVED: "marked it resolved",
    EventKind.CLOSED: "closed it",
    EventKind.DENIED: "was refused an action (not the owner)",
    EventKind.CARD_UNDELIVERED: "could not post the card: the managers did not get it",
    EventKind.CARD_LATE: "posted the card, late",
    EventKind.NOTICE_UNDELIVERED: "could not publish a notice: not sent",
    EventKind.MESSAGE_UNDELIVERED: "gave up on a message",
    EventKind.PAGED: "paged",
    EventKind.PAGE_RESOLVED: "resolved the page of",
    EventKind.PAGE_REFUSED: "could not page",
    EventKind.PAGE_ACKNOWLEDGED: "page acknowledged by",
    EventKind.WEBHOOK_REFUSED: "gave up on a webhook",
    EventKind.NOTICE_EMAILED: "e-mailed a notice to",
    EventKind.EMAIL_REFUSED: "could not e-mail a notice",
    EventKind.EMAIL_UNCERTAIN: "may or may not have e-mailed a notice (stopped mid-send)",
}


def _d(seconds: int | None) -> str:
    return humanize(timedelta(seconds=seconds)) if seconds is not None else "not known"


def exception_report_text(report: dict) -> str:
    """Blameless: about what the handover lacked and how to practise it, never about a person."""
    lines = [
        f":clipboard: *Handover review: {report['reference']}* ({escape(report['headline'])})",
        f"Handover quality as handed over: *{report['score']} %* ({report['band']}). "
        "This is for training: every gap below is a question worth practising, not a fault.",
        f"First report → handover: {_d(report['report_to_handover_s'])} · handover → accepted: "
        f"{_d(report['handover_to_accept_s'])}.",
    ]
    if report["gaps"]:
        lines.append("*Gaps, with a training point for each:*")
        for gap in report["gaps"]:
            mark = " (critical)" if gap["critical"] else ""
            lines.append(f"• {gap['label']}: {gap['answer']}{mark}. {gap['training']}")
    if report["reasks"]:
        filled = ", ".join(in_sentence(r["label"]) for r in report["reasks"])
        lines.append(f"*What the incident manager had to fill in or correct:* {filled}.")
    return "\n".join(lines)


def _state(state: str, esc: Callable[[str], str]) -> str:
    """A stakeholder state in the words stakeholders read (escaped: it came in a payload)."""
    return esc(STATES.get(state, state))


def event_words(
    entry: TimelineEntry,
    esc: Callable[[str], str] = escape,
    mention: Callable[[str], str] = lambda user: f"<@{user}>",
) -> str:
    """What happened, in words; `esc` and `mention` for the target (Slack by default)."""
    words = EVENT_WORDS[entry.kind]
    detail = entry.detail
    if isinstance(detail, TrgsEngaged):
        words += ": " + ", ".join(esc(g) for g in detail.groups)
    elif isinstance(detail, HandedOn):
        words += f" to {mention(detail.new)}"
    elif isinstance(detail, GapFilled):
        words += f": {in_sentence(detail.label)}"
    elif isinstance(detail, StateChanged):
        words += f": {_state(detail.before, esc)} → {_state(detail.after, esc)}"
    elif isinstance(detail, StoodDown):
        words += f": {esc(detail.reason)}"
    elif isinstance(detail, CardUndelivered | NoticeUndelivered | MessageUndelivered):
        words += f" ({esc(detail.error)})"
    elif isinstance(detail, Paged | PageRefused):
        words += f" {esc(detail.group)} ({detail.pager})"
        if isinstance(detail, PageRefused):
            words += f" ({esc(detail.error)})"
    elif isinstance(detail, PageAcknowledged):
        words += f" {esc(detail.by)}: {esc(detail.group)} ({detail.pager})"
    elif isinstance(detail, WebhookRefused):
        host = urlsplit(detail.url).netloc or "?"
        words += f" {esc(host)}: {detail.event} ({esc(detail.error)})"
    elif isinstance(detail, NoticeEmailed):
        words += f" {len(detail.to)} address{'es' if len(detail.to) != 1 else ''}"
    elif isinstance(detail, EmailRefused):
        refused = ", ".join(esc(a) for a in detail.refused)
        words += f" to {refused}" if refused else f" ({esc(detail.error)})"
    elif isinstance(detail, CardLate):
        words += f" by {humanize(timedelta(seconds=detail.late_by_s))}"
    return words


def timeline_text(incident: Incident, entries: list[TimelineEntry]) -> str:
    lines = [f"*Timeline of {incident.reference}* · {escape(incident.headline)}"]
    for entry in entries:
        who = "Baton" if entry.actor == "baton" else f"<@{entry.actor}>"
        since = "T0" if entry.since_t0 <= timedelta(0) else f"T0+{humanize(entry.since_t0)}"
        lines.append(f"• {slack_time(entry.at)} ({since}) · {who} {event_words(entry)}")
    return "\n".join(lines)
