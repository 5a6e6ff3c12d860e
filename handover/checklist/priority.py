"""Proposed priority from impact × urgency (docs/domain.md, "Priority")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handover.checklist.definition import UNKNOWN, USER_BANDS

MATRIX = {
    ("high", "high"): "P1",
    ("high", "medium"): "P1",
    ("high", "low"): "P2",
    ("medium", "high"): "P2",
    ("medium", "medium"): "P3",
    ("medium", "low"): "P4",
    ("low", "high"): "P3",
    ("low", "medium"): "P4",
    ("low", "low"): "P4",
}
MAJOR = ("P1", "P2")
# Whoever types /major-incident has declared a major incident: the proposal never goes below
# P2 (docs/domain.md, "Priority": P1 and P2 are major incidents). The agent may still lower
# it, with a reason, and the manager may stand it down.
FLOOR = "P2"
DECLARED = "declared a major incident, so at least P2"


@dataclass(frozen=True)
class Proposal:
    priority: str
    impact: str
    urgency: str
    reasons: tuple[str, ...]

    @property
    def explanation(self) -> str:
        because = "; ".join(self.reasons) if self.reasons else "little is known yet"
        return f"impact {self.impact}, urgency {self.urgency} ({because})"


def priority_for(impact: str, urgency: str) -> str:
    return MATRIX[(impact, urgency)]


def _answer(values: dict[str, Any], field_id: str) -> str | None:
    value = values.get(field_id)
    return value.get("answer") if isinstance(value, dict) else value


def assess_impact(values: dict[str, Any]) -> tuple[str, list[str]]:
    """Impact grows with users affected, VIPs, blocked business functions, data at risk."""
    reasons = []
    users = values.get("users_affected")
    degree = values.get("impact_degree")
    high = False
    if users in ("over-1000", "everyone"):
        high = True
        reasons.append("over 1,000 users" if users == "over-1000" else "everyone affected")
    if _answer(values, "vip") == "yes":
        high = True
        reasons.append("VIP or critical process")
    if _answer(values, "security") == "yes":
        high = True
        reasons.append("data may be at risk")
    if high:
        return "high", reasons
    business = values.get("business_impact")
    medium = False
    if users in ("11-100", "101-1000"):
        medium = True
        band = next(o.label for o in USER_BANDS if o.id == users)
        reasons.append(f"{band} users")
    if degree in ("full_outage", "partial_outage"):
        medium = True
        reasons.append(degree.replace("_", " "))
    if business and business != UNKNOWN:
        medium = True
        reasons.append("business function blocked")
    return ("medium" if medium else "low"), reasons


def assess_urgency(values: dict[str, Any]) -> tuple[str, list[str]]:
    """Urgency grows with a deadline at risk, no workaround, and a worsening trend.

    An unknown workaround or trend counts half: the agent cannot rule the risk out.
    """
    points, reasons = 0.0, []
    if isinstance(values.get("deadline"), dict):
        points += 1
        reasons.append("deadline at risk")
    workaround = _answer(values, "workaround")
    if workaround == "no":
        points += 1
        reasons.append("no workaround")
    elif workaround in (UNKNOWN, None):
        points += 0.5
    trend = values.get("trend")
    if trend == "worsening":
        points += 1
        reasons.append("worsening")
    elif trend in (UNKNOWN, None):
        points += 0.5
    urgency = "high" if points >= 2 else "medium" if points >= 1 else "low"
    return urgency, reasons


def propose(values: dict[str, Any]) -> Proposal:
    """Impact × urgency, floored at P2. Impact and urgency stay as assessed, so the
    explanation says both what the answers show and why the proposal is higher."""
    impact, impact_reasons = assess_impact(values)
    urgency, urgency_reasons = assess_urgency(values)
    priority, reasons = priority_for(impact, urgency), impact_reasons + urgency_reasons
    if priority not in MAJOR:
        priority = FLOOR
        reasons.append(DECLARED)
    return Proposal(priority, impact, urgency, tuple(reasons))
