"""Catalogues of any size: over Slack's 100 options a menu becomes a type-ahead search that Baton
answers (block_suggestion), an entry Slack cannot show is refused by `baton check`, and what
the modal's state says (or does not say) is read right for every kind of menu."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AGENT, MIM
from tests.fake_slack import TEAM
from tests.flows import (
    STEP1,
    STEP2,
    STEP3,
    card_message,
    click,
    incident,
    open_checklist,
    open_modal,
    wait_until,
)
from tests.slack_user import Reply, fill, view_payload

ROOT = Path(__file__).resolve().parents[1]
SERVICES = [f"Line-of-business application {n:03d}" for n in range(1, 148)] + [
    "E-mail",
    "Payroll",
    "Payroll archive",
]
SITES = [f"Branch office {n:03d}" for n in range(1, 121)] + ["Head office"]
EXTERNAL = ("external_select", "multi_external_select")


@pytest.fixture
def large_catalogue(env, tmp_path, monkeypatch) -> None:
    path = tmp_path / "baton.toml"
    path.write_text(f"services = {json.dumps(SERVICES)}\nsites = {json.dumps(SITES)}\n")
    monkeypatch.setenv("BATON_CONFIG", str(path))


def element(view: dict, block: str) -> dict:
    return next(b for b in view["blocks"] if b.get("block_id") == block)["element"]


def suggest(baton, view: dict, block: str, typed: str, user: str = AGENT) -> list[dict]:
    """What Slack asks when someone opens (or types in) the type-ahead menu of `block`: a
    signed block_suggestion request, as in bolt-python's tests/scenario_tests."""
    payload = {
        "type": "block_suggestion",
        "user": {"id": user},
        "team": {"id": TEAM},
        "api_app_id": "A0000BATON",
        "container": {"type": "view", "view_id": view.get("id", "V0000000001")},
        "action_id": element(view, block)["action_id"],
        "block_id": block,
        "value": typed,
        "view": {**view, "state": {"values": {}}},
    }
    reply = baton.slack.interaction(payload)
    assert reply.status == 200, reply.body
    options = reply.json()["options"]
    assert len(options) <= 100
    for option in options:
        assert len(option["text"]["text"]) <= 75 and option["text"]["type"] == "plain_text"
    return options


def labels(options: list[dict]) -> list[str]:
    return [o["text"]["text"] for o in options]


def fill_any(view: dict, answers: dict[str, Any]) -> dict:
    """`fill` for views with type-ahead menus too: for those, an answer is the list of options
    (or one option) the person picked from what `suggest` offered."""
    external = {
        b["block_id"]: b["element"]
        for b in view["blocks"]
        if b.get("type") == "input" and b["element"]["type"] in EXTERNAL
    }
    rest = {**view, "blocks": [b for b in view["blocks"] if b.get("block_id") not in external]}
    state = fill(rest, {k: v for k, v in answers.items() if k not in external})
    for block, el in external.items():
        given = answers.get(block, ...)
        if el["type"] == "multi_external_select":
            chosen = (el.get("initial_options") or []) if given is ... else given
            entry = {"type": el["type"], "selected_options": chosen}
        else:
            chosen = el.get("initial_option") if given is ... else given
            entry = {"type": el["type"], "selected_option": chosen}
        state[block] = {el["action_id"]: entry}
    return state


def send(baton, view: dict, answers: dict, user: str = AGENT) -> Reply:
    reply = baton.slack.submit_view(user, view, fill_any(view, answers))
    assert reply.status == 200, reply.body
    return reply


