"""Stakeholder comms drafted from Jinja2 templates (docs/domain.md, "Stakeholder comms").

One template per notice kind (`comms_templates/<kind>.j2`, or an organisation's own folder)
renders to two targets from the same source: Slack mrkdwn and plain text (e-mail, a status
page). The target is a `Rendering`: the caller passes bot.mrkdwn.SLACK or `PLAIN`, so this module
never knows Slack.

The template contract (README.md, "Comms templates"):
- the first line rendered is `Subject: …`; everything after it is the body;
- every printed value is escaped for the target at output (`finalize`), so a template cannot
  forget it; values the code marks `Safe` (already escaped by `display`, Slack date tokens) pass;
- a variable that does not exist is an error (StrictUndefined), never blank text.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
)

import comms_templates
from handover.checklist.definition import FIELDS, UNKNOWN, Rendering, display
from handover.checklist.quality import field_value
from handover.models import Incident
from handover.settings import OrgConfig
from handover.times import plain_time
from handover.vocabulary import NoticeKind, StakeholderState

KINDS = tuple(NoticeKind)
BUILT_IN = Path(comms_templates.__file__).parent
NOT_KNOWN = "not yet known"
# Stakeholder states (docs/domain.md) in the words stakeholders read.
STATES: dict[str, str] = {
    StakeholderState.INVESTIGATING: "Investigating",
    StakeholderState.IDENTIFIED: "Cause identified",
    StakeholderState.MONITORING: "Fix applied, monitoring",
    StakeholderState.RESOLVED: "Resolved",
}
PLAIN = Rendering(time=plain_time)


class Safe(str):
    """Text already in the target's format (escaped by `display`, a Slack date token):
    printed as is. Any other string a template prints is escaped."""

    __slots__ = ()


@dataclass(frozen=True)
class Change:
    """One difference between two snapshots, in plain words (not escaped: it is data)."""

    key: str
    label: str
    before: str
    after: str

    def __str__(self) -> str:
        return f"{self.label}: {self.before} → {self.after}"


@dataclass(frozen=True)
class Details:
    """What the manager adds to the record for one notice."""

    next_update_at: datetime | None = None  # default: the incident's next_update_due_at
    eta: str | None = None  # None: "not yet known"; never invented
    doing: str = ""  # "what we are doing", in the manager's words
    changes: tuple[Change, ...] = ()  # update: `diff_since(last notice's snapshot, now)`
    what_happened: str = ""  # resolution, in users' terms (default: the headline)
    user_action: str = ""  # resolution: anything users must do
    review: bool = True  # resolution: whether a review will follow


@dataclass(frozen=True)
class Notice:
    kind: str
    subject: str
    body: str

    @property
    def text(self) -> str:
        return f"Subject: {self.subject}\n\n{self.body}"


# Context ---------------------------------------------------------------------------------------


def context(
    kind: str, incident: Incident, org: OrgConfig, how: Rendering, details: Details = Details()
) -> dict[str, Any]:
    """The variables a template sees (README.md, "Comms templates").

    `fields.<id>` is every checklist field in words, read through the one checklist definition;
    `known.<id>` says whether it has a specific answer (not blank, "unknown" or a placeholder).
    """
    if kind not in KINDS:
        raise ValueError(f"no notice kind {kind!r} (kinds: {', '.join(KINDS)})")
    next_update = details.next_update_at or incident.next_update_due_at
    if kind != NoticeKind.RESOLUTION and next_update is None:
        raise ValueError("every notice names the next update time: give next_update_at")
    if kind == NoticeKind.RESOLUTION and incident.resolved_at is None:
        raise ValueError("a resolution notice needs the incident's resolved_at")
    shown = replace(how, unknown=NOT_KNOWN, blank=NOT_KNOWN)
    answers = {**incident.answers, "headline": incident.headline}
    workaround = answers.get("workaround") or {}
    state = incident.stakeholder_state or "investigating"

    def time(at: datetime | None) -> str:
        return Safe(how.time(at)) if at else ""

    return {
        "kind": kind,
        "reference": incident.reference,
        "priority": incident.priority,
        "fields": {f.id: Safe(display(f, answers.get(f.id), org, shown)) for f in FIELDS.values()},
        "known": {f.id: field_value(f, answers.get(f.id)) == 1 for f in FIELDS.values()},
        "workaround": workaround.get("detail", "") if workaround.get("answer") == "yes" else "",
        "teams": named_teams(incident),
        "teams_engaged": bool(incident.trgs),
        "state": STATES.get(state, state),
        "next_update": time(next_update),
        "resolved_at": time(incident.resolved_at),
        "eta": (details.eta or "").strip() or NOT_KNOWN,
        "doing": details.doing.strip(),
        "changes": [str(c) for c in details.changes],
        "what_happened": details.what_happened.strip(),
        "user_action": details.user_action.strip(),
        "review": details.review,
    }


def named_teams(incident: Incident) -> list[str]:
    """The teams a notice names: those engaged, or until one is, the suspected resolver groups."""
    engaged = list(incident.trgs or [])
    suspected = [g for g in incident.answers.get("resolver_groups") or [] if g != UNKNOWN]
    return engaged or suspected


# Rendering -------------------------------------------------------------------------------------


def _environment(folder: Path | None, how: Rendering) -> Environment:
    def finalize(value: object) -> str:
        return value if isinstance(value, Safe) else how.escape(str(value))

    def join(values: Iterable[object], separator: str = "") -> Safe:
        # Jinja's own join makes one plain str of its parts: finalize would then escape the
        # values already escaped (Safe) a second time.
        return Safe(finalize(separator).join(finalize(v) for v in values))

    def heading(*parts: object) -> Safe:
        # `{{ heading("Next update by ", next_update, ".") }}`: each part escaped once (as
        # join does), the whole marked as a heading for the target (bold in Slack only).
        return Safe(how.heading("".join(finalize(p) for p in parts)))

    built_in = FileSystemLoader(BUILT_IN)
    # The organisation's folder first; a kind missing there falls back to the built-in one,
    # and `{% extends "builtin/initial.j2" %}` lets a custom template change one block only.
    loaders = [FileSystemLoader(folder)] if folder else []
    env = Environment(
        loader=ChoiceLoader([*loaders, built_in, PrefixLoader({"builtin": built_in})]),
        undefined=StrictUndefined,
        finalize=finalize,
        autoescape=False,  # HTML escaping is wrong for Slack: it does not decode &#39; or &#34;
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["join"] = join
    env.globals["heading"] = heading
    return env


def _notice(kind: str, text: str) -> Notice:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    if not lines or not lines[0].startswith("Subject:"):
        raise TemplateError("the first line it renders must be 'Subject: …'")
    subject = " ".join(lines[0].removeprefix("Subject:").split())
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines[1:])).strip()
    return Notice(kind, subject, body)


def render(
    kind: str, incident: Incident, org: OrgConfig, how: Rendering, details: Details = Details()
) -> Notice:
    """Draft one notice for `how`'s target from the organisation's templates (or the built-in).

    Raises ValueError for a notice the record cannot support yet (see `context`) and
    jinja2.TemplateError for a broken template (`check_templates` finds those beforehand).
    """
    ctx = context(kind, incident, org, how, details)
    template = _environment(org.templates_dir, how).get_template(f"{kind}.j2")
    return _notice(kind, template.render(ctx))


# Snapshots and what changed ----------------------------------------------------------------

SNAPSHOT_FIELDS = ("impact_degree", "users_affected", "services", "workaround")
_WORDS = Rendering(time=plain_time, unknown=NOT_KNOWN, blank=NOT_KNOWN)


def snapshot(incident: Incident) -> dict[str, Any]:
    """The comms-relevant state of the record, stored with each notice (plain JSON).

    `teams` is what the notice named (`named_teams`), not only the teams engaged: the suspected
    teams an initial notice named, engaged later, are no change to tell stakeholders about.
    """
    return {
        "stakeholder_state": incident.stakeholder_state or "investigating",
        **{fid: incident.answers.get(fid) for fid in SNAPSHOT_FIELDS},
        "teams": named_teams(incident),
    }


def _words(key: str, value: Any) -> str:
    if isinstance(value, list):
        value = sorted(value)  # the same choices in another order are no change
    if key == "stakeholder_state":
        return STATES.get(value, str(value))
    if key == "teams":
        return ", ".join(value or []) or "none"
    # Catalogue choices are their own labels, so the default configuration words them right.
    return display(FIELDS[key], value, OrgConfig(), _WORDS)


def diff_since(previous: dict[str, Any], current: dict[str, Any]) -> list[Change]:
    """What changed between two snapshots, in the snapshot's order, in plain words."""
    changes = []
    if "teams" not in previous:  # stored before snapshots had `teams`: it had the engaged ones
        previous = {**previous, "teams": previous.get("trgs")}
    for key, value in current.items():
        before, after = _words(key, previous.get(key)), _words(key, value)
        if before != after:
            label = {"stakeholder_state": "Status", "teams": "Teams engaged"}.get(key)
            changes.append(Change(key, label or FIELDS[key].label, before, after))
    return changes


