"""The `baton` command line."""

from __future__ import annotations

import sys

import click

from bot.logs import safe_url
from bot.terminal.drill import drill
from bot.terminal.outbox import outbox
from bot.terminal.report import report
from bot.terminal.review import review
from handover.settings import ConfigError, Settings, load_settings
from handover.vocabulary import WebhookEvent


def _fail(problems: list[str]) -> None:
    for problem in problems:
        click.echo(f"baton: {problem}", err=True)
    sys.exit(2)


def _settings(require_slack: bool) -> Settings:
    try:
        return load_settings(require_slack=require_slack)
    except ConfigError as exc:
        _fail(exc.problems)
        raise AssertionError("unreachable") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="baton-handover")
def main() -> None:
    """Baton: major-incident handover for Slack.

    Configuration comes from environment variables (and a .env file in the working
    directory); see the README for the full table.
    """


@main.command()
def serve() -> None:
    """Migrate the database to head, then serve Slack.

    Socket Mode when SLACK_APP_TOKEN is set; otherwise HTTP on PORT with
    POST /slack/events and GET /healthz.
    """
    settings = _settings(require_slack=True)
    from bot.logs import configure_logging
    from bot.runtime import serve as run

    configure_logging(settings)

    run(settings)


@main.command()
def migrate() -> None:
    """Bring the database schema to the latest version (safe to repeat)."""
    settings = _settings(require_slack=False)
    from handover.store.db import migrate as do_migrate

    try:
        do_migrate(settings.database_url)
    except Exception as exc:  # the database is unreachable or refuses: say so in one line
        _fail(
            [
                f"cannot migrate {safe_url(settings.database_url)}: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}"
            ]
        )
    click.echo(f"Database at {safe_url(settings.database_url)} is up to date.")


@main.command()
def check() -> None:
    """Validate the configuration (and templates) and, when SLACK_BOT_TOKEN is set, ask Slack
    whether it accepts the token and Baton can use every configured channel; exit non-zero
    with one line per problem."""
    try:
        settings, slack = load_settings(require_slack=True), True
    except ConfigError as exc:
        # Without a token (on a laptop, say) the rest is still checked; only Slack is not.
        rest = [p for p in exc.problems if not p.startswith("SLACK_BOT_TOKEN is not set")]
        if rest:
            _fail(rest)
        settings, slack = _settings(require_slack=False), False
    org = settings.org
    from handover.comms.templates import check_templates

    problems = check_templates(org.templates_dir)
    findings = None
    if slack:
        from bot.slack import preflight

        findings = preflight.check(preflight.client_for(settings), settings)
        problems += findings.problems
    if settings.smtp:
        from bot.mail import smtp

        problems += smtp.check(settings.smtp)
    if problems:
        _fail(problems)
    click.echo("Configuration is valid:")
    click.echo(
        f"  mode: {'Socket Mode' if settings.socket_mode else f'HTTP on port {settings.port}'}"
    )
    click.echo(f"  database: {safe_url(settings.database_url)}")
    click.echo(f"  logs: {settings.log_format}, level {settings.log_level}")
    click.echo(
        f"  services: {len(org.services)}, resolver groups: {len(org.resolver_groups)}, "
        f"sites: {len(org.sites)}"
    )
    click.echo(f"  comms templates: {org.templates_dir or 'built-in'}, all render")
    for hook in org.webhooks:  # its URL and events, never its secret
        events = (
            "all events"
            if len(hook.events) == len(WebhookEvent)
            else ", ".join(sorted(hook.events))
        )
        click.echo(f"  webhook: {hook.url} ({events})")
    if settings.smtp:
        lists = [org.stakeholder_emails, org.restricted_emails, *org.priority_emails.values()]
        emails = {address.lower() for addresses in lists for address in addresses}
        click.echo(
            f"  e-mail: from {settings.mail_from} through {settings.smtp.host}:"
            f"{settings.smtp.port}, {len(emails)} addresses"
        )
    if findings is None:
        click.echo("  Slack: not checked (SLACK_BOT_TOKEN is not set)")
    for fine in findings.fine if findings else []:
        click.echo(f"  Slack: {fine}")


@main.command()
@click.argument("public_url", required=False)
@click.option("--socket-mode", is_flag=True, help="A manifest for Socket Mode (no public URL).")
def manifest(public_url: str | None, socket_mode: bool) -> None:
    """Print the Slack app manifest for PUBLIC_URL (like https://baton.example.com)."""
    from bot.slack.manifest import manifest_yaml

    if not socket_mode and not public_url:
        _fail(
            [
                "give the public URL Slack should call (like https://baton.example.com), "
                "or --socket-mode"
            ]
        )
    if public_url and not public_url.startswith("https://"):
        _fail([f"'{public_url}' is not an https:// URL; Slack only calls https"])
    click.echo(manifest_yaml(None if socket_mode else public_url), nl=False)


main.add_command(drill)
main.add_command(outbox)
main.add_command(report)
main.add_command(review)

if __name__ == "__main__":
    main()
