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
    OverflowMenuElement,
    SectionBlock,
)

from bot.slack.blocks import BAND_DOT, button, md
from bot.slack.ids import Action
from bot.slack.mrkdwn import (
    FIELD_LIMIT,
    MESSAGE_TEXT_LIMIT,
    SLACK,
    escape,
    mention,
    plain,
    slack_time,
    truncate,
)
from bot.slack.overflow import overflow
from bot.slack.ownership.forms import ENGAGE_AND_SEND
from handover.checklist.card_content import CardContent, card_content
from handover.checklist.quality import Quality, assess
from handover.clock.deadlines import objectives
from handover.models import Incident
from handover.ownership.controls import Control, next_control, offered
from handover.ownership.incidents import key_durations
from handover.settings import Settings
from handover.times import humanize
from handover.vocabulary import ENDED, IncidentStatus, Phase

HEADER_LIMIT = 150  # a header block's plain text
# The card's Accept button, as the lines that ask for it name it.
ACCEPT_LABEL = "Accept"


def _channel(incident: Incident) -> str:
    """Where the incident is worked, once Baton made its channel."""
    return f" · worked in <#{incident.incident_channel}>" if incident.incident_channel else ""


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
    """The first phase's objectives: met (and how long it took), open, or missed once the
    phase is over."""
    t0 = incident.handed_over_at
    # Stood down is not a miss: it was not a major incident.
    over = incident.phase != Phase.INITIAL and incident.status != IncidentStatus.STOOD_DOWN
    parts = []
    for o in objectives(incident):
        if o.done_at:
            parts.append(f":white_check_mark: {o.label} ({humanize(o.done_at - t0)})")
        elif over:
            parts.append(f":x: missed: {o.missed}")
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
    """The score as handed over counts for training; what is still open is on the card's
    "Not known yet" line."""
    line = (
        f"Handed over {slack_time(incident.handed_over_at)} · handover quality "
        f"{BAND_DOT[handed_over.band]} {handed_over.score} %"
    )
    current = assess(incident.answers)
    if current.score != handed_over.score:
        line += f" as handed over, {current.score} % now"
    return line


def breach_line(c: CardContent, settings: Settings) -> str:
    why = f": {c.breach}" if c.breach else ""
    where = (
        f"comms go to <#{settings.org.restricted_channel}>"
        if settings.org.restricted_channel
        else "broad comms are held back"
    )
    return f":lock: *Security or data breach suspected*{why}. Keep it need-to-know: {where}."


def not_known_line(c: CardContent) -> str:
    return f":grey_question: *Not known yet:* {', '.join(c.not_known)}" if c.not_known else ""


