"""What the handover card says, independent of how it is shown (Slack blocks, the terminal).

One source for the Slack card and the drill's printed card, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from handover.checklist.definition import FIELDS, Rendering, display, in_sentence
from handover.checklist.quality import Quality, assess
from handover.models import Incident
from handover.settings import OrgConfig

# (label, field id): the short facts, then the longer sections, in the card's order.
FACTS = (
    ("Services", "services"),
    ("Impact", "impact_degree"),
    ("Users affected (estimate)", "users_affected"),
    ("Started", "started_at"),
)
SECTIONS = (("Symptoms", "symptoms"), ("Business impact", "business_impact"))
FOLLOW_UP = (
    ("Actions already taken", "actions_taken"),
    ("Suspected resolver groups", "resolver_groups"),
    ("Workaround", "workaround"),
    ("Security suspected", "security"),
)


@dataclass(frozen=True)
class CardContent:
    title: str  # "MI-2026-0001 · P1 · major incident"
    headline: str
    priority: str  # with the proposal and reason when the agent changed it
    reporter: str
    facts: tuple[tuple[str, str], ...]
    sections: tuple[tuple[str, str], ...]
    follow_up: tuple[tuple[str, str], ...]
    quality: Quality
    gaps: str  # "services affected, trend" or "none"


def card_content(
    incident: Incident, org: OrgConfig, how: Rendering, mention: Callable[[str], str]
) -> CardContent:
    def value(field_id: str) -> str:
        return display(FIELDS[field_id], incident.answers.get(field_id), org, how)

    quality = assess(incident.handed_over_answers)
    reporter = mention(incident.reporter_id)
    phone = incident.answers.get("contact_phone")
    if phone:
        reporter += f" ({how.escape(phone)})"
    priority = incident.priority
    if incident.priority != incident.proposed_priority:
        reason = (incident.answers.get("priority") or {}).get("reason", "")
        priority += f" (proposed {incident.proposed_priority}; changed: {how.escape(reason)})"
    return CardContent(
        title=f"{incident.reference} · {incident.priority} · major incident",
        headline=how.escape(incident.headline),
        priority=priority,
        reporter=reporter,
        facts=tuple((label, value(fid)) for label, fid in FACTS),
        sections=tuple((label, value(fid)) for label, fid in SECTIONS),
        follow_up=tuple((label, value(fid)) for label, fid in FOLLOW_UP),
        quality=quality,
        gaps=", ".join(in_sentence(g.label) for g in quality.gaps) or "none",
    )
