"""The handover card in the managers' channel: the record, its owner, phase and controls."""

from __future__ import annotations

from datetime import datetime, timedelta

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.slack.blocks import BAND_DOT, button, md
from bot.slack.ids import Action
from bot.slack.mrkdwn import (
    FIELD_LIMIT,
    MESSAGE_TEXT_LIMIT,
    SLACK,
    escape,
    slack_time,
    truncate,
)
from handover.checklist.card_content import card_content
from handover.checklist.definition import in_sentence
from handover.checklist.quality import Quality, assess
from handover.clock.deadlines import objectives
from handover.models import Incident
from handover.ownership.controls import Control, offered
from handover.ownership.incidents import key_durations
from handover.settings import Settings
from handover.times import humanize
from handover.vocabulary import IncidentStatus, Phase


def _field(label: str, value: str) -> MarkdownTextObject:
    return md(f"*{label}*\n{value}", FIELD_LIMIT)


def status_line(incident: Incident, settings: Settings, now: datetime) -> str:
    """Who owns it, which phase, and what is due next: follow-through at a glance."""
    owner = f"<@{incident.owner_id}>" if incident.owner_id else None
    phase_length = humanize(settings.initial_phase)
    if incident.status == IncidentStatus.STOOD_DOWN:
        return (
            f":octagonal_sign: *Stood down* by {owner}: not a major incident. "
            f"{escape(incident.stood_down_reason)}"
        )
    if incident.status == IncidentStatus.CLOSED:
        return f":checkered_flag: *Closed* {slack_time(incident.closed_at)} · owner {owner}"
    if incident.status == IncidentStatus.RESOLVED:
        return (
            f":white_check_mark: *Resolved* {slack_time(incident.resolved_at)} · owner "
            f"{owner} · next: close it once the fix is confirmed"
        )
    who = f"*Owner:* {owner}" if owner else "*Waiting for a manager to accept*"
    if incident.phase == Phase.INITIAL:
        ends = f", ends {slack_time(incident.phase_ends_at)}" if incident.phase_ends_at else ""
        return f"{who} · *Phase:* first {phase_length}{ends}"
    due = incident.next_update_due_at
    next_update = ""
    if due:
        overdue = " :warning: *overdue*" if now > due else ""
        next_update = f" · next stakeholder update due {slack_time(due)}{overdue}"
    return f"{who} · *Phase:* post {phase_length}{next_update}"


def objectives_line(incident: Incident) -> str:
    t0 = incident.handed_over_at
    parts = []
    for o in objectives(incident):
        if o.done_at:
            parts.append(f":white_check_mark: {o.label} ({humanize(o.done_at - t0)})")
        else:
            parts.append(f":white_large_square: {o.label}")
    if incident.trgs:
        parts[1] += ": " + ", ".join(escape(g) for g in incident.trgs)
    return " · ".join(parts)


def late_line(incident: Incident) -> str:
    """A card that reached the managers late says so on itself, and by how much."""
    if incident.card_late_by_s is None:
        return ""
    late = humanize(timedelta(seconds=incident.card_late_by_s))
    return (
        f":warning: *Posted late:* handed over {slack_time(incident.handed_over_at)}, it "
        f"reached this channel {late} later, because Slack refused it first. The agent was "
        "told to call you."
    )


def quality_line(incident: Incident, handed_over: Quality) -> str:
    """The score as handed over counts for training; what is still open is what to fill."""
    line = (
        f"Handed over {slack_time(incident.handed_over_at)} · handover quality "
        f"{BAND_DOT[handed_over.band]} {handed_over.score} %"
    )
    current = assess(incident.answers)
    if current.score != handed_over.score:
        line += f" as handed over, {current.score} % now"
    gaps = ", ".join(in_sentence(g.label) for g in current.gaps) or "none"
    return f"{line} · gaps: {gaps}"


