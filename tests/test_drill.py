"""`baton drill`, driven in a real pseudo-terminal as an agent would use it, without Slack."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pexpect
import pytest
from sqlalchemy import select

from bot.slack.mrkdwn import SLACK
from bot.slack.ownership.card import card
from handover.checklist import answers
from handover.checklist.definition import FIELDS, STEPS
from handover.checklist.typed_answers import TypedError, as_typed, parse_typed
from handover.comms.templates import Details, render
from handover.drill.scenario import load_scenario, scenario_files
from handover.models import Incident
from handover.settings import OrgConfig, load_settings
from handover.store.db import Database
from handover.times import plain_time, utcnow
from tests.flows import STEP1, open_checklist, submit
from tests.test_domain import full_answers

PROMPT = re.compile(r"\r\n> (\[[^\]\r\n]*\] )?$")
ORG = OrgConfig()
DATE_TOKEN = re.compile(r"<!date\^(\d+)\^[^|>]*\|([^>]*)>")  # group 2: the UTC fallback


def drill_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No Slack settings at all: the drill needs none. UTC, so times read predictably."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "BATON_")) and k not in ("DATABASE_URL", "NO_COLOR")
    }
    return {
        **clean,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'drill.db'}",
        "TZ": "UTC",
        "PYTHONIOENCODING": "utf-8",
        "NO_COLOR": "1",
        **extra,
    }


def spawn(tmp_path: Path, *args: str, **env: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "bot.cli", "drill", *args],
        env=drill_env(tmp_path, **env),
        cwd=tmp_path,
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 250),
    )


class Agent:
    """A person at the terminal: waits for each question, then types."""

    def __init__(self, child: pexpect.spawn):
        self.child = child

    def answer(self, question: str, typed: str) -> str:
        """Answer `question`; returns what the drill showed since the previous answer."""
        self.child.expect_exact(f"\r\n{question}")
        return self.child.before + self.again(typed)

    def again(self, typed: str) -> str:
        """Answer at the next prompt (the same question, after it was refused)."""
        self.child.expect(PROMPT)  # "> ", or "> [the answer Enter keeps] "
        shown = self.child.before + self.child.after
        self.child.sendline(typed)
        return shown

    def follow_up(self, prompt: str, typed: str) -> None:
        self.child.expect_exact(prompt)
        self.child.sendline(typed)

    def finish(self) -> str:
        self.child.expect(pexpect.EOF)
        self.child.close()
        assert self.child.exitstatus == 0, self.child.before
        return self.child.before


def stored(tmp_path: Path) -> list[Incident]:
    db = Database(f"sqlite:///{tmp_path / 'drill.db'}")
    with db.session() as s:
        incidents = list(s.scalars(select(Incident).order_by(Incident.id)))
    db.dispose()
    return incidents


def test_a_full_interactive_drill_is_handed_over_scored_and_stored(tmp_path):
    started = (datetime.now(UTC) - timedelta(minutes=40)).strftime("%Y-%m-%d %H:%M")
    agent = Agent(spawn(tmp_path))
    agent.answer("Headline (required)", "E-mail down for all staff at head office")
    agent.answer("Services affected (required)", "E-mail")
    agent.answer("Symptoms (required)", "Outlook: Cannot connect to server (0x800CCC0E)")
    agent.answer("Impact", "1")
    agent.answer("Started at", f"{started} approx")  # the terminal's local time (UTC here)
    agent.answer("First reported at", "30m ago")
    agent.answer("How detected", "spike in similar tickets")
    agent.answer("Users affected now (estimate)", "over 1,000")
    agent.answer("User types", "1")
    agent.answer("Locations or sites", "Head office, Remote workers")
    agent.answer("VIP or critical business process affected", "no")
    agent.answer("Business impact", "Nobody can e-mail customers")
    agent.answer("Deadline at risk", "none")
    agent.answer("Trend", "worsening")
    agent.answer("Recent changes", "yes")
    agent.follow_up("Change reference: ", "CHG0042 mail relay patch")
    agent.answer("Actions already taken", "none")
    agent.answer("Workaround", "yes: Outlook on the web works")
    agent.answer("Suspected resolver groups", "3")
    agent.answer("Security or data breach suspected", "n")
    agent.answer("Related ticket references", "INC0012345 INC0012346")
    review = agent.answer("Priority", "")  # Enter keeps the proposal
    assert (
        "Proposed priority: P1: impact high, urgency medium (over 1,000 users; worsening)."
        in review
    )
    assert "Handover quality: 100 % (green)." in review
    assert review.endswith("> [P1] ")
    agent.answer("Your phone number", "+44 20 7946 0000")
    out = agent.finish()

    year = utcnow().year
    assert "\nP1 · E-mail down for all staff at head office\n" in out.replace("\r", "")
    assert f"DRILL-{year}-0001 · reported by drill-" in out
    assert "Users affected (estimate): Over 1,000" in out
    assert "(+44 20 7946 0000)" in out
    assert "Handover quality: 100 % (green)" in out
    assert f"Subject: [DRILL-{year}-0001] Incident: E-mail down for all staff at head office" in out
    assert "We are engaging these teams: Servers and cloud." in out
    assert f"Stored as DRILL-{year}-0001: a drill, never sent to Slack." in out

    [incident] = stored(tmp_path)
    assert incident.is_drill and incident.reference == f"DRILL-{year}-0001"
    assert incident.priority == incident.proposed_priority == "P1"
    assert incident.quality_score == 100
    a = incident.answers
    assert a["services"] == ["E-mail"] and a["impact_degree"] == "full_outage"
    assert a["started_at"]["approximate"] is True
    assert a["started_at"]["at"] == started.replace(" ", "T") + ":00+00:00"
    assert a["locations"] == ["Head office", "Remote workers"]
    assert a["recent_changes"] == {"answer": "yes", "detail": "CHG0042 mail relay patch"}
    assert a["related_refs"]["refs"] == ["INC0012345", "INC0012346"]


def test_an_invalid_answer_gets_exactly_the_message_slack_shows(baton, tmp_path):
    view = open_checklist(baton)
    future = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=1)
    slack = submit(baton, view, {**STEP1, "f:headline": "Mail", "f:started_at": future})["errors"]

    agent = Agent(spawn(tmp_path))
    agent.answer("Headline (required)", "Mail")
    assert f"\r\n  {slack['f:headline']}\r\n" in agent.again("E-mail down for all staff")
    assert slack["f:headline"] == "Please write at least 10 characters (you wrote 4)."
    agent.answer("Services affected (required)", "")
    required = answers.validate_field(FIELDS["services"], [], ORG, utcnow())
    assert f"\r\n  {required}\r\n" in agent.again("unknown")
    agent.answer("Symptoms (required)", "Cannot connect")
    agent.answer("Impact", "9")
    assert "\r\n  Not one of the choices: 9.\r\n" in agent.again("")
    agent.answer("Started at", "in 1h")
    assert f"\r\n  {slack['f:started_at']}\r\n" in agent.again("yesterday-ish")
    assert "\r\n  Not a time. Like 2026-11-22 14:30" in agent.again("unknown")
    agent.child.terminate(force=True)


def test_back_returns_to_the_previous_question_and_skip_leaves_it_blank(tmp_path):
    agent = Agent(spawn(tmp_path))
    agent.answer("Headline (required)", "Payroll is very slow for everyone")
    agent.answer("Services affected (required)", "Payroll")
    agent.answer("Symptoms (required)", "back")
    shown = agent.answer("Services affected (required)", "")  # Enter keeps the answer shown
    assert shown.endswith("> [Payroll] ")
    agent.answer("Symptoms (required)", "skip")
    assert "\r\n  This is needed to hand over." in agent.again("Error 504 on every page")
    agent.answer("Impact", "degraded")
    agent.answer("Started at", "back")
    assert agent.answer("Impact", "skip").endswith("> [Degraded] ")  # blank now
    agent.answer("Started at", "60m ago")
    agent.answer("First reported at", "90m ago")
    agent.answer("How detected", "")
    # At the end of the step, the rule across fields sends the agent back to the field.
    refused = agent.answer("First reported at", "50m ago")
    assert "\r\n  It cannot have been reported before it started.\r\n" in refused
    for question in [f.label for s in STEPS[:3] for f in s.fields][6:]:
        agent.answer(question, "skip")
    # Low impact, medium urgency is P4, but a declared major incident is proposed at least P2.
    agent.answer("Priority", "P3")
    agent.follow_up("Reason for changing the proposed P2: ", "")
    agent.answer("Your phone number", "")
    refused = agent.answer("Priority", "P3: only the payroll team notices")
    assert "\r\n  You changed the proposed P2 to P3: please give a reason.\r\n" in refused
    agent.answer("Your phone number", "")
    out = agent.finish()

    assert "Why P3: the agent chose it: only the payroll team notices; proposed P2" in out
    [incident] = stored(tmp_path)
    assert incident.answers["impact_degree"] is None  # skipped after being answered
    assert incident.answers["symptoms"] == "Error 504 on every page"
    assert incident.priority == "P3" and incident.proposed_priority == "P2"


def test_a_scenario_plays_the_caller_and_scores_the_handover(tmp_path):
    agent = Agent(spawn(tmp_path, "--scenario", "email-outage"))
    agent.child.expect_exact("Scenario: E-mail outage at head office")
    agent.answer("Headline (required)", "E-mail down at head office")
    agent.answer("Services affected (required)", "ask")
    assert 'Priya, accounts payable: "E-mail. Outlook on my PC, and the phone app too."' in (
        agent.again("E-mail")
    )
    agent.answer("Symptoms (required)", "?")
    agent.again("Cannot connect to server (0x800CCC0E)")
    agent.answer("Impact", "partial outage")  # wrong: nothing works at all
    agent.answer("Started at", "25m ago approx")
    for question in ["First reported at", "How detected"]:
        agent.answer(question, "skip")
    agent.answer("Users affected now (estimate)", "everyone")
    for f in [f for s in STEPS[1:3] for f in s.fields][1:]:
        agent.answer(f.label, "skip")
    agent.answer("Priority", "P2: trying a lower one")
    agent.answer("Your phone number", "")
    out = agent.finish()

    assert "Against the scenario's facts: 4 of 14 right" in out
    assert "  ✓ Services affected: E-mail" in out
    assert "  ✓ Symptoms: Cannot connect to server (0x800CCC0E)" in out
    assert "  ✗ Impact: wrong (you: Partial outage; the facts: Full outage)" in out
    assert "  ✓ Users affected now (estimate): Everyone" in out
    assert "  ✗ Workaround: missed (you: not given; the facts: yes: Outlook on the web)" in out
    assert "  ✗ Priority: wrong (you: P2; the facts: P1)" in out
    # The quality score with each gap's training point is shown beside the facts.
    assert "  • Business impact (blank, weight 3): Ask what the business cannot do" in out


ANSWERS_TOML = """\
headline = "Payroll & expenses slow <!channel>"
services = ["Payroll"]
symptoms = "Payslip page shows 'Error 504' for <@U0123ABCD>"
impact_degree = "Degraded"
started_at = "2h ago approx"
users_affected = "11-100"
user_types = "staff"
business_impact = "Payroll team cannot approve the run"
workaround = "no"
trend = "worsening"
resolver_groups = "Application support, Database"
security = "no"
contact_phone = "0123"
"""


def test_an_answers_file_prints_the_card_and_notice_the_slack_rendering_says(tmp_path):
    (tmp_path / "answers.toml").write_text(ANSWERS_TOML)
    out = Agent(spawn(tmp_path, "--answers", "answers.toml")).finish().replace("\r\n", "\n")

    [incident] = stored(tmp_path)
    assert incident.is_drill and incident.reference.startswith("DRILL-")
    assert "Payroll & expenses slow <!channel>" in out  # plain text: nothing escaped

    # Every part of the Slack card says the same, once Slack's escaping and tokens are undone.
    def words(mrkdwn: str) -> str:
        mrkdwn = re.sub(r"<@([^>]+)>", r"\1", DATE_TOKEN.sub(r"\2", mrkdwn))
        return html.unescape(re.sub(r"\b_([^_]+)_\b", r"\1", mrkdwn))

    # The Slack card also shows the live status (owner, phase): not part of the handover.
    _, blocks = card(incident, load_settings(env_file=None), utcnow())
    header = blocks[0]["text"]["text"]  # plain text: typed brackets shown as look-alikes
    assert header.replace("‹", "<").replace("›", ">") in out
    sections = [b for b in blocks if b["type"] == "section" and b.get("block_id") is None]
    why = next(b for b in blocks if b.get("block_id") == "why")
    assert f"\n{words(why['text']['text']).strip('*')}\n" in out
    for block in sections:
        if block.get("fields"):  # a heading and its facts
            assert f"\n{words(block['text']['text']).strip('*')}\n" in out
            for field in block["fields"]:
                label, value = words(field["text"]).split("\n", 1)
                assert f"\n  {label.strip('*')}: {value}\n" in out
        else:  # a longer answer under its label
            label, value = words(block["text"]["text"]).split("\n", 1)
            assert f"\n{label.strip('*')}:\n  {value}\n" in out
    not_known = next(b for b in blocks if b.get("block_id") == "not_known")
    assert (
        words(not_known["elements"][0]["text"]).replace(":grey_question: *", "").replace(":*", ":")
        in out
    )

    # The notice printed is the Slack draft's content, in plain text.
    due = incident.handed_over_at + timedelta(minutes=30)  # BATON_UPDATE_INTERVAL's default
    slack = render("initial", incident, ORG, SLACK, Details(next_update_at=due)).text
    assert "&lt;!channel&gt;" in slack
    as_plain = DATE_TOKEN.sub(lambda m: plain_time(datetime.fromtimestamp(int(m[1]), UTC)), slack)
    as_plain = re.sub(r"^\*([^*\n]+)\*", r"\1", as_plain, flags=re.MULTILINE)  # bold headings
    assert html.unescape(as_plain) in out


def run_drill(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "drill", *args],
        env=drill_env(tmp_path, **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_answers_in_a_file_get_one_line_each_and_exit_2(tmp_path):
    (tmp_path / "bad.json").write_text(
        '{"headline": "Mail", "services": ["Mail"], "started_at": "soonish",'
        ' "workaround": "yes", "colour": "blue"}'
    )
    result = run_drill(tmp_path, "--answers", "bad.json")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "baton: bad.json: unknown field 'colour' (fields: "
        + ", ".join(f.id for s in STEPS for f in s.fields)
        + ")",
        "baton: headline: Please write at least 10 characters (you wrote 4).",
        "baton: services: Not one of the choices: Mail.",
        "baton: symptoms: This is needed to hand over.",
        "baton: started_at: Not a time. Like 2026-11-22 14:30 (your local time), 14:30, "
        '40m ago or in 2h; "approx" if approximate, "unknown".',
        "baton: workaround: You answered yes: please add the workaround.",
    ]
    assert not (tmp_path / "drill.db").exists()  # nothing stored

    (tmp_path / "broken.toml").write_text("headline = [\n")
    result = run_drill(tmp_path, "--answers", "broken.toml")
    assert result.returncode == 2
    assert result.stderr.startswith("baton: broken.toml: cannot be read (")
    assert len(result.stderr.splitlines()) == 1


SCENARIO = """\
title = "Printer fire drill"
opening = "The big printer on floor 2 says it is on fire."
[says]
services = "The printer, I suppose it counts as file storage?"
[facts]
services = "File storage"
security = "no"
"""


def test_trainers_add_scenarios_and_list_them(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "printer.toml").write_text(SCENARIO)
    listed = run_drill(tmp_path, "--list", "--scenario-dir", "mine")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "data-breach: Suspected data breach on the customer website",
        "email-outage: E-mail outage at head office",
        "payroll-degraded: Payroll system degraded on payday",
        "printer: Printer fire drill",
    ]
    (tmp_path / "answers.toml").write_text(
        'headline = "Printer on floor 2 on fire"\nservices = "8"\nsymptoms = "Smoke"\n'
    )
    scored = run_drill(tmp_path, "--scenario", "mine/printer.toml", "--answers", "answers.toml")
    assert scored.returncode == 0, scored.stderr
    assert "Against the scenario's facts: 1 of 2 right" in scored.stdout
    assert "✗ Security or data breach suspected: missed (you: not given; the facts: no)" in (
        scored.stdout
    )

    (tmp_path / "mine" / "printer.toml").write_text(
        'title = "Printer fire"\nopening = "Fire!"\ncolour = "red"\n'
        '[says]\nmood = "grumpy"\n[facts]\nservices = "Printers"\n'
    )
    broken = run_drill(tmp_path, "--scenario", "printer", "--scenario-dir", "mine")
    assert broken.returncode == 2
    assert broken.stderr.splitlines() == [
        "baton: scenario printer.toml: unknown key 'colour'",
        "baton: scenario printer.toml: says.mood: no such checklist field",
        "baton: scenario printer.toml: facts.services: Not one of the choices: Printers.",
    ]
    missing = run_drill(tmp_path, "--scenario", "lift-stuck")
    assert missing.returncode == 2
    assert missing.stderr.startswith("baton: no scenario 'lift-stuck' (scenarios: data-breach")


def test_colour_only_on_a_terminal_that_wants_it(tmp_path):
    (tmp_path / "answers.toml").write_text(ANSWERS_TOML)
    coloured = spawn(tmp_path, "--answers", "answers.toml", NO_COLOR="")
    coloured.expect(pexpect.EOF)
    assert "\x1b[" in coloured.before
    plain = spawn(tmp_path, "--answers", "answers.toml")
    plain.expect(pexpect.EOF)
    assert "\x1b[" not in plain.before
    piped = run_drill(tmp_path, "--answers", "answers.toml", NO_COLOR="")
    assert piped.returncode == 0 and "\x1b[" not in piped.stdout


def test_the_built_in_scenarios_are_valid_with_the_default_configuration():
    now = utcnow()
    for name in scenario_files():
        scenario = load_scenario(name, [], ORG, now)
        assert scenario.facts and scenario.says, name
        assert set(scenario.says) <= set(FIELDS)


@pytest.mark.parametrize("field_id", list(FIELDS))
def test_typed_answers_round_trip(field_id):
    """What the drill offers as the default reads back as the same answer."""
    f = FIELDS[field_id]
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    values = full_answers() | {
        "contact_phone": "0123",
        "priority": {"value": "P2", "reason": "only one team"},
        "vip": {"answer": "yes", "detail": "CFO: board pack"},
    }
    value = values[field_id]
    assert answers.parse(f, parse_typed(f, as_typed(f, value, ORG), ORG, now)) == value


def test_the_readme_answers_example_hands_over(tmp_path):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = readme.split("```toml\n")[1:]
    example = next(b for b in blocks if b.startswith("# answers.toml")).split("```", 1)[0]
    (tmp_path / "answers.toml").write_text(example)
    result = run_drill(tmp_path, "--answers", "answers.toml")
    assert result.returncode == 0, result.stderr
    assert "Users affected (estimate): Over 1,000" in result.stdout
    assert (
        "drill"
        in subprocess.run(
            [sys.executable, "-m", "bot.cli", "--help"], capture_output=True, text=True, check=True
        ).stdout
    )


def test_typed_times():
    f = FIELDS["started_at"]
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

    def at(typed: str) -> dict:
        return answers.parse(f, parse_typed(f, typed, ORG, now))

    assert at("2026-11-22 10:30Z") == {"at": "2026-11-22T10:30:00+00:00", "approximate": False}
    assert at("2026-11-22 11:30+01:00")["at"] == "2026-11-22T10:30:00+00:00"
    assert at("~40m ago") == {"at": "2026-11-22T11:20:00+00:00", "approximate": True}
    assert at("1h30m ago approx")["at"] == "2026-11-22T10:30:00+00:00"
    assert at("unknown") == "unknown"
    deadline = FIELDS["deadline"]
    assert answers.parse(deadline, parse_typed(deadline, "in 2h", ORG, now))["at"] == (
        "2026-11-22T14:00:00+00:00"
    )
    assert answers.parse(deadline, parse_typed(deadline, "none", ORG, now)) == "none"
    with pytest.raises(TypedError, match=r"^Not a time\. Like 2026-11-22 14:30"):
        parse_typed(f, "none", ORG, now)  # only a deadline can be "none"
