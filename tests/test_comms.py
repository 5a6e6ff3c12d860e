"""Stakeholder comms from templates: content, escaping, both targets, custom folders, check.

The expected notices are text files in tests/snapshots/, read over by a person. After a wording
change, regenerate them with `BATON_UPDATE_SNAPSHOTS=1 pytest tests/test_comms.py` and read the
diff before committing it.
"""

from __future__ import annotations

import html
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from bot.slack.mrkdwn import SLACK
from handover.checklist.definition import FIELDS, Kind
from handover.comms.templates import (
    KINDS,
    PLAIN,
    Details,
    check_templates,
    diff_since,
    render,
    snapshot,
)
from handover.models import Incident
from handover.settings import OrgConfig
from handover.times import plain_time
from tests.test_cli import baton

SNAPSHOTS = Path(__file__).parent / "snapshots"
AT = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ORG = OrgConfig()
DATE_TOKEN = re.compile(r"<!date\^(\d+)\^[^|>]*\|[^>]*>")
BOLD_LINE_START = re.compile(r"^\*([^*\n]+)\*", re.MULTILINE)


def payroll_incident(**overrides) -> Incident:
    """A fixed record: payroll degraded on payday morning, cause being worked on."""
    answers = {
        "headline": "Payroll system slow; payslips not loading",
        "services": ["Payroll"],
        "symptoms": "Payslip page spins then shows 'Error 504'",
        "impact_degree": "degraded",
        "started_at": {"at": "2026-11-22T08:15:00+00:00", "approximate": True},
        "users_affected": "101-1000",
        "user_types": ["staff"],
        "locations": ["Head office", "Remote workers"],
        "vip": {"answer": "no", "detail": ""},
        "business_impact": "Payroll team cannot approve this month's run",
        "deadline": {"at": "2026-11-22T16:00:00+00:00", "approximate": False},
        "trend": "stable",
        "workaround": {"answer": "yes", "detail": "Payslips can be e-mailed on request"},
        "resolver_groups": ["Application support", "Database"],
        "security": {"answer": "no", "detail": ""},
    }
    values = {
        "reference": "MI-2026-0042",
        "headline": answers["headline"],
        "answers": answers,
        "handed_over_answers": answers,
        "priority": "P2",
        "proposed_priority": "P2",
        "handed_over_at": AT,
        "trgs": ["Application support"],
        "stakeholder_state": "identified",
        "next_update_due_at": AT + timedelta(minutes=60),
        "resolved_at": AT + timedelta(hours=3),
    }
    return Incident(**(values | overrides))


def details_for(kind: str, incident: Incident) -> Details:
    """What the manager would add for each kind of notice about the payroll incident."""
    if kind == "update":
        before = payroll_incident(
            answers={**incident.answers, "impact_degree": "full_outage"},
            trgs=[],
            stakeholder_state="investigating",
        )
        return Details(
            changes=tuple(diff_since(snapshot(before), snapshot(incident))),
            doing="Database team is rebuilding a slow index; payslips load again for some.",
            eta="about 2 hours",
        )
    if kind == "resolution":
        return Details(
            what_happened="Payslips and payroll approval were slow or failed to load.",
            user_action="If a payslip still fails, clear the browser cache and try again.",
        )
    if kind == "summary":
        return Details(eta="about 1 hour", doing="Rebuilding a slow database index.")
    return Details()


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("BATON_UPDATE_SNAPSHOTS"):
        path.write_text(text + "\n", encoding="utf-8")
    assert text + "\n" == path.read_text(encoding="utf-8"), f"{name} differs from the snapshot"


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_renders_the_reviewed_plain_text(kind):
    incident = payroll_incident()
    notice = render(kind, incident, ORG, PLAIN, details_for(kind, incident))
    check_snapshot(f"{kind}.txt", notice.text)


def test_slack_rendering_uses_date_tokens_and_escapes():
    incident = payroll_incident(headline="Payroll & expenses <slow>")
    notice = render("initial", incident, ORG, SLACK)
    check_snapshot("initial.mrkdwn.txt", notice.text)


def test_every_notice_but_the_resolution_names_the_next_update():
    incident = payroll_incident()
    for kind in KINDS:
        body = render(kind, incident, ORG, PLAIN, details_for(kind, incident)).body
        names_it = "Next update by 22 Nov 2026 10:00 UTC." in body
        assert names_it == (kind != "resolution"), kind
    with pytest.raises(ValueError, match="next update"):
        render("initial", payroll_incident(next_update_due_at=None), ORG, PLAIN)
    given = Details(next_update_at=AT + timedelta(minutes=30))
    notice = render("initial", payroll_incident(next_update_due_at=None), ORG, PLAIN, given)
    assert "Next update by 22 Nov 2026 09:30 UTC." in notice.body


