"""`baton report` in words: the terminal table and the CSV. The HTML page reuses the wording."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from handover.reporting.measures import BANDS, Figures, Period, Report, Share, Spread
from handover.times import humanize

# The durations, in the order of the incident's life: (label, Figures attribute).
TIMES = (
    ("first report → handover", "report_to_handover"),
    ("handover → accepted", "to_accept"),
    ("handover → resolver groups engaged", "to_trgs"),
    ("handover → first comms", "to_first_comms"),
    ("handover → resolved", "to_resolve"),
)
TOP_GAPS = 5
NONE = "—"


def duration(seconds: float | None) -> str:
    """Tenths of a minute under an hour (the first phase is counted in minutes), then h and min."""
    if seconds is None:
        return NONE
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min"


def number(value: float | None) -> str:
    return NONE if value is None else f"{value:.1f}".removesuffix(".0")


def share(s: Share) -> str:
    return NONE if s.percent is None else f"{s.count}/{s.of} ({s.percent:.0f} %)"


def bands(f: Figures) -> str:
    return "/".join(str(f.bands[b]) for b in BANDS)


def top_gap(f: Figures) -> str:
    return f"{f.gaps[0].label} ({f.gaps[0].count})" if f.gaps else NONE


def day(at: datetime) -> str:
    """`1 Mar 2026` (strftime's %-d is not portable)."""
    return f"{at.day} {at:%b %Y}"


def period_label(period: Period) -> str:
    """Whole days as dates (the end inclusive), anything else to the minute; always UTC."""
    start, end = period.start.astimezone(UTC), period.end.astimezone(UTC)
    if start.time() == end.time() == time(0):
        return f"{day(start)} – {day(end - timedelta(days=1))} (UTC)"
    return f"{day(start)} {start:%H:%M} – {day(end)} {end:%H:%M} (UTC)"


def target_label(report: Report) -> str:
    return f"≤ {humanize(report.target)}"


@dataclass(frozen=True)
class Table:
    headers: list[str]  # a line break in a header: two lines in the terminal
    rows: list[list[str]]  # a row of one cell is a heading (an agent's team)
    align: str  # per column: l (words) or r (figures)


def gaps_table(f: Figures) -> Table:
    rows = [[g.label, f"{g.count} of {f.incidents}"] for g in f.gaps[:TOP_GAPS]]
    return Table(["most frequent gaps", "incidents"], rows or [[NONE, ""]], "lr")


def times_table(f: Figures) -> Table:
    rows = []
    for label, attribute in TIMES:
        s: Spread = getattr(f, attribute)
        rows.append([label, str(s.n), duration(s.median), duration(s.p90)])
    return Table(["times", "n", "median", "90th pct"], rows, "lrrr")


def group_table(report: Report, agents: bool, gap: bool = False) -> Table:
    """By team, or by agent under their team: counts, medians and shares (`gap`: the most
    frequent gap too, where there is room). The CSV has every figure."""
    columns: list[tuple[str, Callable[[Figures], str]]] = [
        ("MIs", lambda f: str(f.incidents)),
        ("stood\ndown", lambda f: str(f.stood_down)),
        ("scores\nG/A/R", bands),
        ("median\nscore", lambda f: number(f.median_score)),
        ("median\naccept", lambda f: duration(f.to_accept.median)),
        ("median\n1st comms", lambda f: duration(f.to_first_comms.median)),
        (f"1st comms\n{target_label(report)}", lambda f: share(f.first_comms_in_target)),
        ("updates\non time", lambda f: share(f.updates_on_time)),
        ("median\nresolve", lambda f: duration(f.to_resolve.median)),
    ]
    align = "l" + "r" * len(columns)
    if gap:
        columns.append(("most frequent\ngap", top_gap))
        align += "l"
    rows: list[list[str]] = []
    team = None
    for f in report.agents if agents else report.teams:
        if agents and f.team != team:
            team = f.team
            rows.append([team])
        rows.append([f.name, *(get(f) for _, get in columns)])
    return Table(["agent" if agents else "team", *(h for h, _ in columns)], rows, align)


def aligned(t: Table) -> str:
    """The table in columns, indented, for the terminal."""
    headers = [h.split("\n") for h in t.headers]
    depth = max(len(h) for h in headers)
    header_lines = [[""] * (depth - len(h)) + h for h in headers]  # bottom-aligned
    cells = [*zip(*header_lines, strict=True), *(r for r in t.rows if len(r) > 1)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(t.headers))]

    def line(row: list[str] | tuple[str, ...]) -> str:
        if len(row) == 1:
            return "  " + row[0]
        parts = [
            cell.ljust(w) if a == "l" else cell.rjust(w)
            for cell, w, a in zip(row, widths, t.align, strict=True)
        ]
        return ("  " + "  ".join(parts)).rstrip()

    return "\n".join(line(row) for row in [*zip(*header_lines, strict=True), *t.rows])


