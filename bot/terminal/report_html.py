"""`baton report --html`: one self-contained page (inline CSS, SVG charts drawn here, no script,
nothing fetched) that a service desk lead can open or attach to a mail."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from bot.terminal.report_text import (
    NONE,
    Table,
    duration,
    group_table,
    number,
    period_label,
    target_label,
    times_table,
)
from handover.checklist.quality import AMBER, GREEN
from handover.reporting.measures import FirstComms, Report, Share
from handover.times import humanize, plain_time

COLOURS = {"green": "#2e7d32", "amber": "#e0a000", "red": "#c62828"}
BAND_LABELS = {
    "green": f"green ≥ {GREEN}",
    "amber": f"amber {AMBER}–{GREEN - 1}",
    "red": f"red < {AMBER}",
}
INK, ACCENT, GRID, MUTED = "#1d2433", "#1f4e79", "#d9dde3", "#5b6475"
FONT = "font-family='system-ui, sans-serif' font-size='12'"
TOP_GAPS = 8

CSS = f"""
body {{ margin: 0; background: #f5f6f8; color: {INK}; font: 15px/1.45 system-ui, sans-serif; }}
main {{ max-width: 1100px; margin: 0 auto; padding: 24px; }}
h1 {{ margin: 0 0 4px; font-size: 26px; }}
h2 {{ margin: 0 0 12px; font-size: 18px; }}
.sub {{ color: {MUTED}; margin: 0 0 20px; }}
section {{ background: #fff; border: 1px solid {GRID}; border-radius: 8px; padding: 16px 20px;
  margin-bottom: 18px; overflow-x: auto; }}
.tiles {{ display: flex; flex-wrap: wrap; gap: 12px; margin-bottom: 18px; }}
.tile {{ flex: 1 1 150px; box-sizing: border-box; background: #fff; border: 1px solid {GRID};
  border-radius: 8px; padding: 12px 16px; }}
.tile b {{ display: block; font-size: 26px; }}
.tile span {{ color: {MUTED}; font-size: 13px; }}
.pair {{ display: flex; flex-wrap: wrap; gap: 18px; margin-bottom: 18px; }}
.pair section {{ flex: 1 1 420px; margin-bottom: 0; }}
svg {{ width: 100%; height: auto; display: block; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
th, td {{ padding: 6px 10px; border-bottom: 1px solid {GRID}; text-align: left;
  white-space: nowrap; vertical-align: bottom; }}
th {{ color: {MUTED}; font-weight: 600; }}
th.group {{ color: {INK}; padding-top: 14px; }}
.r {{ text-align: right; font-variant-numeric: tabular-nums; }}
.note {{ color: {MUTED}; font-size: 13px; margin: 8px 0 0; }}
footer {{ color: {MUTED}; font-size: 13px; }}
footer li {{ margin-bottom: 4px; }}
"""


def _table(t: Table) -> str:
    def row(cells: list[str], tag: str) -> str:
        if len(cells) == 1:  # a heading: the team of the agents below
            return f"<th class=group colspan={len(t.align)}>{escape(cells[0])}</th>"
        return "".join(
            f"<{tag}{' class=r' if a == 'r' else ''}>{escape(c).replace(chr(10), '<br>')}</{tag}>"
            for c, a in zip(cells, t.align, strict=True)
        )

    body = "".join(f"<tr>{row(r, 'td')}</tr>" for r in t.rows)
    return f"<table><thead><tr>{row(t.headers, 'th')}</tr></thead><tbody>{body}</tbody></table>"


def _svg(chart_id: str, width: int, height: int, label: str, body: list[str]) -> str:
    return (
        f"<svg id='{chart_id}' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
        f"role='img' aria-label='{escape(label)}' {FONT} fill='{INK}'>"
        f"<title>{escape(label)}</title>{''.join(body)}</svg>"
    )


def _nothing(chart_id: str, label: str) -> str:
    return _svg(
        chart_id,
        600,
        80,
        label,
        [f"<text x='300' y='45' text-anchor='middle' fill='{MUTED}'>No data in this period</text>"],
    )


def _step(top: float) -> float:
    """A round tick step giving at most eight ticks up to `top` minutes."""
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 240):
        if top / step <= 8:
            return step
    return 480


@dataclass(frozen=True)
class _Frame:
    """The trend chart's plotting area: time across, minutes up to `ceiling`."""

    start: datetime
    end: datetime
    ceiling: float
    width: int = 960
    height: int = 320
    left: int = 56
    right: int = 20
    top: int = 16
    bottom: int = 46

    def x(self, at: datetime) -> float:
        share = (at - self.start) / (self.end - self.start)
        return self.left + (self.width - self.left - self.right) * share

    def y(self, minutes: float) -> float:
        share = min(minutes, self.ceiling) / self.ceiling
        return self.top + (self.height - self.top - self.bottom) * (1 - share)


def _axes(f: _Frame, step: float) -> list[str]:
    body = []
    for tick in range(0, int(f.ceiling) + 1, int(step)):
        body.append(
            f"<line x1='{f.left}' x2='{f.width - f.right}' y1='{f.y(tick):.1f}' "
            f"y2='{f.y(tick):.1f}' stroke='{GRID}'/><text x='{f.left - 8}' "
            f"y='{f.y(tick) + 4:.1f}' text-anchor='end' fill='{MUTED}'>{tick}</text>"
        )
    for i in range(6):
        at = f.start + (f.end - f.start) * i / 5
        anchor = "start" if i == 0 else "end" if i == 5 else "middle"
        body.append(
            f"<text x='{f.x(at):.1f}' y='{f.height - f.bottom + 18}' text-anchor='{anchor}' "
            f"fill='{MUTED}'>{at.day} {at:%b}</text>"
        )
    middle = (f.top + f.height - f.bottom) // 2
    body.append(
        f"<text x='14' y='{middle}' fill='{MUTED}' text-anchor='middle' "
        f"transform='rotate(-90 14 {middle})'>minutes</text>"
    )
    return body


def _weekly_medians(f: _Frame, points: tuple[FirstComms, ...]) -> list[str]:
    """The median of each week (Monday to Sunday, UTC), drawn mid-week."""
    weeks: dict[datetime, list[float]] = {}
    for p in points:
        day = p.handed_over_at.replace(hour=0, minute=0, second=0, microsecond=0)
        weeks.setdefault(day - timedelta(days=day.weekday()), []).append(p.after / 60)
    medians = [
        (monday, min(max(monday + timedelta(days=3.5), f.start), f.end), statistics.median(v))
        for monday, v in sorted(weeks.items())
    ]
    body = []
    if len(medians) > 1:
        line = " ".join(f"{f.x(at):.1f},{f.y(m):.1f}" for _, at, m in medians)
        body.append(f"<polyline points='{line}' fill='none' stroke='{ACCENT}' stroke-width='2'/>")
    for monday, at, m in medians:
        body.append(
            f"<rect x='{f.x(at) - 4:.1f}' y='{f.y(m) - 4:.1f}' width='8' height='8' "
            f"fill='{ACCENT}'><title>week of {monday.day} {monday:%b}: median "
            f"{m:.1f} min</title></rect>"
        )
    return body


def _incidents(f: _Frame, points: tuple[FirstComms, ...], target: float) -> list[str]:
    """A dot per incident, red over the target; a triangle on the top edge when off the scale."""
    body = []
    for p in points:
        minutes = p.after / 60
        colour = COLOURS["green"] if minutes <= target else COLOURS["red"]
        tip = f"<title>{escape(p.reference)}: {duration(p.after)}</title>"
        cx, cy = f.x(p.handed_over_at), f.y(minutes)
        if minutes > f.ceiling:
            body.append(
                f"<polygon points='{cx - 6:.1f},{cy + 6:.1f} {cx + 6:.1f},{cy + 6:.1f} "
                f"{cx:.1f},{cy - 4:.1f}' fill='{colour}'>{tip}</polygon>"
            )
        else:
            body.append(
                f"<circle cx='{cx:.1f}' cy='{cy:.1f}' r='5' fill='{colour}' "
                f"fill-opacity='0.85'>{tip}</circle>"
            )
    return body


def trend_chart(report: Report) -> str:
    """Minutes to first comms per incident, their weekly median, and the target line."""
    target_text = humanize(report.target)
    label = f"Time to first comms per incident against the {target_text} target"
    points = report.first_comms
    if not points:
        return _nothing("chart-first-comms", label)
    target = report.target.total_seconds() / 60
    # Outliers would squash the rest: the scale stops at 4× the target, higher ones sit on top.
    top = max(target * 1.5, min(max(p.after / 60 for p in points), target * 4))
    step = _step(top)
    f = _Frame(report.period.start, report.period.end, ceiling=step * -(-top // step))
    legend = f.height - 8
    body = [
        *_axes(f, step),
        f"<line x1='{f.left}' x2='{f.width - f.right}' y1='{f.y(target):.1f}' "
        f"y2='{f.y(target):.1f}' stroke='{COLOURS['red']}' stroke-width='2' "
        f"stroke-dasharray='6 4'/><text x='{f.width - f.right}' y='{f.y(target) - 6:.1f}' "
        f"text-anchor='end' fill='{COLOURS['red']}'>target {target_text}</text>",
        *_weekly_medians(f, points),
        *_incidents(f, points, target),
        f"<circle cx='{f.left + 6}' cy='{legend - 4}' r='5' fill='{COLOURS['green']}'/>"
        f"<text x='{f.left + 16}' y='{legend}'>an incident (red: over the target)</text>"
        f"<rect x='{f.left + 250}' y='{legend - 8}' width='8' height='8' fill='{ACCENT}'/>"
        f"<text x='{f.left + 264}' y='{legend}'>weekly median</text>",
    ]
    if any(p.after / 60 > f.ceiling for p in points):
        body.append(
            f"<polygon points='{f.left + 380},{legend} {f.left + 392},{legend} "
            f"{f.left + 386},{legend - 10}' fill='{COLOURS['red']}'/>"
            f"<text x='{f.left + 400}' y='{legend}'>over {f.ceiling:g} min (off the scale)</text>"
        )
    return _svg("chart-first-comms", f.width, f.height, label, body)


def score_chart(report: Report) -> str:
    bands = report.overall.bands
    label = "Handover scores by band"
    if not report.overall.incidents:
        return _nothing("chart-scores", label)
    width, height, base, bar_top = 420, 240, 200, 28
    tallest = max(bands.values())
    body = [f"<line x1='20' x2='{width - 20}' y1='{base}' y2='{base}' stroke='{MUTED}'/>"]
    for i, (band, count) in enumerate(bands.items()):
        bar_h = (base - bar_top) * count / tallest
        cx = 20 + (width - 40) * (i + 0.5) / 3
        body.append(
            f"<rect x='{cx - 45:.1f}' y='{base - bar_h:.1f}' width='90' height='{bar_h:.1f}' "
            f"fill='{COLOURS[band]}'><title>{band}: {count}</title></rect>"
            f"<text x='{cx:.1f}' y='{base - bar_h - 8:.1f}' text-anchor='middle' "
            f"font-size='16' font-weight='600'>{count}</text>"
            f"<text x='{cx:.1f}' y='{base + 20}' text-anchor='middle' fill='{MUTED}'>"
            f"{escape(BAND_LABELS[band])}</text>"
        )
    return _svg("chart-scores", width, height, label, body)


def gaps_chart(report: Report) -> str:
    gaps = report.overall.gaps[:TOP_GAPS]
    label = "Most frequent gaps in handovers"
    if not gaps:
        return _nothing("chart-gaps", label)
    width, row, label_w, top = 520, 28, 250, 8
    height = top + row * len(gaps) + 8
    most = gaps[0].count
    body = []
    for i, g in enumerate(gaps):
        y = top + i * row
        bar_w = (width - label_w - 50) * g.count / most
        body.append(
            f"<text x='{label_w - 10}' y='{y + 17}' text-anchor='end'>{escape(g.label)}</text>"
            f"<rect x='{label_w}' y='{y + 4}' width='{bar_w:.1f}' height='{row - 10}' "
            f"fill='{ACCENT}'><title>{escape(g.label)}: {g.count}</title></rect>"
            f"<text x='{label_w + bar_w + 8:.1f}' y='{y + 17}'>{g.count}</text>"
        )
    return _svg("chart-gaps", width, height, label, body)


def _tiles(report: Report) -> str:
    f = report.overall

    def percent(s: Share, what: str) -> tuple[str, str]:
        if s.percent is None:
            return NONE, what
        return f"{s.percent:.0f} %", f"{what} ({s.count} of {s.of})"

    tiles = [
        (str(f.incidents), f"major incidents ({f.stood_down} stood down)"),
        (number(f.median_score), "median handover score"),
        percent(f.first_comms_in_target, f"first comms {target_label(report)}"),
        percent(f.updates_on_time, "updates on time"),
        (duration(f.to_accept.median), "median time to accept"),
    ]
    return "".join(
        f"<div class=tile><b>{escape(value)}</b><span>{escape(text)}</span></div>"
        for value, text in tiles
    )


def html_page(report: Report, generated_at: datetime) -> str:
    """The whole page as one string."""
    f = report.overall
    title = f"Baton report: {period_label(report.period)}"
    target = humanize(report.target)
    gap_at = f" ({f.longest_comms_gap_incident})" if f.longest_comms_gap_incident else ""
    missing = f.incidents - f.to_first_comms.n
    unsent = (
        f"<p class=note>Not shown: {missing} incident(s) without first comms.</p>"
        if missing
        else ""
    )
    sections = [
        f"<section><h2>Time to first comms, against the {target} target</h2>"
        f"{trend_chart(report)}{unsent}</section>",
        "<div class=pair>"
        f"<section><h2>Handover scores (as handed over)</h2>{score_chart(report)}</section>"
        f"<section><h2>Most frequent gaps</h2>{gaps_chart(report)}</section></div>",
        f"<section><h2>Times</h2>{_table(times_table(f))}"
        f"<p>Longest gap between stakeholder comms: {escape(duration(f.longest_comms_gap))}"
        f"{escape(gap_at)}.</p></section>",
        f"<section><h2>By team</h2>{_table(group_table(report, False, gap=True))}</section>",
        f"<section><h2>By agent</h2>{_table(group_table(report, True, gap=True))}</section>",
    ]
    definitions = [
        "Scores are the handover quality score as handed over; gaps are the checklist fields "
        "left blank or “unknown” at handover.",
        "Median and 90th percentile: linear interpolation between closest ranks "
        "(Python’s statistics.quantiles, method “inclusive”).",
        f"First comms {target_label(report)}: of the incidents whose first comms were sent or "
        f"whose first {target} ran out without them.",
        "Updates on time: of the updates due by a promised time, those sent by then; an "
        "overdue update never sent counts as late.",
        "Stood-down incidents are counted, not measured. "
        + (
            f"Drills included: {f.drills}."
            if report.include_drills
            else f"Drills left out: {report.drills_left_out}."
        ),
    ]
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><link rel=icon href='data:,'>"
        f"<style>{CSS}</style></head><body><main>"
        f"<h1>Major-incident handover report</h1><p class=sub>{escape(period_label(report.period))}"
        f" · generated {escape(plain_time(generated_at))}</p>"
        f"<div class=tiles>{_tiles(report)}</div>"
        + (
            "".join(sections)
            if f.incidents
            else "<section>No major incidents were handed over in this period.</section>"
        )
        + "<footer><ul>"
        + "".join(f"<li>{escape(d)}</li>" for d in definitions)
        + f"</ul><p>{escape(NONE)}: no incident has this figure.</p></footer></main></body></html>"
    )
