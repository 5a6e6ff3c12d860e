"""`baton drill`: rehearse a major-incident handover in the terminal, without Slack (issue 7).

A front end like the Slack modal: it walks the one checklist definition, validates with the
same functions and messages, and stores the handover through the same service, marked as a
drill (DRILL-…), so it never reaches Slack.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

import click

from handover.checklist import answers
from handover.checklist.card_content import card_content
from handover.checklist.definition import STEPS, Field, Kind, Rendering, in_sentence, options_for
from handover.checklist.quality import assess
from handover.checklist.typed_answers import TypedError, as_typed, hint, parse_typed
from handover.comms.templates import PLAIN, Details, render
from handover.drill.scenario import (
    Scenario,
    ScenarioError,
    check_facts,
    load_scenario,
    scenario_files,
)
from handover.handovers import Handovers, Review
from handover.models import Incident
from handover.settings import ConfigError, OrgConfig, Settings, load_settings
from handover.store.db import Database, migrate
from handover.times import utcnow

# click strips colour when output is not a terminal; NO_COLOR (no-color.org) turns it off too.
COLOR = False if os.environ.get("NO_COLOR") else None
BACK = object()  # what `ask` returns when the agent types "back"
QUESTIONS = [(s, f) for s in STEPS for f in s.fields]
BAND_COLOUR = {"green": "green", "amber": "yellow", "red": "red"}


def local_time(at: Any) -> str:
    """The terminal's own zone, as Slack shows each reader theirs (its fallback's format)."""
    return at.astimezone().strftime("%Y-%m-%d %H:%M %Z")


TERMINAL = Rendering(time=local_time, blank="not given")


def say(text: str = "", err: bool = False, **style: Any) -> None:
    click.echo(click.style(text, **style) if style else text, err=err, color=COLOR)


def fail(problems: list[str]) -> None:
    for problem in problems:
        say(f"baton: {problem}", err=True)
    sys.exit(2)


def drill_user() -> str:
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        name = "agent"
    return f"drill-{name}"[:32]


# The interactive session -----------------------------------------------------------------


class Session:
    """One agent answering the checklist at the terminal, question by question."""

    def __init__(self, handovers: Handovers, settings: Settings, scenario: Scenario | None):
        self.handovers = handovers
        self.org = settings.org
        self.scenario = scenario
        self.user = drill_user()
        self.raw: dict[str, Any] = {}  # field id → raw input, as the modal would send it

    def value(self, f: Field) -> Any:
        return answers.parse(f, self.raw.get(f.id))

    def review(self) -> Review:
        return self.handovers.review(
            {f.id: self.value(f) for _, f in QUESTIONS if f.id in self.raw}
        )

    def run(self) -> Incident:
        self.intro()
        draft = self.handovers.start_draft(self.user, "drill", "terminal")
        index, shown_step, error = 0, None, None
        while True:
            the_step, f = QUESTIONS[index]
            if the_step is not shown_step:
                self.step_header(the_step)
                shown_step = the_step
            got = self.ask(f, error)
            error = None
            if got is BACK:
                index = max(index - 1, 0)
                continue
            self.raw[f.id] = got
            if f is not the_step.fields[-1]:
                index += 1
                continue
            # The step is complete: save it through the service, like the modal's Next.
            raw_step = {g.id: self.raw.get(g.id) for g in the_step.fields}
            if the_step.id == "review":
                outcome = self.handovers.submit(draft.id, self.user, raw_step, drill=True)
                if outcome.incident:
                    return outcome.incident
                errors = outcome.errors
            else:
                errors = self.handovers.save_step(draft.id, self.user, the_step.id, raw_step).errors
            if not errors:
                index += 1
                continue
            # A rule across fields (reported before started): back to the first field it names.
            index = min(i for i, (_, g) in enumerate(QUESTIONS) if g.id in errors)
            error = errors[QUESTIONS[index][1].id]

    def intro(self) -> None:
        say("Baton drill: a major-incident handover, rehearsed without Slack.", bold=True)
        say(
            'At every question: Enter keeps the answer in [brackets], "skip" leaves it blank, '
            '"back" returns to the previous question.'
        )
        if self.scenario:
            s = self.scenario
            say()
            say(f"Scenario: {s.title}", bold=True)
            if s.briefing:
                say(s.briefing)
            say(f'{s.caller}: "{s.opening}"', fg="cyan")
            say('Type "ask" (or "?") at a question to hear what the caller says.')

    def step_header(self, the_step) -> None:
        number = STEPS.index(the_step) + 1
        say()
        say(f"Step {number} of {len(STEPS)}: {the_step.title}", bold=True, fg="blue")
        if the_step.id == "review":
            review = self.review()
            p, q = review.proposal, review.quality
            say(f"Proposed priority: {p.priority}: {p.explanation}.")
            say(f"Handover quality: {q.score} % ({q.band}).", fg=BAND_COLOUR[q.band])
            if q.gaps:
                say("Gaps: " + ", ".join(f"{in_sentence(g.label)} ({g.answer})" for g in q.gaps))
                say(
                    "You can go back and fill them, or hand over now: the incident manager "
                    "fills the rest. Nothing is sent back to you."
                )
            # The proposal is the default, unless the agent chose another with a reason.
            if not (self.raw.get("priority") or {}).get("reason"):
                self.raw["priority"] = {"value": p.priority, "reason": ""}

    def ask(self, f: Field, error: str | None) -> Any:
        say()
        say(f.label + (" (required)" if f.required else ""), bold=True)
        for number, opt in enumerate(options_for(f, self.org), 1):
            say(f"  {number}. {opt.label}")
        if hint(f):
            say(f"  {hint(f)}", dim=True)
        if error:
            say(f"  {error}", fg="red")
        while True:
            default = as_typed(f, self.value(f), self.org)
            typed = self.prompt(">", default)
            command = typed.strip().lower()
            if command == "back":
                return BACK
            if command in ("ask", "?"):
                self.caller_says(f)
                continue
            if command == "skip":
                typed = ""
            try:
                raw = parse_typed(f, typed, self.org, utcnow())
            except TypedError as exc:
                say(f"  {exc}", fg="red")
                continue
            raw = self.follow_up(f, raw)
            problem = answers.validate_field(f, answers.parse(f, raw), self.org, utcnow())
            if not problem:
                return raw
            say(f"  {problem}", fg="red")

    def follow_up(self, f: Field, raw: Any) -> Any:
        """Ask for what goes with the answer, as the modal's second input does: the detail of
        a yes, the reason for changing the proposed priority."""
        wants_detail = f.kind == Kind.TRISTATE and f.detail_label and raw
        if wants_detail and raw["answer"] == "yes" and not raw["detail"]:
            raw["detail"] = self.prompt(f"  {f.detail_label}:")
        if f.kind == Kind.PRIORITY and raw and not raw["reason"]:
            proposed = self.review().proposal.priority
            if raw["value"] != proposed:
                raw["reason"] = self.prompt(f"  Reason for changing the proposed {proposed}:")
        return raw

    @staticmethod
    def prompt(text: str, default: str = "") -> str:
        return click.prompt(text, default=default, show_default=bool(default), prompt_suffix=" ")

    def caller_says(self, f: Field) -> None:
        if self.scenario is None:
            say("  No caller in this drill: try baton drill --scenario (see --list).", dim=True)
            return
        say(f'  {self.scenario.caller}: "{self.scenario.reply(f.id)}"', fg="cyan")


# Answers from a file ---------------------------------------------------------------------


def read_answers(path: Path, org: OrgConfig) -> dict[str, Any]:
    """The raw input of every field in an answers file; fails with one line per problem."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSON and TOML errors are both
        fail([f"{path}: cannot be read ({exc})"])
    if not isinstance(data, dict):
        fail([f"{path}: must be a table of field ids and answers"])
    fields = {f.id: f for _, f in QUESTIONS}
    problems = [
        f"{path}: unknown field '{key}' (fields: {', '.join(fields)})"
        for key in data
        if key not in fields
    ]
    raw: dict[str, Any] = {}
    unreadable: dict[str, str] = {}
    now = utcnow()
    for field_id, typed in data.items():
        f = fields.get(field_id)
        if f is None:
            continue
        items = typed if isinstance(typed, list) else [typed]
        if not all(isinstance(item, str) for item in items):
            unreadable[field_id] = "write the answer as text (or a list of text)"
            continue
        try:
            raw[field_id] = parse_typed(f, typed, org, now)
        except TypedError as exc:
            unreadable[field_id] = str(exc)
    for the_step in STEPS:  # the messages Slack shows, field by field and across fields
        values = answers.parse_step(the_step, raw)
        for field_id, problem in answers.validate(the_step, values, org, now).items():
            unreadable.setdefault(field_id, problem)
    problems += [f"{f.id}: {unreadable[f.id]}" for _, f in QUESTIONS if f.id in unreadable]
    if problems:
        fail(problems)
    return raw


