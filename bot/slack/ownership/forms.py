"""The small modals the card's controls open: engage resolver groups, change the priority,
hand on, stand down, resolve, fill a gap (which field, then its input from the checklist
definition)."""

from __future__ import annotations

import time

from slack_sdk.models.blocks import (
    CheckboxesElement,
    DateTimePickerElement,
    ExternalDataMultiSelectElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.slack.blocks import md
from bot.slack.comms.views import notice_inputs
from bot.slack.ids import ACTION, ENGAGE_GROUPS, Callback
from bot.slack.intake.modal import field_blocks
from bot.slack.metadata import Metadata
from bot.slack.mrkdwn import OPTIONS_LIMIT
from handover.checklist.definition import FIELDS, PRIORITIES, STEPS, Kind
from handover.checklist.quality import assess
from handover.comms.notices import security_suspected
from handover.models import Incident, Notice
from handover.settings import Settings


def _modal(
    callback_id: Callback,
    title: str,
    submit: str,
    blocks: list,
    meta: Metadata,
    close: str = "Cancel",
) -> dict:
    return View(
        type="modal",
        callback_id=callback_id,
        title=title,
        submit=submit,
        close=close,
        blocks=blocks,
        private_metadata=meta.dumps(),
    ).to_dict()


def _groups_input(incident: Incident, settings: Settings) -> InputBlock:
    """The resolver groups, those engaged (or else those the agent suspected) chosen already."""
    groups = settings.org.resolver_groups
    options = [Option(value=g, label=g[:75]) for g in groups]
    chosen = incident.trgs or [
        g for g in incident.answers.get("resolver_groups") or [] if g in groups
    ]
    initial = [o for o in options if o.value in chosen] or None
    element: StaticMultiSelectElement | ExternalDataMultiSelectElement
    if len(options) > OPTIONS_LIMIT:  # Slack refuses a static menu of more: type-ahead
        element = ExternalDataMultiSelectElement(
            action_id=ACTION,
            placeholder="Type to search",
            min_query_length=0,
            initial_options=initial,
        )
    else:
        element = StaticMultiSelectElement(
            action_id=ACTION, options=options, initial_options=initial
        )
    return InputBlock(block_id=ENGAGE_GROUPS, label="Groups engaged", element=element)


def engage_form(incident: Incident, channel: str, settings: Settings) -> dict:
    return _modal(
        Callback.ENGAGE,
        "Engage resolver groups",
        "Record",
        [_groups_input(incident, settings)],
        Metadata(incident=incident.id, channel=channel),
    )


BROAD_CONFIRMED = "broad"
ENGAGE_AND_SEND = "Engage & send"  # the form's title and submit, and the card's button


def engage_and_send_form(
    incident: Incident, notice: Notice, channel: str, settings: Settings, *, accepting: bool
) -> dict:
    """The groups to engage and the initial notice to send, in one form: submitting meets both
    objectives. Opened for the manager who won Accept (closing it is "Accept only"), and from
    the card's *Engage & send* until the notice is out."""
    restricted = settings.org.restricted_channel
    where = f"<#{restricted}>" if security_suspected(incident) and restricted else None
    intro = (
        f"You own *{incident.reference}* now. " if accepting else f"*{incident.reference}*: "
    ) + "engage the resolver groups and send the initial notice in one go."
    if where:
        intro += f" A breach is suspected: the notice goes to {where} only."
    blocks: list = [
        SectionBlock(text=md(intro)),
        _groups_input(incident, settings),
        *notice_inputs(
            notice,
            "Notice subject",
            "Initial notice",
            "Plain text, sent as typed. Check it before you send.",
        ),
    ]
    if security_suspected(incident) and not restricted:
        blocks.append(
            InputBlock(
                block_id=BROAD_CONFIRMED,
                label="A security or data breach is suspected",
                optional=True,
                hint="There is no restricted channel: the notice would go to every stakeholder.",
                element=CheckboxesElement(
                    action_id=ACTION,
                    options=[
                        Option(value=BROAD_CONFIRMED, label="Send to all stakeholders anyway")
                    ],
                ),
            )
        )
    return _modal(
        Callback.ENGAGE_AND_SEND,
        ENGAGE_AND_SEND,
        ENGAGE_AND_SEND,
        blocks,
        Metadata(incident=incident.id, notice=notice.id, channel=channel),
        close="Accept only" if accepting else "Cancel",
    )


def change_priority_form(incident: Incident, channel: str, settings: Settings) -> dict:
    options = [Option(value=p.id, label=p.label) for p in PRIORITIES]
    current = next((o for o in options if o.value == incident.priority), None)
    return _modal(
        Callback.CHANGE_PRIORITY,
        "Change priority",
        "Change",
        [
            InputBlock(
                block_id="priority",
                label="Priority",
                element=StaticSelectElement(
                    action_id=ACTION, options=options, initial_option=current
                ),
            ),
            InputBlock(
                block_id="reason",
                label="Why does it change?",
                hint="Shown in the thread; the update cadence follows the new priority.",
                element=PlainTextInputElement(action_id=ACTION, multiline=True, max_length=1000),
            ),
        ],
        Metadata(incident=incident.id, channel=channel),
    )


def hand_on_form(incident: Incident, channel: str, settings: Settings) -> dict:
    return _modal(
        Callback.HAND_ON,
        "Hand on",
        "Hand on",
        [
            InputBlock(
                block_id="owner",
                label="New owner",
                element=UserSelectElement(action_id=ACTION, placeholder="Choose a manager"),
            )
        ],
        Metadata(incident=incident.id, channel=channel),
    )


def stand_down_form(incident: Incident, channel: str, settings: Settings) -> dict:
    return _modal(
        Callback.STAND_DOWN,
        "Not a major incident",
        "Stand down",
        [
            InputBlock(
                block_id="reason",
                label="Why is it not a major incident?",
                hint="The agent who raised it is told this reason.",
                element=PlainTextInputElement(action_id=ACTION, multiline=True, max_length=1000),
            )
        ],
        Metadata(incident=incident.id, channel=channel),
    )


def resolve_form(incident: Incident, channel: str, settings: Settings) -> dict:
    return _modal(
        Callback.RESOLVE,
        "Resolve",
        "Resolved",
        [
            InputBlock(
                block_id="resolved_at",
                label="Resolved at",
                hint="When service was restored for users.",
                element=DateTimePickerElement(action_id=ACTION, initial_date_time=int(time.time())),
            )
        ],
        Metadata(incident=incident.id, channel=channel),
    )


def gap_pick_form(incident: Incident, channel: str, settings: Settings) -> dict:
    """Step one of "Fill a gap": which field. Gaps come first, marked as such."""
    current = assess(incident.answers)
    gap_ids = [g.field_id for g in current.gaps]
    fields = [f for st in STEPS for f in st.fields if f.kind != Kind.PRIORITY]
    fields.sort(key=lambda f: f.id not in gap_ids)
    answers_now = {g.field_id: g.answer for g in current.gaps}
    options = [
        Option(
            value=f.id,
            label=(f"{f.label} ({answers_now[f.id]})" if f.id in answers_now else f.label)[:75],
        )
        for f in fields
    ]
    return _modal(
        Callback.GAP_PICK,
        "Fill a gap",
        "Next",
        [
            InputBlock(
                block_id="field",
                label="Which part of the record?",
                hint="The handover's score stays as handed over; what you fill in is recorded.",
                element=StaticSelectElement(action_id=ACTION, options=options),
            )
        ],
        Metadata(incident=incident.id, channel=channel),
    )


def gap_fill_form(incident: Incident, field_id: str, settings: Settings) -> dict:
    f = FIELDS[field_id]
    blocks = field_blocks(f, incident.answers.get(field_id), settings.org)
    return _modal(
        Callback.GAP_FILL, "Fill a gap", "Save", blocks, Metadata(incident=incident.id, field=f.id)
    )
