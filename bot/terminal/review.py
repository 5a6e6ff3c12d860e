"""`baton review MI-2026-0001 [--output FILE]`: the post-incident review, as Markdown."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy import select

from handover.models import Incident
from handover.reporting.review import gather
from handover.settings import ConfigError, load_settings
from handover.store.db import Database, migrate


def _fail(*problems: str) -> None:
    for problem in problems:
        click.echo(f"baton: {problem}", err=True)
    sys.exit(2)


@click.command()
@click.argument("reference")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the review to this file instead of printing it.",
)
def review(reference: str, output: Path | None) -> None:
    """Draft the post-incident review of REFERENCE (like MI-2026-0001) as Markdown: summary,
    impact, key durations against the first phase, the timeline, comms, groups, re-asks, and
    headings for the root cause and follow-up actions."""
    from bot.review import review_markdown

    try:
        settings = load_settings(require_slack=False)
    except ConfigError as exc:
        _fail(*exc.problems)
        return
    migrate(settings.database_url)
    db = Database(settings.database_url)
    with db.session() as s:
        wanted = reference.strip().upper()
        incident = s.scalars(select(Incident).where(Incident.reference == wanted)).first()
        if incident is None:
            _fail(f"no incident {wanted} in {settings.database_url.split('://')[0]} database")
            return
        text = review_markdown(gather(s, incident, settings.initial_phase), settings)
    db.dispose()
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror}")
    click.echo(f"Wrote the review of {wanted} to {output}.")
