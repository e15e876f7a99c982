"""Pause history in SLA clocks (issue 13): every past pending/on-hold stretch is left out of the
resolution clock, not only the current one, from the helpdesk's own totals (Zendesk's
`agent_wait_time_in_minutes` and `on_hold_time_in_minutes`) when no status history is known."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.zendesk import ZendeskSource, normalize
from syncd.config import ZendeskConfig
from syncd.model import SlaTarget, Status, StatusChange, Ticket
from syncd.rules import load_rules
from syncd.rules.engine import RuleSet
from syncd.sandbox.zendesk import ZendeskApp
from tests.sandbox.serving import serving

EMAIL = "ops@acme.test"
TOKEN = "sla-pauses-token"
HOUR = 3600.0
# A 24/7 policy with a 4 h resolution target, and a business one to compare with.
RULES = """\
name: Pause test SLA
owner: lead@example.com
calendars:
  business:
    timezone: UTC
    hours: {mon-fri: "09:00-17:00"}
sla:
  pause_on: [pending, on_hold]
  policies:
    - policy: Office
      when: {tags: {in: [office]}}
      calendar: business
      targets:
        Medium: {first_response: 8h, resolution: 4h}
    - policy: Round the clock
      calendar: 24/7
      targets:
        Medium: {first_response: 1h, resolution: 4h}
"""


@pytest.fixture(scope="module")
def ruleset(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    directory = tmp_path_factory.mktemp("rules")
    (directory / "sla.yaml").write_text(RULES)
    return load_rules(directory)


def at(hours: float) -> datetime:
    """Monday 2026-11-23 09:00 UTC plus `hours`."""
    return datetime(2026, 11, 23, 9, tzinfo=UTC) + timedelta(hours=hours)


def ticket(
    status: Status = Status.OPEN,
    paused: dict[str, dict[str, float]] | None = None,
    history: tuple[StatusChange, ...] = (),
    updated: float = 4,
    tags: tuple[str, ...] = (),
    **fields: Any,
) -> Ticket:
    return Ticket(
        id="1",
        source="zendesk",
        subject="Question",
        description="",
        status=status,
        created_at=at(0),
        updated_at=at(updated),
        tags=tags,
        first_response_at=at(0.5),
        paused_minutes=paused or {},
        status_history=history,
        **fields,
    )


def resolution(ruleset: RuleSet, t: Ticket, now: datetime) -> SlaTarget:
    sla = ruleset.evaluate(t, now).sla
    assert sla is not None
    return sla.resolution


# -- the engine, on tickets built here ---------------------------------------------------------


def test_past_pending_time_is_left_out_of_the_resolution_clock(ruleset: RuleSet) -> None:
    # Pending 1 h .. 4 h, open again since: 2 of its 5 hours were worked.
    paused = ticket(paused={"pending": {"calendar": 180, "business": 180}})
    target = resolution(ruleset, paused, at(5))
    assert not target.breached
    assert target.left == timedelta(hours=2)
    assert target.due == at(7)  # 4 h of work: 1 h, then 3 h from the end of the pause
    # Without the totals the same ticket has worked 5 hours: breached.
    assert resolution(ruleset, ticket(), at(5)).breached


def test_on_hold_counts_only_when_pause_on_names_it(tmp_path: Path) -> None:
    (tmp_path / "sla.yaml").write_text(RULES.replace("[pending, on_hold]", "[pending]"))
    pending_only = load_rules(tmp_path)
    held = ticket(paused={"on_hold": {"calendar": 180, "business": 180}})
    assert resolution(pending_only, held, at(5)).breached
    assert resolution(load_rules_default(tmp_path), held, at(5)).left == timedelta(hours=2)


def load_rules_default(tmp_path: Path) -> RuleSet:
    directory = tmp_path / "default"
    directory.mkdir()
    (directory / "sla.yaml").write_text(RULES)
    return load_rules(directory)


def test_business_calendars_take_business_minutes(ruleset: RuleSet) -> None:
    # On a business calendar the helpdesk's business minutes count, not calendar minutes.
    t = ticket(tags=("office",), paused={"pending": {"calendar": 1000, "business": 60}})
    assert resolution(ruleset, t, at(5)).left == timedelta(hours=0)  # 5 h - 1 h = 4 h used


def test_totals_and_history_never_count_a_stretch_twice(ruleset: RuleSet) -> None:
    # The helpdesk's totals hold the ended stretch (1 h .. 4 h); the history says the same.
    history = (
        StatusChange(at(0), Status.OPEN),
        StatusChange(at(1), Status.PENDING),
        StatusChange(at(4), Status.OPEN),
    )
    both = ticket(paused={"pending": {"calendar": 180, "business": 180}}, history=history)
    only_history = ticket(history=history)
    assert resolution(ruleset, both, at(5)).left == timedelta(hours=2)
    assert resolution(ruleset, only_history, at(5)).left == timedelta(hours=2)


def test_a_current_pause_is_left_out_as_well(ruleset: RuleSet) -> None:
    # Pending 1 h .. 2 h (in the totals), pending again since 3 h (the current stretch).
    t = ticket(Status.PENDING, paused={"pending": {"calendar": 60, "business": 60}}, updated=3)
    target = resolution(ruleset, t, at(10))
    assert target.left == timedelta(hours=2) and target.due is None and not target.breached


def test_totals_larger_than_possible_never_hide_time_actually_worked(ruleset: RuleSet) -> None:
    # Open since 4 h: whatever the totals say, the hour since then was worked.
    t = ticket(paused={"pending": {"calendar": 10_000, "business": 10_000}})
    target = resolution(ruleset, t, at(5))
    assert target.left == timedelta(hours=3)  # 1 h used


def test_a_solved_ticket_is_measured_without_its_pauses(ruleset: RuleSet) -> None:
    solved = ticket(
        Status.SOLVED,
        paused={"pending": {"calendar": 180, "business": 180}},
        solved_at=at(6),
        updated=6,
    )
    target = resolution(ruleset, solved, at(30))
    assert target.met_at == at(6) and not target.breached and target.used == 0.75


# -- Zendesk: metric_sets normalised -----------------------------------------------------------


def test_zendesk_metric_sets_give_the_paused_minutes() -> None:
    raw = {
        "id": 7,
        "status": "open",
        "subject": "s",
        "created_at": "2026-11-23T09:00:00Z",
        "updated_at": "2026-11-23T14:00:00Z",
    }
    metrics = {
        "agent_wait_time_in_minutes": {"calendar": 180, "business": 120},
        "on_hold_time_in_minutes": {"calendar": None, "business": None},
    }
    t = normalize(raw, None, None, "https://acme.zendesk.com", metrics=metrics)
    assert t.paused_minutes == {"pending": {"calendar": 180.0, "business": 120.0}}
    assert normalize(raw, None, None, "https://acme.zendesk.com").paused_minutes == {}


# -- acceptance: the Zendesk sandbox, through the real connector -------------------------------


class Clock:
    """A settable clock for the sandbox, starting a month before the tests' fixed now."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0 - 30 * 86_400

    def __call__(self) -> float:
        return self.now

    def tick(self, hours: float) -> None:
        self.now += hours * HOUR


