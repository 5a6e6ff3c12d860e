"""The measures of docs/domain.md ("Measures the product must report") over a period: plain rows in,
plain figures out. Reading the rows is handover/reporting/measure_rows.py; wording them is the
front end's.

Definitions (the README's "baton report" section says the same for users):

- Stood-down incidents were not major incidents: they are counted, and left out of every other
  figure. Drills are left out unless asked for.
- Median and 90th percentile: linear interpolation between the closest ranks,
  `statistics.quantiles(method="inclusive")`, the same for every figure.
- First comms within the target: of the incidents whose first comms were sent, or whose first
  phase ran out without them (a miss). Drills have no clock: they count only once comms are sent.
- Update adherence: every update sent against a promised time is one promise, kept when sent by
  that time; an overdue update that no later update answered is one more promise, broken.
- Longest comms gap: the longest time between two consecutive stakeholder comms (the first comms,
  then each update) of one incident.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from handover.checklist.definition import FIELDS
from handover.checklist.quality import assess
from handover.times import parse_time
from handover.vocabulary import EventKind, IncidentStatus

UNASSIGNED = "unassigned"
BANDS = ("green", "amber", "red")
_ORDER = {field_id: i for i, field_id in enumerate(FIELDS)}


@dataclass(frozen=True)
class Period:
    start: datetime  # inclusive
    end: datetime  # exclusive


@dataclass(frozen=True)
class EventRow:
    kind: str
    at: datetime
    detail: dict[str, Any]


@dataclass(frozen=True)
class IncidentRow:
    """What the report reads of an incident: its columns, and its comms events in time order."""

    reference: str
    is_drill: bool
    status: str
    reporter_id: str
    handed_over_at: datetime
    quality_score: int  # as handed over: the one that counts for training
    quality_band: str
    handed_over_answers: dict[str, Any]
    accepted_at: datetime | None = None
    trgs_engaged_at: datetime | None = None
    initial_comms_at: datetime | None = None
    resolved_at: datetime | None = None
    events: tuple[EventRow, ...] = ()


@dataclass(frozen=True)
class Spread:
    """A duration over several incidents, in seconds (None when no incident has it)."""

    n: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class Share:
    count: int
    of: int

    @property
    def percent(self) -> float | None:
        return 100 * self.count / self.of if self.of else None


@dataclass(frozen=True)
class GapCount:
    field_id: str
    label: str
    count: int  # incidents where the field was blank or "unknown" at handover


@dataclass(frozen=True)
class Figures:
    """Every measure for one group of incidents: all of them, a team, or an agent."""

    name: str
    incidents: int
    stood_down: int
    drills: int  # included drills (with include_drills)
    bands: dict[str, int]
    median_score: float | None
    gaps: tuple[GapCount, ...]  # most frequent first
    report_to_handover: Spread
    to_accept: Spread
    to_trgs: Spread
    to_first_comms: Spread
    first_comms_in_target: Share
    to_resolve: Spread
    updates_on_time: Share
    longest_comms_gap: float | None  # seconds
    longest_comms_gap_incident: str
    team: str = ""  # an agent's team


@dataclass(frozen=True)
class FirstComms:
    """One point of the time-to-first-comms trend."""

    reference: str
    handed_over_at: datetime
    after: float  # seconds


@dataclass(frozen=True)
class Report:
    period: Period
    target: timedelta  # the first phase (BATON_INITIAL_PHASE)
    include_drills: bool
    drills_left_out: int
    overall: Figures
    teams: tuple[Figures, ...]  # configured order, then "unassigned" when it has incidents
    agents: tuple[Figures, ...]  # by team, then user ID
    first_comms: tuple[FirstComms, ...]  # by handover time


def spread(values: Sequence[float]) -> Spread:
    """Median and 90th percentile by linear interpolation (quantiles, method="inclusive")."""
    if not values:
        return Spread(0, None, None)
    if len(values) == 1:
        return Spread(1, values[0], values[0])
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    return Spread(len(values), deciles[4], deciles[8])


@dataclass(frozen=True)
class _Measured:
    """One incident's own measures, before they are aggregated."""

    row: IncidentRow
    report_to_handover: float | None
    to_accept: float | None
    to_trgs: float | None
    to_first_comms: float | None
    first_comms_counted: bool
    gaps: tuple[str, ...]  # field ids
    to_resolve: float | None
    promises: int
    kept: int
    longest_gap: float | None


@dataclass
class _Group:
    measured: list[_Measured] = field(default_factory=list)
    stood_down: int = 0

    def add(self, measured: _Measured | None) -> None:
        """`None`: a stood-down incident, only counted."""
        if measured is None:
            self.stood_down += 1
        else:
            self.measured.append(measured)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    # A time before T0 (resolved before the card reached the managers) counts as zero.
    return max((end - start).total_seconds(), 0.0) if start and end else None


def _first_reported(answers: dict[str, Any]) -> datetime | None:
    value = answers.get("first_reported_at")
    return parse_time(value["at"]) if isinstance(value, dict) and value.get("at") else None