def hand_over_from(raw: dict[str, Any], handovers: Handovers) -> Incident:
    user = drill_user()
    draft = handovers.start_draft(user, "drill", "file")
    for the_step in STEPS[:-1]:
        handovers.save_step(draft.id, user, the_step.id, raw)
    review = {f.id: raw[f.id] for f in STEPS[-1].fields if f.id in raw}
    outcome = handovers.submit(draft.id, user, review, drill=True)
    if outcome.incident is None:
        fail([f"{field_id}: {problem}" for field_id, problem in outcome.errors.items()])
    return outcome.incident


# What the drill shows at the end ---------------------------------------------------------


def show_card(incident: Incident, settings: Settings) -> None:
    """The handover card's content, in the order of the Slack card (bot/slack/ownership/card.py)."""
    c = card_content(incident, settings.org, TERMINAL, mention=lambda user: user)
    say()
    say("The handover card, as the incident managers see it", bold=True, fg="blue")
    say(c.title, bold=True)
    say(f"{c.reference} · reported by {c.reporter}", dim=True)
    if c.breach is not None:
        say("Security or data breach suspected" + (f": {c.breach}" if c.breach else ""), fg="red")
    say(c.why)
    for heading, facts in c.groups:
        say(heading, bold=True)
        for label, value in facts:
            say(f"  {label}: {value}")
    for label, value in c.texts:
        say(f"{label}:", bold=True)
        say(f"  {value}")
    if c.not_known:
        say(f"Not known yet: {', '.join(c.not_known)}")
    say(
        f"Handed over {local_time(incident.handed_over_at)} · handover quality {c.quality.score} %",
        dim=True,
    )


