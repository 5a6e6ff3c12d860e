"""The handover service: what any front end (Slack, the drill) calls to take a handover."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from handover.checklist import answers
from handover.checklist.definition import STEP_IDS, STEPS, next_step_id, step
from handover.checklist.priority import Proposal, propose
from handover.checklist.quality import Quality, assess
from handover.clock.timeline import HandedOver, record_event
from handover.models import Draft, Event, Incident
from handover.ownership.incidents import on_handover
from handover.settings import Settings
from handover.store.db import Database
from handover.times import utcnow
from handover.vocabulary import IncidentStatus, Phase


class NotFound(Exception):
    """A draft or incident that does not exist, or is not the asker's."""


@dataclass
class StepOutcome:
    draft: Draft
    errors: dict[str, str] = field(default_factory=dict)
    next_step: str | None = None


@dataclass
class SubmitOutcome:
    incident: Incident | None = None
    errors: dict[str, str] = field(default_factory=dict)
    # A step answered earlier that is no longer valid (e.g. saved on close with errors).
    invalid_step: str | None = None
    already_submitted: bool = False


@dataclass(frozen=True)
class Review:
    proposal: Proposal
    quality: Quality


def reference_for(year: int, seq: int, drill: bool = False) -> str:
    return f"{'DRILL' if drill else 'MI'}-{year}-{seq:04d}"


