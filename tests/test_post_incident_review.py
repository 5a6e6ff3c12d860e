"""The post-incident review: drafted on close as Markdown, uploaded in the card's thread (or
posted as text where the workspace takes no files from Baton), and written by `baton review`.
The review of a seeded incident matches a snapshot a person has read (tests/snapshots)."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

from bot.review import review_markdown
from bot.slack.mrkdwn import SLACK
from handover.checklist.definition import STEPS
from handover.comms.notices import Notices
from handover.handovers import Handovers
from handover.models import Incident
from handover.ownership.incidents import Incidents
from handover.reporting.review import gather
from handover.settings import load_settings
from handover.store.db import Database, migrate
from handover.times import parse_time
from handover.vocabulary import NoticeKind
from tests.conftest import AGENT, MIM, MIM2, MIM_CHANNEL, STAKEHOLDER_CHANNEL
from tests.flows import card_message, click, open_modal, submit_modal
from tests.test_card import accept_and_open, hand_over, latest_card
from tests.test_cli import baton as baton_cli
from tests.test_comms import AT, payroll_incident

SNAPSHOT = Path(__file__).parent / "snapshots" / "review.md"
# Read at import: the `env` fixture clears every BATON_ variable before the test runs.
UPDATE = bool(os.environ.get("BATON_UPDATE_SNAPSHOTS"))


def seed(db_url: str) -> tuple[Database, str]:
    """A closed P2 incident, every step at a fixed time: handed over 09:00, accepted 09:03,
    groups engaged 09:06, initial notice 09:18 (late), a gap filled, resolved 10:05, closed."""
    settings = load_settings(env_file=None)
    migrate(db_url)
    db = Database(db_url)
    at = [AT]

    def now():
        return at[0]

    handovers, incidents = Handovers(db, settings, now), Incidents(db, settings, now)
    notices = Notices(db, settings, now)
    stored = {**payroll_incident().answers, "trend": "unknown", "contact_phone": "0123 456"}
    # What a front end hands in: times as datetimes (the record keeps them as ISO text).
    answers = {
        k: {**v, "at": parse_time(v["at"])} if isinstance(v, dict) and "at" in v else v
        for k, v in stored.items()
    }
    draft = handovers.start_draft(AGENT, "T0000TEAM1", MIM_CHANNEL)
    for step in STEPS[:-1]:
        assert handovers.save_step(draft.id, AGENT, step.id, answers).errors == {}
    incident = handovers.submit(draft.id, AGENT, {"contact_phone": "0123 456"}).incident
    assert incident is not None

    def later(minutes: int) -> None:
        at[0] = AT + timedelta(minutes=minutes)

    later(3)
    assert incidents.accept(incident.id, MIM).ok
    later(6)
    assert incidents.engage(incident.id, MIM, ["Application support", "Database"]).ok
    later(18)
    initial = notices.current_draft(incident.id, NoticeKind.INITIAL)
    assert initial is not None
    notices.render(initial.id, SLACK)  # as its draft in the thread was shown
    assert notices.send(initial.id, MIM, STAKEHOLDER_CHANNEL).ok
    notices.published(initial.id, "1700000000.000100")
    later(25)
    assert incidents.fill_gap(incident.id, MIM, "trend", "worsening").ok
    later(40)
    assert incidents.hand_on(incident.id, MIM, MIM2).ok
    later(65)
    assert incidents.resolve(incident.id, MIM2, AT + timedelta(minutes=62)).ok
    later(80)
    assert incidents.close(incident.id, MIM2).ok
    return db, incident.reference


def check_snapshot(text: str) -> None:
    if UPDATE:
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert text == SNAPSHOT.read_text(encoding="utf-8"), "the review differs from its snapshot"


def test_the_review_of_a_seeded_incident_matches_its_reviewed_snapshot(env, db_url):
    db, _ = seed(db_url)
    settings = load_settings(env_file=None)
    with db.session() as s:
        incident = s.query(Incident).one()
        text = review_markdown(gather(s, incident, timedelta(minutes=15)), settings)
    check_snapshot(text)
    for heading in ("## Key durations", "## Timeline", "## Comms sent", "## Root cause"):
        assert heading in text
    assert "| initial comms sent | 18 min | missed, by 3 min |" in text
    assert "- Trend: unknown → Worsening" in text


def test_baton_review_prints_and_writes_it(env, db_url, tmp_path):
    db, reference = seed(db_url)
    db.dispose()
    environment = {"DATABASE_URL": db_url}
    printed = baton_cli("review", reference.lower(), env=environment, cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == SNAPSHOT.read_text(encoding="utf-8")
    out = tmp_path / "review.md"
    wrote = baton_cli("review", reference, "--output", str(out), env=environment, cwd=tmp_path)
    assert wrote.returncode == 0 and f"Wrote the review of {reference} to {out}." in wrote.stdout
    assert out.read_text(encoding="utf-8") == printed.stdout
    missing = baton_cli("review", "MI-1999-0042", env=environment, cwd=tmp_path)
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.strip() == f"baton: no incident MI-1999-0042 in the database at {db_url}"
    # Pointed at a database that is not Baton's, it says so (and migrates nothing there).
    empty = {"DATABASE_URL": f"sqlite:///{tmp_path}/other.db"}
    elsewhere = baton_cli("review", reference, env=empty, cwd=tmp_path)
    assert elsewhere.returncode == 2 and "cannot read incidents from sqlite:///" in elsewhere.stderr


def close(baton) -> dict:
    card = hand_over(baton)
    form = accept_and_open(baton, card)
    assert submit_modal(baton, MIM, form, {}).status == 200
    card = latest_card(baton, "initial comms sent (")
    view = open_modal(baton, MIM, card, "incident_resolve")
    submit_modal(baton, MIM, view, {})
    card = latest_card(baton, "*Resolved*")
    assert click(baton.slack, MIM, card, "incident_close").status == 200
    return card


def test_closing_uploads_the_review_in_the_thread(baton):
    card = close(baton)
    done = baton.fake.wait_for("files.completeUploadExternal")[0]
    assert done.result["ok"] and done.args["thread_ts"] == card["ts"]
    assert json.loads(done.args["files"])[0]["title"].startswith("Post-incident review: MI-")
    [stored] = baton.fake.files.values()
    assert stored["name"].endswith("-review.md")
    content = stored["content"].decode()
    assert content.startswith("# Post-incident review: MI-") and "## Follow-up actions" in content
    [line] = [m for m in baton.fake.messages[MIM_CHANNEL] if m.get("files")]
    assert line["thread_ts"] == card["ts"] and "Post-incident review draft" in line["text"]


def test_without_files_the_review_is_posted_as_text(baton):
    baton.fake.scopes.remove("files:write")
    card = close(baton)
    posted = baton.fake.wait_for(
        "chat.postMessage",
        where=lambda a: (
            a.get("thread_ts") == card["ts"] and "Post-incident review draft" in a["text"]
        ),
    )[0]
    text = posted.args["text"]
    assert "# Post-incident review: MI-" in text and len(text) <= 3000
    assert text.count("```") == 2 and text.endswith("-0001`.")  # the fence closes, then where
    # to read it whole
    assert baton.fake.files == {}
    assert card_message(baton.fake)  # the card is still there, closed