def show_quality(incident: Incident, settings: Settings) -> None:
    quality = assess(incident.handed_over_answers)
    say()
    say(
        f"Handover quality: {quality.score} % ({quality.band})",
        bold=True,
        fg=BAND_COLOUR[quality.band],
    )
    for gap in quality.gaps:
        critical = ", critical" if gap.critical else ""
        say(f"  • {gap.label} ({gap.answer}, weight {gap.weight}{critical}): {gap.training}")
    if not quality.gaps:
        say("  No gaps: every field has a specific answer.")


def show_facts(incident: Incident, settings: Settings, scenario: Scenario) -> None:
    # The priority handed over is the incident's, whether chosen or the proposal accepted.
    values = {**incident.handed_over_answers, "priority": {"value": incident.priority}}
    checks = check_facts(scenario, values, settings.org, TERMINAL)
    right = sum(c.outcome == "right" for c in checks)
    say()
    say(f"Against the scenario's facts: {right} of {len(checks)} right", bold=True)
    for c in checks:
        if c.outcome == "right":
            say(f"  ✓ {c.label}: {c.given}", fg="green")
        else:
            say(f"  ✗ {c.label}: {c.outcome} (you: {c.given}; the facts: {c.expected})", fg="red")


def show_notice(incident: Incident, settings: Settings) -> None:
    next_update = incident.handed_over_at + settings.update_interval_for(incident.priority)
    notice = render("initial", incident, settings.org, PLAIN, Details(next_update_at=next_update))
    say()
    say("The initial stakeholder notice, drafted from the templates", bold=True, fg="blue")
    say(notice.text)


# The command -----------------------------------------------------------------------------


@click.command()
@click.option("--scenario", metavar="NAME|FILE", help="Play a caller (see --list) or a file.")
@click.option(
    "--scenario-dir",
    "scenario_dirs",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A folder of your own scenarios (*.toml); may be repeated.",
)
@click.option("--list", "list_only", is_flag=True, help="List the scenarios and exit.")
@click.option(
    "--answers",
    "answers_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Answer from a JSON or TOML file instead of asking (for scripts).",
)
def drill(
    scenario: str | None,
    scenario_dirs: tuple[Path, ...],
    list_only: bool,
    answers_file: Path | None,
) -> None:
    """Rehearse a major-incident handover in the terminal, without Slack.

    Walks the same checklist as Slack, then shows the handover card, the quality score with
    a training point for each gap, and the first stakeholder notice. The drill is stored
    (DATABASE_URL) as DRILL-…, and never reaches Slack.
    """
    try:
        settings = load_settings(require_slack=False)
    except ConfigError as exc:
        fail(exc.problems)
    if list_only:
        now = utcnow()
        for name in scenario_files(scenario_dirs):
            try:
                title = load_scenario(name, scenario_dirs, settings.org, now).title
            except ScenarioError as exc:
                title = f"(broken: {exc.problems[0]})"
            say(f"{name}: {title}")
        return
    played = None
    if scenario:
        try:
            played = load_scenario(scenario, scenario_dirs, settings.org, utcnow())
        except ScenarioError as exc:
            fail(exc.problems)
    raw = read_answers(answers_file, settings.org) if answers_file else None
    try:
        migrate(settings.database_url)
    except Exception as exc:  # unreachable or refusing database: one line, no traceback
        first_line = (str(exc).splitlines() or [""])[0]
        fail([f"cannot open the database: {type(exc).__name__}: {first_line}"])
    db = Database(settings.database_url)
    handovers = Handovers(db, settings)
    try:
        if raw is not None:
            incident = hand_over_from(raw, handovers)
        else:
            incident = Session(handovers, settings, played).run()
    except click.Abort:
        say("\nDrill stopped: nothing was handed over (the draft is kept).", err=True)
        sys.exit(1)
    show_card(incident, settings)
    show_quality(incident, settings)
    if played:
        show_facts(incident, settings, played)
    show_notice(incident, settings)
    say()
    say(f"Stored as {incident.reference}: a drill, never sent to Slack.", bold=True)
    db.dispose()