# Checking an organisation's templates ------------------------------------------------------


def sample_incident(sparse: bool = False) -> Incident:
    """A made-up record to render templates against: fully answered, or only the core."""
    at = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    answers: dict[str, Any] = {
        "headline": "E-mail down for all staff",
        "services": [UNKNOWN] if sparse else ["E-mail"],
        "symptoms": "Outlook cannot connect",
    }
    if not sparse:
        answers |= {
            "impact_degree": "full_outage",
            "started_at": {"at": "2026-11-22T08:40:00+00:00", "approximate": True},
            "users_affected": "over-1000",
            "user_types": ["staff"],
            "locations": ["all"],
            "vip": {"answer": "no", "detail": ""},
            "business_impact": "No customer e-mail & orders stuck",
            "trend": "stable",
            "workaround": {"answer": "yes", "detail": "Use Outlook on the web"},
            "resolver_groups": ["Servers and cloud"],
            "security": {"answer": "no", "detail": ""},
        }
    return Incident(
        reference="MI-2026-0001",
        headline=answers["headline"],
        answers=answers,
        handed_over_answers=answers,
        priority="P1",
        proposed_priority="P1",
        handed_over_at=at,
        trgs=[] if sparse else ["Servers and cloud"],
        stakeholder_state="investigating" if sparse else "identified",
        next_update_due_at=at.replace(hour=9, minute=30),
        resolved_at=at.replace(hour=11),
    )


