"""The domain core without any framework: checklist validation, priority, quality, durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handover.checklist import answers
from handover.checklist.definition import FIELDS, STEPS, step
from handover.checklist.priority import priority_for, propose
from handover.checklist.quality import assess, band
from handover.settings import OrgConfig
from handover.times import humanize, parse_duration

ORG = OrgConfig()
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("impact", "urgency", "expected"),
    [
        ("high", "high", "P1"),
        ("high", "medium", "P1"),
        ("high", "low", "P2"),
        ("medium", "high", "P2"),
        ("medium", "medium", "P3"),
        ("medium", "low", "P4"),
        ("low", "high", "P3"),
        ("low", "medium", "P4"),
        ("low", "low", "P4"),
    ],
)
def test_priority_matrix_is_domain_md(impact, urgency, expected):
    assert priority_for(impact, urgency) == expected


def test_proposal_explains_itself():
    values = {
        "users_affected": "everyone",
        "workaround": {"answer": "no", "detail": ""},
        "trend": "worsening",
    }
    p = propose(values)
    assert (p.priority, p.impact, p.urgency) == ("P1", "high", "high")
    assert (
        p.explanation == "impact high, urgency high (everyone affected; no workaround; worsening)"
    )


def test_data_at_risk_makes_impact_high():
    p = propose(
        {
            "security": {"answer": "yes", "detail": "odd logins"},
            "workaround": {"answer": "yes", "detail": "x"},
            "trend": "stable",
        }
    )
    assert (p.impact, p.urgency, p.priority) == ("high", "low", "P2")


def full_answers() -> dict:
    return {
        "headline": "E-mail down for all staff",
        "services": ["E-mail"],
        "symptoms": "Cannot connect",
        "impact_degree": "full_outage",
        "started_at": {"at": "2026-11-22T11:00:00+00:00", "approximate": True},
        "first_reported_at": {"at": "2026-11-22T11:10:00+00:00", "approximate": False},
        "detection": "user_report",
        "users_affected": "over-1000",
        "user_types": ["staff"],
        "locations": ["all"],
        "vip": {"answer": "no", "detail": ""},
        "business_impact": "No customer e-mail",
        "deadline": "none",
        "trend": "stable",
        "recent_changes": {"answer": "no", "detail": ""},
        "actions_taken": "none",
        "workaround": {"answer": "no", "detail": ""},
        "resolver_groups": ["Network"],
        "security": {"answer": "no", "detail": ""},
        "related_refs": {"refs": ["INC1"], "raw": "INC1"},
    }


def test_complete_handover_scores_100_green():
    q = assess(full_answers())
    assert (q.score, q.band, q.gaps) == (100, "green", ())


def test_score_is_weighted_completeness():
    values = full_answers()
    values["services"] = ["unknown"]  # weight 3 × 0.5
    values["business_impact"] = "tbc"  # weight 3 × 0 (a placeholder)
    del values["related_refs"]  # weight 1 × 0 (blank)
    # Σ weights: 7 fields × 3 + 8 × 2 + 5 × 1 = 42; lost: 1.5 + 3 + 1 = 5.5 → 36.5 / 42 = 86.9 %.
    q = assess(values)
    assert q.score == 87 and q.band == "green"
    assert [(g.field_id, g.answer) for g in q.gaps] == [
        ("services", "unknown"),
        ("business_impact", "blank"),
        ("related_refs", "blank"),
    ]
    assert [g.field_id for g in q.critical_gaps] == ["services"]


def test_weights_follow_domain_md():
    weights = {f.id: f.weight for s in STEPS for f in s.fields if f.weight}
    assert {k for k, w in weights.items() if w == 3} == {
        "services",
        "symptoms",
        "business_impact",
        "users_affected",
        "started_at",
        "security",
        "resolver_groups",
    }
    assert {k for k, w in weights.items() if w == 2} == {
        "locations",
        "user_types",
        "detection",
        "recent_changes",
        "actions_taken",
        "workaround",
        "trend",
        "vip",
    }
    assert sum(weights.values()) == 42


@pytest.mark.parametrize(
    ("score", "expected"), [(85, "green"), (84, "amber"), (60, "amber"), (59, "red")]
)
def test_bands(score, expected):
    assert band(score) == expected


def test_only_the_minimal_core_is_required():
    assert {f.id for s in STEPS for f in s.fields if f.required} == {
        "headline",
        "services",
        "symptoms",
    }
    errors = answers.validate(step("what"), {}, ORG, NOW)
    assert set(errors) == {"headline", "services", "symptoms"}
    assert errors["services"] == 'This is needed to hand over. "Unknown" is fine.'


def test_time_rules():
    what = step("what")
    future = {"started_at": answers.parse(FIELDS["started_at"], {"at": NOW + timedelta(hours=1)})}
    assert answers.validate(what, future, ORG, NOW)["started_at"] == "This cannot be in the future."
    within_skew = {
        "started_at": answers.parse(FIELDS["started_at"], {"at": NOW + timedelta(seconds=30)})
    }
    assert "started_at" not in answers.validate(what, within_skew, ORG, NOW)
    who = step("who")
    past_deadline = {
        "deadline": answers.parse(FIELDS["deadline"], {"at": NOW - timedelta(hours=1)})
    }
    assert answers.validate(who, past_deadline, ORG, NOW)["deadline"] == (
        "A deadline at risk must be in the future."
    )


def test_refs_are_deduplicated_and_checked_against_the_pattern():
    f = FIELDS["related_refs"]
    value = answers.parse(f, "INC0012345, INC0012345 ; PRB-77")
    assert value["refs"] == ["INC0012345", "PRB-77"]
    assert answers.validate_field(f, value, ORG, NOW) is None
    custom = OrgConfig(ticket_pattern=r"INC\d{7}")
    assert answers.validate_field(f, value, custom, NOW) == (
        "Not a ticket reference: PRB-77 (expected something like INC0012345)."
    )
    assert answers.parse(f, "None") == {"refs": [], "raw": "None"}


def test_typed_unknown_counts_as_unknown():
    assert answers.parse(FIELDS["business_impact"], " Unknown ") == "unknown"
    assert answers.parse(FIELDS["services"], ["unknown", "E-mail"]) == ["E-mail"]
    assert answers.parse(FIELDS["locations"], ["all", "Head office"]) == ["all"]


def test_durations():
    assert parse_duration("15m") == timedelta(minutes=15)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("3s") == timedelta(seconds=3)
    for bad in ("", "15", "m", "-5m", "0s", "15 minutes"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert humanize(timedelta(seconds=720)) == "12 min"
    assert humanize(timedelta(minutes=65)) == "1 h 5 min"
    assert humanize(timedelta(seconds=40)) == "40 s"


def test_what_users_see_cannot_be_unknown():
    # The minimal core: "unknown" is fine everywhere else, but not as the headline or symptoms.
    what = step("what")
    values = {
        "headline": answers.parse(FIELDS["headline"], "unknown"),
        "symptoms": answers.parse(FIELDS["symptoms"], "Unknown"),
    }
    errors = answers.validate(what, values, ORG, NOW)
    assert errors["headline"] == (
        'This is needed to hand over, in plain words: "unknown" does not say it.'
    )
    assert errors["symptoms"] == (
        'This is needed to hand over, in plain words: "Unknown" does not say it.'
    )
    tbc = {"symptoms": answers.parse(FIELDS["symptoms"], "TBC")}
    assert "does not say it" in answers.validate(what, tbc, ORG, NOW)["symptoms"]
