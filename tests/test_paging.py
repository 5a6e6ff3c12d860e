"""Engaging pages the resolver groups for real: PagerDuty and Opsgenie over real HTTP on
127.0.0.1 (tests/fake_pagers.py), through the outbox. Signed requests into the real app, the
fake Slack, the real database and scheduler."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request

import pytest

from handover.models import Event
from handover.settings import ConfigError, load_settings
from tests.conftest import MIM
from tests.fake_pagers import Failure, FakePagers
from tests.flows import card_message, open_modal, submit_modal, texts, wait_until
from tests.test_card import accept_and_open, hand_over, latest_card
from tests.test_cli import baton as baton_cli

# PagerDuty integration keys: 32 letters and digits.
NETWORK_KEY = "R0NETWORK".ljust(32, "1")
SERVERS_KEY = "R0SERVERS".ljust(32, "2")
BAD_KEY = "R0WRONG".ljust(32, "9")  # well formed, but PagerDuty has no such integration


@pytest.fixture
def pagers():
    fake = FakePagers(routing_keys={NETWORK_KEY, SERVERS_KEY})
    fake.start()
    yield fake
    fake.stop()


def config(tmp_path, monkeypatch, pagers: FakePagers, servers_key: str = SERVERS_KEY) -> None:
    path = tmp_path / "baton.toml"
    path.write_text(
        f"""
[resolver_groups.Network]
usergroup = "S0NET00001"
pagerduty_routing_key = "{NETWORK_KEY}"

[resolver_groups."Servers and cloud"]
pagerduty_routing_key = "{servers_key}"
opsgenie_team = "servers"