def test_no_invented_eta_and_users_are_an_estimate():
    summary = render("summary", payroll_incident(), ORG, PLAIN).body
    assert "Expected time to resolve: not yet known" in summary
    assert "Users affected: 101–1,000 (an estimate)" in summary
    unknown = payroll_incident(answers={**payroll_incident().answers, "users_affected": "unknown"})
    assert "Users affected: not yet known\n" in render("summary", unknown, ORG, PLAIN).body


def test_suspected_teams_are_named_until_teams_are_engaged():
    body = render("initial", payroll_incident(trgs=[]), ORG, PLAIN).body
    assert "We are engaging these teams: Application support, Database." in body


HOSTILE = "<!channel> <@U0123ABCD> <https://evil.example|click here> Smith & Co"


def hostile_incident() -> tuple[Incident, OrgConfig]:
    """Every checklist field a person can type into (or an admin configures) is hostile."""
    answers = dict(payroll_incident().answers)
    for f in FIELDS.values():
        if f.kind in (Kind.TEXT, Kind.LONG_TEXT):
            answers[f.id] = HOSTILE
        elif f.kind == Kind.TRISTATE:
            answers[f.id] = {"answer": "yes", "detail": HOSTILE}
        elif f.kind == Kind.REFS:
            answers[f.id] = {"refs": [HOSTILE], "raw": HOSTILE}
        elif f.catalogue:
            answers[f.id] = [HOSTILE]
    org = OrgConfig(services=[HOSTILE], resolver_groups=[HOSTILE], sites=[HOSTILE])
    return payroll_incident(headline=HOSTILE, answers=answers, trgs=[HOSTILE]), org


def hostile_details(incident: Incident, doing: str) -> Details:
    """The manager's words are hostile too; without `doing`, the notice lists the teams."""
    return Details(
        eta=HOSTILE,
        doing=doing,
        what_happened=HOSTILE,
        user_action=HOSTILE,
        review=False,
        changes=tuple(diff_since(snapshot(payroll_incident()), snapshot(incident))),
    )


@pytest.mark.parametrize("doing", [HOSTILE, ""])
@pytest.mark.parametrize("kind", KINDS)
def test_typed_mentions_and_links_never_survive_in_mrkdwn(kind, doing):
    incident, org = hostile_incident()
    notice = render(kind, incident, org, SLACK, hostile_details(incident, doing))
    text = DATE_TOKEN.sub("", notice.text)
    assert "<" not in text and ">" not in text, text
    assert "&lt;!channel&gt;" in text and "Smith &amp; Co" in text
    assert "&amp;amp;" not in text and "&amp;lt;" not in text  # escaped once, not twice


@pytest.mark.parametrize("doing", [HOSTILE, ""])
@pytest.mark.parametrize("kind", KINDS)
def test_plain_text_is_the_same_notice_unescaped(kind, doing):
    """Both targets come from one template: only the escaping, the time format and the bold
    headings differ."""
    incident, org = hostile_incident()
    details = hostile_details(incident, doing)
    plain = render(kind, incident, org, PLAIN, details).text
    slack = render(kind, incident, org, SLACK, details).text
    assert "<!channel> <@U0123ABCD>" in plain
    as_plain = DATE_TOKEN.sub(lambda m: plain_time(datetime.fromtimestamp(int(m[1]), UTC)), slack)
    as_plain = BOLD_LINE_START.sub(r"\1", as_plain)  # a heading: "*Workaround*"
    assert html.unescape(as_plain) == plain


def test_a_missing_variable_is_an_error_not_blank(tmp_path):
    (tmp_path / "initial.j2").write_text("Subject: {{ fields.headline }}\n{{ next_updte }}\n")
    org = OrgConfig(templates_dir=tmp_path)
    with pytest.raises(UndefinedError, match="'next_updte' is undefined"):
        render("initial", payroll_incident(), org, PLAIN)


def test_a_custom_folder_overrides_some_kinds_and_falls_back_for_the_rest(tmp_path):
    (tmp_path / "initial.j2").write_text(
        '{% extends "builtin/initial.j2" %}\n'
        "{% block subject %}\nSubject: ACME IT: {{ fields.headline }}\n{% endblock %}\n"
    )
    (tmp_path / "update.j2").write_text("Subject: Still on it\n\n{{ state }} since {{ priority }}")
    org = OrgConfig(templates_dir=tmp_path)
    incident = payroll_incident()
    initial = render("initial", incident, org, PLAIN)
    assert initial.subject == "ACME IT: Payroll system slow; payslips not loading"
    assert initial.body == render("initial", incident, ORG, PLAIN).body  # the built-in body
    assert render("update", incident, org, PLAIN).body == "Cause identified since P2"
    assert render("summary", incident, org, PLAIN) == render("summary", incident, ORG, PLAIN)


