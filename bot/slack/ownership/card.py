"""The handover card in the managers' channel: the record, its owner, phase and controls."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.slack.ids import Action
from bot.slack.mrkdwn import (
    FIELD_LIMIT,
    MESSAGE_TEXT_LIMIT,
    SECTION_LIMIT,
    SLACK,
    escape,
    slack_time,
    truncate,
)
from handover.checklist.card_content import card_content
from handover.checklist.quality import Quality, assess
from handover.clock.deadlines import objectives
from handover.models import Incident
from handover.ownership.incidents import key_durations
from handover.settings import Settings
from handover.times import humanize

BAND_DOT = {"green": "🟢", "amber": "🟠", "red": "🔴"}


def _md(text: str, limit: int = SECTION_LIMIT) -> MarkdownTextObject:
    return MarkdownTextObject(text=truncate(text, limit), verbatim=True)


def _field(label: str, value: str) -> MarkdownTextObject:
    return _md(f"*{label}*\n{value}", FIELD_LIMIT)


def status_line(incident: Incident, settings: Settings, now: datetime) -> str:
    """Who owns it, which phase, and what is due next: follow-through at a glance."""
    owner = f"<@{incident.owner_id}>" if incident.owner_id else None
    phase_length = humanize(settings.initial_phase)
    if incident.status == "stood_down":
        return (
            f":octagonal_sign: *Stood down* by {owner}: not a major incident. "
            f"{escape(incident.stood_down_reason)}"
        )
    if incident.status == "closed":
        return f":checkered_flag: *Closed* {slack_time(incident.closed_at)} · owner {owner}"
    if incident.status == "resolved":
        return (
            f":white_check_mark: *Resolved* {slack_time(incident.resolved_at)} · owner "
            f"{owner} · next: close it once the fix is confirmed"
        )
    who = f"*Owner:* {owner}" if owner else "*Waiting for a manager to accept*"
    if incident.phase == "initial":
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


def quality_line(incident: Incident, handed_over: Quality) -> str:
    """The score as handed over counts for training; what is still open is what to fill."""
    line = (
        f"Handed over {slack_time(incident.handed_over_at)} · handover quality "
        f"{BAND_DOT[handed_over.band]} {handed_over.score} %"
    )
    current = assess(incident.answers)
    if current.score != handed_over.score:
        line += f" as handed over, {current.score} % now"
    gaps = ", ".join(g.label.lower() for g in current.gaps) or "none"
    return f"{line} · gaps: {gaps}"


def _button(
    text: str,
    action_id: str,
    incident: Incident,
    style: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    return ButtonElement(
        text=text, action_id=action_id, value=str(incident.id), style=style, confirm=confirm
    )


def controls(incident: Incident) -> list[ButtonElement]:
    """The buttons that make sense now. There is no 'send back to the agent', by design."""
    if incident.status == "handed_over":
        return [_button("Accept ownership", Action.ACCEPT, incident, "primary")]
    if incident.status == "accepted":
        return [
            _button("Engage resolver groups", Action.ENGAGE, incident),
            _button("Draft update", Action.DRAFT_UPDATE, incident),
            _button("Executive summary", Action.SUMMARY, incident),
            _button("Fill a gap", Action.FILL_GAP, incident),
            _button("Hand on", Action.HAND_ON, incident),
            _button("Stand down", Action.STAND_DOWN, incident),
            _button("Resolve", Action.RESOLVE, incident, "primary"),
        ]
    if incident.status == "resolved":
        return [
            _button("Fill a gap", Action.FILL_GAP, incident),
            _button(
                "Close incident",
                Action.CLOSE,
                incident,
                "primary",
                ConfirmObject(
                    title="Close the incident?",
                    text="The fix is confirmed and nothing more is due.",
                    confirm="Close",
                    deny="Not yet",
                ),
            ),
        ]
    return []


def card(incident: Incident, settings: Settings, now: datetime) -> tuple[str, list[dict]]:
    """The card's plain-text fallback and its blocks, for the incident as it is now."""
    c = card_content(incident, settings.org, SLACK, mention=lambda user: f"<@{user}>")
    facts = [("Priority", c.priority), *c.facts, ("Reported by", c.reporter)]
    blocks = [
        HeaderBlock(text=c.title[:150]),
        SectionBlock(text=_md(f"*{c.headline}*")),
        SectionBlock(block_id="status", text=_md(status_line(incident, settings, now))),
        ContextBlock(elements=[_md(objectives_line(incident))]),
        SectionBlock(fields=[_field(label, value) for label, value in facts]),
        *(SectionBlock(text=_md(f"*{label}*\n{value}")) for label, value in c.sections),
        SectionBlock(fields=[_field(label, value) for label, value in c.follow_up]),
        ContextBlock(elements=[_md(quality_line(incident, c.quality))]),
    ]
    if incident.status == "closed":
        durations = " · ".join(
            f"{label} {humanize(d) if d is not None else 'not reached'}"
            for label, d in key_durations(incident)
        )
        blocks.append(SectionBlock(text=_md(f"*Key durations:* {durations}")))
    buttons = controls(incident)
    if buttons:
        blocks.append(ActionsBlock(block_id="incident_actions", elements=buttons))
    services = dict(c.facts)["Services"]
    state = incident.status.replace("_", " ")
    text = (
        f"{incident.reference} ({incident.priority}, {state}): {c.headline}. Services: {services}."
    )
    if incident.status == "handed_over":
        text += " Press Accept to take ownership."
    return truncate(text, MESSAGE_TEXT_LIMIT), [b.to_dict() for b in blocks]


def status_text(incident: Incident, settings: Settings, now: datetime) -> str:
    return (
        f"*{incident.reference}* · {incident.priority} · {escape(incident.headline)}\n"
        f"{status_line(incident, settings, now)}\n"
        f"Handed over {slack_time(incident.handed_over_at)} by <@{incident.reporter_id}> · "
        f"handover quality {incident.quality_score} % ({incident.quality_band})"
    )
