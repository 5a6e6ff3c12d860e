"""What the handover card says, independent of how it is shown (Slack blocks, the terminal).

One source for the Slack card and the drill's printed card, so the two cannot drift apart.
The card is for deciding (docs/domain.md, "The card"): what is known, grouped the way a
manager asks about it; everything not known yet in one line; why it has its priority.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from handover.checklist.definition import FIELDS, Rendering, display, in_sentence
from handover.checklist.priority import propose
from handover.checklist.quality import Quality, assess, field_value
from handover.models import Incident
from handover.settings import OrgConfig

Fact = tuple[str, str]  # (label, value in words)

# (heading, ((label, field id), …)): the short facts, in the card's order.
GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("What", (("Services", "services"), ("Impact", "impact_degree"))),
    (
        "Who and where",
        (
            ("Users affected (estimate)", "users_affected"),
            ("User types", "user_types"),
            ("Sites", "locations"),
            ("VIP or critical process", "vip"),
            ("Deadline at risk", "deadline"),
        ),
    ),
    (
        "Since when",
        (
            ("Started", "started_at"),
            ("First reported", "first_reported_at"),
            ("How detected", "detection"),
            ("Trend", "trend"),
        ),
    ),
    (
        "What is known",
        (
            ("Recent change", "recent_changes"),
            ("Workaround", "workaround"),
            ("Suspected resolver groups", "resolver_groups"),
            ("Related tickets", "related_refs"),
        ),
    ),
)
# The longer answers, each in its own paragraph.
TEXTS = (
    ("Symptoms", "symptoms"),
    ("Business impact", "business_impact"),
    ("Actions already taken", "actions_taken"),
)
# Shown only as the breach banner when suspected; otherwise it is one more answer.
SECURITY = "security"


@dataclass(frozen=True)
class CardContent:
    reference: str
    title: str  # "P1 · E-mail down for all staff", as typed (a header shows plain text)
    headline: str  # escaped for the target
    why: str  # "Why P1: impact high, urgency high (over 1,000 users; worsening)"
    breach: str | None  # why a breach is suspected ("" when not said); None when not
    reporter: str
    groups: tuple[tuple[str, tuple[Fact, ...]], ...]  # only what is known, by heading
    texts: tuple[Fact, ...]
    not_known: tuple[str, ...]  # labels, in sentence case, of what is unknown or blank
    quality: Quality  # as handed over: the score that counts for training

    @property
    def facts(self) -> tuple[Fact, ...]:
        """Every short fact, in the card's order."""
        return tuple(fact for _, group in self.groups for fact in group)


def known(field_id: str, value: object) -> bool:
    """A specific answer (not blank, not "unknown", not a placeholder)."""
    return field_value(FIELDS[field_id], value) == 1.0


def why(incident: Incident) -> str:
    """Why it has its priority: the impact × urgency proposal from the record as it is now,
    and, when the priority differs, whose choice it is (docs/domain.md, "Priority")."""
    proposal = propose(incident.answers)
    if incident.priority == proposal.priority:
        return f"Why {incident.priority}: {proposal.explanation}"
    chosen = incident.answers.get("priority") or {}
    if incident.priority == incident.proposed_priority:
        # Proposed at handover; answers filled in since suggest otherwise.
        by = f"proposed at handover; the answers now suggest {proposal.priority}"
    elif chosen.get("value") == incident.priority and chosen.get("reason"):
        by = f"the agent chose it: {chosen['reason']}; proposed {proposal.priority}"
    else:
        by = f"the owner changed it (the reason is in the thread); proposed {proposal.priority}"
    return f"Why {incident.priority}: {by}, {proposal.explanation}"


def card_content(
    incident: Incident, org: OrgConfig, how: Rendering, mention: Callable[[str], str]
) -> CardContent:
    answers = incident.answers

    def facts(pairs: tuple[tuple[str, str], ...]) -> tuple[Fact, ...]:
        return tuple(
            (label, display(FIELDS[fid], answers.get(fid), org, how))
            for label, fid in pairs
            if known(fid, answers.get(fid))
        )

    reporter = mention(incident.reporter_id)
    phone = answers.get("contact_phone")
    if phone:
        reporter += f" ({how.escape(phone)})"
    security = answers.get(SECURITY) or {}
    breach = how.escape(security.get("detail") or "") if security.get("answer") == "yes" else None
    shown = [fid for _, pairs in GROUPS for _, fid in pairs] + [fid for _, fid in TEXTS]
    not_known = tuple(
        in_sentence(FIELDS[fid].label)
        for fid in [*shown, SECURITY]
        if not known(fid, answers.get(fid))
    )
    return CardContent(
        reference=incident.reference,
        title=f"{incident.priority} · {incident.headline}",
        headline=how.escape(incident.headline),
        why=how.escape(why(incident)),
        breach=breach,
        reporter=reporter,
        groups=tuple((heading, f) for heading, pairs in GROUPS if (f := facts(pairs))),
        texts=facts(TEXTS),
        not_known=not_known,
        quality=assess(incident.handed_over_answers),
    )