def test_joining_values_escapes_each_exactly_once(tmp_path):
    (tmp_path / "summary.j2").write_text(
        "Subject: {{ [fields.headline, eta, next_update] | join(' & ') }}\n"
    )
    org = OrgConfig(templates_dir=tmp_path)
    incident = payroll_incident(headline="Payroll <slow>")
    subject = render("summary", incident, org, SLACK, Details(eta="1 h")).subject
    assert subject == (
        "Payroll &lt;slow&gt; &amp; 1 h &amp; "
        "<!date^1795341600^{date_short_pretty} {time}|2026-11-22 10:00 UTC>"
    )


def test_the_built_in_templates_pass_the_check():
    assert check_templates(None) == []


def broken_templates(folder: Path) -> Path:
    folder.mkdir()
    (folder / "initial.j2").write_text(
        "{# our initial notice #}\n"
        "Subject: {{ fields.headline }}\n"
        "\n"
        "Services: {{ fields.services }}\n"
        "Impact: {{ fields.impact_degree }}\n"
        "\n"
        "Next update by {{ next_update_time }}.\n"
    )
    (folder / "update.j2").write_text("Subject: x\n{% if changes %}\nchanged\n")
    (folder / "summary.j2").write_text("No subject line\n")
    (folder / "intial.j2").write_text("Subject: a typo in the name\n")
    (folder / "_footer.j2").write_text("A shared part: not a kind, not a problem\n")
    return folder


def test_check_names_each_broken_template_and_line(tmp_path):
    folder = broken_templates(tmp_path / "comms")
    assert check_templates(folder) == [
        "comms template intial.j2: not a notice kind (expected initial.j2, update.j2, "
        "resolution.j2, summary.j2; shared parts start with _)",
        "comms template initial.j2 line 7: 'next_update_time' is undefined",
        "comms template update.j2 line 3: Unexpected end of template. Jinja was looking for "
        "the following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be "
        "closed is 'if'.",
        "comms template summary.j2: the first line it renders must be 'Subject: …'",
    ]


def check_env(fake_slack) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
        "SLACK_API_URL": fake_slack.url,  # with a token, `check` asks Slack too
        "BATON_MIM_CHANNEL": "C0MIMS0001",
        "BATON_STAKEHOLDER_CHANNEL": "C0STAKE001",
    }


def test_baton_check_fails_on_a_broken_custom_template(tmp_path, fake_slack):
    broken_templates(tmp_path / "comms")
    (tmp_path / "baton.toml").write_text('templates_dir = "comms"\n')
    result = baton(
        "check", env={**check_env(fake_slack), "BATON_CONFIG": str(tmp_path / "baton.toml")}
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert "baton: comms template initial.j2 line 7: 'next_update_time' is undefined" in lines
    assert len(lines) == 4


def test_baton_check_passes_good_custom_templates(tmp_path, fake_slack):
    (tmp_path / "comms").mkdir()
    (tmp_path / "comms" / "summary.j2").write_text("Subject: {{ state }}\n\nETA {{ eta }}\n")
    (tmp_path / "baton.toml").write_text('templates_dir = "comms"\n')
    result = baton(
        "check", env={**check_env(fake_slack), "BATON_CONFIG": str(tmp_path / "baton.toml")}
    )
    assert result.returncode == 0, result.stderr
    assert f"comms templates: {tmp_path / 'comms'}, all render" in result.stdout


def test_diff_lists_exactly_what_changed():
    before = payroll_incident(
        answers={**payroll_incident().answers, "impact_degree": "full_outage"},
        trgs=[],
        stakeholder_state="investigating",
    )
    after = payroll_incident()
    # Before any team was engaged, the notice named the two suspected resolver groups.
    assert [str(c) for c in diff_since(snapshot(before), snapshot(after))] == [
        "Status: Investigating → Cause identified",
        "Impact: Full outage → Degraded",
        "Teams engaged: Application support, Database → Application support",
    ]
    assert diff_since(snapshot(after), snapshot(after)) == []


def test_diff_words_every_comms_fact_and_ignores_order():
    base = payroll_incident()
    later = payroll_incident(
        answers={
            **base.answers,
            "users_affected": "over-1000",
            "services": ["Payroll", "E-mail"],
            "workaround": {"answer": "no", "detail": ""},
        },
        trgs=["Database", "Application support"],
    )
    changes = diff_since(snapshot(base), snapshot(later))
    assert [str(c) for c in changes] == [
        "Users affected now (estimate): 101–1,000 → Over 1,000",
        "Services affected: Payroll → E-mail, Payroll",
        "Workaround: yes: Payslips can be e-mailed on request → no",
        "Teams engaged: Application support → Application support, Database",
    ]
    reordered = payroll_incident(
        answers={**later.answers, "services": ["E-mail", "Payroll"]},
        trgs=["Application support", "Database"],
    )
    assert diff_since(snapshot(later), snapshot(reordered)) == []
