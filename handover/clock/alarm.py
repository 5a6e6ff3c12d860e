"""APScheduler as the in-process alarm clock. The deadline rows are the truth; this only wakes
Baton up at the right moments. Rebuilt from the rows at start; topped up periodically with
deadlines another replica created (or that a failed firing left pending)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from handover.clock.phase_clock import Clock
from handover.times import utcnow

log = logging.getLogger(__name__)


class Alarm:
    def __init__(self, clock: Clock, resync_every: timedelta = timedelta(seconds=5)):
        self.clock = clock
        self.resync_every = resync_every
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(8)},
            # A deadline is never dropped for being late: it fires, marked late.
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        # Deadlines scheduled here and not yet done firing. APScheduler forgets a date job as
        # soon as it starts it, so the job store alone would let resync schedule a deadline
        # again while it is firing (harmless, the claim is atomic, but a warning each time).
        self._scheduled: set[int] = set()

    def start(self) -> int:
        """Start the scheduler with every pending deadline; return how many."""
        self.scheduler.start()
        count = self.resync(horizon=None)
        self.scheduler.add_job(
            self.resync, "interval", id="resync", seconds=self.resync_every.total_seconds()
        )
        return count

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)

    def schedule(self, deadline_id: int, due_at: datetime) -> None:
        self._scheduled.add(deadline_id)
        self.scheduler.add_job(
            self._fire,
            "date",
            run_date=max(due_at, utcnow()),
            args=[deadline_id],
            id=f"deadline-{deadline_id}",
            replace_existing=True,
        )

    def on_commit(self, info: dict) -> None:
        """Database.after_commit listener: schedule what the unit of work created."""
        for deadline_id, due_at in info.get("deadlines", ()):
            self.schedule(deadline_id, due_at)

    def resync(self, horizon: timedelta | None = timedelta(minutes=1)) -> int:
        until = utcnow() + horizon if horizon is not None else None
        count = 0
        for deadline_id, due_at in self.clock.pending(until=until):
            if deadline_id not in self._scheduled:
                self.schedule(deadline_id, due_at)
                count += 1
        return count

    def _fire(self, deadline_id: int) -> None:
        try:
            self.clock.fire(deadline_id)
        except Exception:  # the row stays pending; resync tries it again
            log.exception("deadline %s could not fire; will retry", deadline_id)
        finally:
            self._scheduled.discard(deadline_id)
