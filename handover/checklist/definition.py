"""The handover checklist, defined once as data (docs/domain.md, "The handover checklist").

The Slack modal, the terminal drill, validation, the quality score and the comms all read this one
definition. A field's *value* is stored as plain JSON:

- text / long_text:  a string ("" when blank)
- choice:            an option id, or None
- multi:             a list of option ids (["unknown"] for "unknown")
- datetime:          {"at": ISO-8601 UTC, "approximate": bool} | "unknown" | "none" | None
- tristate:          {"answer": "yes" | "no" | "unknown", "detail": str} | None
- refs:              {"refs": [str, ...], "raw": str} ("none" typed means an explicit empty list)
- priority:          {"value": "P1".."P4", "reason": str} | None
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from handover.settings import OrgConfig
from handover.times import parse_time

UNKNOWN = "unknown"


class Kind(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    CHOICE = "choice"
    MULTI = "multi"
    DATETIME = "datetime"
    TRISTATE = "tristate"
    REFS = "refs"
    PRIORITY = "priority"


@dataclass(frozen=True)
class Option:
    id: str
    label: str


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    kind: Kind
    weight: int = 1  # quality-score weight (docs/domain.md); 0: not scored
    required: bool = False
    hint: str = ""
    options: tuple[Option, ...] = ()
    # For MULTI fields whose options come from the organisation's configuration.
    catalogue: str = ""
    allow_unknown: bool = True
    allow_all: bool = False  # MULTI: an "all" option (sites)
    min_length: int = 0
    max_length: int = 3000
    # DATETIME: which non-time answers the field offers.
    approximate: bool = False
    none_label: str = ""  # e.g. "No deadline": an explicit, specific "none" answer
    # TRISTATE: what to ask for when the answer is yes.
    detail_label: str = ""
    training: str = ""  # a training point when the field was a gap (exception reports, drill)


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    fields: tuple[Field, ...]


def _opts(*pairs: tuple[str, str]) -> tuple[Option, ...]:
    return tuple(Option(i, label) for i, label in pairs)


_U = (UNKNOWN, "Unknown")

IMPACT_DEGREES = _opts(
    ("full_outage", "Full outage"),
    ("partial_outage", "Partial outage"),
    ("degraded", "Degraded"),
    ("intermittent", "Intermittent"),
    _U,
)
DETECTION = _opts(
    ("monitoring", "Monitoring alert"),
    ("ticket_spike", "Spike in similar tickets"),
    ("user_report", "User report"),
    ("resolver_team", "Resolver team"),
    ("supplier", "Supplier notice"),
    ("other", "Other"),
    _U,
)
USER_BANDS = _opts(
    ("1", "1"),
    ("2-10", "2–10"),
    ("11-100", "11–100"),
    ("101-1000", "101–1,000"),
    ("over-1000", "Over 1,000"),
    ("everyone", "Everyone"),
    _U,
)
USER_TYPES = _opts(
    ("staff", "Staff"),
    ("customers", "Customers or public"),
    ("partners", "Partners or suppliers"),
    ("other", "Other"),
    _U,
)
TRENDS = _opts(("worsening", "Worsening"), ("stable", "Stable"), ("improving", "Improving"), _U)
PRIORITIES = _opts(
    ("P1", "P1 (critical)"), ("P2", "P2 (high)"), ("P3", "P3 (moderate)"), ("P4", "P4 (low)")
)

STEPS: tuple[Step, ...] = (
    Step(
        "what",
        "What is happening",
        (
            Field(
                "headline",
                "Headline",
                Kind.TEXT,
                weight=1,
                required=True,
                # The minimal core (docs/domain.md): what is broken and what users see are needed.
                allow_unknown=False,
                min_length=10,
                max_length=120,
                hint="One line in plain words; it becomes the comms subject.",
                training="Write a one-line headline users would recognise.",
            ),
            Field(
                "services",
                "Services affected",
                Kind.MULTI,
                weight=3,
                required=True,
                catalogue="services",
                training="Ask the caller which service they were using; check the catalogue.",
            ),
            Field(
                "symptoms",
                "Symptoms",
                Kind.LONG_TEXT,
                weight=3,
                required=True,
                allow_unknown=False,
                min_length=3,
                hint="What users see; copy error text word for word.",
                training="Capture what users see and the exact error text.",
            ),
            Field(
                "impact_degree",
                "Impact",
                Kind.CHOICE,
                options=IMPACT_DEGREES,
                training="Ask whether it is down for everyone or only slow or patchy.",
            ),
            Field(
                "started_at",
                "Started at",
                Kind.DATETIME,
                weight=3,
                approximate=True,
                training="Ask when it first went wrong; an approximate time is fine.",
            ),
            Field(
                "first_reported_at",
                "First reported at",
                Kind.DATETIME,
                approximate=True,
                training="Note when the first call or ticket came in.",
            ),
            Field(
                "detection",
                "How detected",
                Kind.CHOICE,
                weight=2,
                options=DETECTION,
                training="Record how the problem came to light.",
            ),
        ),
    ),
    Step(
        "who",
        "Who is affected",
        (
            Field(
                "users_affected",
                "Users affected now (estimate)",
                Kind.CHOICE,
                weight=3,
                options=USER_BANDS,
                training="Estimate how many users are affected; a band is enough.",
            ),
            Field(
                "user_types",
                "User types",
                Kind.MULTI,
                weight=2,
                options=USER_TYPES,
                training="Ask whether customers or only staff are affected.",
            ),
            Field(
                "locations",
                "Locations or sites",
                Kind.MULTI,
                weight=2,
                catalogue="sites",
                allow_all=True,
                training="Ask where the affected users are.",
            ),
            Field(
                "vip",
                "VIP or critical business process affected",
                Kind.TRISTATE,
                weight=2,
                detail_label="Who or which process",
                training="Ask whether a VIP or critical process is hit.",
            ),
            Field(
                "business_impact",
                "Business impact",
                Kind.LONG_TEXT,
                weight=3,
                hint="Which business function is blocked, in words.",
                training="Ask what the business cannot do because of it.",
            ),
            Field(
                "deadline",
                "Deadline at risk",
                Kind.DATETIME,
                none_label="No deadline",
                training="Ask whether a deadline is at risk (payroll run, launch, filing).",
            ),
        ),
    ),
    Step(
        "known",
        "What is known so far",
        (
            Field(
                "trend",
                "Trend",
                Kind.CHOICE,
                weight=2,
                options=TRENDS,
                training="Ask whether it is getting worse.",
            ),
            Field(
                "recent_changes",
                "Recent changes",
                Kind.TRISTATE,
                weight=2,
                detail_label="Change reference",
                training="Check the change calendar for recent changes.",
            ),
            Field(
                "actions_taken",
                "Actions already taken",
                Kind.LONG_TEXT,
                weight=2,
                hint='"none" is a valid answer.',
                training="Record what was already tried, even if it is nothing.",
            ),
            Field(
                "workaround",
                "Workaround",
                Kind.TRISTATE,
                weight=2,
                detail_label="The workaround",
                training="Ask whether users have another way to work.",
            ),
            Field(
                "resolver_groups",
                "Suspected resolver groups",
                Kind.MULTI,
                weight=3,
                catalogue="resolver_groups",
                training="Suggest which team most likely owns the failing service.",
            ),
            Field(
                "security",
                "Security or data breach suspected",
                Kind.TRISTATE,
                weight=3,
                detail_label="Why it is suspected",
                training="Always ask whether data or security may be involved.",
            ),
            Field(
                "related_refs",
                "Related ticket references",
                Kind.REFS,
                hint='Separate with commas or spaces; "none" if there are none.',
                training="List the related ticket numbers.",
            ),
        ),
    ),
    Step(
        "review",
        "Review and hand over",
        (
            Field(
                "priority",
                "Priority",
                Kind.PRIORITY,
                weight=0,
                options=PRIORITIES,
                allow_unknown=False,
            ),
            Field(
                "contact_phone",
                # Not "(optional)" here: Slack adds it to every optional input itself.
                "Your phone number",
                Kind.TEXT,
                weight=0,
                allow_unknown=False,
                max_length=40,
                hint="So the incident manager can call you back.",
            ),
        ),
    ),
)

FIELDS: dict[str, Field] = {f.id: f for step in STEPS for f in step.fields}
STEP_IDS: tuple[str, ...] = tuple(s.id for s in STEPS)
CRITICAL_FIELDS = ("services", "symptoms", "security", "users_affected")


def in_sentence(label: str) -> str:
    """A label inside a sentence or a list: "Services affected" → "services affected", but an
    acronym keeps its capitals ("VIP or critical …")."""
    first = label.split(" ", 1)[0]
    if first.isupper() and len(first) > 1:
        return label
    return label[:1].lower() + label[1:]


def step(step_id: str) -> Step:
    for s in STEPS:
        if s.id == step_id:
            return s
    raise KeyError(step_id)


def next_step_id(step_id: str) -> str | None:
    index = STEP_IDS.index(step_id)
    return STEP_IDS[index + 1] if index + 1 < len(STEP_IDS) else None


def options_for(f: Field, org: OrgConfig) -> tuple[Option, ...]:
    """The choices a field offers, with "all" and "unknown" where docs/domain.md allows them."""
    if f.catalogue:
        base = tuple(Option(name, name) for name in getattr(org, f.catalogue))
        extra: tuple[Option, ...] = ()
        if f.allow_all:
            extra += (Option("all", "All"),)
        if f.allow_unknown:
            extra += (Option(UNKNOWN, "Unknown"),)
        return extra + base if f.allow_all else base + extra
    return f.options


def option_label(f: Field, option_id: str, org: OrgConfig) -> str:
    for opt in options_for(f, org):
        if opt.id == option_id:
            return opt.label
    return option_id


@dataclass
class Rendering:
    """Front-end specifics injected into `display` and the comms templates: how to show a time,
    escape text and mark a heading."""

    time: Callable[[datetime], str]
    escape: Callable[[str], str] = field(default=lambda s: s)
    unknown: str = "unknown"
    blank: str = "—"
    # A heading in a notice, already escaped: bold where the target has it (Slack's `*…*`),
    # as is in plain text (e-mail), which has no markup to show it with.
    heading: Callable[[str], str] = field(default=lambda s: s)


def _display_text(f: Field, value: Any, org: OrgConfig, how: Rendering) -> str:
    return how.escape(str(value))


def _display_choice(f: Field, value: Any, org: OrgConfig, how: Rendering) -> str:
    return how.escape(option_label(f, str(value), org))


def _display_multi(f: Field, value: Any, org: OrgConfig, how: Rendering) -> str:
    return ", ".join(how.escape(option_label(f, str(v), org)) for v in value)


def _display_datetime(f: Field, value: Any, org: OrgConfig, how: Rendering) -> str:
    if value == "none":
        return in_sentence(f.none_label) or "none"
    at = parse_time(value["at"])
    return ("about " if value.get("approximate") else "") + how.time(at)


def _display_tristate(f: Field, value: Any, org: OrgConfig, how: Rendering) -> str:
    answer, detail = value["answer"], value.get("detail", "")
    if answer == "yes" and detail:
        return f"yes: {how.escape(detail)}"
    return answer


def _display_refs(f: Field, value: Any, org: OrgConfig, how: Rendering) -> str:
    refs = value.get("refs", [])
    return ", ".join(how.escape(r) for r in refs) if refs else "none"


def _display_priority(f: Field, value: Any, org: OrgConfig, how: Rendering) -> str:
    return str(value["value"])


_DISPLAYS: dict[Kind, Callable[[Field, Any, OrgConfig, Rendering], str]] = {
    Kind.TEXT: _display_text,
    Kind.LONG_TEXT: _display_text,
    Kind.CHOICE: _display_choice,
    Kind.MULTI: _display_multi,
    Kind.DATETIME: _display_datetime,
    Kind.TRISTATE: _display_tristate,
    Kind.REFS: _display_refs,
    Kind.PRIORITY: _display_priority,
}


def display(f: Field, value: Any, org: OrgConfig, how: Rendering) -> str:
    """A field's value as words, for the card, the drill and the comms."""
    if value in (None, "", [], UNKNOWN, [UNKNOWN]):
        return how.unknown if value in (UNKNOWN, [UNKNOWN]) else how.blank
    return _DISPLAYS[f.kind](f, value, org, how)
