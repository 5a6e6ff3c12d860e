"""Who may do what in Slack terms (user groups are a Slack concept; ownership is the domain's)."""

from __future__ import annotations

import time

from slack_sdk import WebClient

from handover.settings import Settings

USERGROUP_CACHE_SECONDS = 60


class AcceptPolicy:
    """Who may accept (BATON_CONFIG accept_users / accept_usergroup; default: anyone in the
    managers' channel, which is where the card and its button are)."""

    def __init__(self, settings: Settings):
        self.users = set(settings.org.accept_users)
        self.group = settings.org.accept_usergroup
        self._members: set[str] = set()
        self._fetched = 0.0

    @property
    def restricted(self) -> bool:
        return bool(self.users or self.group)

    def allows(self, user: str, client: WebClient) -> bool:
        if not self.restricted or user in self.users:
            return True
        if not self.group:
            return False
        if time.monotonic() - self._fetched > USERGROUP_CACHE_SECONDS:
            response = client.usergroups_users_list(usergroup=self.group)
            self._members = set(response.get("users", []))
            self._fetched = time.monotonic()
        return user in self._members

    def who(self) -> str:
        names = [f"<@{u}>" for u in sorted(self.users)]
        if self.group:
            names.append(f"<!subteam^{self.group}>")
        return ", ".join(names)
