"""Looking back, in words: the exception report for the service desk lead, and the timeline."""

from __future__ import annotations

from datetime import timedelta

from bot.slack.mrkdwn import escape, slack_time
from handover.models import Incident
from handover.reporting.exception_reports import TimelineEntry
from handover.times import humanize

EVENT_WORDS = {
    "handed_over": "handed over",
    "accepted": "accepted ownership",
    "escalated": "escalated: not accepted yet",
    "trgs_engaged": "engaged resolver groups",
    "initial_comms_sent": "sent the initial notice",
    "update_sent": "sent a stakeholder update",
    "update_overdue": "stakeholder update overdue",
    "resolution_sent": "sent the resolution notice",
    "phase_met": "first phase met",
    "phase_missed": "first phase missed",
    "state_changed": "changed the stakeholder status",
    "notice_edited": "edited a notice",
    "gap_filled": "filled in a gap",
    "handed_on": "handed it on",
    "stood_down": "stood it down",
    "resolved": "marked it resolved",
    "closed": "closed it",
    "denied": "was refused an action (not the owner)",
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
        filled = ", ".join(r["label"].lower() for r in report["reasks"])
        lines.append(f"*What the incident manager had to fill in or correct:* {filled}.")
    return "\n".join(lines)


def _words(entry: TimelineEntry) -> str:
    words = EVENT_WORDS.get(entry.kind, entry.kind.replace("_", " "))
    detail = entry.detail
    if entry.kind == "trgs_engaged":
        words += ": " + ", ".join(escape(g) for g in detail.get("groups", []))
    elif entry.kind == "handed_on":
        words += f" to <@{detail.get('to')}>"
    elif entry.kind == "gap_filled":
        words += f": {detail.get('label', '').lower()}"
    elif entry.kind == "state_changed":
        words += f": {detail.get('from')} → {detail.get('to')}"
    elif entry.kind == "stood_down":
        words += f": {escape(detail.get('reason', ''))}"
    return words


def timeline_text(incident: Incident, entries: list[TimelineEntry]) -> str:
    lines = [f"*Timeline of {incident.reference}* · {escape(incident.headline)}"]
    for entry in entries:
        who = "Baton" if entry.actor == "baton" else f"<@{entry.actor}>"
        since = "T0" if entry.since_t0 <= timedelta(0) else f"T0+{humanize(entry.since_t0)}"
        lines.append(f"• {slack_time(entry.at)} ({since}) · {who} {_words(entry)}")
    return "\n".join(lines)