_CLOSE_CONFIRM = ConfirmObject(
    title="Close the incident?",
    text="The fix is confirmed and nothing more is due.",
    confirm="Close",
    deny="Not yet",
)
# Each control's button. Which of them the card shows is the domain's decision
# (handover/ownership/controls.py).
BUTTONS: dict[Control, tuple[str, Action]] = {
    Control.ACCEPT: ("Accept ownership", Action.ACCEPT),
    Control.ENGAGE: ("Engage resolver groups", Action.ENGAGE),
    Control.DRAFT_UPDATE: ("Draft update", Action.DRAFT_UPDATE),
    Control.SUMMARY: ("Executive summary", Action.SUMMARY),
    Control.FILL_GAP: ("Fill a gap", Action.FILL_GAP),
    Control.CHANGE_PRIORITY: ("Change priority", Action.CHANGE_PRIORITY),
    Control.HAND_ON: ("Hand on", Action.HAND_ON),
    Control.STAND_DOWN: ("Stand down", Action.STAND_DOWN),
    Control.RESOLVE: ("Resolve", Action.RESOLVE),
    Control.CLOSE: ("Close incident", Action.CLOSE),
}
PRIMARY = (Control.ACCEPT, Control.RESOLVE, Control.CLOSE)


def controls(incident: Incident) -> list[ButtonElement]:
    """The buttons of the controls on offer now."""
    return [
        button(
            BUTTONS[control][0],
            BUTTONS[control][1],
            incident.id,
            "primary" if control in PRIMARY else None,
            _CLOSE_CONFIRM if control is Control.CLOSE else None,
        )
        for control in offered(incident.status)
    ]


def card(incident: Incident, settings: Settings, now: datetime) -> tuple[str, list[dict]]:
    """The card's plain-text fallback and its blocks, for the incident as it is now."""
    c = card_content(incident, settings.org, SLACK, mention=lambda user: f"<@{user}>")
    facts = [("Priority", c.priority), *c.facts, ("Reported by", c.reporter)]
    blocks = [
        HeaderBlock(text=c.title[:150]),
        SectionBlock(text=md(f"*{c.headline}*")),
        SectionBlock(block_id="status", text=md(status_line(incident, settings, now))),
        ContextBlock(elements=[md(objectives_line(incident))]),
        SectionBlock(fields=[_field(label, value) for label, value in facts]),
        *(SectionBlock(text=md(f"*{label}*\n{value}")) for label, value in c.sections),
        SectionBlock(fields=[_field(label, value) for label, value in c.follow_up]),
        ContextBlock(elements=[md(quality_line(incident, c.quality))]),
    ]
    late = late_line(incident)
    if late:
        blocks.insert(1, SectionBlock(text=md(late)))
    if incident.status == IncidentStatus.CLOSED:
        durations = " · ".join(
            f"{label} {humanize(d) if d is not None else 'not reached'}"
            for label, d in key_durations(incident)
        )
        blocks.append(SectionBlock(text=md(f"*Key durations:* {durations}")))
    buttons = controls(incident)
    if buttons:
        blocks.append(ActionsBlock(block_id="incident_actions", elements=buttons))
    services = dict(c.facts)["Services"]
    state = IncidentStatus(incident.status).words
    text = (
        f"{incident.reference} ({incident.priority}, {state}): {c.headline}. Services: {services}."
    )
    if incident.status == IncidentStatus.HANDED_OVER:
        text += " Press Accept to take ownership."
    return truncate(text, MESSAGE_TEXT_LIMIT), [b.to_dict() for b in blocks]


def status_text(incident: Incident, settings: Settings, now: datetime) -> str:
    return (
        f"*{incident.reference}* · {incident.priority} · {escape(incident.headline)}\n"
        f"{status_line(incident, settings, now)}\n"
        f"Handed over {slack_time(incident.handed_over_at)} by <@{incident.reporter_id}> · "
        f"handover quality {incident.quality_score} % ({incident.quality_band})"
    )
