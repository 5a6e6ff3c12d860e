"""The handover quality score (docs/domain.md, "Handover quality score")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handover.checklist.answers import is_placeholder
from handover.checklist.definition import CRITICAL_FIELDS, FIELDS, STEPS, UNKNOWN, Field, Kind

GREEN, AMBER = 85, 60


@dataclass(frozen=True)
class Gap:
    field_id: str
    label: str
    weight: int
    answer: str  # "blank" or "unknown"
    critical: bool
    training: str


@dataclass(frozen=True)
class Quality:
    score: int  # percent, rounded
    band: str  # green / amber / red
    gaps: tuple[Gap, ...]

    @property
    def critical_gaps(self) -> tuple[Gap, ...]:
        return tuple(g for g in self.gaps if g.critical)


def field_value(f: Field, value: Any) -> float:
    """1 for a specific valid answer, 0.5 for "unknown", 0 for blank or a placeholder."""
    if value in (None, "", []):
        return 0.0
    if value in (UNKNOWN, [UNKNOWN]):
        return 0.5
    if f.kind in (Kind.TEXT, Kind.LONG_TEXT) and is_placeholder(str(value)):
        return 0.0
    if f.kind == Kind.TRISTATE and value.get("answer") == UNKNOWN:
        return 0.5
    if f.kind == Kind.REFS and not value.get("refs") and value.get("raw", "").lower() != "none":
        return 0.0
    return 1.0


def band(score: int) -> str:
    return "green" if score >= GREEN else "amber" if score >= AMBER else "red"


def assess(values: dict[str, Any]) -> Quality:
    scored = [f for step in STEPS for f in step.fields if f.weight]
    total = sum(f.weight for f in scored)
    earned = 0.0
    gaps = []
    for f in scored:
        v = field_value(f, values.get(f.id))
        earned += f.weight * v
        if v < 1:
            gaps.append(
                Gap(
                    f.id,
                    f.label,
                    f.weight,
                    "unknown" if v else "blank",
                    f.id in CRITICAL_FIELDS,
                    f.training,
                )
            )
    gaps.sort(key=lambda g: (-g.weight, list(FIELDS).index(g.field_id)))
    score = round(100 * earned / total)
    return Quality(score, band(score), tuple(gaps))