@pytest.fixture
def zendesk() -> Iterator[tuple[ZendeskApp, Clock, ZendeskSource]]:
    clock = Clock()
    app = ZendeskApp(email=EMAIL, token=TOKEN, clock=clock)
    with serving(app) as server:
        config = ZendeskConfig(subdomain="acme", email=EMAIL, base_url=server.base_url)
        yield app, clock, ZendeskSource(config, TOKEN, attempts=1)


def pulled(source: ZendeskSource) -> dict[str, Ticket]:
    return {t.id: t for page in source.pull(None) for t in page.tickets}


def test_sandbox_pending_for_3_of_5_hours_is_not_breached(
    zendesk: tuple[ZendeskApp, Clock, ZendeskSource], ruleset: RuleSet
) -> None:
    app, clock, source = zendesk
    agent = app.add_user("Alex Agent", "alex@acme.test", role="agent")
    waited = app.add_ticket(
        "Question", "How?", requester_email="ann@globex.example.com", assignee_id=agent["id"]
    )
    worked = app.add_ticket(
        "Question", "How?", requester_email="bo@globex.example.com", assignee_id=agent["id"]
    )
    clock.tick(1)
    app.update_ticket(waited["id"], status="pending")
    clock.tick(3)
    app.update_ticket(waited["id"], status="open")  # the requester answered
    app.update_ticket(worked["id"], status="open", priority="normal")  # touched, never paused
    clock.tick(1)
    now = datetime.fromtimestamp(clock.now, UTC)

    tickets = pulled(source)
    with_pauses, without = tickets[str(waited["id"])], tickets[str(worked["id"])]
    assert with_pauses.status is Status.OPEN
    assert with_pauses.paused_minutes["pending"]["calendar"] == 180
    kept = resolution(ruleset, with_pauses, now)
    assert (kept.breached, kept.left) == (False, timedelta(hours=2))  # 2 h of 4 h worked
    # The same ticket without its pause history, and a ticket never paused: breached.
    forgotten = dataclasses.replace(with_pauses, paused_minutes={})
    assert resolution(ruleset, forgotten, now).breached
    assert without.paused_minutes == {}
    assert resolution(ruleset, without, now).breached
