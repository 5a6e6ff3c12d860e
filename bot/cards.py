"""The handover card in the managers' channel, and the short messages around it."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.mrkdwn import SLACK, escape, slack_time
from handover.card_content import card_content
from handover.models import Incident
from handover.settings import OrgConfig

ACCEPT = "incident_accept"
SECTION_LIMIT = 3000
BAND_DOT = {"green": "🟢", "amber": "🟠", "red": "🔴"}


def truncate(text: str, limit: int = SECTION_LIMIT) -> str:
    """Keep a message within Slack's limits; the full text stays in the record."""
    if len(text) <= limit:
        return text
    note = "… _(cut here; the full text is in the record)_"
    return text[: limit - len(note)] + note


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=truncate(text), verbatim=True)


def card(incident: Incident, org: OrgConfig) -> tuple[str, list[dict]]:
    """The card's plain-text fallback and its blocks."""
    c = card_content(incident, org, SLACK, mention=lambda user: f"<@{user}>")
    facts = [("Priority", c.priority), *c.facts, ("Reported by", c.reporter)]
    blocks = [
        HeaderBlock(text=c.title[:150]),
        SectionBlock(text=_md(f"*{c.headline}*")),
        SectionBlock(fields=[_md(f"*{label}*\n{value}") for label, value in facts]),
        *(SectionBlock(text=_md(f"*{label}*\n{value}")) for label, value in c.sections),
        SectionBlock(fields=[_md(f"*{label}*\n{value}") for label, value in c.follow_up]),
        ContextBlock(
            elements=[
                _md(
                    f"Handed over {slack_time(incident.handed_over_at)} · handover quality "
                    f"{BAND_DOT[c.quality.band]} {c.quality.score} % · gaps: {c.gaps}"
                )
            ]
        ),
        ActionsBlock(
            block_id="incident_actions",
            elements=[
                ButtonElement(
                    text="Accept ownership",
                    action_id=ACCEPT,
                    style="primary",
                    value=str(incident.id),
                ),
            ],
        ),
    ]
    services = dict(c.facts)["Services"]
    text = (
        f"{incident.reference} ({incident.priority}) handed over: {c.headline}. "
        f"Services: {services}. Press Accept to take ownership."
    )
    return truncate(text, 3000), [b.to_dict() for b in blocks]


def status_text(incident: Incident) -> str:
    return (
        f"*{incident.reference}* · {incident.priority} · {escape(incident.headline)}\n"
        f"Status: {incident.status.replace('_', ' ')} · phase: {incident.phase} · "
        f"handed over {slack_time(incident.handed_over_at)} by <@{incident.reporter_id}> · "
        f"handover quality {incident.quality_score} % ({incident.quality_band})"
    )
