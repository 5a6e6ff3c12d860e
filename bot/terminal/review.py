"""`baton review MI-2026-0001 [--output FILE]`: the post-incident review, as Markdown."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.logs import safe_url
from bot.terminal.report import fail
from handover.models import Incident
from handover.reporting.review import gather
from handover.settings import ConfigError, load_settings
from handover.store.db import Database


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
        fail(*exc.problems)
    wanted = reference.strip().upper()
    db = Database(settings.database_url)
    try:
        with db.session() as s:
            incident = s.scalars(select(Incident).where(Incident.reference == wanted)).first()
            if incident is None:
                fail(f"no incident {wanted} in the database at {safe_url(settings.database_url)}")
            text = review_markdown(gather(s, incident, settings.initial_phase), settings)
    except SQLAlchemyError as exc:  # not Baton's database, or none there (it is not made here)
        fail(f"cannot read incidents from {safe_url(settings.database_url)}: {type(exc).__name__}")
    finally:
        db.dispose()
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}")
    click.echo(f"Wrote the review of {wanted} to {output}.")
