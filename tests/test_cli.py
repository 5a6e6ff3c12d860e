"""The `baton` command line: help, clear configuration errors, manifest, migrate."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import yaml

from bot.logs import Redactor

ROOT = Path(__file__).resolve().parents[1]


def baton(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "BATON_")) and k not in ("DATABASE_URL", "PORT")
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**clean, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_lists_the_commands(tmp_path):
    result = baton("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("serve", "migrate", "check", "manifest"):
        assert command in result.stdout


def test_serve_without_a_token_exits_2_with_one_clear_line(tmp_path):
    result = baton(
        "serve",
        env={
            "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
            "BATON_MIM_CHANNEL": "C0MIMS0001",
            "BATON_STAKEHOLDER_CHANNEL": "C0STAKE001",
        },
        cwd=tmp_path,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("baton: SLACK_BOT_TOKEN is not set")
    assert "Traceback" not in result.stderr


SERVE = {
    "SLACK_BOT_TOKEN": "xoxb-1",
    "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
    "BATON_MIM_CHANNEL": "C0MIMS0001",
    "BATON_STAKEHOLDER_CHANNEL": "C0STAKE001",
}


def one_critical_line(result) -> str:
    """`serve` stopped at start: exit 2, one line on stderr (the log's CRITICAL), no traceback."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert " CRITICAL baton: " in lines[0]
    return lines[0].split(" CRITICAL baton: ", 1)[1]


def test_serve_without_slack_says_so_in_one_line(tmp_path):
    unreachable = {**SERVE, "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    said = one_critical_line(baton("serve", env=unreachable, cwd=tmp_path))
    assert said.startswith("cannot reach Slack at http://127.0.0.1:9/api/ (URLError: ")
    assert said.endswith("check the network, a proxy, or SLACK_API_URL")


def test_serve_with_a_database_it_cannot_open_says_so_in_one_line(tmp_path, fake_slack):
    broken = {
        **SERVE,
        "SLACK_API_URL": fake_slack.url,
        "DATABASE_URL": "postgresql+psycopg://baton:secret-pw@127.0.0.1:9/baton",
    }
    said = one_critical_line(baton("serve", env=broken, cwd=tmp_path))
    assert said.startswith("cannot open the database at postgresql+psycopg://baton:***@127.0.0.1")
    assert "secret-pw" not in said


def test_serve_on_a_port_in_use_says_so_in_one_line(tmp_path, fake_slack):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = {**SERVE, "SLACK_API_URL": fake_slack.url, "PORT": str(port)}
        said = one_critical_line(baton("serve", env=busy, cwd=tmp_path))
    assert said.startswith(f"cannot listen on 127.0.0.1:{port} (")
    assert said.endswith("set PORT (or BATON_HOST) to one that is free")


def test_every_configuration_problem_gets_its_own_line(tmp_path):
    result = baton(
        "check",
        env={
            "SLACK_BOT_TOKEN": "xoxp-user-token",
            "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
            "BATON_MIM_CHANNEL": "#incidents",
            "BATON_STAKEHOLDER_CHANNEL": "C0STAKE001",
            "BATON_INITIAL_PHASE": "fifteen",
            "BATON_CONFIG": str(tmp_path / "missing.toml"),
        },
        cwd=tmp_path,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "baton: SLACK_BOT_TOKEN does not look like a bot token (it starts with xoxb-)",
        "baton: BATON_MIM_CHANNEL '#incidents' is not a channel ID (like C0123456789; in Slack: "
        "channel details, bottom of the About tab)",
        "baton: BATON_INITIAL_PHASE: 'fifteen' is not a duration; write it like 15m, 90s or 1h",
        f"baton: BATON_CONFIG ({tmp_path / 'missing.toml'}): no such file",
    ]
    assert "xoxp-user-token" not in result.stderr  # secrets never echoed


def test_check_refuses_a_short_signing_secret_and_a_database_it_has_no_driver_for(tmp_path):
    odd = {**SERVE, "SLACK_SIGNING_SECRET": "s", "DATABASE_URL": "foo://x"}
    result = baton("check", env=odd, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "baton: SLACK_SIGNING_SECRET is 1 characters long, too short to be Slack's (it has 32): "
        "copy it again from your Slack app's 'Basic Information' page",
        "baton: DATABASE_URL is not a database Baton can use (like sqlite:///baton.db or "
        "postgresql+psycopg://user@host/baton)",
    ]


def test_a_short_secret_never_garbles_the_logs():
    redactor = Redactor(["s", "0123456789abcdef0123456789abcdef"])
    said = "Will assume transactional DDL with 0123456789abcdef0123456789abcdef"
    assert redactor.redact(said) == "Will assume transactional DDL with [redacted]"


def test_the_listening_address_is_checked(tmp_path):
    result = baton("migrate", env={"BATON_HOST": "every interface"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "baton: BATON_HOST 'every interface' is not an address to listen on (like 127.0.0.1, "
        "0.0.0.0 for every interface, or :: for IPv6)"
    ]


def test_log_format_and_level_are_checked(tmp_path, fake_slack):
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
        "SLACK_API_URL": fake_slack.url,  # with a token, `check` asks Slack too
        "BATON_MIM_CHANNEL": "C0MIMS0001",
        "BATON_STAKEHOLDER_CHANNEL": "C0STAKE001",
    }
    result = baton(
        "check", env={**env, "BATON_LOG_FORMAT": "xml", "BATON_LOG_LEVEL": "chatty"}, cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "baton: BATON_LOG_FORMAT 'xml' is not text or json",
        "baton: BATON_LOG_LEVEL 'chatty' is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
    ]
    result = baton(
        "check", env={**env, "BATON_LOG_FORMAT": "JSON", "BATON_LOG_LEVEL": "debug"}, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "logs: json, level DEBUG" in result.stdout


def test_unreadable_config_file_is_reported(tmp_path):
    config = tmp_path / "baton.toml"
    config.write_text('services = "E-mail"\nticket_pattern = "(["\ncolour = 1\n')
    result = baton(
        "check",
        env={
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
            "BATON_MIM_CHANNEL": "C0MIMS0001",
            "BATON_STAKEHOLDER_CHANNEL": "C0STAKE001",
            "BATON_CONFIG": str(config),
        },
        cwd=tmp_path,
    )
    assert result.returncode == 2
    err = result.stderr
    assert "unknown setting 'colour'" in err
    assert "'ticket_pattern' is not a regular expression" in err
    assert "'services' must be a list of non-empty strings" in err

    config.write_text("services = [\n")
    result = baton(
        "check",
        env={
            "BATON_CONFIG": str(config),
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
            "BATON_MIM_CHANNEL": "C0MIMS0001",
            "BATON_STAKEHOLDER_CHANNEL": "C0STAKE001",
        },
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "not valid TOML" in result.stderr


def test_check_accepts_a_good_configuration(tmp_path, fake_slack):
    config = tmp_path / "baton.toml"
    config.write_text('services = ["Mail", "Web shop"]\n[update_intervals]\nP1 = "20m"\n')
    result = baton(
        "check",
        env={
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
            "SLACK_API_URL": fake_slack.url,
            "BATON_MIM_CHANNEL": "C0MIMS0001",
            "BATON_STAKEHOLDER_CHANNEL": "C0STAKE001",
            "BATON_CONFIG": str(config),
        },
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "services: 2" in result.stdout


def test_dotenv_in_the_working_directory_is_read(tmp_path, fake_slack):
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-from-dotenv\nSLACK_SIGNING_SECRET=0123456789abcdef0123456789abcdef\n"
        f"SLACK_API_URL={fake_slack.url}\n"
        "BATON_MIM_CHANNEL=C0MIMS0001\n"
        "BATON_STAKEHOLDER_CHANNEL=C0STAKE001\n"
    )
    result = baton("check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_migrate_creates_the_database(tmp_path):
    result = baton("migrate", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "b.db").exists()
    again = baton("migrate", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"}, cwd=tmp_path)
    assert again.returncode == 0


def test_migrate_reports_an_unreachable_database_in_one_line(tmp_path):
    result = baton("migrate", env={"DATABASE_URL": "sqlite:////nonexistent/dir/b.db"}, cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("baton: cannot migrate sqlite:////nonexistent/dir/b.db")


def test_manifest_for_a_public_url(tmp_path):
    result = baton("manifest", "https://baton.example.com", cwd=tmp_path)
    assert result.returncode == 0
    data = yaml.safe_load(result.stdout)
    assert data["features"]["slash_commands"][0]["command"] == "/major-incident"
    assert data["features"]["slash_commands"][0]["url"] == "https://baton.example.com/slack/events"
    assert data["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    assert data["settings"]["interactivity"]["message_menu_options_url"].endswith("/slack/events")
    assert data["settings"]["socket_mode_enabled"] is False
    assert "chat:write" in data["oauth_config"]["scopes"]["bot"]

    bad = baton("manifest", "http://insecure.example.com", cwd=tmp_path)
    assert bad.returncode == 2 and "https" in bad.stderr


def test_the_repository_manifest_is_the_generated_one(tmp_path):
    result = baton("manifest", "--socket-mode", cwd=tmp_path)
    assert (ROOT / "manifest.yml").read_text() == result.stdout


def test_the_readme_configuration_example_is_valid(tmp_path):
    readme = (ROOT / "README.md").read_text()
    example = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "baton.toml").write_text(example)
    (tmp_path / "comms").mkdir()
    from handover.settings import load_org_config

    problems: list[str] = []
    org = load_org_config(tmp_path / "baton.toml", problems)
    assert problems == []
    assert org.services == ["E-mail", "Payroll", "Customer website"]
    assert org.update_intervals["P2"].total_seconds() == 3600


def test_check_refuses_a_card_mention_that_pings_nobody_it_can_name(tmp_path, fake_slack):
    config = tmp_path / "baton.toml"
    config.write_text('card_mention = "@mims"\n')
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
        "SLACK_API_URL": fake_slack.url,
        "BATON_MIM_CHANNEL": "C0MIMS0001",
        "BATON_STAKEHOLDER_CHANNEL": "C0STAKE001",
        "BATON_CONFIG": str(config),
    }
    result = baton("check", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"baton: BATON_CONFIG ({config}): 'card_mention' '@mims' is not a user group (S…), a "
        'user (U…), "here" or "none"'
    ]
    for good in ("S0MIMS0001", "U0MIM00001", "here", "none"):
        config.write_text(f'card_mention = "{good}"\n')
        assert baton("check", env=env, cwd=tmp_path).returncode == 0
