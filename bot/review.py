"""The post-incident review as Markdown: a draft for the team to complete (root cause and
follow-up actions are headings to fill), uploaded in the card's thread on close and printed by
`baton review`. Times are UTC: a file cannot adapt to each reader's zone as Slack does."""

from __future__ import annotations

import html
import re

from bot.slack.comms.views import KIND_NAMES
from bot.slack.ownership.timeline_text import event_words
from handover.checklist.card_content import card_content
from handover.checklist.definition import FIELDS, Rendering, display
from handover.models import Incident
from handover.reporting.review import Milestone, ReviewFacts
from handover.settings import OrgConfig, Settings
from handover.times import humanize, plain_time
from handover.vocabulary import IncidentStatus

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~&])")


def md_escape(text: str) -> str:
    """Typed text shown as typed: Markdown's special characters backslash-escaped, one line."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


MARKDOWN = Rendering(time=plain_time, escape=md_escape, unknown="unknown", blank="not given")


def _who(user: str | None) -> str:
    if not user:
        return "nobody"
    return "Baton" if user == "baton" else f"@{user}"


def _milestone(m: Milestone) -> str:
    reached = "not reached" if m.after is None else humanize(m.after)
    if m.target is None:
        verdict = "—"
    elif m.after is None:
        verdict = "missed"
    elif m.late_by is not None:
        verdict = f"missed, by {humanize(m.late_by)}"
    else:
        verdict = "met"
    return f"| {m.label} | {reached} | {verdict} |"


def _summary(i: Incident, settings: Settings) -> list[str]:
    lines = [
        f"- **Priority:** {i.priority} (proposed {i.proposed_priority} at handover)",
        f"- **Status:** {IncidentStatus(i.status).words}",
        f"- **Handed over:** {plain_time(i.handed_over_at)} by {_who(i.reporter_id)}, "
        f"handover quality {i.quality_score} % ({i.quality_band})",
        f"- **Owner:** {_who(i.owner_id)}",
    ]
    if i.resolved_at:
        lines.append(f"- **Resolved:** {plain_time(i.resolved_at)}")
    if i.closed_at:
        lines.append(f"- **Closed:** {plain_time(i.closed_at)}")
    if i.stood_down_reason:
        lines.append(f"- **Stood down:** {md_escape(i.stood_down_reason)}")
    return lines


def _impact(i: Incident, settings: Settings) -> list[str]:
    c = card_content(i, settings.org, MARKDOWN, mention=_who)
    lines = [f"- **{label}:** {value}" for label, value in c.facts]
    lines += [f"- **{label}:** {value}" for label, value in c.texts]
    if c.breach is not None:
        lines.append(
            "- **Security or data breach suspected**" + (f": {c.breach}" if c.breach else "")
        )
    if c.not_known:
        lines.append(f"- **Not known at the end:** {', '.join(c.not_known)}")
    return lines


def _timeline(facts: ReviewFacts) -> list[str]:
    lines = ["| Time (UTC) | Since T0 | Who | What |", "|---|---|---|---|"]
    for entry in facts.entries:
        since = "T0" if entry.since_t0.total_seconds() <= 0 else f"+{humanize(entry.since_t0)}"
        what = event_words(entry, md_escape, _who)
        lines.append(f"| {plain_time(entry.at)} | {since} | {_who(entry.actor)} | {what} |")
    return lines


def _comms(facts: ReviewFacts) -> list[str]:
    if not facts.notices:
        return ["No notice was sent."]
    return [
        f"- {KIND_NAMES[n.kind].capitalize()}, {plain_time(n.sent_at) if n.sent_at else '?'}, "
        f"by {_who(n.sent_by)} to {n.channel}: “{md_escape(html.unescape(n.subject))}”"
        f"{f' (edited {len(n.edits)}×)' if n.edits else ''}"
        for n in facts.notices
    ]


def _groups(facts: ReviewFacts) -> list[str]:
    i = facts.incident
    if not i.trgs:
        return ["No resolver group was engaged."]
    pagers: dict[str, list[str]] = {}
    for group, pager in facts.paged:
        pagers.setdefault(group, []).append(pager)
    return [
        f"- {md_escape(g)}" + (f" (paged: {', '.join(pagers[g])})" if g in pagers else "")
        for g in i.trgs
    ]


def _reasks(facts: ReviewFacts, org: OrgConfig) -> list[str]:
    if not facts.reasks:
        return ["Nothing: the handover had every answer the manager needed."]
    lines = []
    for r in facts.reasks:
        f = FIELDS[r.field_id]
        before, after = (display(f, v, org, MARKDOWN) for v in (r.old_value, r.new_value))
        lines.append(
            f"- {md_escape(f.label)}: {before} → {after} ({_who(r.by)}, {plain_time(r.at)})"
        )
    return lines


def review_markdown(facts: ReviewFacts, settings: Settings) -> str:
    i = facts.incident
    phase = humanize(settings.initial_phase)
    parts = [
        f"# Post-incident review: {i.reference}",
        "",
        f"**{md_escape(i.headline)}**",
        "",
        "## Summary",
        *_summary(i, settings),
        "",
        "## Impact",
        *_impact(i, settings),
        "",
        f"## Key durations (target: the first {phase})",
        "| Milestone | After handover | Against the target |",
        "|---|---|---|",
        *(_milestone(m) for m in facts.milestones),
        "",
        "## Timeline",
        *_timeline(facts),
        "",
        "## Comms sent",
        *_comms(facts),
        "",
        "## Resolver groups engaged",
        *_groups(facts),
        "",
        "## What the manager had to fill in",
        *_reasks(facts, settings.org),
        "",
        "## Root cause",
        "_To be written by the team: what failed, and why._",
        "",
        "## Follow-up actions",
        "- [ ] _action · owner · due date_",
        "",
    ]
    return "\n".join(parts)