[resolver_groups."Service desk"]
"""
    )
    monkeypatch.setenv("BATON_CONFIG", str(path))
    monkeypatch.setenv("PAGERDUTY_EVENTS_URL", pagers.events_url)
    monkeypatch.setenv("OPSGENIE_API_URL", pagers.url)
    monkeypatch.setenv("OPSGENIE_API_KEY", pagers.opsgenie_key)


@pytest.fixture
def paging(env, tmp_path, monkeypatch, pagers):
    config(tmp_path, monkeypatch, pagers)


@pytest.fixture
def wrong_key(env, tmp_path, monkeypatch, pagers):
    config(tmp_path, monkeypatch, pagers, servers_key=BAD_KEY)


def engage(baton, groups: list[str]) -> dict:
    """Accept, then Engage & send with `groups`: the card afterwards."""
    card = hand_over(baton)
    form = accept_and_open(baton, card)
    assert submit_modal(baton, MIM, form, {"groups": groups}).status == 200
    return card


def triggers(pagers: FakePagers) -> list[dict]:
    return [r.body for r in pagers.to("pagerduty") if r.body.get("event_action") == "trigger"]


def thread(baton, card: dict, contains: str, timeout: float = 10) -> str:
    wait_until(lambda: any(contains in t for t in baton.fake.thread(card["ts"])), timeout)
    return next(t for t in baton.fake.thread(card["ts"]) if contains in t)


@pytest.mark.usefixtures("paging")
def test_engaging_pages_each_group_once_through_its_pagers(baton, pagers):
    card = engage(baton, ["Network", "Servers and cloud", "Service desk"])
    wait_until(lambda: len(pagers.pagerduty_alerts) == 2 and pagers.opsgenie_alerts)
    reference = card_message(baton.fake)["text"].split(" ")[0]
    network = next(e for e in triggers(pagers) if e["routing_key"] == NETWORK_KEY)
    assert network["dedup_key"] == f"{reference}/Network"
    assert network["payload"]["summary"] == "P1 · E-mail down for all staff at head office"
    assert network["payload"]["severity"] == "critical"
    details = network["payload"]["custom_details"]
    assert details["Services"] == "E-mail" and details["priority"] == "P1"
    assert details["handover card"].startswith("https://") and network["links"]
    [alert] = [r.body for r in pagers.to("opsgenie")]
    assert alert["alias"] == f"{reference}/Servers and cloud"
    assert alert["responders"] == [{"type": "team", "name": "servers"}]
    assert alert["priority"] == "P1"
    # The thread says who was paged, through what; a group without a pager is only recorded.
    assert thread(baton, card, "*Network* paged through PagerDuty")
    thread(baton, card, "*Servers and cloud* paged through Opsgenie")
    thread(baton, card, "*Servers and cloud* paged through PagerDuty")
    time.sleep(0.5)
    assert len(triggers(pagers)) == 2 and len(pagers.to("opsgenie")) == 1
    with baton.db.session() as s:
        paged = [
            (e.detail["group"], e.detail["pager"]) for e in s.query(Event).filter_by(kind="paged")
        ]
    assert sorted(paged) == [
        ("Network", "pagerduty"),
        ("Servers and cloud", "opsgenie"),
        ("Servers and cloud", "pagerduty"),
    ]
    timeline = baton.slack.command(MIM, f"timeline {reference}").text
    assert "paged Network (pagerduty)" in timeline


@pytest.mark.usefixtures("paging")
def test_a_rate_limited_page_is_sent_again_after_retry_after_and_counted_once(baton, pagers):
    pagers.fail("pagerduty", Failure(429, retry_after=2))
    started = time.time()
    card = engage(baton, ["Network"])
    thread(baton, card, "*Network* paged through PagerDuty", timeout=15)
    sent = [r for r in pagers.to("pagerduty")]
    assert [r.status for r in sent] == [429, 202]
    assert sent[1].at - sent[0].at >= 2  # Retry-After honoured
    assert time.time() - started < 15
    assert list(pagers.pagerduty_alerts.values()) == ["triggered"]


@pytest.mark.usefixtures("paging")
def test_a_server_error_is_retried_and_the_dedup_key_makes_a_repeat_harmless(baton, pagers):
    pagers.fail("pagerduty", Failure(500), Failure(503))
    card = engage(baton, ["Network"])
    thread(baton, card, "*Network* paged through PagerDuty", timeout=20)
    keys = {r.body["dedup_key"] for r in pagers.to("pagerduty")}
    assert len(keys) == 1 and len(pagers.pagerduty_alerts) == 1


@pytest.mark.usefixtures("wrong_key")
def test_a_refused_routing_key_is_told_to_the_owner_in_the_thread(baton, pagers):
    card = engage(baton, ["Servers and cloud"])
    said = thread(baton, card, "was NOT paged")
    assert said.startswith(f":x: <@{MIM}> *Servers and cloud* was NOT paged: PagerDuty refused")
    assert "Invalid routing key" in said and "Call them another way now" in said
    assert BAD_KEY not in said  # a secret never reaches a message
    # Opsgenie still has it: one pager's refusal does not stop the other.
    thread(baton, card, "*Servers and cloud* paged through Opsgenie")
    time.sleep(1.5)
    assert len(pagers.to("pagerduty")) == 1  # refused for good: not retried
    listed = baton_cli("outbox", env={"DATABASE_URL": baton.settings.database_url})
    assert "Servers and cloud (pagerduty)" in listed.stdout and BAD_KEY not in listed.stdout
    # Resolving closes what was paged, and leaves the refused page alone.
    card = latest_card(baton, "initial comms sent (")
    view = open_modal(baton, MIM, card, "incident_resolve")
    submit_modal(baton, MIM, view, {})
    wait_until(lambda: set(pagers.opsgenie_alerts.values()) == {"closed"})
    time.sleep(1)
    assert len(pagers.to("pagerduty")) == 1


@pytest.mark.usefixtures("paging")
def test_resolving_resolves_every_page(baton, pagers):
    card = engage(baton, ["Network", "Servers and cloud"])
    thread(baton, card, "*Network* paged through PagerDuty")
    thread(baton, card, "*Servers and cloud* paged through Opsgenie")
    card = latest_card(baton, "initial comms sent (")
    view = open_modal(baton, MIM, card, "incident_resolve")
    submit_modal(baton, MIM, view, {})
    wait_until(lambda: set(pagers.pagerduty_alerts.values()) == {"resolved"})
    wait_until(lambda: set(pagers.opsgenie_alerts.values()) == {"closed"})
    resolves = [r.body for r in pagers.to("pagerduty") if r.body["event_action"] == "resolve"]
    assert len(resolves) == 2 and all("payload" not in r for r in resolves)
    thread(baton, card, "PagerDuty told that")


def test_without_pagers_configured_engaging_pages_nobody(baton, pagers):
    engage(baton, ["Network"])
    wait_until(lambda: "resolver groups engaged (" in texts(card_message(baton.fake)["blocks"]))
    time.sleep(0.5)
    assert pagers.requests == []


WEBHOOK_SECRET = "pd-webhook-secret-0123456789"


@pytest.fixture
def webhooks(env, tmp_path, monkeypatch, pagers):
    config(tmp_path, monkeypatch, pagers)
    monkeypatch.setenv("PAGERDUTY_WEBHOOK_SECRET", WEBHOOK_SECRET)


def acknowledgement(key: str, by: str = "Ana García") -> bytes:
    event = {
        "event": {
            "id": "01DEN1HNLBC1VITSFLZB9VKEZM",
            "event_type": "incident.acknowledged",
            "resource_type": "incident",
            "occurred_at": "2026-12-06T10:04:00.000Z",
            "agent": {"id": "PLH1HKV", "summary": by, "type": "user_reference"},
            "data": {
                "id": "PGR0VU2",
                "type": "incident",
                "incident_key": key,
                "status": "acknowledged",
            },
        }
    }
    return json.dumps(event, ensure_ascii=False).encode()


def deliver(baton, body: bytes, signature: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-PagerDuty-Signature"] = signature
    request = urllib.request.Request(
        baton.url + "/pagerduty/webhook", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.mark.usefixtures("webhooks")
def test_a_signed_acknowledgement_is_said_in_the_thread_and_an_unsigned_one_is_refused(
    baton, pagers
):
    card = engage(baton, ["Network"])
    thread(baton, card, "*Network* paged through PagerDuty")
    key = triggers(pagers)[0]["dedup_key"]
    body = acknowledgement(key)

    assert deliver(baton, body, None) == 401
    assert deliver(baton, body, sign(body, "not-the-secret")) == 401
    assert deliver(baton, body + b" ", sign(body)) == 401  # the body is what is signed
    time.sleep(0.5)
    with baton.db.session() as s:
        assert s.query(Event).filter_by(kind="page_acknowledged").count() == 0

    # Signed (during a secret rotation, one of two signatures is ours): taken.
    assert deliver(baton, body, f"v1={'0' * 64},{sign(body)}") == 200
    said = thread(baton, card, "acknowledged")
    assert said.startswith(":eyes: *Network* acknowledged <!date^")
    assert "(Ana García, in PagerDuty)" in said
    assert deliver(baton, body, sign(body)) == 200  # PagerDuty sends it again: said once
    other = acknowledgement("INC-somebody-elses")
    assert deliver(baton, other, sign(other)) == 200  # not Baton's alert: taken, ignored
    time.sleep(0.5)
    assert sum("acknowledged" in t for t in baton.fake.thread(card["ts"])) == 1
    with baton.db.session() as s:
        [event] = s.query(Event).filter_by(kind="page_acknowledged").all()
    assert event.detail["by"] == "Ana García" and event.detail["group"] == "Network"


@pytest.mark.usefixtures("paging")
def test_without_a_webhook_secret_the_webhook_path_does_not_exist(baton, pagers):
    body = acknowledgement("MI-2026-0001/Network")
    assert deliver(baton, body, sign(body)) == 404


# Configuration --------------------------------------------------------------------------


def problems_with(tmp_path, monkeypatch, toml: str, **environment: str) -> list[str]:
    path = tmp_path / "baton.toml"
    path.write_text(toml)
    monkeypatch.setenv("BATON_CONFIG", str(path))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    try:
        load_settings(env_file=None)
    except ConfigError as exc:
        return exc.problems
    return []


def test_resolver_group_tables_are_checked_and_keys_never_echoed(env, tmp_path, monkeypatch):
    found = problems_with(
        tmp_path,
        monkeypatch,
        """