_SAMPLE_DETAILS = Details(
    eta="about 2 hours",
    doing="Restarting the mail relay",
    changes=(Change("impact_degree", "Impact", "Full outage", "Degraded"),),
    what_happened="E-mail could not be sent or received",
    user_action="Restart Outlook",
)


def _where(exc: BaseException, kind: str) -> str:
    """`initial.j2 line 7`: the innermost template line in the (Jinja-rewritten) traceback."""
    line: int | None
    if isinstance(exc, TemplateSyntaxError):
        name, line = exc.filename or exc.name or f"{kind}.j2", exc.lineno
    else:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
        name, line = (frames[-1].filename, frames[-1].lineno) if frames else (f"{kind}.j2", None)
    return Path(name).name + (f" line {line}" if line else "")


def check_templates(folder: Path | None) -> list[str]:
    """Render every kind (the folder's own, or the built-in fallback) against sample records;
    one line per problem, naming the template file and line."""
    problems = []
    if folder:
        for path in sorted(folder.glob("*.j2")):
            if path.stem not in KINDS and not path.name.startswith("_"):
                problems.append(
                    f"comms template {path.name}: not a notice kind "
                    f"(expected {', '.join(k + '.j2' for k in KINDS)}; shared parts start with _)"
                )
    org = OrgConfig(templates_dir=folder)
    for kind in KINDS:
        for sparse, details in ((False, _SAMPLE_DETAILS), (True, Details())):
            try:
                render(kind, sample_incident(sparse), org, PLAIN, details)
            except Exception as exc:  # any error in a template is a problem to report, not a crash
                message = exc.message if isinstance(exc, TemplateError) else repr(exc)
                problems.append(f"comms template {_where(exc, kind)}: {message}")
                break  # one problem per template: the sparse record would repeat it
    return problems
