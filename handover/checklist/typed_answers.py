"""Checklist answers typed as text: the terminal drill, answers files and scenario facts.

One grammar for all three, so what an agent types, what a script writes and what a trainer
records as a scenario's facts mean the same thing. It produces the raw input that
`answers.parse` takes, so storing and validating stay exactly those of the Slack modal.

- text:      as typed ("unknown" where allowed)
- choice:    a number from the list, the option's name or its id ("unknown" is an option)
- multi:     several of those, separated by commas (or a list in a file)
- date-time: `2026-11-22 14:30` (this machine's local time; add `Z` or `+01:00` for another
             zone), `14:30` (today), `40m ago`, `in 2h`, `now`; `approx` anywhere marks it
             approximate; `unknown`; `none` where the field offers it (no deadline)
- yes/no:    `yes`, `no`, `unknown` (or y / n / u); `yes: detail` adds the detail
- priority:  `P2`, or `P3: reason` to change the proposed one
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from handover.checklist.definition import (
    UNKNOWN,
    Field,
    Kind,
    in_sentence,
    option_label,
    options_for,
)
from handover.settings import OrgConfig
from handover.times import parse_duration, parse_time

_APPROX = re.compile(r"\b(?:approx(?:imately)?|about|around)\b|~", re.IGNORECASE)
_SHORT = {"y": "yes", "n": "no", "u": UNKNOWN}


class TypedError(ValueError):
    """Text that cannot be an answer of its field's kind; the message says what can."""


def hint(f: Field) -> str:
    """How to type an answer to `f`, shown under the question."""
    if f.kind == Kind.CHOICE:
        return "A number or a name."
    if f.kind == Kind.MULTI:
        return "One or more numbers or names, separated by commas."
    if f.kind == Kind.DATETIME:
        extra = ['"approx" if approximate'] if f.approximate else []
        if f.none_label:
            extra.append(f'"none" ({in_sentence(f.none_label)})')
        if f.allow_unknown:
            extra.append('"unknown"')
        return "Like 2026-11-22 14:30 (your local time), 14:30, 40m ago or in 2h" + (
            f"; {', '.join(extra)}." if extra else "."
        )
    if f.kind == Kind.TRISTATE:
        detail = f' "yes: {in_sentence(f.detail_label)}".' if f.detail_label else ""
        return f"yes, no or unknown;{detail}"
    if f.kind == Kind.PRIORITY:
        return "P1, P2, P3 or P4; if you change the proposed one, say why: P3: reason."
    if f.kind in (Kind.TEXT, Kind.LONG_TEXT) and f.allow_unknown:
        return f'{f.hint} "unknown" if not known.'.strip()
    return f.hint


def _choice(f: Field, token: str, org: OrgConfig) -> str:
    options = options_for(f, org)
    wanted = token.strip().casefold()
    for opt in options:
        if wanted in (opt.id.casefold(), opt.label.casefold()):
            return opt.id
    if wanted.isdigit() and 1 <= int(wanted) <= len(options):
        return options[int(wanted) - 1].id
    return token.strip()  # not a choice: validation says so, in the words Slack uses


def _when(text: str, now: datetime) -> datetime:
    low = text.lower()
    if low == "now":
        return now
    if low.endswith(" ago") or low.startswith("in "):
        delta = parse_duration(low.removesuffix(" ago").removeprefix("in "))
        return now - delta if low.endswith(" ago") else now + delta
    if re.fullmatch(r"\d{1,2}:\d{2}", text):
        hour, minute = map(int, text.split(":"))
        return now.astimezone().replace(hour=hour, minute=minute, second=0, microsecond=0)
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.astimezone()  # naive: the local time of this machine


def _datetime(f: Field, text: str, now: datetime) -> dict[str, Any]:
    low = text.lower()
    if low == UNKNOWN and f.allow_unknown:
        return {"at": None, "flags": [UNKNOWN]}
    if low == "none" and f.none_label:
        return {"at": None, "flags": ["none"]}
    rest, marks = _APPROX.subn("", text)
    try:
        at = _when(rest.strip(), now)
    except ValueError:
        raise TypedError(f"Not a time. {hint(f)}") from None
    return {"at": at, "flags": ["approximate"] if marks and f.approximate else []}


def _with_detail(text: str) -> tuple[str, str]:
    answer, _, detail = text.partition(":")
    return answer.strip(), detail.strip()


# A kind's raw input from what was typed: the field, what was typed (a list in a file), that
# as one stripped text, the organisation and now.
_TypedParser = Callable[[Field, str | list[str], str, OrgConfig, datetime], Any]


