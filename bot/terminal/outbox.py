"""`baton outbox`: the messages that did not go out (given up, held for a refused card, still
failing, or left mid-send), and `baton outbox retry` once the cause is fixed."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

import click

from bot.slack.refusal_words import refusal_in_words
from handover.models import Incident, Outbox
from handover.reach import Reach
from handover.settings import ConfigError, Settings, load_settings
from handover.store.db import Database, migrate
from handover.times import plain_time
from handover.vocabulary import OutboxStatus, Target


def _reach() -> Reach:
    try:
        settings: Settings = load_settings(require_slack=False)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"baton: {problem}", err=True)
        sys.exit(2)
    migrate(settings.database_url)
    return Reach(Database(settings.database_url), settings)


def _to_whom(row: Outbox, incident: Incident | None) -> str:
    if row.target in (Target.CARD, Target.THREAD):
        where = incident.mim_channel if incident else "?"
        return f"{where} ({'the card' if row.target == Target.CARD else 'its thread'})"
    if row.target == Target.DM:
        return f"{row.params.get('user', '?')} (direct message)"
    if row.target == Target.CHANNEL:
        return str(row.params.get("channel", "?"))
    if row.target == Target.INCIDENT_CHANNEL:
        made = incident.incident_channel if incident else None
        return f"{made} (the incident channel)" if made else "the incident channel, not made yet"
    if row.target == Target.WEBHOOK:
        # Its host only: a path may hold a token, and the secret is never in a row.
        host = urlsplit(str(row.params.get("url", ""))).netloc or "?"
        return f"the webhook at {host} ({row.params.get('type', '?')})"
    if row.target == Target.MAIL:
        return f"{len(row.params.get('to', []))} e-mail address(es) (BATON_SMTP_URL)"
    if row.target == Target.PAGER:
        return f"{row.params.get('group', '?')} ({row.params.get('pager', '?')})"
    return "the stakeholders' channel"


def _why(row: Outbox, incident: Incident | None) -> str:
    if row.target in (Target.WEBHOOK, Target.PAGER):
        # Not Slack's error: the receiver's HTTP status (and what it said), as it came.
        return row.error or "unknown"
    if row.status == OutboxStatus.HELD and row.target == Target.INCIDENT_CHANNEL:
        return "waits for the incident channel, which Slack refused to make"
    if row.status == OutboxStatus.HELD:
        return "waits for its card, which Slack refused"
    if row.status == OutboxStatus.SENDING:
        return "left mid-send by a stopped process; it is tried again"
    if row.target in (Target.MAIL, Target.PAGER):
        return row.error or "unknown"  # the server's own answer, already in words
    channel = incident.mim_channel if incident and row.target != Target.DM else ""
    if row.target == Target.INCIDENT_CHANNEL:
        channel = (incident.incident_channel if incident else "") or ""
    words = refusal_in_words(row.error, channel, terminal=True) if row.error else "unknown"
    return f"{row.error}: {words}" if row.error else words


@click.group(invoke_without_command=True)
@click.pass_context
def outbox(ctx: click.Context) -> None:
    """List the messages that did not reach Slack: what, to whom, why, since when.

    `baton outbox retry` sends them again once the cause is fixed (Baton invited to the
    channel, the token replaced). A running `baton serve` delivers them.
    """
    if ctx.invoked_subcommand is not None:
        return
    rows = _reach().troubled()
    if not rows:
        click.echo("Every message was delivered: nothing failed, held or stuck.")
        return
    for row, incident in rows:
        since = plain_time(row.failing_since or row.created_at)
        reference = incident.reference if incident else "-"
        click.echo(
            f"{row.id:>6}  {reference:<13} {row.what:<22} {row.status:<8} since {since}\n"
            f"        to {_to_whom(row, incident)}\n"
            f"        why: {_why(row, incident)}"
        )
    click.echo(f"{len(rows)} message(s). `baton outbox retry --all` (or the ids) sends them again.")


@outbox.command()
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "every", is_flag=True, help="Every failed, held or stuck message.")
def retry(ids: tuple[int, ...], every: bool) -> None:
    """Send messages again: the given IDS, or --all. A refused card's retry also releases what
    waited for it (its thread, the agent's confirmation)."""
    if bool(ids) == every:
        click.echo("baton: give the ids to retry (see `baton outbox`), or --all", err=True)
        sys.exit(2)
    reach = _reach()
    if ids:
        known = {row.id for row, _ in reach.troubled()}
        if unknown := [i for i in ids if i not in known]:
            listed = ", ".join(map(str, unknown))
            click.echo(f"baton: not failed, held or stuck: {listed} (see `baton outbox`)", err=True)
            sys.exit(2)
    done = reach.retry(list(ids) if ids else None)
    for row_id, remedy in done.left.items():
        click.echo(f"baton: {row_id} not re-queued: {remedy}", err=True)
    if done.dropped:
        click.echo(
            f"Dropped {len(done.dropped)} obsolete message(s): "
            f"{', '.join(map(str, done.dropped))} (they said the card had not reached the "
            "managers; it has been posted or retried since)."
        )
    if done.requeued:
        click.echo(
            f"Re-queued {len(done.requeued)} message(s): {', '.join(map(str, done.requeued))}. "
            "A running `baton serve` sends them within seconds."
        )
    elif not done.left and not done.dropped:
        click.echo("Nothing to retry: every message was delivered.")