@pytest.mark.usefixtures("large_catalogue")
def test_a_catalogue_of_150_is_a_type_ahead_search_and_the_handover_completes(baton):
    view = open_checklist(baton, "Payroll run cannot start")  # the fake refuses over 100 options
    services = element(view, "f:services")
    assert services["type"] == "multi_external_select" and "options" not in services
    assert services["min_query_length"] in (0, 1)

    # Opened with nothing typed: "Unknown" (always a fine answer) first, then the catalogue.
    offered = labels(suggest(baton, view, "f:services", ""))
    assert offered[0] == "Unknown" and len(offered) == 100
    # Typed: the entries containing it, in any case.
    found = suggest(baton, view, "f:services", "PAYROLL")
    assert labels(found) == ["Unknown", "Payroll", "Payroll archive"]
    assert labels(suggest(baton, view, "f:services", "no such thing")) == ["Unknown"]
    payroll = [o for o in found if o["value"] == "Payroll"]

    # Closed after choosing: the resumed step shows the choice as chosen.
    baton.slack.close_view(AGENT, view, fill_any(view, {**STEP1, "f:services": payroll}))
    baton.slack.command(AGENT, "resume")
    resumed = baton.fake.wait_for("views.open", count=2)[-1].args["view"]
    assert element(resumed, "f:services")["initial_options"] == payroll

    step2 = send(baton, resumed, {**STEP1, "f:services": payroll}).json()["view"]
    sites = element(step2, "f:locations")
    assert sites["type"] == "multi_external_select"
    offered = suggest(baton, step2, "f:locations", "head")
    assert labels(offered) == ["All", "Unknown", "Head office"]
    head = [o for o in offered if o["value"] == "Head office"]
    step3 = send(baton, step2, {**STEP2, "f:locations": head}).json()["view"]
    review = send(baton, step3, STEP3).json()["view"]
    done = send(baton, review, {}).json()
    assert done["response_action"] == "update"

    assert incident(baton).answers["services"] == ["Payroll"]
    assert incident(baton).answers["locations"] == ["Head office"]
    card = card_message(baton.fake)
    assert "*Services*\\nPayroll" in json.dumps(card["blocks"])

    # Fill a gap offers the same search, and reads its answer the same way.
    click(baton.slack, MIM, card, "incident_accept")
    wait_until(lambda: "incident_fill_gap" in json.dumps(card_message(baton.fake)["blocks"]))
    pick = open_modal(baton, MIM, card_message(baton.fake), "incident_fill_gap")
    gap = send(baton, pick, {"field": "services"}, MIM).json()["view"]
    assert element(gap, "f:services")["initial_options"] == payroll
    email = [o for o in suggest(baton, gap, "f:services", "e-mail", MIM) if o["value"] == "E-mail"]
    assert send(baton, gap, {"f:services": [*payroll, *email]}, MIM).body == ""
    assert incident(baton).answers["services"] == ["Payroll", "E-mail"]


def test_small_catalogues_keep_their_static_menus(baton):
    view = open_checklist(baton)
    services = element(view, "f:services")
    assert services["type"] == "multi_static_select"
    assert [o["value"] for o in services["options"]][-1] == "unknown"


# Reading the modal's state ------------------------------------------------------------------


def test_a_view_closed_without_state_keeps_the_saved_answers(baton):
    view = open_checklist(baton)
    step2 = send(baton, view, STEP1).json()["view"]
    # Step 2 is half answered and closed: what was typed is kept.
    half = {"f:users_affected": "over-1000", "f:business_impact": "Nobody can e-mail customers."}
    baton.slack.close_view(AGENT, step2, fill(step2, half))
    # Slack may then send a view_closed whose state is empty (bolt-python's captured payload
    # has "state": {"values": {}}): no block sent is no answer given, never answers cleared.
    empty = view_payload(AGENT, step2, {}, "view_closed")
    assert baton.slack.interaction(empty).status == 200
    time.sleep(0.5)  # the view_closed is saved after its ack

    baton.slack.command(AGENT, "resume")
    resumed = baton.fake.wait_for("views.open", count=2)[-1].args["view"]
    assert resumed["title"]["text"] == "Major incident 2/4"
    assert element(resumed, "f:users_affected")["initial_option"]["value"] == "over-1000"
    assert element(resumed, "f:business_impact")["initial_value"] == half["f:business_impact"]
    answers = baton.handovers.latest_open_draft(AGENT).answers
    assert answers["headline"] == STEP1["f:headline"] and answers["services"] == ["E-mail"]


