"""The words of the thread lines and direct messages the outbox delivers (handover/store/outbox.py).

The domain says *what* happened with plain parameters; this module says it in Slack.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bot.slack.ids import COMMAND
from bot.slack.mrkdwn import MESSAGE_TEXT_LIMIT, escape, slack_time, truncate
from bot.slack.ownership.timeline_text import exception_report_text
from handover.models import Incident
from handover.settings import Settings
from handover.times import humanize, parse_time


def mention(user_or_group: str) -> str:
    if user_or_group.startswith("S"):
        return f"<!subteam^{user_or_group}>"
    return f"<@{user_or_group}>"


def _t(iso: str) -> str:
    return slack_time(parse_time(iso))


def _d(seconds: int | None) -> str:
    return humanize(timedelta(seconds=seconds or 0))


def _late(p: dict) -> str:
    if not p.get("late"):
        return ""
    return f" _(late: this was due {_t(p['due_at'])}, when Baton was not running)_"


def _after_phase(p: dict) -> str:
    late_by = p.get("late_by_s")
    return f" ({_d(late_by)} after the end of the first phase)" if late_by else ""


def _escalation(i: Incident, p: dict, s: Settings) -> str:
    who = f"{mention(p['escalate_to'])} " if p.get("escalate_to") else ""
    return (
        f":rotating_light: {who}*{i.reference}* has not been accepted "
        f"{_d(p['waited_s'])} after handover. Please take ownership: press *Accept* on the "
        f"card.{_late(p)}"
    )


def _phase_reminder(i: Incident, p: dict, s: Settings) -> str:
    return (
        f":hourglass_flowing_sand: *{i.reference}*: the first phase ends "
        f"{_t(p['ends_at'])}. Still open: {', '.join(p['open'])}.{_late(p)}"
    )


def _phase_verdict(i: Incident, p: dict, s: Settings) -> str:
    phase = humanize(timedelta(seconds=p["phase_s"]))
    done = ", ".join(f"{label} after {_d(sec)}" for label, sec in p["done"])
    due = (
        f" Next stakeholder update due {slack_time(i.next_update_due_at)}."
        if (i.next_update_due_at)
        else ""
    )
    if p["met"]:
        return f":white_check_mark: First {phase} *met* for *{i.reference}*: {done}.{due}{_late(p)}"
    missing = ", ".join(p["missing"])
    done_part = f" Done: {done}." if done else ""
    return (
        f":x: First {phase} *missed* for *{i.reference}*. Still open at the end: "
        f"{missing}.{done_part}{due}{_late(p)}"
    )


def _update_reminder(i: Incident, p: dict, s: Settings) -> str:
    return (
        f":bell: Stakeholder update for *{i.reference}* is due "
        f"{_t(p['update_due_at'])}. It is due even when there is no news.{_late(p)}"
    )


def _update_overdue(i: Incident, p: dict, s: Settings) -> str:
    return (
        f":warning: Stakeholder update for *{i.reference}* is *overdue*: it was due "
        f"{_t(p['due_at'])}. Send one now, even if there is no news."
    )


def _accepted(i: Incident, p: dict, s: Settings) -> str:
    return (
        f":raised_hand: {mention(p['actor'])} accepted *{i.reference}* {_t(p['at'])}, "
        f"{_d(p['after_s'])} after handover{_after_phase(p)}. They own it now."
    )


def _trgs_engaged(i: Incident, p: dict, s: Settings) -> str:
    groups = ", ".join(escape(g) for g in p["groups"])
    return (
        f":hammer_and_wrench: {mention(p['actor'])} engaged resolver groups: {groups} "
        f"({_d(p['after_s'])} after handover{_after_phase(p)})."
    )


def _initial_comms_sent(i: Incident, p: dict, s: Settings) -> str:
    return (
        f":mega: Initial notice sent to <#{p['channel']}> by {mention(p['actor'])}, "
        f"{_d(p['after_s'])} after handover{_after_phase(p)}. "
        f"Next update due {_t(p['next_update_at'])}."
    )


def _update_sent(i: Incident, p: dict, s: Settings) -> str:
    timing = "on time" if p["on_time"] else f"late: it was due {_t(p['was_due_at'])}"
    return (
        f":mega: Update sent to <#{p['channel']}> by {mention(p['actor'])} ({timing}). "
        f"Next update due {_t(p['next_update_at'])}."
    )


def _resolution_sent(i: Incident, p: dict, s: Settings) -> str:
    return f":mega: Resolution notice sent to <#{p['channel']}> by {mention(p['actor'])}."


def _handed_on(i: Incident, p: dict, s: Settings) -> str:
    return (
        f":arrows_counterclockwise: {mention(p['from'])} handed *{i.reference}* on to "
        f"{mention(p['to'])}, who owns it now."
    )


def _stood_down(i: Incident, p: dict, s: Settings) -> str:
    return (
        f":octagonal_sign: {mention(p['actor'])} stood *{i.reference}* down: not a major "
        f"incident. Reason: {escape(p['reason'])}"
    )


def _resolved(i: Incident, p: dict, s: Settings) -> str:
    return (
        f":white_check_mark: *{i.reference}* resolved {_t(p['resolved_at'])}, "
        f"{_d(p['after_s'])} after handover (recorded by {mention(p['actor'])})."
    )


def _closed(i: Incident, p: dict, s: Settings) -> str:
    parts = [
        f"{label} {_d(sec) if sec is not None else 'not reached'}"
        for label, sec in p["durations"].items()
    ]
    return (
        f":checkered_flag: *{i.reference}* closed by {mention(p['actor'])}. "
        + "; ".join(parts)
        + "."
    )


def _handed_over_dm(i: Incident, p: dict, s: Settings) -> str:
    return (
        f"You handed over *{i.reference}*: {escape(i.headline)}. The incident managers have "
        f"it in <#{i.mim_channel}>. `{COMMAND} status {i.reference}` shows where it stands."
    )


def _accepted_dm(i: Incident, p: dict, s: Settings) -> str:
    return (
        f"{mention(p['owner'])} accepted *{i.reference}* ({escape(i.headline)}) and owns it "
        "now. They may call you; keep noting anything new in the ticket."
    )


def _stood_down_dm(i: Incident, p: dict, s: Settings) -> str:
    return (
        f"{mention(p['owner'])} decided *{i.reference}* ({escape(i.headline)}) is not a major "
        f"incident: {escape(p['reason'])}\nThis is not a rejection of your handover; "
        "thank you for raising it. Carry on with it as a normal ticket."
    )


def _handed_on_dm(i: Incident, p: dict, s: Settings) -> str:
    return (
        f"{mention(p['from'])} handed *{i.reference}* ({escape(i.headline)}) on to you: you "
        f"own it now. The card is in <#{i.mim_channel}>."
    )


def _exception_report(i: Incident, p: dict, s: Settings) -> str:
    return exception_report_text(p["report"])


def _gap_filled(i: Incident, p: dict, s: Settings) -> str:
    return f":pencil2: {mention(p['actor'])} filled in *{p['label'].lower()}* on the record."


Renderer = Callable[[Incident, dict, Settings], str]
TEXTS: dict[str, Renderer] = {
    "escalation": _escalation,
    "phase_reminder": _phase_reminder,
    "phase_verdict": _phase_verdict,
    "update_reminder": _update_reminder,
    "update_overdue": _update_overdue,
    "accepted": _accepted,
    "trgs_engaged": _trgs_engaged,
    "initial_comms_sent": _initial_comms_sent,
    "update_sent": _update_sent,
    "resolution_sent": _resolution_sent,
    "exception_report": _exception_report,
    "gap_filled": _gap_filled,
    "handed_on": _handed_on,
    "stood_down": _stood_down,
    "resolved": _resolved,
    "closed": _closed,
    "handed_over": _handed_over_dm,
    "accepted_dm": _accepted_dm,
    "stood_down_dm": _stood_down_dm,
    "handed_on_dm": _handed_on_dm,
}


def text_for(what: str, incident: Incident, params: dict, settings: Settings) -> str:
    # A reason or a headline can be long: the line is cut to fit, the record keeps it all.
    return truncate(TEXTS[what](incident, params, settings), MESSAGE_TEXT_LIMIT)
