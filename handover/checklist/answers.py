"""Turning what a person entered into checklist values, and checking them.

`parse` never fails: it keeps what was typed, so nothing is lost even when it is invalid.
`validate` says what is wrong, in words shown as-is by every front end (Slack and the drill).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from handover.checklist.definition import UNKNOWN, Field, Kind, Step, in_sentence, options_for
from handover.settings import OrgConfig
from handover.times import parse_time, to_iso, utcnow

# Typed answers that say nothing: they score 0 (docs/domain.md "blank or a placeholder").
PLACEHOLDERS = {
    "n/a",
    "na",
    "tbc",
    "tbd",
    "see ticket",
    "?",
    "-",
    "--",
    "...",
    "…",
    "x",
    "todo",
    "see above",
    "as above",
    "idk",
    "none given",
}
# Clock skew between the agent's device and the server.
FUTURE_TOLERANCE = timedelta(minutes=2)

Values = dict[str, Any]


def is_placeholder(text: str) -> bool:
    return text.strip().lower().rstrip(".") in PLACEHOLDERS


def _parse_text(f: Field, raw: Any) -> Any:
    text = (raw or "").strip()
    return UNKNOWN if f.allow_unknown and text.lower() == UNKNOWN else text


def _parse_choice(f: Field, raw: Any) -> Any:
    return raw or None


def _parse_multi(f: Field, raw: Any) -> Any:
    chosen = list(dict.fromkeys(raw or []))
    # "unknown" or "all" beside specific choices: the specific ones win.
    specific = [c for c in chosen if c not in (UNKNOWN, "all")]
    if "all" in chosen:
        return ["all"]
    return specific or ([UNKNOWN] if UNKNOWN in chosen else [])


def _parse_datetime(f: Field, raw: Any) -> Any:
    raw = raw or {}
    flags = set(raw.get("flags") or [])
    at: datetime | None = raw.get("at")
    if at is not None:
        return {"at": to_iso(at), "approximate": "approximate" in flags}
    if "none" in flags:
        return "none"
    return UNKNOWN if UNKNOWN in flags else None


def _parse_tristate(f: Field, raw: Any) -> Any:
    raw = raw or {}
    answer = raw.get("answer")
    if not answer:
        return None
    return {"answer": answer, "detail": (raw.get("detail") or "").strip()}


def _parse_refs(f: Field, raw: Any) -> Any:
    text = (raw or "").strip()
    if text.lower() == "none":
        return {"refs": [], "raw": text}
    refs = list(dict.fromkeys(t for t in re.split(r"[\s,;]+", text) if t))
    return {"refs": refs, "raw": text}


def _parse_priority(f: Field, raw: Any) -> Any:
    raw = raw or {}
    if not raw.get("value"):
        return None
    return {"value": raw["value"], "reason": (raw.get("reason") or "").strip()}


_PARSERS: dict[Kind, Callable[[Field, Any], Any]] = {
    Kind.TEXT: _parse_text,
    Kind.LONG_TEXT: _parse_text,
    Kind.CHOICE: _parse_choice,
    Kind.MULTI: _parse_multi,
    Kind.DATETIME: _parse_datetime,
    Kind.TRISTATE: _parse_tristate,
    Kind.REFS: _parse_refs,
    Kind.PRIORITY: _parse_priority,
}


def parse(f: Field, raw: Any) -> Any:
    """Normalise one front end's raw input into the stored value (see definition.py)."""
    return _PARSERS[f.kind](f, raw)


def _time(value: Any) -> datetime | None:
    return parse_time(value["at"]) if isinstance(value, dict) else None


# A kind's own checks on a value that is neither blank nor "unknown".
_Validator = Callable[[Field, Any, OrgConfig, datetime], str | None]


def _validate_text(f: Field, value: Any, org: OrgConfig, now: datetime) -> str | None:
    if len(value) < f.min_length:
        return f"Please write at least {f.min_length} characters (you wrote {len(value)})."
    if len(value) > f.max_length:
        return f"Please keep it to {f.max_length} characters (you wrote {len(value)})."
    return None


