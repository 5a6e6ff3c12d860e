"""Paging resolver groups: PagerDuty's Events API v2 and Opsgenie's Alert API, over HTTP."""
