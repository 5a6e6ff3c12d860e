"""What a page says, for each pager: the incident's essentials, in plain text."""

from __future__ import annotations

from urllib.parse import quote

from handover.checklist.card_content import card_content
from handover.comms.templates import PLAIN
from handover.models import Incident
from handover.ownership.paging import Page
from handover.settings import ResolverGroup, Settings
from handover.vocabulary import PageAction

# Severity by priority (PagerDuty's four; Opsgenie has P1–P5 of its own).
SEVERITY = {"P1": "critical", "P2": "error", "P3": "warning", "P4": "info"}
SOURCE = "Baton"


def essentials(incident: Incident, settings: Settings, link: str) -> dict[str, str]:
    """The handover's facts as a flat table: the alert's details on the responder's phone."""
    c = card_content(incident, settings.org, PLAIN, mention=lambda user: user)
    details = {"reference": incident.reference, "priority": incident.priority}
    details |= dict(c.facts) | dict(c.texts)
    if c.breach is not None:
        details["security"] = "breach suspected" + (f": {c.breach}" if c.breach else "")
    if c.not_known:
        details["not known yet"] = ", ".join(c.not_known)
    if link:
        details["handover card"] = link
    return details


def summary(incident: Incident) -> str:
    return f"{incident.priority} · {incident.headline}"


def pagerduty_event(
    page: Page, incident: Incident, group: ResolverGroup, settings: Settings, link: str
) -> dict:
    """An Events API v2 event: a trigger with the essentials, or the resolve of the same key."""
    event: dict = {
        "routing_key": group.pagerduty_routing_key,
        "event_action": page.action,
        "dedup_key": page.dedup_key,
    }
    if page.action == PageAction.RESOLVE:
        return event
    event["payload"] = {
        "summary": summary(incident)[:1024],
        "source": SOURCE,
        "severity": SEVERITY.get(incident.priority, "error"),
        "group": page.group,
        "class": "major incident",
        "custom_details": essentials(incident, settings, link),
    }
    event["client"] = SOURCE
    if link:
        event["client_url"] = link
        event["links"] = [{"href": link, "text": f"{incident.reference} in Slack"}]
    return event


def opsgenie_alert(
    page: Page, incident: Incident, group: ResolverGroup, settings: Settings, link: str
) -> tuple[str, dict]:
    """(path, body) of an Alert API request: create the alert, or close it by its alias."""
    if page.action == PageAction.RESOLVE:
        path = f"/v2/alerts/{quote(page.dedup_key, safe='')}/close?identifierType=alias"
        return path, {"source": SOURCE, "note": f"{incident.reference} resolved in Baton"}
    details = essentials(incident, settings, link)
    body = {
        "message": summary(incident)[:130],
        "alias": page.dedup_key,
        "description": "\n".join(f"{k}: {v}" for k, v in details.items())[:15000],
        "responders": [{"type": "team", "name": group.opsgenie_team}],
        "priority": incident.priority if incident.priority in SEVERITY else "P2",
        "source": SOURCE,
        "tags": ["major-incident"],
        "details": {k: v[:8000] for k, v in details.items()},
    }
    return "/v2/alerts", body
