"""`baton report`: the measures of docs/domain.md over a period, as a table, CSV or an HTML page."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from bot.terminal.report_html import html_page
from bot.terminal.report_text import csv_text, terminal
from handover.reporting.measure_rows import count_incidents, incident_rows
from handover.reporting.measures import IncidentRow, Period, build_report
from handover.settings import ConfigError, load_settings
from handover.store.db import Database, migrate
from handover.times import utcnow

SINCE = re.compile(r"^(\d+)([hdw])$")
UNITS = {"h": "hours", "d": "days", "w": "weeks"}
# Above this many incidents, reading takes long enough to show progress (on a terminal).
PROGRESS_FROM = 500


def fail(*problems: str) -> NoReturn:
    """One line per problem on stderr, exit 2: the command line's way to refuse."""
    for problem in problems:
        click.echo(f"baton: {problem}", err=True)
    sys.exit(2)


def _one_line(exc: Exception) -> str:
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"


def _day(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option} '{text}' is not a date like 2026-03-01") from None


def period_of(since: str | None, first: str | None, last: str | None, now: datetime) -> Period:
    """The period the options give (whole UTC days for --from/--to); ValueError in words."""
    if since and (first or last):
        raise ValueError("give --since or --from/--to, not both")
    if first or last:
        if not first:
            raise ValueError("--to needs --from (the first day of the period)")
        start = _day("--from", first)
        end = _day("--to", last) if last else now.astimezone(UTC).date()
        if start > end:
            raise ValueError(f"--from {start} is after --to {end}")
        return Period(
            datetime.combine(start, time(0), UTC),
            datetime.combine(end + timedelta(days=1), time(0), UTC),
        )
    match = SINCE.match((since or "30d").strip().lower())
    if not match or int(match[1]) == 0:
        raise ValueError(f"--since '{since}' is not a period; write it like 30d, 2w or 12h")
    return Period(now - timedelta(**{UNITS[match[2]]: int(match[1])}), now)


def _unwritable(path: str) -> str | None:
    """Why the report could not be written to `path`, checked before the work, or None."""
    target = Path(path).expanduser()
    folder = target.parent
    if target.is_dir():
        return f"{path} is a folder; give a file name"
    if not folder.is_dir():
        return f"cannot write {path}: no folder {folder}"
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        return f"cannot write {path}: permission denied"
    return None


def _rows(db: Database, period: Period) -> Iterator[IncidentRow]:
    rows = incident_rows(db, period)
    total = count_incidents(db, period)
    if total > PROGRESS_FROM and sys.stderr.isatty():
        with click.progressbar(
            rows,
            length=total,
            label="Reading incidents",
            file=sys.stderr,
            update_min_steps=max(total // 200, 1),  # redraw in 0.5 % steps, not per incident
        ) as progress:
            yield from progress
    else:
        yield from rows


def _write(path: str, text: str, what: str) -> None:
    try:
        Path(path).expanduser().write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}")
    click.echo(f"baton: {what} written to {path}", err=True)


@click.command()
@click.option(
    "--since", metavar="PERIOD", help="The last days, weeks or hours: 30d (default), 2w, 12h."
)
@click.option("--from", "first", metavar="YYYY-MM-DD", help="First day of the period (UTC).")
@click.option("--to", "last", metavar="YYYY-MM-DD", help="Last day, included (default: today).")
@click.option("--include-drills", is_flag=True, help="Count drills (DRILL-…) as incidents.")
@click.option(
    "--csv",
    "csv_to",
    metavar="[FILE]",
    is_flag=False,
    flag_value="-",
    help="CSV instead of the table (one row for all, each team, each agent), or into FILE.",
)
@click.option(
    "--html",
    "html_to",
    metavar="FILE",
    help="Also write a self-contained HTML page with charts to FILE.",
)
def report(
    since: str | None,
    first: str | None,
    last: str | None,
    include_drills: bool,
    csv_to: str | None,
    html_to: str | None,
) -> None:
    """Report handover quality and incident times over a period.

    For the incidents handed over in the period: how many, the handover scores and the most
    frequent gaps, the median and 90th percentile of first report → handover, handover →
    accepted, → resolver groups engaged, → first comms (and the share within
    BATON_INITIAL_PHASE), → resolved, and how many updates went out by their promised time.
    By team (the [teams] of BATON_CONFIG) and by agent. Reads DATABASE_URL (migrating it to
    head first); times are UTC.

    \b
    Examples:
      baton report                          the last 30 days, as a table
      baton report --from 2026-03-01 --to 2026-03-31 --csv march.csv
      baton report --since 2w --html report.html
    """
    try:
        settings = load_settings(require_slack=False)
    except ConfigError as exc:
        fail(*exc.problems)
    now = utcnow()
    try:
        period = period_of(since, first, last, now)
    except ValueError as exc:
        fail(str(exc))
    for path in (html_to, None if csv_to == "-" else csv_to):
        if path and (problem := _unwritable(path)):
            fail(problem)

    try:
        migrate(settings.database_url)
    except Exception as exc:  # unreachable or refusing database: one line, no traceback
        fail(f"cannot open the database: {_one_line(exc)}")
    db = Database(settings.database_url)
    try:
        result = build_report(
            _rows(db, period),
            period,
            teams=settings.org.teams,
            target=settings.initial_phase,
            now=now,
            include_drills=include_drills,
        )
    except SQLAlchemyError as exc:
        fail(f"cannot read the database: {_one_line(exc)}")
    finally:
        db.dispose()

    if csv_to == "-":
        click.echo(csv_text(result), nl=False)
    else:
        click.echo(terminal(result))
    if csv_to and csv_to != "-":
        _write(csv_to, csv_text(result), "CSV")
    if html_to:
        _write(html_to, html_page(result, generated_at=now), "HTML report")
