"""Sends an outbox row of kind `page` to its pager (bot/slack/delivery.py calls it)."""

from __future__ import annotations

from bot.pagers.events import opsgenie_alert, pagerduty_event
from bot.pagers.http import ReceiverRefused, post_json
from handover.models import Incident, Outbox
from handover.ownership.paging import Page
from handover.settings import Settings
from handover.vocabulary import PageAction, Pager


class Pagers:
    def __init__(self, settings: Settings):
        self.settings = settings

    def send(self, row: Outbox, incident: Incident, link: str) -> None:
        page = Page.from_json(row.params)
        group = self.settings.org.groups.get(page.group)
        if group is None:  # taken out of BATON_CONFIG since it was queued
            raise ReceiverRefused(f"{page.group} is no longer configured", retryable=False)
        if page.pager == Pager.PAGERDUTY:
            event = pagerduty_event(page, incident, group, self.settings, link)
            post_json(self.settings.pagerduty_events_url, event)
            return
        path, body = opsgenie_alert(page, incident, group, self.settings, link)
        headers = {"Authorization": f"GenieKey {self.settings.opsgenie_api_key}"}
        try:
            post_json(self.settings.opsgenie_api_url + path, body, headers)
        except ReceiverRefused as exc:
            # Closing an alert Opsgenie no longer has (closed by hand, or expired) is done.
            if not (page.action == PageAction.RESOLVE and exc.status == 404):
                raise