[resolver_groups.Network]
usergroup = "network-team"
pagerduty_routing_key = "short-secret-key"
pager = "pagerduty"
[resolver_groups.Database]
opsgenie_team = "db"
""",
        OPSGENIE_API_URL="api.opsgenie.com",
    )
    where = f"BATON_CONFIG ({tmp_path / 'baton.toml'}): resolver_groups.Network"
    assert f"{where}: usergroup 'network-team' is not a user group ID (S…)" in found
    assert any("pagerduty_routing_key is not a PagerDuty integration key" in p for p in found)
    assert (
        f"{where}: unknown setting 'pager' (known: opsgenie_team, pagerduty_routing_key, usergroup)"
        in found
    )
    assert "OPSGENIE_API_URL 'api.opsgenie.com' is not an http(s) URL" in found
    assert any(p.startswith("OPSGENIE_API_KEY is not set") and "(Database)" in p for p in found)
    assert not any("short-secret-key" in p for p in found)


def test_a_plain_list_of_groups_stays_valid_and_pages_nobody(env, tmp_path, monkeypatch):
    assert problems_with(tmp_path, monkeypatch, 'resolver_groups = ["Network", "Database"]\n') == []
    settings = load_settings(env_file=None)
    assert settings.org.resolver_groups == ["Network", "Database"] and settings.org.groups == {}


def test_routing_keys_and_the_opsgenie_key_are_kept_out_of_logs(
    env, tmp_path, monkeypatch, pagers, capsys, baton_logging
):
    config(tmp_path, monkeypatch, pagers)
    monkeypatch.setenv("PAGERDUTY_WEBHOOK_SECRET", WEBHOOK_SECRET)
    settings = baton_logging(load_settings(env_file=None))
    logging.getLogger("baton").warning(
        "sent %s with %s, %s", NETWORK_KEY, pagers.opsgenie_key, WEBHOOK_SECRET
    )
    said = capsys.readouterr().err
    assert "sent [redacted] with [redacted], [redacted]" in said
    assert NETWORK_KEY not in repr(settings) and pagers.opsgenie_key not in repr(settings)


@pytest.mark.usefixtures("paging")
def test_a_resolve_waits_for_its_trigger_still_backing_off(baton, pagers):
    pagers.fail("pagerduty", Failure(429, retry_after=3))
    card = engage(baton, ["Network"])
    card = latest_card(baton, "initial comms sent (")
    view = open_modal(baton, MIM, card, "incident_resolve")
    submit_modal(baton, MIM, view, {})  # resolved while the trigger waits out the 429
    wait_until(lambda: "resolved" in pagers.pagerduty_alerts.values(), timeout=15)
    actions = [r.body["event_action"] for r in pagers.to("pagerduty") if r.status == 202]
    assert actions == ["trigger", "resolve"]


@pytest.mark.usefixtures("paging")
def test_standing_down_resolves_the_pages(baton, pagers):
    card = engage(baton, ["Network"])
    thread(baton, card, "*Network* paged through PagerDuty")
    card = latest_card(baton, "initial comms sent (")
    view = open_modal(baton, MIM, card, "incident_stand_down")
    submit_modal(baton, MIM, view, {"reason": "One user's laptop, not a major incident"})
    wait_until(lambda: set(pagers.pagerduty_alerts.values()) == {"resolved"})