def _unless_blank(parser: _TypedParser) -> _TypedParser:
    """`parser`, but blank text is no answer (None) rather than something to read."""

    def parse(f: Field, typed: str | list[str], text: str, org: OrgConfig, now: datetime) -> Any:
        return parser(f, typed, text, org, now) if text else None

    return parse


def _typed_text(f: Field, typed: str | list[str], text: str, org: OrgConfig, now: datetime) -> Any:
    return text


def _typed_choice(
    f: Field, typed: str | list[str], text: str, org: OrgConfig, now: datetime
) -> Any:
    return _choice(f, text, org)


def _typed_multi(f: Field, typed: str | list[str], text: str, org: OrgConfig, now: datetime) -> Any:
    parts = typed if isinstance(typed, list) else text.split(",")
    return [_choice(f, part, org) for part in parts if part.strip()]


def _typed_datetime(
    f: Field, typed: str | list[str], text: str, org: OrgConfig, now: datetime
) -> Any:
    return _datetime(f, text, now)


def _typed_tristate(
    f: Field, typed: str | list[str], text: str, org: OrgConfig, now: datetime
) -> Any:
    answer, detail = _with_detail(text)
    return {"answer": _SHORT.get(answer.lower(), answer.lower()), "detail": detail}


def _typed_priority(
    f: Field, typed: str | list[str], text: str, org: OrgConfig, now: datetime
) -> Any:
    value, reason = _with_detail(text)
    value = value.upper()
    return {"value": f"P{value}" if value in ("1", "2", "3", "4") else value, "reason": reason}


_TYPED_PARSERS: dict[Kind, _TypedParser] = {
    # For text, what was typed is the raw input itself, blank included.
    Kind.TEXT: _typed_text,
    Kind.LONG_TEXT: _typed_text,
    Kind.REFS: _typed_text,
    Kind.CHOICE: _unless_blank(_typed_choice),
    Kind.MULTI: _unless_blank(_typed_multi),
    Kind.DATETIME: _unless_blank(_typed_datetime),
    Kind.TRISTATE: _unless_blank(_typed_tristate),
    Kind.PRIORITY: _unless_blank(_typed_priority),
}


def parse_typed(f: Field, typed: str | list[str], org: OrgConfig, now: datetime) -> Any:
    """The raw input (as `answers.parse` takes it) for what was typed; blank text is blank.

    Raises TypedError only for a time that cannot be read: everything else is left for
    `answers.validate_field`, so messages are the ones Slack shows.
    """
    text = ", ".join(typed) if isinstance(typed, list) else typed.strip()
    return _TYPED_PARSERS[f.kind](f, typed, text, org, now)


def _as_typed_text(f: Field, value: Any, org: OrgConfig) -> str:
    return str(value)


def _as_typed_choice(f: Field, value: Any, org: OrgConfig) -> str:
    return option_label(f, value, org)


def _as_typed_multi(f: Field, value: Any, org: OrgConfig) -> str:
    return ", ".join(option_label(f, v, org) for v in value)


def _as_typed_datetime(f: Field, value: Any, org: OrgConfig) -> str:
    if not isinstance(value, dict):
        return str(value)  # "unknown" or "none"
    at = parse_time(value["at"]).astimezone()
    return f"{at:%Y-%m-%d %H:%M}" + (" approx" if value.get("approximate") else "")


def _as_typed_tristate(f: Field, value: Any, org: OrgConfig) -> str:
    return value["answer"] + (f": {value['detail']}" if value.get("detail") else "")


def _as_typed_refs(f: Field, value: Any, org: OrgConfig) -> str:
    return value.get("raw", "")


def _as_typed_priority(f: Field, value: Any, org: OrgConfig) -> str:
    return value["value"] + (f": {value['reason']}" if value.get("reason") else "")


_AS_TYPED: dict[Kind, Callable[[Field, Any, OrgConfig], str]] = {
    Kind.TEXT: _as_typed_text,
    Kind.LONG_TEXT: _as_typed_text,
    Kind.CHOICE: _as_typed_choice,
    Kind.MULTI: _as_typed_multi,
    Kind.DATETIME: _as_typed_datetime,
    Kind.TRISTATE: _as_typed_tristate,
    Kind.REFS: _as_typed_refs,
    Kind.PRIORITY: _as_typed_priority,
}


def as_typed(f: Field, value: Any, org: OrgConfig) -> str:
    """A stored value as the agent would type it: the default offered when asked again."""
    if value in (None, "", []):
        return ""
    return _AS_TYPED[f.kind](f, value, org)
