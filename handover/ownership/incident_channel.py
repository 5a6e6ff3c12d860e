"""The incident channel (`incident_channel = true` in BATON_CONFIG): on Accept, a public channel
for the people working the incident, with the owner, the agent and the engaged groups' members
in it, the handover record pinned, a topic and the bridge bookmarked; the end said there too.

The domain decides *what* happens (make the channel, invite these people); bot/slack/ delivers
each step as an outbox row, so each is done once, retried when Slack fails, and a refusal is
said to the owner in the card's thread (handover/reach.py)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handover.clock.timeline import refresh_card
from handover.intents import (
    ChannelArchive,
    ChannelBookmark,
    ChannelCreate,
    ChannelInvite,
    ChannelOutcome,
    ChannelRecord,
    ChannelTopic,
)
from handover.models import Event, Incident, Outbox
from handover.payload import Payload
from handover.settings import Settings
from handover.store import outbox
from handover.times import to_iso
from handover.vocabulary import OutboxKind, Target

# Slack's channel names: at most 80 characters, lowercase letters, digits, "-" and "_".
NAME_LIMIT = 80
# A taken name is tried again as name-2 … name-5; past that something else is wrong.
NAME_TRIES = 5
_NOT_ALLOWED = re.compile(r"[^a-z0-9_-]+")
_DASHES = re.compile(r"-{2,}")


def slug(text: str) -> str:
    """`text` as a channel name's words: accents dropped, lowercase, anything Slack refuses
    (and runs of it) one "-", none at either end."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _DASHES.sub("-", _NOT_ALLOWED.sub("-", ascii_text.lower())).strip("-")


def _fit(prefix: str, words: str, limit: int) -> str:
    """`prefix-words` in `limit` characters, the words cut at a "-" where one is near."""
    room = limit - len(prefix) - 1
    if not words or room <= 0:
        return prefix[:limit]
    if len(words) > room:
        cut = words[:room]
        at_boundary = words[room] in "-_"
        boundary = max(cut.rfind("-"), cut.rfind("_"))
        # A cut mid-word goes back to the last boundary, unless that loses most of it.
        if not at_boundary and boundary >= room // 2:
            cut = cut[:boundary]
        words = cut.strip("-_")
    return f"{prefix}-{words}" if words else prefix


def channel_name(reference: str, headline: str, suffix: str = "") -> str:
    """`mi-2026-0001-e-mail-down-for-all-staff`: the reference, then the headline's words;
    with `suffix` ("-2") the whole still fits Slack's 80 characters."""
    return _fit(slug(reference), slug(headline), NAME_LIMIT - len(suffix)) + suffix


def channel_names(reference: str, headline: str) -> list[str]:
    """The names to try in order: a taken one is followed by -2, -3 …"""
    suffixes = ["", *(f"-{n}" for n in range(2, NAME_TRIES + 1))]
    return [channel_name(reference, headline, suffix) for suffix in suffixes]


def _key(incident: Incident, step: str) -> str:
    return f"ichan:{incident.id}:{step}"


def _enqueue(
    s: Session, incident: Incident, step: str, what: OutboxKind, params: Payload, now: datetime
) -> None:
    outbox.enqueue(
        s,
        _key(incident, step),
        what,
        Target.INCIDENT_CHANNEL,
        incident_id=incident.id,
        params=params.to_json(),
        now=now,
    )


def has_channel(s: Session, incident: Incident) -> bool:
    """Made, or on its way: an incident accepted while the setting was off has none, and
    nothing is queued for a channel that will never exist."""
    if incident.incident_channel:
        return True
    made = select(Outbox.id).where(Outbox.key == _key(incident, "create"))
    return s.scalar(made) is not None


def usergroups_of(groups: list[str], settings: Settings) -> list[str]:
    """The Slack user groups (S…) of these resolver groups, for those that have one."""
    configured = settings.org.groups
    return [configured[g].usergroup for g in groups if g in configured and configured[g].usergroup]


def open_on_accept(s: Session, incident: Incident, settings: Settings, now: datetime) -> None:
    """Accepted: the channel, its people, the record pinned, its topic, the bridge."""
    if not settings.org.incident_channel or incident.is_drill or not incident.owner_id:
        return
    names = ChannelCreate(names=channel_names(incident.reference, incident.headline))
    _enqueue(s, incident, "create", OutboxKind.CHANNEL_CREATE, names, now)
    people = ChannelInvite(
        users=list(dict.fromkeys([incident.owner_id, incident.reporter_id])),
        usergroups=usergroups_of(incident.trgs, settings),
    )
    _enqueue(s, incident, "invite:accepted", OutboxKind.CHANNEL_INVITE, people, now)
    _enqueue(s, incident, "record", OutboxKind.CHANNEL_RECORD, ChannelRecord(), now)
    _enqueue(s, incident, "topic", OutboxKind.CHANNEL_TOPIC, ChannelTopic(), now)
    if settings.org.bridge_url:
        bridge = ChannelBookmark(url=settings.org.bridge_url)
        _enqueue(s, incident, "bookmark", OutboxKind.CHANNEL_BOOKMARK, bridge, now)


def invite(
    s: Session,
    incident: Incident,
    event: Event,
    settings: Settings,
    now: datetime,
    *,
    users: list[str] | None = None,
    groups: list[str] | None = None,
) -> None:
    """After `event` (groups engaged, a new owner), these people join the channel."""
    if not has_channel(s, incident):
        return
    people = ChannelInvite(users=users or [], usergroups=usergroups_of(groups or [], settings))
    if people.users or people.usergroups:
        _enqueue(s, incident, f"invite:{event.id}", OutboxKind.CHANNEL_INVITE, people, now)


def retopic(s: Session, incident: Incident, event: Event, now: datetime) -> None:
    """The owner, priority or phase changed: the topic says it as it is when sent."""
    if has_channel(s, incident):
        _enqueue(s, incident, f"topic:{event.id}", OutboxKind.CHANNEL_TOPIC, ChannelTopic(), now)


def say_end(s: Session, incident: Incident, event: Event, settings: Settings) -> None:
    """Resolved, closed or stood down: said in the channel as in the card's thread; the
    channel archived once it is over, when `archive_incident_channel` asks for it."""
    if not has_channel(s, incident):
        return
    said = ChannelOutcome(
        event=event.kind, actor=event.actor, at=to_iso(event.at), detail=event.detail
    )
    _enqueue(s, incident, f"outcome:{event.kind}", OutboxKind.CHANNEL_OUTCOME, said, event.at)
    if settings.org.archive_incident_channel and incident.closed_at is not None:
        _enqueue(s, incident, "archive", OutboxKind.CHANNEL_ARCHIVE, ChannelArchive(), event.at)


def made(s: Session, incident: Incident, channel: str, now: datetime) -> None:
    """Slack made the channel (or an earlier attempt had): kept, and the card links it."""
    if incident.incident_channel == channel:
        return
    incident.incident_channel = channel
    refresh_card(s, incident, f"ichan:{channel}", now)
