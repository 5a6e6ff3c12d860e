"""What `GET /metrics` shows, in Prometheus' text format.

One registry per runtime (not prometheus_client's global one), so two apps in one process, as in
the tests, never share or collide. Counters and the ack histogram are this process's own;
deadlines and incidents are read from the database at scrape time, so they are the shared
truth: every replica reports the same figures for them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from handover.models import Deadline, Incident
from handover.store.db import Database

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
INTERACTIONS = ("block_actions", "view_submission", "view_closed", "shortcut", "message_action")
# Slack gives up on an answer after 3 s: the buckets are dense below that.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0)


def kind_of(body: dict[str, Any]) -> str:
    """A request's kind, from a fixed set: a label must not take values a sender chooses."""
    if body.get("command"):
        return "command"
    kind = body.get("type")
    if kind == "event_callback":
        return "event"
    return kind if kind in INTERACTIONS else "other"


class Metrics:
    def __init__(self, db: Database | None = None):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "baton_requests",
            "Requests from Slack, by kind and HTTP status",
            ["kind", "status"],
            registry=r,
        )
        self.ack_seconds = Histogram(
            "baton_ack_seconds",
            "Time to answer Slack's request, by kind",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "baton_requests_in_flight", "Requests from Slack being answered now", registry=r
        )
        self.listener_errors = Counter(
            "baton_listener_errors", "Listeners that failed, by kind", ["kind"], registry=r
        )
        self.slack_errors = Counter(
            "baton_slack_api_errors",
            "Slack Web API calls that failed, by error",
            ["error"],
            registry=r,
        )
        self.slack_retries = Counter(
            "baton_slack_retries", "Outbox messages rescheduled after Slack failed", registry=r
        )
        self.undelivered = Counter(
            "baton_messages_undelivered",
            "Outbox messages given up (refused by Slack, or failing too long), by kind",
            ["what"],
            registry=r,
        )
        # Set by the Slack preflight of `serve` (bot/slack/preflight.py) at start and at each
        # check again: 1 while Baton can use the configured channel, 0 while it cannot.
        self.channel_ok = Gauge(
            "baton_channel_ok",
            "Whether Baton can use a configured channel (exists, not archived, Baton in it)",
            ["channel", "setting"],
            registry=r,
        )
        if db is not None:
            r.register(DatabaseCollector(db))

    def observe(self, kind: str, status: int, seconds: float) -> None:
        self.requests.labels(kind, str(status)).inc()
        self.ack_seconds.labels(kind).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class DatabaseCollector(Collector):
    """Deadlines and incidents as the database has them, at scrape time."""

    def __init__(self, db: Database):
        self.db = db

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("baton_database_up", "Whether the database answered this scrape")
        try:
            figures = self._read()
        except Exception:  # a scrape must answer even when the database does not
            log.warning("metrics: the database did not answer", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        deadlines, incidents = figures
        yield GaugeMetricFamily(
            "baton_deadlines_pending", "Deadlines waiting to fire", value=deadlines["pending"]
        )
        yield CounterMetricFamily(
            "baton_deadlines_fired", "Deadlines fired", value=deadlines["fired"]
        )
        yield CounterMetricFamily(
            "baton_deadlines_fired_late",
            "Deadlines fired late (due while Baton was not running)",
            value=deadlines["late"],
        )
        by_state = GaugeMetricFamily(
            "baton_incidents",
            "Incidents (not drills) by status and phase",
            labels=["status", "phase"],
        )
        for (status, phase), count in sorted(incidents.items()):
            by_state.add_metric([status, phase], count)
        yield by_state

    def _read(self) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
        with self.db.session() as s:
            rows = s.execute(
                select(Deadline.status, Deadline.late, func.count()).group_by(
                    Deadline.status, Deadline.late
                )
            ).all()
            incidents = s.execute(
                select(Incident.status, Incident.phase, func.count())
                .where(Incident.is_drill.is_(False))
                .group_by(Incident.status, Incident.phase)
            ).all()
        deadlines = {"pending": 0, "fired": 0, "late": 0}
        for status, late, count in rows:
            if status in ("pending", "fired"):
                deadlines[status] += count
            if status == "fired" and late:
                deadlines["late"] += count
        return deadlines, {(status, phase): count for status, phase, count in incidents}