def test_a_submission_still_clears_what_the_person_emptied(baton):
    """Slack sends every input block on submission, empty ones with a null value: those are
    answers (blank), unlike a block that is not there at all."""
    view = open_checklist(baton)
    step2 = send(baton, view, STEP1).json()["view"]
    baton.slack.close_view(AGENT, step2, fill(step2, {"f:business_impact": "Orders stuck."}))
    baton.slack.command(AGENT, "resume")
    resumed = baton.fake.wait_for("views.open", count=2)[-1].args["view"]
    send(baton, resumed, {"f:business_impact": None})
    assert baton.handovers.latest_open_draft(AGENT).answers["business_impact"] == ""


# `baton check` -----------------------------------------------------------------------------


def baton_check(tmp_path: Path, config: str) -> subprocess.CompletedProcess:
    path = tmp_path / "baton.toml"
    path.write_text(config)
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "BATON_")) and k not in ("DATABASE_URL", "PORT")
    }
    env = {  # no SLACK_BOT_TOKEN: `baton check` then checks all but Slack itself
        **clean,
        "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
        "BATON_MIM_CHANNEL": "C0MIMS0001",
        "BATON_STAKEHOLDER_CHANNEL": "C0STAKE001",
        "BATON_CONFIG": str(path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "check"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_baton_check_names_a_catalogue_entry_slack_cannot_show(tmp_path):
    long_site = "Regional distribution centre, north-east, building 7, loading bays 1 to 12"
    long_site += "!" * (76 - len(long_site))
    assert len(long_site) == 76
    long_group = "G" * 80
    result = baton_check(
        tmp_path,
        f"services = {json.dumps(SERVICES)}\n"  # 150 entries is fine: a type-ahead search
        f"sites = {json.dumps(['Head office', long_site])}\n"
        f"resolver_groups = {json.dumps(['Network', long_group])}\n",
    )
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    where = f"baton: BATON_CONFIG ({tmp_path / 'baton.toml'})"
    assert lines == [
        f"{where}: 'resolver_groups' entry '{long_group}' is 80 characters long; Slack shows "
        "at most 75 in a menu, so shorten it",
        f"{where}: 'sites' entry '{long_site}' is 76 characters long; Slack shows at most 75 "
        "in a menu, so shorten it",
    ]


def test_baton_check_takes_a_catalogue_of_150_entries_of_75_characters(tmp_path):
    services = [f"{n:03d} " + "s" * 71 for n in range(150)]
    result = baton_check(tmp_path, f"services = {json.dumps(services)}\n")
    assert result.returncode == 0, result.stderr
    assert "services: 150" in result.stdout


@pytest.fixture
def many_groups(env, tmp_path, monkeypatch) -> list[str]:
    groups = [f"Resolver team {n:03d}" for n in range(1, 150)] + ["Network"]
    path = tmp_path / "baton.toml"
    path.write_text(f"resolver_groups = {json.dumps(groups)}\n")
    monkeypatch.setenv("BATON_CONFIG", str(path))
    return groups


@pytest.mark.usefixtures("many_groups")
def test_engage_with_150_resolver_groups_is_a_type_ahead_search(baton):
    view = open_checklist(baton, "E-mail down for everyone")
    view = send(baton, view, STEP1).json()["view"]
    view = send(baton, view, STEP2).json()["view"]
    network = {"text": {"type": "plain_text", "text": "Network"}, "value": "Network"}
    view = send(baton, view, {**STEP3, "f:resolver_groups": [network]}).json()["view"]
    send(baton, view, {})
    card = card_message(baton.fake)
    click(baton.slack, MIM, card, "incident_accept")
    wait_until(lambda: "Engage & send" in str(card_message(baton.fake)["blocks"]))
    form = open_modal(baton, MIM, card_message(baton.fake), "incident_engage")  # not refused
    groups = element(form, "groups")
    assert groups["type"] == "multi_external_select"
    assert [o["value"] for o in groups["initial_options"]] == ["Network"]  # what was suspected
    found = suggest(baton, form, "groups", "team 01", user=MIM)
    assert labels(found) == [f"Resolver team {n:03d}" for n in range(10, 20)]
    reply = send(baton, form, {"groups": found[:1]}, user=MIM)
    assert reply.body == ""
    wait_until(lambda: incident(baton).trgs == [found[0]["value"]])
