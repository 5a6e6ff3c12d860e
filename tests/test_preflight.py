"""The Slack preflight (bot/slack/preflight.py): `baton check` and `baton serve` ask Slack
whether the token is accepted, has the manifest's scopes, and whether Baton can use every
configured channel; each problem is one line saying what to do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import MIM_CHANNEL, STAKEHOLDER_CHANNEL, BatonProcess, base_env
from tests.fake_slack import FakeSlack
from tests.flows import wait_until
from tests.prometheus import scrape, value

INVITE = "in that channel type /invite @Baton"
NOT_A_MEMBER = (
    f"baton: BATON_MIM_CHANNEL {MIM_CHANNEL} (#major-incidents): Baton is not a member; {INVITE}"
)
NOT_FOUND = (
    ": no such channel, or it is private and Baton was not invited (Slack does not tell these "
    "apart): check the ID (channel details, bottom of the About tab), or " + INVITE
)


LOUD = ("WARNING", "ERROR", "CRITICAL")


def baton_check(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "BATON_")) and k not in ("DATABASE_URL", "PORT")
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "check"],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def check_env(fake_slack: FakeSlack, db_url: str) -> dict[str, str]:
    return base_env(fake_slack, db_url)


def problems(result: subprocess.CompletedProcess) -> list[str]:
    assert "Traceback" not in result.stderr
    return result.stderr.strip().splitlines()


def test_check_reports_what_slack_says_is_fine(check_env, fake_slack, tmp_path):
    result = baton_check(check_env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "  Slack: token accepted: @baton in Example" in result.stdout
    assert "  Slack: scopes: all that manifest.yml asks for" in result.stdout
    assert (
        f"  Slack: BATON_STAKEHOLDER_CHANNEL {STAKEHOLDER_CHANNEL} (#it-status): Baton is in it"
        in result.stdout
    )
    asked = [c.args["channel"] for c in fake_slack.calls_to("conversations.info")]
    assert asked == [MIM_CHANNEL, STAKEHOLDER_CHANNEL]
    assert len(fake_slack.calls_to("auth.test")) == 1


def test_check_names_a_channel_baton_is_not_in_with_the_line_to_type(
    check_env, fake_slack, tmp_path
):
    fake_slack.remove_bot(MIM_CHANNEL)
    result = baton_check(check_env, tmp_path)
    assert result.returncode == 2
    assert problems(result) == [NOT_A_MEMBER]
    assert result.stdout == ""


def test_check_names_an_archived_channel(check_env, fake_slack, tmp_path):
    fake_slack.archive(STAKEHOLDER_CHANNEL)
    result = baton_check(check_env, tmp_path)
    assert result.returncode == 2
    assert problems(result) == [
        f"baton: BATON_STAKEHOLDER_CHANNEL {STAKEHOLDER_CHANNEL} (#it-status): the channel is "
        "archived; unarchive it (channel settings), or configure a channel in use"
    ]


def test_check_names_an_unknown_channel_and_a_private_one_baton_was_not_invited_to(
    check_env, fake_slack, tmp_path
):
    """Slack answers both with channel_not_found: the line says both, and what to do."""
    fake_slack.add_channel("C0LEADS001", "sd-leads", private=True, member=False)
    config = tmp_path / "baton.toml"
    config.write_text('restricted_channel = "C0NOSUCH01"\nservice_desk_lead = "C0LEADS001"\n')
    result = baton_check({**check_env, "BATON_CONFIG": str(config)}, tmp_path)
    assert result.returncode == 2
    assert problems(result) == [
        f"baton: BATON_CONFIG restricted_channel C0NOSUCH01{NOT_FOUND}",
        f"baton: BATON_CONFIG service_desk_lead C0LEADS001{NOT_FOUND}",
    ]


def test_a_service_desk_lead_who_is_a_person_is_not_a_channel_to_check(
    check_env, fake_slack, tmp_path
):
    config = tmp_path / "baton.toml"
    config.write_text('service_desk_lead = "U0LEAD0001"\nrestricted_channel = "C0RESTRIC1"\n')
    result = baton_check({**check_env, "BATON_CONFIG": str(config)}, tmp_path)
    assert result.returncode == 0, result.stderr
    asked = [c.args["channel"] for c in fake_slack.calls_to("conversations.info")]
    assert asked == [MIM_CHANNEL, STAKEHOLDER_CHANNEL, "C0RESTRIC1"]


def test_check_names_the_missing_scopes_once(check_env, fake_slack, tmp_path):
    """An app installed from an older manifest: the scopes are one line; the private channel
    it then cannot look at (groups:read) is not a second line about the same cause."""
    fake_slack.scopes = [s for s in fake_slack.scopes if s not in ("groups:read", "im:write")]
    config = tmp_path / "baton.toml"
    config.write_text('restricted_channel = "C0RESTRIC1"\n')  # private, Baton in it
    result = baton_check({**check_env, "BATON_CONFIG": str(config)}, tmp_path)
    assert result.returncode == 2
    assert problems(result) == [
        "baton: the Slack app lacks the scopes im:write, groups:read that Baton needs: add them "
        "under 'OAuth & Permissions', Bot Token Scopes (or paste manifest.yml again under 'App "
        "Manifest'), then reinstall the app to the workspace"
    ]


def test_the_incident_channels_scopes_are_needed_only_when_it_is_on(
    check_env, fake_slack, tmp_path
):
    """An app installed before the incident channel stays healthy until it is turned on."""
    channel_scopes = ("channels:manage", "pins:write", "bookmarks:write", "bookmarks:read")
    fake_slack.scopes = [s for s in fake_slack.scopes if s not in channel_scopes]
    result = baton_check(check_env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "  Slack: scopes: all Baton needs (not the incident channel's: it is off)" in (
        result.stdout
    )
    config = tmp_path / "baton.toml"
    config.write_text("incident_channel = true\n")
    result = baton_check({**check_env, "BATON_CONFIG": str(config)}, tmp_path)
    assert result.returncode == 2
    assert problems(result) == [
        "baton: the Slack app lacks the scopes channels:manage, pins:write, bookmarks:write, "
        "bookmarks:read that Baton needs: add them under 'OAuth & Permissions', Bot Token "
        "Scopes (or paste manifest.yml again under 'App Manifest'), then reinstall the app to "
        "the workspace"
    ]


def test_every_problem_is_its_own_line_with_the_configuration_problems_first(
    check_env, fake_slack, tmp_path
):
    templates = tmp_path / "comms"
    templates.mkdir()
    (templates / "initial.j2").write_text("Subject: {{ no_such_variable }}\n")
    config = tmp_path / "baton.toml"
    config.write_text('templates_dir = "comms"\n')
    fake_slack.remove_bot(MIM_CHANNEL)
    fake_slack.archive(STAKEHOLDER_CHANNEL)
    result = baton_check({**check_env, "BATON_CONFIG": str(config)}, tmp_path)
    assert result.returncode == 2
    lines = problems(result)
    assert len(lines) == 3
    assert lines[0].startswith("baton: comms template initial.j2")
    assert lines[1] == NOT_A_MEMBER
    assert lines[2].startswith(f"baton: BATON_STAKEHOLDER_CHANNEL {STAKEHOLDER_CHANNEL}")


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            "token_revoked",
            "baton: Slack refused SLACK_BOT_TOKEN (token_revoked: the app was uninstalled or its "
            "token revoked): reinstall the app to the workspace, then copy the Bot User OAuth "
            "Token (xoxb-…) from your Slack app's 'OAuth & Permissions' page into "
            "SLACK_BOT_TOKEN",
        ),
        (
            "invalid_auth",
            "baton: Slack refused SLACK_BOT_TOKEN (invalid_auth: not a valid token here: "
            "mistyped, or from another workspace): copy the Bot User OAuth Token (xoxb-…) from "
            "your Slack app's 'OAuth & Permissions' page into SLACK_BOT_TOKEN",
        ),
    ],
)
def test_a_refused_token_is_one_clear_line(check_env, fake_slack, tmp_path, error, line):
    fake_slack.set_token_error(error)
    result = baton_check(check_env, tmp_path)
    assert result.returncode == 2
    assert problems(result) == [line]
    assert fake_slack.calls_to("conversations.info") == []  # nothing else to learn
    assert check_env["SLACK_BOT_TOKEN"] not in result.stderr


def test_without_a_token_slack_is_not_checked_and_that_is_no_error(check_env, fake_slack, tmp_path):
    env = {k: v for k, v in check_env.items() if k != "SLACK_BOT_TOKEN"}
    result = baton_check(env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "  Slack: not checked (SLACK_BOT_TOKEN is not set)" in result.stdout
    assert fake_slack.calls == []
    # The rest is checked as ever.
    result = baton_check({**env, "BATON_MIM_CHANNEL": "#incidents"}, tmp_path)
    assert result.returncode == 2
    assert problems(result) == [
        "baton: BATON_MIM_CHANNEL '#incidents' is not a channel ID (like C0123456789; in Slack: "
        "channel details, bottom of the About tab)"
    ]


def test_slack_out_of_reach_is_one_line(check_env, tmp_path):
    result = baton_check({**check_env, "SLACK_API_URL": "http://127.0.0.1:9/api/"}, tmp_path)
    assert result.returncode == 2
    [line] = problems(result)
    assert line.startswith("baton: cannot reach Slack at http://127.0.0.1:9/api/ (")
    assert line.endswith("check the network, a proxy, or SLACK_API_URL")


# `baton serve` ------------------------------------------------------------------------------


def healthz(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as resp:
        return resp.status, json.loads(resp.read())


def test_serve_starts_degraded_then_clears_when_the_channel_is_fixed(baton_process, fake_slack):
    fake_slack.remove_bot(MIM_CHANNEL)
    process = baton_process(BATON_PREFLIGHT_INTERVAL="1s")
    reason = NOT_A_MEMBER.removeprefix("baton: ")
    # 200: the process works and a restart would not fix it (bot/slack/transport/server.py).
    assert healthz(process.url) == (200, {"status": "degraded", "reasons": [reason]})
    log = process.log.read_text()
    assert f"WARNING bot.slack.preflight: {reason}" in log
    samples = scrape(process.url)
    gauge = "baton_channel_ok"
    assert value(samples, gauge, channel=MIM_CHANNEL, setting="BATON_MIM_CHANNEL") == 0
    assert (
        value(samples, gauge, channel=STAKEHOLDER_CHANNEL, setting="BATON_STAKEHOLDER_CHANNEL") == 1
    )

    fake_slack.invite_bot(MIM_CHANNEL)  # someone typed /invite @Baton
    wait_until(lambda: healthz(process.url) == (200, {"status": "ok"}), timeout=15)
    samples = scrape(process.url)
    assert value(samples, gauge, channel=MIM_CHANNEL, setting="BATON_MIM_CHANNEL") == 1
    wait_until(lambda: f"INFO bot.slack.preflight: fixed: {reason}" in process.log.read_text())

    fake_slack.archive(STAKEHOLDER_CHANNEL)  # and it is checked again, live, either way
    wait_until(lambda: healthz(process.url)[1]["status"] == "degraded", timeout=15)
    [archived] = healthz(process.url)[1]["reasons"]
    assert archived.startswith(f"BATON_STAKEHOLDER_CHANNEL {STAKEHOLDER_CHANNEL} (#it-status)")


def test_a_slow_slack_never_holds_up_healthz(baton_process, fake_slack):
    process = baton_process(BATON_PREFLIGHT_INTERVAL="1s")
    slack_hangs = fake_slack.hold("auth.test")
    try:
        time.sleep(1.5)  # a check is now waiting for Slack's answer
        started = time.monotonic()
        assert healthz(process.url) == (200, {"status": "ok"})
        assert time.monotonic() - started < 1
        # The check gives up after its own timeout, and says so.
        wait_until(lambda: healthz(process.url)[1]["status"] == "degraded", timeout=15)
        [reason] = healthz(process.url)[1]["reasons"]
        assert reason.startswith(f"cannot reach Slack at {fake_slack.url} (")
    finally:
        slack_hangs.set()
    wait_until(lambda: healthz(process.url) == (200, {"status": "ok"}), timeout=15)
    assert process.proc.poll() is None


def test_serve_with_a_refused_token_exits_with_one_line(baton_process, fake_slack):
    fake_slack.revoke_token()
    process = BatonProcess(baton_process.env, baton_process.cwd)
    baton_process.started.append(process)  # stopped at the end, whatever happens
    process.launch()
    assert process.proc.wait(30) == 2
    log = process.log.read_text().splitlines()
    [line] = [line for line in log if any(f" {level} " in line for level in LOUD)]
    assert " CRITICAL baton: Slack refused SLACK_BOT_TOKEN (token_revoked: " in line
    assert "Traceback" not in process.log.read_text()


def test_in_socket_mode_healthz_is_degraded_too_and_503_still_wins(baton_process, fake_slack):
    fake_slack.archive(STAKEHOLDER_CHANNEL)
    process = baton_process(SLACK_APP_TOKEN="xapp-1-A0000BATON-1-test", SLACK_SIGNING_SECRET="")
    fake_slack.socket_mode.wait_open(1)
    status, body = healthz(process.url)
    assert status == 200 and body["status"] == "degraded"
    assert body["reasons"][0].startswith(f"BATON_STAKEHOLDER_CHANNEL {STAKEHOLDER_CHANNEL}")

    fake_slack.socket_mode.stop()  # what the probe can act on comes first: 503

    def status_now() -> int:
        try:
            return healthz(process.url)[0]
        except urllib.error.HTTPError as err:
            return err.code

    wait_until(lambda: status_now() == 503)
