"""Looking back at a handover, for training (docs/domain.md): what the manager had to fill in,
and the exception report for the service desk lead."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handover import webhooks
from handover.checklist.definition import FIELDS
from handover.checklist.quality import Quality, assess
from handover.intents import ExceptionReportMessage
from handover.models import ExceptionReport, Incident, Reask
from handover.settings import Settings
from handover.store import outbox
from handover.times import parse_time
from handover.vocabulary import OutboxKind, Target, WebhookEvent


def needs_exception_report(quality: Quality) -> bool:
    """Amber or red, or any critical gap (services, symptoms, security flag, users affected)."""
    return quality.band != "green" or bool(quality.critical_gaps)


def _first_reported(incident: Incident) -> datetime | None:
    value = incident.handed_over_answers.get("first_reported_at")
    return parse_time(value["at"]) if isinstance(value, dict) else None


def _seconds(delta: timedelta | None) -> int | None:
    return int(delta.total_seconds()) if delta is not None else None


def exception_report(incident: Incident, reasks: list[Reask]) -> dict[str, Any]:
    """The report's content as plain data; the front end words it (blamelessly)."""
    quality = assess(incident.handed_over_answers)
    reported = _first_reported(incident)
    return {
        "reference": incident.reference,
        "headline": incident.headline,
        "reporter": incident.reporter_id,
        "score": quality.score,
        "band": quality.band,
        "gaps": [
            {
                "field": g.field_id,
                "label": g.label,
                "answer": g.answer,
                "critical": g.critical,
                "training": g.training,
            }
            for g in quality.gaps
        ],
        "reasks": [
            {"field": r.field_id, "label": FIELDS[r.field_id].label, "by": r.by} for r in reasks
        ],
        "report_to_handover_s": _seconds(incident.handed_over_at - reported) if reported else None,
        "handover_to_accept_s": _seconds(
            incident.accepted_at - incident.handed_over_at if incident.accepted_at else None
        ),
    }


def file_exception_report(
    s: Session, incident: Incident, settings: Settings, now: datetime
) -> ExceptionReport | None:
    """On closure: store the report for a weak handover, and send it to the lead if one is
    configured. A green handover with no critical gap needs none."""
    if not needs_exception_report(assess(incident.handed_over_answers)):
        return None
    reasks = list(
        s.scalars(
            select(Reask).where(Reask.incident_id == incident.id).order_by(Reask.at, Reask.id)
        )
    )
    lead = settings.org.service_desk_lead
    content = exception_report(incident, reasks)
    report = ExceptionReport(incident_id=incident.id, created_at=now, content=content, sent_to=lead)
    s.add(report)
    if lead:
        target = Target.DM if lead.startswith(("U", "W")) else Target.CHANNEL
        message = ExceptionReportMessage(user=lead, channel=lead, report=content)
        outbox.enqueue(
            s,
            f"exception_report:{incident.id}",
            OutboxKind.EXCEPTION_REPORT,
            target,
            incident_id=incident.id,
            params=message.to_json(),
            now=now,
        )
    # One report per incident (filed on closure), so its id needs no row id of its own.
    evt_id = webhooks.event_id(incident, "exception_report")
    webhooks.announce(s, incident, WebhookEvent.EXCEPTION_REPORT, evt_id, now, content)
    return report
