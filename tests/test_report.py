"""`baton report` over a seeded SQLite database, run as the real command; --html in a real Chromium.

The seeded month (March 2026, BATON_INITIAL_PHASE 15 min, weights of docs/domain.md: 42 in all):

  ref  team / agent         T0 (UTC)      first report  accept  TRGs  1st comms  resolved  score
  0001 London  U0LON0001    3 Mar 09:00   08:50 (10)    +2      +5    +10        +120      98
  0002 London  U0LON0002    10 Mar 14:00  13:40 (20)    +4      +12   +20        +90       82
  0003 London  U0LON0001    12 Mar 10:00  stood down (accepted +3): counted, not measured
  0004 Leeds   U0LDS0001    20 Mar 22:00  unknown       +10     -     +14        open      57
  0005 (none)  U0OTHER01    31 Mar 23:30  23:25 (5)     -       -     -          open      93
  DRILL-0001 London U0LON0001 15 Mar 10:00  a drill: no clock, nothing after the handover   58
  0006 London  U0LON0002    28 Feb 23:59:59  before the period (accepted +1)            100

Scores, from the gaps (weight × 1 blank, × 0.5 "unknown"):
  0001: deadline blank (1) → 41/42 = 97.6 → 98 green
  0002: business impact blank (3), started at unknown (1.5), locations blank (2), deadline blank
        (1) → 34.5/42 = 82.1 → 82 amber
  0004: business impact (3), started at (3), trend (2), workaround (2), VIP (2), deadline (1)
        blank; security, users affected, resolver groups unknown (3 × 1.5); first reported
        unknown (0.5) → 24/42 = 57.1 → 57 red
  0005: business impact, started at unknown (2 × 1.5) → 39/42 = 92.9 → 93 green
  DRILL: business impact (3), detection, trend, actions, workaround, VIP (5 × 2), deadline,
        related refs, first reported (3 × 1) blank; started at unknown (1.5) → 24.5/42 = 58.3
        → 58 red
  0003 (stood down): business impact, started at, locations blank → 81 amber, never counted

Updates (P1 every 30 min, P2 every 60): 0001 sends one by 09:40 (on time), is overdue at 10:05
and sends at 10:10 (late); 0002 is overdue at 15:20 and never updates before resolving;
0004 updates at 22:40, due 22:44 (on time).
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pexpect
import pytest

from handover.checklist.quality import assess
from handover.models import Event, Incident
from handover.store.db import Database, migrate
from handover.times import to_iso, utcnow

LONDON_1, LONDON_2, LEEDS, NOBODY = "U0LON0001", "U0LON0002", "U0LDS0001", "U0OTHER01"
CONFIG = f"""
[teams]
"Service desk London" = ["{LONDON_1}", "{LONDON_2}"]
"Service desk Leeds" = ["{LEEDS}"]
"""
MARCH = ("--from", "2026-03-01", "--to", "2026-03-31")


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def mins(n: float) -> timedelta:
    return timedelta(minutes=n)


FULL = {
    "headline": "E-mail down for all staff at head office",
    "services": ["E-mail"],
    "symptoms": "Outlook: cannot connect to server",
    "impact_degree": "full_outage",
    "started_at": {"at": "2026-03-01T08:00:00+00:00", "approximate": True},
    "detection": "user_report",
    "users_affected": "over-1000",
    "user_types": ["staff"],
    "locations": ["Head office"],
    "vip": {"answer": "no", "detail": ""},
    "business_impact": "Nobody can e-mail customers",
    "deadline": "none",
    "trend": "stable",
    "recent_changes": {"answer": "no", "detail": ""},
    "actions_taken": "Restarted the mail client",
    "workaround": {"answer": "no", "detail": ""},
    "resolver_groups": ["Network"],
    "security": {"answer": "no", "detail": ""},
    "related_refs": {"refs": ["INC0000001"], "raw": "INC0000001"},
    "priority": {"value": "P1", "reason": ""},
}
BLANK = {"services": [], "locations": [], "resolver_groups": [], "user_types": []}
UNKNOWN_ANSWER = {
    "services": ["unknown"],
    "resolver_groups": ["unknown"],
    "vip": {"answer": "unknown", "detail": ""},
    "security": {"answer": "unknown", "detail": ""},
}


def answers(
    first_reported: datetime | str | None,
    blank: tuple[str, ...] = (),
    unknown: tuple[str, ...] = (),
) -> dict[str, Any]:
    values = dict(FULL)
    if isinstance(first_reported, datetime):
        values["first_reported_at"] = {"at": to_iso(first_reported), "approximate": False}
    else:
        values["first_reported_at"] = first_reported
    for field_id in blank:
        values[field_id] = BLANK.get(field_id)
    for field_id in unknown:
        values[field_id] = UNKNOWN_ANSWER.get(field_id, "unknown")
    return values


def add_incident(
    s,
    reference: str,
    reporter: str,
    t0: datetime,
    handed_over: dict[str, Any],
    *,
    status: str = "accepted",
    drill: bool = False,
    events: tuple[tuple[str, datetime, dict], ...] = (),
    **times: datetime,
) -> None:
    """An incident as the service and the clock leave it, with its comms events."""
    quality = assess(handed_over)
    year, seq = reference.split("-")[1:]
    incident = Incident(
        reference=reference,
        year=int(year),
        seq=int(seq),
        is_drill=drill,
        headline=handed_over["headline"],
        answers=handed_over,
        handed_over_answers=handed_over,
        priority="P1",
        proposed_priority="P1",
        quality_score=quality.score,
        quality_band=quality.band,
        reporter_id=reporter,
        reporter_team="T0SLACK01",
        status=status,
        handed_over_at=t0,
        mim_channel="C0MIMS0001",
        **times,
    )
    s.add(incident)
    s.flush()
    for kind, when, detail in events:
        s.add(Event(incident_id=incident.id, at=when, actor="U0MIM00001", kind=kind, detail=detail))


def sent(when: datetime, due: datetime) -> tuple[str, datetime, dict]:
    return ("update_sent", when, {"was_due_at": to_iso(due), "on_time": when <= due})


def overdue(due: datetime) -> tuple[str, datetime, dict]:
    return ("update_overdue", due, {"due_at": to_iso(due), "late": False})


def seed_march(url: str) -> None:
    migrate(url)
    db = Database(url)
    with db.session() as s:
        t0 = at(3, 9)
        add_incident(
            s,
            "MI-2026-0001",
            LONDON_1,
            t0,
            answers(t0 - mins(10), blank=("deadline",)),
            status="resolved",
            accepted_at=t0 + mins(2),
            trgs_engaged_at=t0 + mins(5),
            initial_comms_at=t0 + mins(10),
            resolved_at=t0 + mins(120),
            events=(
                sent(at(3, 9, 35), due=at(3, 9, 40)),
                overdue(at(3, 10, 5)),
                sent(at(3, 10, 10), due=at(3, 10, 5)),
            ),
        )
        t0 = at(10, 14)
        add_incident(
            s,
            "MI-2026-0002",
            LONDON_2,
            t0,
            answers(
                t0 - mins(20),
                blank=("business_impact", "locations", "deadline"),
                unknown=("started_at",),
            ),
            status="closed",
            accepted_at=t0 + mins(4),
            trgs_engaged_at=t0 + mins(12),
            initial_comms_at=t0 + mins(20),
            resolved_at=t0 + mins(90),
            events=(overdue(at(10, 15, 20)),),
        )
        t0 = at(12, 10)
        add_incident(
            s,
            "MI-2026-0003",
            LONDON_1,
            t0,
            answers(t0 - mins(1), blank=("business_impact", "started_at", "locations")),
            status="stood_down",
            accepted_at=t0 + mins(3),
        )
        t0 = at(20, 22)
        add_incident(
            s,
            "MI-2026-0004",
            LEEDS,
            t0,
            answers(
                "unknown",
                blank=(
                    "business_impact",
                    "started_at",
                    "trend",
                    "workaround",
                    "vip",
                    "deadline",
                ),
                unknown=("security", "users_affected", "resolver_groups"),
            ),
            accepted_at=t0 + mins(10),
            initial_comms_at=t0 + mins(14),
            events=(sent(at(20, 22, 40), due=at(20, 22, 44)),),
        )
        t0 = at(31, 23, 30)
        add_incident(
            s,
            "MI-2026-0005",
            NOBODY,
            t0,
            answers(t0 - mins(5), unknown=("business_impact", "started_at")),
            status="handed_over",
        )
        add_incident(
            s,
            "DRILL-2026-0001",
            LONDON_1,
            at(15, 10),
            answers(
                None,
                blank=(
                    "business_impact",
                    "detection",
                    "trend",
                    "actions_taken",
                    "workaround",
                    "vip",
                    "deadline",
                    "related_refs",
                ),
                unknown=("started_at",),
            ),
            status="handed_over",
            drill=True,
        )
        t0 = datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC)
        add_incident(
            s,
            "MI-2026-0006",
            LONDON_2,
            t0,
            answers(t0 - mins(3)),
            accepted_at=t0 + mins(1),
        )
    db.dispose()


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "BATON_")) and k not in ("DATABASE_URL", "PORT")
    }
    return {**env, **extra}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "baton.toml").write_text(CONFIG)
    return tmp_path


def baton_report(workdir: Path, *args: str, db: str = "baton.db") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "report", *args],
        env=clean_env(
            DATABASE_URL=f"sqlite:///{workdir / db}", BATON_CONFIG=str(workdir / "baton.toml")
        ),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def march(workdir: Path) -> Path:
    seed_march(f"sqlite:///{workdir / 'baton.db'}")
    return workdir


def squeeze(text: str) -> list[str]:
    """Lines with runs of spaces made one, to compare figures without the alignment."""
    return [re.sub(r" {2,}", " | ", line.strip()) for line in text.splitlines()]


def test_the_terminal_report_gives_the_hand_calculated_figures(march):
    result = baton_report(march, *MARCH)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = squeeze(result.stdout)
    assert lines[:2] == [
        "Baton report: 1 Mar 2026 – 31 Mar 2026 (UTC)",
        # 0001, 0002, 0004, 0005; 0003 stood down; the drill and 0006 (February) left out.
        "Major incidents: 4 | stood down: 1 | drills: 1 left out (--include-drills counts them)",
    ]
    # Scores 57, 82, 93, 98 → median (82 + 93) / 2 = 87.5.
    assert "green 2 | amber 1 | red 1 | median score 87.5" in lines
    # Gaps in 0001, 0002, 0004, 0005: started at (2, 4, 5), business impact (2, 4, 5), deadline
    # (1, 2, 4); then once each, the heavier fields first in checklist order.
    gaps = lines.index("most frequent gaps | incidents")
    assert lines[gaps + 1 : gaps + 6] == [
        "Started at | 3 of 4",
        "Business impact | 3 of 4",
        "Deadline at risk | 3 of 4",
        "Users affected now (estimate) | 1 of 4",
        "Suspected resolver groups | 1 of 4",
    ]
    times = lines.index("times | n | median | 90th pct")
    assert lines[times + 1 : times + 6] == [
        # 5, 10, 20 min (0004 unknown) → median 10; p90 at rank 0.9 × 2 = 1.8: 10 + 0.8 × 10 = 18
        "first report → handover | 3 | 10.0 min | 18.0 min",
        # 2, 4, 10 → median 4; p90: 4 + 0.8 × 6 = 8.8
        "handover → accepted | 3 | 4.0 min | 8.8 min",
        # 5, 12 → median 8.5; p90 at rank 0.9: 5 + 0.9 × 7 = 11.3
        "handover → resolver groups engaged | 2 | 8.5 min | 11.3 min",
        # 10, 14, 20 → median 14; p90: 14 + 0.8 × 6 = 18.8
        "handover → first comms | 3 | 14.0 min | 18.8 min",
        # 90, 120 → median 105 = 1 h 45; p90: 90 + 0.9 × 30 = 117 = 1 h 57
        "handover → resolved | 2 | 1 h 45 min | 1 h 57 min",
    ]
    # Within 15 min: 0001 (10), 0004 (14); missed: 0002 (20), 0005 (never sent, its 15 min over).
    assert "first comms ≤ 15 min: 2/4 (50 %)" in lines
    # Promises: 0001 kept one, broke one (late); 0002 broke one (never sent); 0004 kept one.
    assert "updates on time: 2/4 (50 %)" in lines
    # 0001: 09:10, 09:35, 10:10 → 25 and 35 min; 0004: 22:14, 22:40 → 26 min.
    assert "longest gap between comms: 35.0 min (MI-2026-0001)" in lines


def test_teams_and_agents_group_by_the_configured_teams(march):
    lines = squeeze(baton_report(march, *MARCH).stdout)
    teams = lines.index("By team")
    assert lines[teams + 1 : teams + 3] == [
        "stood | scores | median | median | median | 1st comms | updates | median",
        "team | MIs | down | G/A/R | score | accept | 1st comms | ≤ 15 min | on time | resolve",
    ]
    assert lines[teams + 3 : teams + 6] == [
        # 0001 + 0002 (0003 stood down): scores 98, 82 → 90; accept 2, 4 → 3; comms 10, 20 → 15,
        # one within 15 min; updates 1 of 2 + 0 of 1; resolved 120, 90 → 105.
        "Service desk London | 2 | 1 | 1/1/0 | 90 | 3.0 min | 15.0 min | 1/2 (50 %) | 1/3 (33 %)"
        " | 1 h 45 min",
        "Service desk Leeds | 1 | 0 | 0/0/1 | 57 | 10.0 min | 14.0 min | 1/1 (100 %) | 1/1 (100 %)"
        " | —",
        # U0OTHER01 is in no team. No comms, and its 15 minutes are long over: a miss.
        "unassigned | 1 | 0 | 1/0/0 | 93 | — | — | 0/1 (0 %) | — | —",
    ]
    agents = lines.index("By agent")
    assert lines[agents + 3 :] == [
        "Service desk London",
        "U0LON0001 | 1 | 1 | 1/0/0 | 98 | 2.0 min | 10.0 min | 1/1 (100 %) | 1/2 (50 %)"
        " | 2 h 00 min",
        "U0LON0002 | 1 | 0 | 0/1/0 | 82 | 4.0 min | 20.0 min | 0/1 (0 %) | 0/1 (0 %) | 1 h 30 min",
        "Service desk Leeds",
        "U0LDS0001 | 1 | 0 | 0/0/1 | 57 | 10.0 min | 14.0 min | 1/1 (100 %) | 1/1 (100 %) | —",
        "unassigned",
        "U0OTHER01 | 1 | 0 | 1/0/0 | 93 | — | — | 0/1 (0 %) | — | —",
    ]


def test_drills_count_only_when_asked(march):
    lines = squeeze(baton_report(march, *MARCH, "--include-drills").stdout)
    assert "Major incidents: 5 | stood down: 1 | drills: 1 included" in lines
    # Scores 57, 58, 82, 93, 98 → median 82.
    assert "green 2 | amber 1 | red 2 | median score 82" in lines
    # The drill adds trend, workaround and VIP gaps to 0004's: twice each; VIP comes first.
    gaps = lines.index("most frequent gaps | incidents")
    assert lines[gaps + 1 : gaps + 5] == [
        "Started at | 4 of 5",
        "Business impact | 4 of 5",
        "Deadline at risk | 4 of 5",
        "VIP or critical business process affected | 2 of 5",
    ]
    # A drill has no clock: without comms it is not a miss, so still 2 of 4.
    assert "first comms ≤ 15 min: 2/4 (50 %)" in lines
    teams = lines.index("By team")
    # London: 98, 82 and the drill's 58 → median 82.
    assert lines[teams + 3].startswith("Service desk London | 3 | 1 | 1/1/1 | 82 |")


def test_csv_has_a_row_for_all_each_team_and_each_agent(march, tmp_path):
    result = baton_report(march, *MARCH, "--csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["scope"], r["name"], r["team"]) for r in rows] == [
        ("all", "All", ""),
        ("team", "Service desk London", ""),
        ("team", "Service desk Leeds", ""),
        ("team", "unassigned", ""),
        ("agent", LONDON_1, "Service desk London"),
        ("agent", LONDON_2, "Service desk London"),
        ("agent", LEEDS, "Service desk Leeds"),
        ("agent", NOBODY, "unassigned"),
    ]
    everyone = rows[0]
    assert {k: everyone[k] for k in ("incidents", "stood_down", "drills")} == {
        "incidents": "4",
        "stood_down": "1",
        "drills": "0",
    }
    assert [everyone[b] for b in ("green", "amber", "red", "median_score")] == [
        "2",
        "1",
        "1",
        "87.5",
    ]
    # Minutes, as in the terminal test's calculation.
    assert [everyone[f"to_accept_{k}"] for k in ("n", "median_min", "p90_min")] == ["3", "4", "8.8"]
    assert everyone["report_to_handover_p90_min"] == "18"
    assert everyone["to_trgs_p90_min"] == "11.3"
    assert everyone["to_first_comms_p90_min"] == "18.8"
    assert everyone["to_resolve_median_min"] == "105"
    assert everyone["to_resolve_p90_min"] == "117"
    assert [everyone[k] for k in ("first_comms_in_target", "first_comms_counted")] == ["2", "4"]
    assert everyone["first_comms_in_target_pct"] == "50.0"
    assert [everyone[k] for k in ("updates_on_time", "updates_promised")] == ["2", "4"]
    assert everyone["longest_comms_gap_min"] == "35"
    assert everyone["longest_comms_gap_incident"] == "MI-2026-0001"
    assert everyone["gaps"].startswith("Started at: 3; Business impact: 3; Deadline at risk: 3;")
    # London: 0001 lacks the deadline; 0002 the deadline, started at, business impact, locations.
    assert rows[1]["gaps"] == (
        "Deadline at risk: 2; Started at: 1; Business impact: 1; Locations or sites: 1"
    )
    unassigned = rows[3]
    assert unassigned["to_accept_n"] == "0" and unassigned["to_accept_median_min"] == ""
    assert unassigned["updates_on_time_pct"] == ""

    # --csv FILE: the file gets the same CSV, the terminal the table.
    to_file = baton_report(march, *MARCH, "--csv", str(tmp_path / "march.csv"))
    assert to_file.returncode == 0, to_file.stderr
    assert (tmp_path / "march.csv").read_text() == result.stdout
    assert to_file.stdout.startswith("Baton report: 1 Mar 2026")
    assert to_file.stderr == f"baton: CSV written to {tmp_path / 'march.csv'}\n"


def test_since_counts_back_from_now(workdir):
    url = f"sqlite:///{workdir / 'baton.db'}"
    migrate(url)
    db = Database(url)
    now = utcnow()
    with db.session() as s:
        for seq, days in ((1, 2), (2, 10), (3, 40)):
            t0 = now - timedelta(days=days)
            add_incident(s, f"MI-2026-000{seq}", LEEDS, t0, answers(t0), status="handed_over")
    db.dispose()
    assert "Major incidents: 1 " in baton_report(workdir, "--since", "7d").stdout
    assert "Major incidents: 2 " in baton_report(workdir, "--since", "2w").stdout
    assert "Major incidents: 2 " in baton_report(workdir).stdout  # the default: 30 days
    assert "Major incidents: 0 " in baton_report(workdir, "--since", "24h").stdout


def test_an_empty_database_reports_zero_incidents(workdir):
    result = baton_report(workdir, db="fresh.db")  # does not exist yet: migrated first
    assert result.returncode == 0, result.stderr
    assert "Major incidents: 0 " in result.stdout
    assert "No major incidents were handed over in this period." in result.stdout
    as_csv = baton_report(workdir, "--csv", db="fresh.db")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert rows[0]["scope"] == "all" and rows[0]["incidents"] == "0"
    assert rows[0]["to_accept_median_min"] == ""
    page = baton_report(workdir, "--html", str(workdir / "empty.html"), db="fresh.db")
    assert page.returncode == 0, page.stderr
    assert "No major incidents were handed over" in (workdir / "empty.html").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "3x"), "--since '3x' is not a period; write it like 30d, 2w or 12h"),
        (("--since", "0d"), "--since '0d' is not a period; write it like 30d, 2w or 12h"),
        (
            ("--from", "2026-03-10", "--to", "2026-03-01"),
            "--from 2026-03-10 is after --to 2026-03-01",
        ),
        (("--from", "2026-13-01"), "--from '2026-13-01' is not a date like 2026-03-01"),
        (("--to", "2026-03-01"), "--to needs --from (the first day of the period)"),
        (("--since", "7d", "--from", "2026-03-01"), "give --since or --from/--to, not both"),
        (("--html", "/nonexistent/dir/r.html"), "cannot write /nonexistent/dir/r.html: no folder"),
        (("--html", "."), ". is a folder; give a file name"),
        (("--csv", "/nonexistent/r.csv"), "cannot write /nonexistent/r.csv: no folder"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(workdir, args, message):
    result = baton_report(workdir, *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"baton: {message}")
    assert len(result.stderr.splitlines()) == 1


def test_an_unreachable_database_is_one_line(workdir):
    result = baton_report(workdir, db="/nonexistent/dir/baton.db")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "baton: cannot open the database: OperationalError: (sqlite3.OperationalError) "
        "unable to open database file"
    ]


def test_a_bad_teams_table_is_reported_like_every_other_setting(workdir):
    (workdir / "baton.toml").write_text(
        '[teams]\n"London" = ["U0LON0001", "bob"]\n"Leeds" = ["U0LON0001"]\n'
    )
    result = baton_report(workdir)
    assert result.returncode == 2
    where = f"BATON_CONFIG ({workdir / 'baton.toml'})"
    assert result.stderr.splitlines() == [
        f"baton: {where}: teams: 'bob' in 'London' is not a Slack user ID (U… or W…)",
        f"baton: {where}: teams: 'U0LON0001' is in both 'London' and 'Leeds'",
    ]


def test_progress_shows_on_a_terminal_for_a_large_period(workdir):
    url = f"sqlite:///{workdir / 'baton.db'}"
    migrate(url)
    db = Database(url)
    t0 = utcnow() - timedelta(days=1)
    with db.session() as s:
        for seq in range(1, 502):
            add_incident(s, f"MI-2026-{seq:04d}", LEEDS, t0, FULL, status="handed_over")
    db.dispose()
    quiet = baton_report(workdir, "--csv")  # stderr is a pipe: no progress
    assert quiet.returncode == 0 and quiet.stderr == ""
    env = clean_env(DATABASE_URL=url, BATON_CONFIG=str(workdir / "baton.toml"), COLUMNS="100")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "bot.cli", "report", "--csv", str(workdir / "big.csv")],
        env=env,
        cwd=str(workdir),
        encoding="utf-8",
        timeout=60,
    )
    child.expect("Reading incidents")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert (workdir / "big.csv").read_text().splitlines()[1].startswith("all,All,,501,")


# The page in a real browser ------------------------------------------------------------------

CHROMIUM = next(
    (path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None
)


def chromium(url: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--force-color-profile=srgb",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )


def console_errors(log: str) -> list[str]:
    return [
        line
        for line in log.splitlines()
        if "CONSOLE" in line and ("Uncaught" in line or "Error" in line)
    ]


def png_colours(png: bytes) -> set[tuple[int, ...]]:
    """The distinct colours of an 8-bit RGB or RGBA PNG (what Chromium writes), unfiltered."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data, header = 8, b"", None
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        chunk = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            data += chunk
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0
    bpp = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(data), width * bpp
    previous, colours = bytearray(stride), set()
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        colours.update(tuple(line[i : i + 3]) for i in range(0, stride, bpp))
        previous = line
    return colours


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary: apt-get install -y chromium")
def test_the_html_page_loads_in_chromium_with_its_charts(march, tmp_path):
    page = march / "report.html"
    result = baton_report(march, *MARCH, "--html", str(page))
    assert result.returncode == 0, result.stderr
    html = page.read_text()
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html and "<script" not in html  # self-contained, nothing fetched

    # The scan for console errors finds them: a page with a script error is caught.
    broken = tmp_path / "broken.html"
    broken.write_text("<!doctype html><title>x</title><script>missing();</script>")
    assert console_errors(chromium(broken.as_uri(), tmp_path / "p0", "--dump-dom").stderr)

    dom = chromium(page.as_uri(), tmp_path / "p1", "--dump-dom")
    assert dom.returncode == 0, dom.stderr
    assert console_errors(dom.stderr) == []
    for chart in ("chart-first-comms", "chart-scores", "chart-gaps"):
        assert f'<svg id="{chart}"' in dom.stdout
    trend = dom.stdout.split('id="chart-first-comms"', 1)[1].split("</svg>", 1)[0]
    assert trend.count("<circle") == 3 + 1  # 0001, 0002, 0004, and the legend's
    assert "MI-2026-0002: 20.0 min" in trend
    assert "target 15 min" in trend
    assert "Service desk London" in dom.stdout

    shot = tmp_path / "report.png"
    grab = chromium(
        page.as_uri(), tmp_path / "p2", f"--screenshot={shot}", "--window-size=1200,1600"
    )
    assert grab.returncode == 0, grab.stderr
    assert console_errors(grab.stderr) == []
    colours = png_colours(shot.read_bytes())
    assert len(colours) > 50  # text, charts and tables, not a blank page
    # The score bars, drawn in the bands' colours.
    assert {(0x2E, 0x7D, 0x32), (0xE0, 0xA0, 0x00), (0xC6, 0x28, 0x28)} <= colours