_CLOSE_CONFIRM = ConfirmObject(
    title="Close the incident?",
    text="The fix is confirmed and nothing more is due: a notice not sent by now stays unsent.",
    confirm="Close",
    deny="Not yet",
)
# Each control's words and action. Which of them the card offers is the domain's decision
# (handover/ownership/controls.py); which are buttons and which sit in the menu is the card's.
BUTTONS: dict[Control, tuple[str, Action]] = {
    Control.ACCEPT: (ACCEPT_LABEL, Action.ACCEPT),
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
BESIDE = (Control.FILL_GAP, Control.RESOLVE)  # the buttons after the primary one
VISIBLE = 3  # buttons; the rest go in the "more" menu


def _label(control: Control, incident: Incident) -> str:
    if control is Control.ENGAGE and incident.initial_comms_at is None:
        return ENGAGE_AND_SEND  # until the notice is out, engaging opens the form that sends it
    return BUTTONS[control][0]


def layout(incident: Incident) -> tuple[list[Control], list[Control]]:
    """The controls on offer as (buttons, menu): the next objective's first and primary."""
    on_offer = offered(incident.status)
    ordered = [c for c in dict.fromkeys((next_control(incident), *BESIDE)) if c in on_offer]
    ordered += [c for c in on_offer if c not in ordered]
    # A menu of one is not a menu (Slack wants two options or more).
    split = VISIBLE - 1 if len(ordered) == VISIBLE + 1 else VISIBLE
    return ordered[:split], ordered[split:]


def controls(incident: Incident) -> list[ButtonElement | OverflowMenuElement]:
    """The buttons of the controls on offer now, and the menu of the rest."""
    shown, more = layout(incident)
    primary = next_control(incident)
    elements: list[ButtonElement | OverflowMenuElement] = [
        button(
            _label(control, incident),
            BUTTONS[control][1],
            incident.id,
            "primary" if control is primary else None,
            _CLOSE_CONFIRM if control is Control.CLOSE else None,
        )
        for control in shown
    ]
    if more:
        choices = [(_label(control, incident), BUTTONS[control][1]) for control in more]
        elements.append(overflow(choices, incident.id))
    return elements


def card(
    incident: Incident, settings: Settings, now: datetime, *, ping: bool = False
) -> tuple[str, list[dict]]:
    """The card's plain-text fallback and its blocks, for the incident as it is now. `ping`
    (its first post only) mentions `card_mention`: an edit notifies nobody, and once the card
    is posted the thread lines do the pinging (docs/architecture.md, "Who gets pinged")."""
    c = card_content(incident, settings.org, SLACK, mention=lambda user: f"<@{user}>")
    who = mention(settings.org.card_mention) if ping else ""
    ping_first = f"{who} " if who else ""
    blocks: list = [
        HeaderBlock(text=truncate(plain(c.title), HEADER_LIMIT)),
        ContextBlock(
            elements=[md(f"*{c.reference}* · reported by {c.reporter}{_channel(incident)}")]
        ),
    ]
    if c.breach is not None:
        blocks.append(SectionBlock(block_id="breach", text=md(breach_line(c, settings))))
    late = late_line(incident)
    if late:
        blocks.append(SectionBlock(text=md(late)))
    status = ping_first + status_line(incident, settings, now)
    blocks += [
        SectionBlock(block_id="status", text=md(status)),
        ContextBlock(elements=[md(objectives_line(incident))]),
        SectionBlock(block_id="why", text=md(f"*{c.why}*")),
    ]
    for heading, facts in c.groups:
        fields = [_field(label, value) for label, value in facts]
        blocks.append(SectionBlock(text=md(f"*{heading}*"), fields=fields))
    blocks += [SectionBlock(text=md(f"*{label}*\n{value}")) for label, value in c.texts]
    unknown = not_known_line(c)
    if unknown:
        blocks.append(ContextBlock(block_id="not_known", elements=[md(unknown)]))
    blocks.append(ContextBlock(elements=[md(quality_line(incident, c.quality))]))
    if incident.status == IncidentStatus.CLOSED:
        durations = " · ".join(
            f"{label} {humanize(d) if d is not None else 'not reached'}"
            for label, d in key_durations(incident)
        )
        blocks.append(SectionBlock(text=md(f"*Key durations:* {durations}")))
    elements = controls(incident)
    if elements:
        blocks.append(ActionsBlock(block_id="incident_actions", elements=elements))
    services = dict(c.facts).get("Services", "not known yet")
    state = IncidentStatus(incident.status).words
    text = (
        f"{ping_first}{incident.reference} ({incident.priority}, {state}): {c.headline}. "
        f"Services: {services}."
    )
    if incident.status == IncidentStatus.HANDED_OVER:
        text += f" Press {ACCEPT_LABEL} to take ownership."
    return truncate(text, MESSAGE_TEXT_LIMIT), [b.to_dict() for b in blocks]


def status_text(incident: Incident, settings: Settings, now: datetime) -> str:
    """`/major-incident status`: where it stands. The agent's score waits for the end
    (docs/domain.md: feedback after the incident, not during it)."""
    text = (
        f"*{incident.reference}* · {incident.priority} · {escape(incident.headline)}\n"
        f"{status_line(incident, settings, now)}\n"
        f"Handed over {slack_time(incident.handed_over_at)} by <@{incident.reporter_id}>"
    )
    if incident.status in ENDED:
        text += f" · handover quality {incident.quality_score} % ({incident.quality_band})"
    return text