def terminal(report: Report) -> str:
    f = report.overall
    drills = (
        f"drills: {f.drills} included"
        if report.include_drills
        else f"drills: {report.drills_left_out} left out (--include-drills counts them)"
    )
    lines = [
        f"Baton report: {period_label(report.period)}",
        f"Major incidents: {f.incidents}   stood down: {f.stood_down}   {drills}",
    ]
    if not f.incidents:
        lines.append("No major incidents were handed over in this period.")
        return "\n".join(lines)
    gap = f" ({f.longest_comms_gap_incident})" if f.longest_comms_gap_incident else ""
    lines += [
        "",
        "Handover quality (scores as handed over)",
        f"  green {f.bands['green']}   amber {f.bands['amber']}   red {f.bands['red']}   "
        f"median score {number(f.median_score)}",
        "",
        aligned(gaps_table(f)),
        "",
        aligned(times_table(f)),
        "",
        f"  first comms {target_label(report)}: {share(f.first_comms_in_target)}",
        f"  updates on time: {share(f.updates_on_time)}",
        f"  longest gap between comms: {duration(f.longest_comms_gap)}{gap}",
        "",
        "By team",
        aligned(group_table(report, agents=False)),
        "",
        "By agent",
        aligned(group_table(report, agents=True)),
    ]
    return "\n".join(lines)


def _minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.2f}".rstrip("0").rstrip(".")


def _percent(s: Share) -> str:
    return "" if s.percent is None else f"{s.percent:.1f}"


def _csv_columns() -> list[tuple[str, Callable[[Figures], object]]]:
    columns: list[tuple[str, Callable[[Figures], object]]] = [
        ("name", lambda f: f.name),
        ("team", lambda f: f.team),
        ("incidents", lambda f: f.incidents),
        ("stood_down", lambda f: f.stood_down),
        ("drills", lambda f: f.drills),
        *((band, lambda f, b=band: f.bands[b]) for band in BANDS),
        ("median_score", lambda f: "" if f.median_score is None else number(f.median_score)),
    ]
    for _, a in TIMES:
        columns += [
            (f"{a}_n", lambda f, a=a: getattr(f, a).n),
            (f"{a}_median_min", lambda f, a=a: _minutes(getattr(f, a).median)),
            (f"{a}_p90_min", lambda f, a=a: _minutes(getattr(f, a).p90)),
        ]
    return [
        *columns,
        ("first_comms_in_target", lambda f: f.first_comms_in_target.count),
        ("first_comms_counted", lambda f: f.first_comms_in_target.of),
        ("first_comms_in_target_pct", lambda f: _percent(f.first_comms_in_target)),
        ("updates_on_time", lambda f: f.updates_on_time.count),
        ("updates_promised", lambda f: f.updates_on_time.of),
        ("updates_on_time_pct", lambda f: _percent(f.updates_on_time)),
        ("longest_comms_gap_min", lambda f: _minutes(f.longest_comms_gap)),
        ("longest_comms_gap_incident", lambda f: f.longest_comms_gap_incident),
        ("gaps", lambda f: "; ".join(f"{g.label}: {g.count}" for g in f.gaps)),
    ]


CSV_COLUMNS = _csv_columns()


def csv_text(report: Report) -> str:
    """One row for all incidents, one per team, one per agent; times in minutes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["scope", *(name for name, _ in CSV_COLUMNS)])
    scoped = [("all", report.overall)]
    scoped += [("team", f) for f in report.teams] + [("agent", f) for f in report.agents]
    for scope, f in scoped:
        writer.writerow([scope, *(get(f) for _, get in CSV_COLUMNS)])
    return out.getvalue()
