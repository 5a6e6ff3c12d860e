"""Pages across real processes: two replicas engage once, and a SIGKILL while a page is in
flight makes no second alert (the retry carries the same dedup key)."""

from __future__ import annotations

import os
import signal
import time
from types import SimpleNamespace

import pytest

from tests.conftest import MIM, MIM_CHANNEL
from tests.fake_pagers import FakePagers
from tests.flows import hand_over
from tests.slack_user import fill
from tests.test_clock_processes import LoadBalancer, as_slack, rows
from tests.test_paging import NETWORK_KEY, SERVERS_KEY, config


@pytest.fixture
def pagers():
    fake = FakePagers(routing_keys={NETWORK_KEY, SERVERS_KEY})
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def paging_env(env, tmp_path, monkeypatch, pagers):
    config(tmp_path, monkeypatch, pagers)
    # The processes get `env`: what `config` set for the in-process app goes there too.
    env.update(
        {
            k: v
            for k, v in os.environ.items()
            if k.startswith(("BATON_CONFIG", "PAGERDUTY_", "OPSGENIE_"))
        }
    )


def accept_and_engage(process, fake_slack, card: dict, groups: list[str]) -> None:
    """Accept on `process`, then submit the Engage & send form with `groups`."""
    slack = as_slack(process, fake_slack).slack
    before = len(fake_slack.calls_to("views.open"))
    assert slack.click(MIM, card, "incident_accept", MIM_CHANNEL).status == 200
    view = fake_slack.wait_for("views.open", count=before + 1)[-1].args["view"]
    assert slack.submit_view(MIM, view, fill(view, {"groups": groups})).status == 200


def wait(predicate, timeout: float = 40) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.mark.usefixtures("paging_env")
def test_two_replicas_page_each_group_once(baton_process, fake_slack, pagers, db_url):
    one, two = baton_process.together(2)
    card = hand_over(SimpleNamespace(slack=LoadBalancer([one, two], fake_slack), fake=fake_slack))
    accept_and_engage(two, fake_slack, card, ["Network", "Servers and cloud"])
    sql = "SELECT status, attempts FROM outbox WHERE what = 'page'"
    wait(lambda: rows(db_url, sql) == [("sent", 1)] * 3)
    time.sleep(2)  # both replicas' senders had every chance to send a row twice
    triggers = [r for r in pagers.to("pagerduty") if r.body["event_action"] == "trigger"]
    assert sorted(r.body["dedup_key"].split("/")[1] for r in triggers) == [
        "Network",
        "Servers and cloud",
    ]
    assert len(pagers.to("opsgenie")) == 1
    assert rows(db_url, sql) == [("sent", 1)] * 3
    paged = rows(db_url, "SELECT kind FROM events WHERE kind = 'paged'")
    assert len(paged) == 3


@pytest.mark.usefixtures("paging_env")
def test_sigkill_while_a_page_is_in_flight_makes_no_second_alert(
    baton_process, fake_slack, pagers, db_url
):
    first = baton_process()
    card = hand_over(as_slack(first, fake_slack))
    pagers.slow = 5  # the page reaches PagerDuty; Baton dies before the answer
    accept_and_engage(first, fake_slack, card, ["Network"])
    wait(lambda: any(p.endswith("/v2/enqueue") for p in pagers.received), timeout=10)
    first.stop(signal.SIGKILL)
    pagers.slow = 0
    baton_process()  # the row's claim runs out (20 s), then it is sent again
    wait(lambda: rows(db_url, "SELECT status FROM outbox WHERE what = 'page'") == [("sent",)])
    assert sum(p.endswith("/v2/enqueue") for p in pagers.received) == 2  # sent again…
    assert len(pagers.pagerduty_alerts) == 1  # …and one alert: the dedup key folded the repeat
    keys = {r.body["dedup_key"] for r in pagers.to("pagerduty")}
    assert len(keys) == 1
    assert len(rows(db_url, "SELECT id FROM events WHERE kind = 'paged'")) == 1