def _not_choices(f: Field, chosen: list[Any], org: OrgConfig) -> str | None:
    allowed = {o.id for o in options_for(f, org)}
    bad = [c for c in chosen if c not in allowed]
    return f"Not one of the choices: {', '.join(bad)}." if bad else None


def _validate_choice(f: Field, value: Any, org: OrgConfig, now: datetime) -> str | None:
    return _not_choices(f, [value], org)


def _validate_multi(f: Field, value: Any, org: OrgConfig, now: datetime) -> str | None:
    return _not_choices(f, value, org)


def _validate_datetime(f: Field, value: Any, org: OrgConfig, now: datetime) -> str | None:
    at = _time(value)
    if at is None:
        return None
    if f.none_label:  # a deadline: only a future time is at risk
        if at <= now:
            return "A deadline at risk must be in the future."
    elif at > now + FUTURE_TOLERANCE:
        return "This cannot be in the future."
    return None


def _validate_tristate(f: Field, value: Any, org: OrgConfig, now: datetime) -> str | None:
    if value["answer"] not in ("yes", "no", UNKNOWN):
        return "Answer yes, no or unknown."
    if value["answer"] == "yes" and not value["detail"] and f.detail_label:
        return f"You answered yes: please add {in_sentence(f.detail_label)}."
    return None


def _validate_refs(f: Field, value: Any, org: OrgConfig, now: datetime) -> str | None:
    pattern = re.compile(org.ticket_pattern)
    bad = [r for r in value["refs"] if not pattern.fullmatch(r)]
    if bad:
        return f"Not a ticket reference: {', '.join(bad)} (expected something like INC0012345)."
    return None


def _validate_priority(f: Field, value: Any, org: OrgConfig, now: datetime) -> str | None:
    if value["value"] not in ("P1", "P2", "P3", "P4"):
        return "Choose P1, P2, P3 or P4."
    return None


_VALIDATORS: dict[Kind, _Validator] = {
    Kind.TEXT: _validate_text,
    Kind.LONG_TEXT: _validate_text,
    Kind.CHOICE: _validate_choice,
    Kind.MULTI: _validate_multi,
    Kind.DATETIME: _validate_datetime,
    Kind.TRISTATE: _validate_tristate,
    Kind.REFS: _validate_refs,
    Kind.PRIORITY: _validate_priority,
}


def validate_field(f: Field, value: Any, org: OrgConfig, now: datetime) -> str | None:
    """The problem with one value, or None."""
    blank = value in (None, "", [])
    if f.required and blank:
        return "This is needed to hand over." + (' "Unknown" is fine.' if f.allow_unknown else "")
    if (
        f.kind in (Kind.TEXT, Kind.LONG_TEXT)
        and f.required
        and not f.allow_unknown
        and (value.lower() == UNKNOWN or is_placeholder(value))
    ):
        return f'This is needed to hand over, in plain words: "{value}" does not say it.'
    if blank or value == UNKNOWN:
        return None
    return _VALIDATORS[f.kind](f, value, org, now)


def validate(step: Step, values: Values, org: OrgConfig, now: datetime | None = None) -> dict:
    """Problems with one step's values, by field id; empty when the step is fine."""
    now = now or utcnow()
    errors = {}
    for f in step.fields:
        problem = validate_field(f, values.get(f.id), org, now)
        if problem:
            errors[f.id] = problem
    started, reported = _time(values.get("started_at")), _time(values.get("first_reported_at"))
    if started and reported and started > reported and "first_reported_at" not in errors:
        errors["first_reported_at"] = "It cannot have been reported before it started."
    return errors


def parse_step(step: Step, raw: dict[str, Any]) -> Values:
    return {f.id: parse(f, raw.get(f.id)) for f in step.fields if f.id in raw}
