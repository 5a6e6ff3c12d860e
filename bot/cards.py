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
from handover.checklist import FIELDS, display
from handover.models import Incident
from handover.quality import assess
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


def _value(incident: Incident, field_id: str, org: OrgConfig) -> str:
    return display(FIELDS[field_id], incident.answers.get(field_id), org, SLACK)


def card(incident: Incident, org: OrgConfig) -> tuple[str, list[dict]]:
    """The card's plain-text fallback and its blocks."""
    v = lambda field_id: _value(incident, field_id, org)  # noqa: E731
    quality = assess(incident.handed_over_answers)
    headline = escape(incident.headline)
    reporter = f"<@{incident.reporter_id}>"
    phone = incident.answers.get("contact_phone")
    if phone:
        reporter += f" ({escape(phone)})"
    priority = incident.priority
    if incident.priority != incident.proposed_priority:
        reason = (incident.answers.get("priority") or {}).get("reason", "")
        priority += f" (proposed {incident.proposed_priority}; changed: {escape(reason)})"
    gaps = ", ".join(g.label.lower() for g in quality.gaps) or "none"
    blocks = [
        HeaderBlock(text=f"{incident.reference} · {incident.priority} · major incident"[:150]),
        SectionBlock(text=_md(f"*{headline}*")),
        SectionBlock(
            fields=[
                _md(f"*Priority*\n{priority}"),
                _md(f"*Services*\n{v('services')}"),
                _md(f"*Impact*\n{v('impact_degree')}"),
                _md(f"*Users affected (estimate)*\n{v('users_affected')}"),
                _md(f"*Started*\n{v('started_at')}"),
                _md(f"*Reported by*\n{reporter}"),
            ]
        ),
        SectionBlock(text=_md(f"*Symptoms*\n{v('symptoms')}")),
        SectionBlock(text=_md(f"*Business impact*\n{v('business_impact')}")),
        SectionBlock(
            fields=[
                _md(f"*Actions already taken*\n{v('actions_taken')}"),
                _md(f"*Suspected resolver groups*\n{v('resolver_groups')}"),
                _md(f"*Workaround*\n{v('workaround')}"),
                _md(f"*Security suspected*\n{v('security')}"),
            ]
        ),
        ContextBlock(
            elements=[
                _md(
                    f"Handed over {slack_time(incident.handed_over_at)} · handover quality "
                    f"{BAND_DOT[quality.band]} {quality.score} % · gaps: {gaps}"
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
    text = (
        f"{incident.reference} ({incident.priority}) handed over: {headline}. "
        f"Services: {v('services')}. Press Accept to take ownership."
    )
    return truncate(text, 3000), [b.to_dict() for b in blocks]


def status_text(incident: Incident) -> str:
    return (
        f"*{incident.reference}* · {incident.priority} · {escape(incident.headline)}\n"
        f"Status: {incident.status.replace('_', ' ')} · phase: {incident.phase} · "
        f"handed over {slack_time(incident.handed_over_at)} by <@{incident.reporter_id}> · "
        f"handover quality {incident.quality_score} % ({incident.quality_band})"
    )