class Handovers:
    def __init__(self, db: Database, settings: Settings, now: Callable[[], datetime] = utcnow):
        self.db = db
        self.settings = settings
        self.now = now

    # Drafts ------------------------------------------------------------------------------

    def start_draft(self, user_id: str, team_id: str, channel_id: str, headline: str = "") -> Draft:
        with self.db.session() as s:
            draft = Draft(
                user_id=user_id,
                team_id=team_id,
                channel_id=channel_id,
                answers={},
                step=STEP_IDS[0],
            )
            if headline.strip():
                draft.answers = {"headline": answers.parse(step("what").fields[0], headline)}
            s.add(draft)
        return draft

    def latest_open_draft(self, user_id: str) -> Draft | None:
        with self.db.session() as s:
            return s.scalars(
                select(Draft)
                .where(Draft.user_id == user_id, Draft.incident_id.is_(None))
                .order_by(Draft.updated_at.desc(), Draft.id.desc())
                .limit(1)
            ).first()

    def open_drafts(self, user_id: str) -> list[Draft]:
        with self.db.session() as s:
            return list(
                s.scalars(
                    select(Draft)
                    .where(Draft.user_id == user_id, Draft.incident_id.is_(None))
                    .order_by(Draft.updated_at.desc())
                )
            )

    def draft(self, draft_id: int, user_id: str) -> Draft:
        with self.db.session() as s:
            return self._own_draft(s, draft_id, user_id)

    @staticmethod
    def _own_draft(s, draft_id: int, user_id: str) -> Draft:
        # Locked for the unit of work: two submissions of one draft at once (a double click
        # reaching two replicas) queue here, and the second sees the first's incident.
        draft = s.get(Draft, draft_id, with_for_update=True)
        if draft is None or draft.user_id != user_id:
            raise NotFound(f"draft {draft_id}")
        return draft

    def save_step(
        self,
        draft_id: int,
        user_id: str,
        step_id: str,
        raw: dict[str, Any],
        *,
        advance: bool = True,
    ) -> StepOutcome:
        """Store what was entered (even when invalid: nothing is lost) and validate it.

        With `advance`, a valid step moves the draft on to the next step.
        """
        the_step = step(step_id)
        values = answers.parse_step(the_step, raw)
        with self.db.session() as s:
            draft = self._own_draft(s, draft_id, user_id)
            draft.answers = {**draft.answers, **values}
            errors = answers.validate(the_step, draft.answers, self.settings.org, self.now())
            nxt = None
            if not errors:
                nxt = next_step_id(step_id)
                if advance and nxt and STEP_IDS.index(nxt) > STEP_IDS.index(draft.step):
                    draft.step = nxt
        return StepOutcome(draft, errors, nxt)

    # Review and submission ---------------------------------------------------------------

    @staticmethod
    def review(values: dict[str, Any]) -> Review:
        return Review(propose(values), assess(values))

    def submit(
        self, draft_id: int, user_id: str, raw_review: dict[str, Any], *, drill: bool = False
    ) -> SubmitOutcome:
        """Hand the draft over: store the incident with its reference.

        A drill is stored too, marked as one and numbered DRILL-…, and reaches nobody.
        """
        review_step = step("review")
        for _ in range(5):  # retried only when two handovers race for the same reference
            try:
                return self._submit_once(draft_id, user_id, review_step, raw_review, drill)
            except IntegrityError:
                continue
        raise RuntimeError("could not allocate an incident reference")

    def _submit_once(self, draft_id, user_id, review_step, raw_review, drill) -> SubmitOutcome:
        values = answers.parse_step(review_step, raw_review)
        with self.db.session() as s:
            draft = self._own_draft(s, draft_id, user_id)
            if draft.incident_id is not None:  # a double click or a Slack retry
                return SubmitOutcome(s.get(Incident, draft.incident_id), already_submitted=True)
            draft.answers = {**draft.answers, **values}
            now = self.now()
            for st in STEPS:
                errors = answers.validate(st, draft.answers, self.settings.org, now)
                if errors and st is not review_step:
                    return SubmitOutcome(errors=errors, invalid_step=st.id)
                if errors:
                    return SubmitOutcome(errors=errors)
            review = self.review(draft.answers)
            chosen = draft.answers.get("priority") or {
                "value": review.proposal.priority,
                "reason": "",
            }
            proposed = review.proposal.priority
            if chosen["value"] != proposed and not chosen["reason"]:
                return SubmitOutcome(
                    errors={
                        "priority": (
                            f"You changed the proposed {proposed} to {chosen['value']}: "
                            "please give a reason."
                        )
                    }
                )
            year = now.year
            last = s.scalar(
                select(func.max(Incident.seq)).where(
                    Incident.year == year, Incident.is_drill.is_(drill)
                )
            )
            seq = (last or 0) + 1
            incident = Incident(
                reference=reference_for(year, seq, drill),
                is_drill=drill,
                year=year,
                seq=seq,
                headline=draft.answers["headline"],
                answers=dict(draft.answers),
                handed_over_answers=dict(draft.answers),
                priority=chosen["value"],
                proposed_priority=review.proposal.priority,
                quality_score=review.quality.score,
                quality_band=review.quality.band,
                reporter_id=user_id,
                reporter_team=draft.team_id,
                status=IncidentStatus.HANDED_OVER,
                phase=Phase.INITIAL,
                handed_over_at=now,
                mim_channel=self.settings.mim_channel,
            )
            s.add(incident)
            s.flush()
            draft.incident_id = incident.id
            if not drill:
                on_handover(s, incident, self.settings, now)
            handed_over = HandedOver(
                priority=incident.priority, quality_score=incident.quality_score
            )
            record_event(s, incident, user_id, handed_over, now, card=False)
        return SubmitOutcome(incident)

    # Incidents ---------------------------------------------------------------------------

    def find(self, reference: str) -> Incident | None:
        with self.db.session() as s:
            return s.scalars(
                select(Incident).where(Incident.reference == reference.strip().upper())
            ).first()

    def recent(self, user_id: str, limit: int = 5) -> list[Incident]:
        """The agent's latest real handovers (drills are not shown)."""
        with self.db.session() as s:
            return list(
                s.scalars(
                    select(Incident)
                    .where(Incident.reporter_id == user_id, Incident.is_drill.is_(False))
                    .order_by(Incident.handed_over_at.desc())
                    .limit(limit)
                )
            )

    def events(self, incident_id: int) -> list[Event]:
        with self.db.session() as s:
            return list(
                s.scalars(
                    select(Event)
                    .where(Event.incident_id == incident_id)
                    .order_by(Event.at, Event.id)
                )
            )