def _measure(row: IncidentRow, target: timedelta, now: datetime) -> _Measured:
    t0 = row.handed_over_at
    comms = [row.initial_comms_at] if row.initial_comms_at else []
    promises = kept = unanswered = 0
    for event in row.events:
        if event.kind == EventKind.UPDATE_OVERDUE:
            unanswered += 1
        elif event.kind == EventKind.UPDATE_SENT:
            unanswered = 0  # a late update answers the overdue: one promise, broken (below)
            comms.append(event.at)
            if event.detail.get("was_due_at"):
                promises += 1
                kept += bool(event.detail.get("on_time"))
    comms.sort()
    gaps = [(b - a).total_seconds() for a, b in pairwise(comms)]
    clock_ran_out = not row.is_drill and t0 + target <= now
    return _Measured(
        row=row,
        report_to_handover=_seconds(_first_reported(row.handed_over_answers), t0),
        to_accept=_seconds(t0, row.accepted_at),
        to_trgs=_seconds(t0, row.trgs_engaged_at),
        to_first_comms=_seconds(t0, row.initial_comms_at),
        first_comms_counted=row.initial_comms_at is not None or clock_ran_out,
        to_resolve=_seconds(t0, row.resolved_at),
        gaps=tuple(g.field_id for g in assess(row.handed_over_answers).gaps),
        promises=promises + unanswered,
        kept=kept,
        longest_gap=max(gaps, default=None),
    )


def _figures(name: str, group: _Group, target: timedelta, team: str = "") -> Figures:
    measured = group.measured

    def values(attribute: str) -> list[float]:
        return [v for m in measured if (v := getattr(m, attribute)) is not None]

    bands = Counter(m.row.quality_band for m in measured)
    gap_counts = Counter(field_id for m in measured for field_id in m.gaps)
    # Equal counts: the more important field first (weight, then the checklist's order).
    ranked = sorted(gap_counts, key=lambda f: (-gap_counts[f], -FIELDS[f].weight, _ORDER[f]))
    widest = max(
        (m for m in measured if m.longest_gap), key=lambda m: m.longest_gap or 0, default=None
    )
    counted = [m for m in measured if m.first_comms_counted]
    in_target = [
        m
        for m in counted
        if m.to_first_comms is not None and m.to_first_comms <= target.total_seconds()
    ]
    return Figures(
        name=name,
        team=team,
        incidents=len(measured),
        stood_down=group.stood_down,
        drills=sum(m.row.is_drill for m in measured),
        bands={b: bands[b] for b in BANDS},
        median_score=spread([m.row.quality_score for m in measured]).median,
        gaps=tuple(GapCount(f, FIELDS[f].label, gap_counts[f]) for f in ranked),
        report_to_handover=spread(values("report_to_handover")),
        to_accept=spread(values("to_accept")),
        to_trgs=spread(values("to_trgs")),
        to_first_comms=spread(values("to_first_comms")),
        first_comms_in_target=Share(len(in_target), len(counted)),
        to_resolve=spread(values("to_resolve")),
        updates_on_time=Share(sum(m.kept for m in measured), sum(m.promises for m in measured)),
        longest_comms_gap=widest.longest_gap if widest else None,
        longest_comms_gap_incident=widest.row.reference if widest else "",
    )


def build_report(
    incidents: Iterable[IncidentRow],
    period: Period,
    *,
    teams: Mapping[str, Sequence[str]],
    target: timedelta,
    now: datetime,
    include_drills: bool = False,
) -> Report:
    """The report over `incidents` (those handed over in `period`); `teams`: name → user IDs.

    `now` decides which first phases have run out; `target` is the first phase's length.
    """
    team_of = {user: name for name, users in teams.items() for user in users}
    everyone = _Group()
    by_team = {name: _Group() for name in teams}  # configured order; "unassigned" comes last
    by_agent: dict[str, _Group] = {}
    drills_left_out = 0
    first_comms = []
    for row in incidents:
        if row.is_drill and not include_drills:
            drills_left_out += 1
            continue
        measured = None if row.status == IncidentStatus.STOOD_DOWN else _measure(row, target, now)
        team = by_team.setdefault(team_of.get(row.reporter_id, UNASSIGNED), _Group())
        for group in (everyone, team, by_agent.setdefault(row.reporter_id, _Group())):
            group.add(measured)
        if measured and measured.to_first_comms is not None:
            first_comms.append(
                FirstComms(row.reference, row.handed_over_at, measured.to_first_comms)
            )

    team_order = list(by_team)
    agents = sorted(by_agent, key=lambda a: (team_order.index(team_of.get(a, UNASSIGNED)), a))
    return Report(
        period=period,
        target=target,
        include_drills=include_drills,
        drills_left_out=drills_left_out,
        overall=_figures("All", everyone, target),
        teams=tuple(_figures(name, group, target) for name, group in by_team.items()),
        agents=tuple(_figures(a, by_agent[a], target, team_of.get(a, UNASSIGNED)) for a in agents),
        first_comms=tuple(sorted(first_comms, key=lambda point: point.handed_over_at)),
    )
