"""Block Kit for stakeholder notices: the draft in the card's thread, the published message, and
the edit modal."""

from __future__ import annotations

import html

from slack_sdk.models.blocks import (
    ActionsBlock,
    ConfirmObject,
    ContextBlock,
    InputBlock,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.blocks.basic_components import Option
from slack_sdk.models.views import View

from bot.slack.blocks import button, md
from bot.slack.ids import ACTION, Action, Callback
from bot.slack.metadata import Metadata
from bot.slack.mrkdwn import SECTION_LIMIT, escape, slack_time, truncate
from bot.slack.refusal_words import refusal_in_words
from handover.comms.notices import security_suspected
from handover.comms.templates import STATES
from handover.models import Incident, Notice
from handover.settings import Settings
from handover.vocabulary import ENDED, IncidentStatus, NoticeKind, NoticeStatus, StakeholderState

KIND_NAMES = {
    NoticeKind.INITIAL: "initial notice",
    NoticeKind.UPDATE: "update",
    NoticeKind.RESOLUTION: "resolution notice",
    NoticeKind.SUMMARY: "executive summary",
}


def body_sections(body: str) -> list[SectionBlock]:
    """A long body over several sections (Slack: 3,000 characters each), split at lines."""
    sections, chunk = [], ""
    for line in body.split("\n"):
        if chunk and len(chunk) + len(line) + 1 > SECTION_LIMIT:
            sections.append(chunk)
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    sections.append(chunk or " ")
    return [SectionBlock(text=md(part)) for part in sections[:40]]


def _broad_confirm(settings: Settings) -> ConfirmObject:
    return ConfirmObject(
        title="Send to all stakeholders?",
        text=(
            "A security or data breach is suspected. This notice will go to every "
            "stakeholder. Are you sure it says nothing that should stay restricted?"
        ),
        confirm="Send to everyone",
        deny="Cancel",
        style="danger",
    )


def send_controls(notice: Notice, incident: Incident, settings: Settings) -> list:
    restricted = settings.org.restricted_channel
    if not security_suspected(incident):
        buttons = [button("Send to stakeholders", Action.NOTICE_SEND, notice.id, "primary")]
    elif restricted:
        buttons = [
            button("Send to restricted channel", Action.NOTICE_SEND, notice.id, "primary"),
            button(
                "Send to all stakeholders…",
                Action.NOTICE_SEND_BROAD,
                notice.id,
                confirm=_broad_confirm(settings),
            ),
        ]
    else:
        buttons = [
            button(
                "Send to all stakeholders…",
                Action.NOTICE_SEND_BROAD,
                notice.id,
                "danger",
                confirm=_broad_confirm(settings),
            )
        ]
    return [*buttons, button("Edit", Action.NOTICE_EDIT, notice.id)]


def _controls(notice: Notice, incident: Incident, settings: Settings) -> list:
    if notice.status == NoticeStatus.DRAFT:
        return send_controls(notice, incident, settings)
    if notice.status == NoticeStatus.SENT:
        return [button("Edit sent notice", Action.NOTICE_EDIT, notice.id)]
    return []


def draft_message(notice: Notice, incident: Incident, settings: Settings) -> tuple[str, list]:
    """The draft as the managers see it in the card's thread, with its controls."""
    kind = KIND_NAMES[notice.kind]
    # A stood-down or closed incident's messages keep no live buttons.
    ended = incident.status in ENDED
    if notice.status == NoticeStatus.SENT:
        edited = f" · edited {len(notice.edits)}×" if notice.edits else ""
        status = (
            f":white_check_mark: *{kind.capitalize()} sent* by <@{notice.sent_by}> "
            f"{slack_time(notice.sent_at)} to <#{notice.channel}>{edited}"
        )
    elif notice.status == NoticeStatus.SUPERSEDED:
        status = f":fast_forward: *Superseded* by a newer draft of the {kind} (below)."
    elif notice.status == NoticeStatus.PUBLISHING:
        status = f":hourglass_flowing_sand: *Sending the {kind}* to <#{notice.channel}>…"
    elif ended:
        status = (
            f":no_entry_sign: *Draft {kind} not sent*: {incident.reference} is "
            f"{IncidentStatus(incident.status).words}."
        )
    elif notice.publish_error:
        status = (
            f":x: *Draft {kind} NOT sent*: Slack refused it "
            f"({refusal_in_words(notice.publish_error)}). Fix the cause, then press *Send* again."
        )
    else:
        status = (
            f":memo: *Draft {kind}* for {incident.reference}: check it, edit it if "
            "needed, then send."
        )
    blocks: list = [SectionBlock(text=md(status))]
    if not ended and notice.status == NoticeStatus.DRAFT and security_suspected(incident):
        blocks.append(
            SectionBlock(
                text=md(
                    ":lock: *Security or data breach suspected:* broad comms are held back. "
                    + (
                        "Send it to the restricted channel; sending to all stakeholders needs your "
                        "confirmation."
                        if settings.org.restricted_channel
                        else "Sending to all stakeholders needs your explicit confirmation."
                    )
                )
            )
        )
    blocks.append(SectionBlock(text=md(f"*Subject:* {notice.subject}")))
    blocks.extend(body_sections(notice.body_mrkdwn))
    if notice.changes and notice.kind == NoticeKind.UPDATE:
        # The changes are plain words from the record (a workaround as typed): escaped here.
        changed = "; ".join(
            f"{escape(str(c['label']))}: {escape(str(c['before']))} → {escape(str(c['after']))}"
            for c in notice.changes
        )
        blocks.append(ContextBlock(elements=[md(f"Changed since the last notice: {changed}")]))
    elements = [] if ended else _controls(notice, incident, settings)
    if elements:
        blocks.append(ActionsBlock(block_id="notice_actions", elements=elements))
    text = f"{status} {notice.subject}"
    return truncate(text), [b.to_dict() for b in blocks]


def published_message(notice: Notice) -> tuple[str, list]:
    blocks = [
        SectionBlock(text=md(f"*{notice.subject}*")),
        *body_sections(notice.body_mrkdwn),
    ]
    # The fallback text is mrkdwn too (notifications): the escaped body, never the plain one.
    text = truncate(f"{notice.subject}\n\n{notice.body_mrkdwn}")
    return text, [b.to_dict() for b in blocks]


SUBJECT_LIMIT, BODY_LIMIT = 150, 3000  # what a plain-text input holds


def shown(notice: Notice) -> tuple[str, str]:
    """The subject and body as a form shows them: plain text (no Slack entities), cut to fit
    the inputs. A submission equal to these was not edited."""
    return html.unescape(notice.subject)[:SUBJECT_LIMIT], notice.body_plain[:BODY_LIMIT]


def notice_inputs(notice: Notice, subject_label: str, body_label: str, hint: str) -> list:
    subject, body = shown(notice)
    return [
        InputBlock(
            block_id="subject",
            label=subject_label,
            element=PlainTextInputElement(
                action_id=ACTION, initial_value=subject, max_length=SUBJECT_LIMIT
            ),
        ),
        InputBlock(
            block_id="body",
            label=body_label,
            hint=hint,
            element=PlainTextInputElement(
                action_id=ACTION, multiline=True, initial_value=body, max_length=BODY_LIMIT
            ),
        ),
    ]


def edit_modal(notice: Notice) -> dict:
    sent = notice.status == NoticeStatus.SENT
    hint = (
        "Saving edits the message already published, in place."
        if sent
        else "Plain text: what you type is shown exactly as typed."
    )
    return View(
        type="modal",
        callback_id=Callback.NOTICE_EDIT,
        title="Edit sent notice" if sent else "Edit draft",
        submit="Save",
        close="Cancel",
        private_metadata=Metadata(notice=notice.id).dumps(),
        blocks=notice_inputs(notice, "Subject", "Message", hint),
    ).to_dict()


def draft_update_modal(incident: Incident, doing: str) -> dict:
    options = [
        Option(value=k, label=v) for k, v in STATES.items() if k != StakeholderState.RESOLVED
    ]
    current = next((o for o in options if o.value == incident.stakeholder_state), options[0])
    return View(
        type="modal",
        callback_id=Callback.DRAFT_UPDATE,
        title="Draft an update",
        submit="Draft",
        close="Cancel",
        private_metadata=Metadata(incident=incident.id).dumps(),
        blocks=[
            InputBlock(
                block_id="state",
                label="Where things stand",
                element=StaticSelectElement(
                    action_id=ACTION, options=options, initial_option=current
                ),
            ),
            InputBlock(
                block_id="doing",
                label="What we are doing",
                optional=True,
                hint="Kept for the next updates until you change it.",
                element=PlainTextInputElement(
                    action_id=ACTION, multiline=True, initial_value=doing or None, max_length=1000
                ),
            ),
            InputBlock(
                block_id="eta",
                label="Expected resolution",
                optional=True,
                hint='Leave empty for "not yet known". Never guess.',
                element=PlainTextInputElement(action_id=ACTION, max_length=100),
            ),
        ],
    ).to_dict()
