"""Logs: one JSON object a line when configured, and never a secret, from a real `baton serve`."""

from __future__ import annotations

import json
import logging
import signal
from types import SimpleNamespace
from urllib.parse import quote

from handover.settings import load_settings
from tests.conftest import AGENT, BOT_TOKEN, SECRET
from tests.fake_slack import Failure
from tests.flows import submit, walk_to_review
from tests.slack_user import SlackSender

APP_TOKEN = "xapp-1-A0000BATON-1234567890-abcdef0123456789"


def test_json_logs_through_every_path_and_no_secret_in_them(baton_process, fake_slack):
    process = baton_process(BATON_LOG_FORMAT="json", BATON_LOG_LEVEL="DEBUG")
    as_slack = SimpleNamespace(
        slack=SlackSender(process.url, SECRET, fake_slack.response_url), fake=fake_slack
    )
    # Slack refuses the handover card (invalid_auth on a post: logged by the delivery), then a
    # form (logged with its exception); that error quotes secrets back, so that something
    # tries to log them.
    fake_slack.fail("chat.postMessage", Failure(200, {"ok": False, "error": "invalid_auth"}))
    review = walk_to_review(as_slack)
    submit(as_slack, review, {})
    fake_slack.wait_for("chat.postMessage!failed")
    quoted = f"token {BOT_TOKEN} (app {APP_TOKEN}, secret {SECRET}) is not allowed"
    fake_slack.fail("views.open", Failure(200, {"ok": False, "error": "invalid_auth", "x": quoted}))
    assert as_slack.slack.command(AGENT, "Payroll down").status == 200
    fake_slack.wait_for("views.open!failed")
    process.stop(signal.SIGTERM)

    lines = process.log.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record), record
    said = [f"{r['logger']}: {r['message']}" for r in records]
    assert any("Baton is serving HTTP" in line for line in said)  # start-up
    assert any(line.startswith("alembic") for line in said)  # migration at start
    assert any("Slack refused outbox row" in line and "invalid_auth" in line for line in said)
    failed = next(r for r in records if r["message"].startswith("views.open failed"))
    assert failed["level"] == "WARNING" and "SlackApiError" in failed["exc"]
    assert "token [redacted] (app [redacted], secret [redacted])" in failed["exc"]
    assert said[-1] == "baton: Baton stopped"

    everything = process.log.read_text() + process.out.read_text()
    for secret in (BOT_TOKEN, APP_TOKEN, SECRET):
        assert secret not in everything


def test_the_database_password_is_redacted_too(env, monkeypatch, capsys, baton_logging):
    password = "s3cret/Pa55@word"  # written %-encoded in the URL
    url = f"postgresql+psycopg://baton:{quote(password, safe='')}@db.example:5432/baton"
    monkeypatch.setenv("DATABASE_URL", url)
    baton_logging(load_settings(require_slack=True, env_file=None))
    logging.getLogger("sqlalchemy.pool").warning("could not connect to %s", url)
    logging.getLogger("baton").warning("password %s refused", password)
    said = capsys.readouterr().err
    assert "could not connect to postgresql+psycopg://baton:[redacted]@db.example" in said
    assert "password [redacted] refused" in said
    assert password not in said and quote(password, safe="") not in said
