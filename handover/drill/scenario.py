"""Drill scenarios: a caller played from a data file, and a handover scored against its facts.

A scenario is a TOML file (built in: handover/drill/scenarios/; trainers add their own
folder or file). Its facts are written in the typed grammar of
handover/checklist/typed_answers.py, as an agent would type them, and checked with the same
parsing and validation as every answer.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from handover.checklist import answers
from handover.checklist.definition import FIELDS, Field, Kind, Rendering, display
from handover.checklist.quality import field_value
from handover.checklist.typed_answers import TypedError, parse_typed
from handover.settings import OrgConfig
from handover.times import parse_time

BUILT_IN = Path(__file__).parent / "scenarios"
# Times in facts are relative to the start of the drill ("25m ago"): this close is right.
TIME_TOLERANCE = timedelta(minutes=15)
_KEYS = {"title", "briefing", "caller", "opening", "unknown_reply", "says", "facts"}
_TEXT = (Kind.TEXT, Kind.LONG_TEXT)
# Kinds whose facts may list several acceptable answers (a list elsewhere is one answer).
_ALTERNATIVES = (Kind.CHOICE, Kind.TRISTATE, Kind.PRIORITY)


class ScenarioError(Exception):
    """A scenario that cannot be used; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Fact:
    field: Field
    accepted: tuple[Any, ...] = ()  # stored values, any of which is right
    phrases: tuple[str, ...] = ()  # text fields: words the answer must contain


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    briefing: str  # what the agent knows when the call comes in
    caller: str
    opening: str  # the caller's first words
    says: dict[str, str]  # field id → the caller's answer when the agent asks
    unknown_reply: str  # the caller's answer to anything else
    facts: tuple[Fact, ...]

    def reply(self, field_id: str) -> str:
        return self.says.get(field_id, self.unknown_reply)


@dataclass(frozen=True)
class FactCheck:
    label: str
    outcome: str  # "right", "missed" (blank or unknown) or "wrong"
    expected: str
    given: str


def scenario_files(dirs: Iterable[Path] = ()) -> dict[str, Path]:
    """Scenario name → file: the built-in ones, then each folder's (a same name replaces)."""
    found: dict[str, Path] = {}
    for folder in (BUILT_IN, *dirs):
        found |= {path.stem: path for path in sorted(folder.glob("*.toml"))}
    return found


def load_scenario(
    name_or_path: str, dirs: Iterable[Path], org: OrgConfig, now: datetime
) -> Scenario:
    """The scenario named (or the file given); ScenarioError lists every problem."""
    files = scenario_files(dirs)
    path = files.get(name_or_path) or Path(name_or_path)
    if not path.is_file():
        raise ScenarioError(
            [f"no scenario '{name_or_path}' (scenarios: {', '.join(files)}; or give a file)"]
        )
    where = f"scenario {path.name}"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError([f"{where}: cannot be read ({exc})"]) from None
    problems = [f"{where}: unknown key '{key}'" for key in sorted(set(data) - _KEYS)]
    for key in ("title", "opening"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            problems.append(f"{where}: '{key}' must be some text")
    says, facts = data.get("says", {}), data.get("facts", {})
    for key, table in (("says", says), ("facts", facts)):
        if not isinstance(table, dict):
            problems.append(f"{where}: '{key}' must be a table, like [{key}]")
    says, facts = (t if isinstance(t, dict) else {} for t in (says, facts))
    for field_id in sorted(set(says) - set(FIELDS)):
        problems.append(f"{where}: says.{field_id}: no such checklist field")
    checked = []
    for field_id, typed in facts.items():
        try:
            checked.append(_fact(field_id, typed, org, now))
        except ValueError as exc:
            problems.append(f"{where}: facts.{field_id}: {exc}")
    if problems:
        raise ScenarioError(problems)
    return Scenario(
        name=path.stem,
        title=_folded(data["title"]),
        briefing=_folded(data.get("briefing", "")),
        caller=_folded(data.get("caller", "The caller")),
        opening=_folded(data["opening"]),
        says={k: _folded(v) for k, v in says.items()},
        unknown_reply=_folded(data.get("unknown_reply", "Sorry, I don't know.")),
        facts=tuple(checked),
    )


def _folded(text: Any) -> str:
    """One line: TOML's multi-line strings break where the file did, not where a terminal does."""
    return " ".join(str(text).split())


def _fact(field_id: str, typed: Any, org: OrgConfig, now: datetime) -> Fact:
    f = FIELDS.get(field_id)
    if f is None:
        raise ValueError("no such checklist field")
    items = typed if isinstance(typed, list) else [typed]
    if not items or not all(isinstance(item, str) and item.strip() for item in items):
        raise ValueError("must be text, or a list of text")
    if f.kind in _TEXT:
        return Fact(f, phrases=tuple(items))
    accepted = []
    for alternative in items if f.kind in _ALTERNATIVES else [typed]:
        try:
            value = answers.parse(f, parse_typed(f, alternative, org, now))
        except TypedError as exc:
            raise ValueError(str(exc)) from None
        problem = answers.validate_field(f, value, org, now)
        if problem:
            raise ValueError(problem)
        accepted.append(value)
    return Fact(f, accepted=tuple(accepted))


def _matches(f: Field, given: Any, want: Any) -> bool:
    if f.kind == Kind.MULTI:
        return sorted(given or []) == sorted(want)
    if f.kind == Kind.DATETIME and isinstance(given, dict) and isinstance(want, dict):
        return abs(parse_time(given["at"]) - parse_time(want["at"])) <= TIME_TOLERANCE
    if f.kind == Kind.TRISTATE:
        return isinstance(given, dict) and given["answer"] == want["answer"]
    if f.kind == Kind.PRIORITY:
        return isinstance(given, dict) and given["value"] == want["value"]
    if f.kind == Kind.REFS:
        return isinstance(given, dict) and set(want["refs"]) <= set(given["refs"])
    return given == want


def check_facts(
    scenario: Scenario, values: dict[str, Any], org: OrgConfig, how: Rendering
) -> list[FactCheck]:
    """Each of the scenario's facts against the handover's answers, in checklist order."""
    checks = []
    for fact in sorted(scenario.facts, key=lambda fact: list(FIELDS).index(fact.field.id)):
        f, given = fact.field, values.get(fact.field.id)
        if fact.phrases:
            right = all(p.casefold() in str(given or "").casefold() for p in fact.phrases)
            expected = " and ".join(f'mentions "{p}"' for p in fact.phrases)
        else:
            right = any(_matches(f, given, want) for want in fact.accepted)
            expected = " or ".join(display(f, want, org, how) for want in fact.accepted)
        outcome = "right" if right else "missed" if field_value(f, given) < 1 else "wrong"
        checks.append(FactCheck(f.label, outcome, expected, display(f, given, org, how)))
    return checks
