"""Property tests: the SLA the rules engine reports agrees with calendar arithmetic for any
creation time, moment of evaluation and pending/on-hold pauses (DST, weekends, holidays); and,
on any calendar (issue 13): past due means breached, pauses never shorten the clock below the
time actually worked, and a ticket paused for all of its life is never breached."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.model import Reason, SlaTarget, Status, StatusChange, Ticket
from syncd.rules import load_rules
from syncd.rules.calendar import Anchor, BusinessCalendar
from syncd.rules.sla import BusinessDays, Policy, SlaRules, Span, Targets, _Clock
from tests.conftest import RULES

RULESET = load_rules(RULES)
CALENDAR = RULESET.calendars["business"]  # Europe/London, GB holidays
TARGET = timedelta(hours=2)  # Standard policy, High, first response
REASON = Reason("sla", "P", "P", "t")
SECOND = timedelta(seconds=1)

moments = st.datetimes(
    min_value=datetime(2026, 3, 20), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None)
@given(
    created=moments,
    hours_later=st.floats(0, 24 * 8),
    pauses=st.lists(st.tuples(st.floats(0, 24 * 5), st.floats(0.1, 30)), max_size=3),
)
def test_first_response_due_and_breach_follow_the_calendar(created, hours_later, pauses):
    created = created.replace(microsecond=0)
    now = created + timedelta(hours=hours_later)
    history = [StatusChange(created, Status.OPEN)]
    for start, length in sorted(pauses):
        begin = created + timedelta(hours=start)
        end = begin + timedelta(hours=length)
        if begin <= history[-1].at or end >= now:
            continue
        history += [StatusChange(begin, Status.PENDING), StatusChange(end, Status.OPEN)]
    ticket = Ticket(
        id="1",
        source="t",
        subject="The app crashes, it is broken",
        description="",
        status=Status.OPEN,
        created_at=created,
        updated_at=history[-1].at,
        status_history=tuple(history),
    )
    decision = RULESET.evaluate(ticket, now)
    assert (decision.priority, decision.sla.policy) == ("High", "Standard")
    spans = [(a.at, b.at) for a, b in itertools.pairwise(history) if a.status is Status.PENDING]
    target = decision.sla.first_response
    assert target.due == CALENDAR.add_with_pauses(created, TARGET, spans)
    worked = CALENDAR.elapsed_with_pauses(created, now, spans)
    # Past the due time is breached, also while the calendar is closed (worked == TARGET).
    assert target.due is not None and (target.breached == (now > target.due))
    assert target.breached >= (worked > TARGET)
    assert target.at_risk == (not target.breached and worked >= TARGET * 0.75)


# -- any calendar (issue 13) -------------------------------------------------------------------

CALENDARS = [
    BusinessCalendar.always(),
    CALENDAR,  # Mon-Fri 08:00-18:00 London, GB holidays
    BusinessCalendar.build("split", "America/New_York", {"mon-fri": "09:00-12:00,13:00-17:30"}),
    BusinessCalendar.build("weekend", "Asia/Tokyo", {"sat,sun": "10:00-16:00"}),
]
PAUSE_ON = frozenset({Status.PENDING, Status.ON_HOLD})
spans = st.one_of(
    st.integers(1, 72 * 60).map(lambda m: timedelta(minutes=m)),
    st.integers(1, 6).map(BusinessDays),
)
steps = st.lists(
    st.tuples(st.integers(1, 3 * 24 * 60), st.sampled_from([Status.OPEN, *PAUSE_ON])),
    max_size=6,
)


def _measure(
    calendar: BusinessCalendar, span: Span, ticket: Ticket, now: datetime, first: bool = True
) -> tuple[SlaTarget, datetime | None]:
    """The resolution target and the next check, of a policy with `span` as its resolution
    target and, when `first`, as its first response target too."""
    targets = Targets(span if first else None, span)
    policy = Policy("P", None, calendar, {"High": targets}, "t", REASON)
    sla, next_check = SlaRules([policy]).measure(policy, ticket, "High", now)
    return sla.resolution, next_check


def _ticket(created: datetime, history: list[StatusChange], **fields: Any) -> Ticket:
    return Ticket(
        id="1",
        source="t",
        subject="s",
        description="",
        status=history[-1].status,
        created_at=created,
        updated_at=history[-1].at,
        status_history=tuple(history),
        **fields,
    )


def _history(created: datetime, changes: list[tuple[int, Status]]) -> list[StatusChange]:
    history = [StatusChange(created, Status.OPEN)]
    for minutes, status in changes:
        history.append(StatusChange(history[-1].at + timedelta(minutes=minutes), status))
    return history


def _running(calendar: BusinessCalendar, history: list[StatusChange], now: datetime) -> timedelta:
    """Working time spent in statuses that do not pause the clock."""
    ends = [c.at for c in history[1:]] + [now]
    return sum(
        (
            calendar.elapsed(c.at, end)
            for c, end in zip(history, ends, strict=True)
            if c.status not in PAUSE_ON
        ),
        timedelta(0),
    )


@settings(max_examples=150, deadline=None)
@given(
    calendar=st.sampled_from(CALENDARS),
    created=moments,
    span=spans,
    changes=steps,
    minutes_later=st.integers(0, 20 * 24 * 60),
    replied=st.booleans(),
)
def test_past_due_is_breached_on_any_calendar(
    calendar, created, span, changes, minutes_later, replied
):
    created = created.replace(microsecond=0)
    history = _history(created, changes)
    now = history[-1].at + timedelta(minutes=minutes_later)
    ticket = _ticket(created, history)
    target, next_check = _measure(calendar, span, ticket, now)
    if target.due is not None:
        assert target.breached == (now > target.due)
    else:
        assert not target.breached
    # The timer is never set to a moment already past.
    assert next_check is None or next_check > now
    # A target met after its due time is breached, whenever it is looked at.
    if target.due is not None and replied:
        late = dataclasses.replace(ticket, status=Status.SOLVED, solved_at=target.due + SECOND)
        met, _ = _measure(calendar, span, late, now + timedelta(days=30))
        assert met.breached and met.met_at == target.due + SECOND


@settings(max_examples=150, deadline=None)
@given(
    calendar=st.sampled_from(CALENDARS),
    created=moments,
    changes=steps,
    minutes_later=st.integers(0, 3 * 24 * 60),
    extra=st.integers(0, 10_000),
)
def test_pauses_never_shorten_the_clock_below_the_time_worked(
    calendar, created, changes, minutes_later, extra
):
    created = created.replace(second=0, microsecond=0)
    history = _history(created, changes)
    now = history[-1].at + timedelta(minutes=minutes_later)
    span = timedelta(days=400)  # never reached: `left` tells the time used
    running = _running(calendar, history, now)
    # From the status history: exactly the time spent in running statuses.
    target, _ = _measure(calendar, span, _ticket(created, history), now)
    assert span - target.left == running
    # From the helpdesk's totals of the ended stretches (whole minutes, the kind the policy's
    # calendar counts), with only the current stretch known: the same.
    kind = "calendar" if calendar.round_the_clock else "business"
    paused: dict[str, dict[str, float]] = {}
    ends = [c.at for c in history[1:]]
    for change, end in zip(history, ends, strict=False):
        if change.status in PAUSE_ON:
            minutes = calendar.elapsed(change.at, end) / timedelta(minutes=1)
            kept = paused.setdefault(change.status.value, {kind: 0.0})
            kept[kind] += minutes
    current = _ticket(created, history[-1:], paused_minutes=paused)
    target, _ = _measure(calendar, span, current, now)
    assert span - target.left == running
    # Totals larger than possible (another schedule, bad data) never take away the time
    # worked in the current stretch, nor make the clock negative.
    inflated = {k: {kind: v[kind] + extra} for k, v in paused.items()} or {
        "pending": {kind: float(extra)}
    }
    target, _ = _measure(calendar, span, dataclasses.replace(current, paused_minutes=inflated), now)
    used = span - target.left
    last = history[-1]
    floor = calendar.elapsed(last.at, now) if last.status not in PAUSE_ON else timedelta(0)
    assert floor <= used <= max(running, floor)


@settings(max_examples=100, deadline=None)
@given(
    calendar=st.sampled_from(CALENDARS),
    created=moments,
    span=spans,
    changes=st.lists(
        st.tuples(st.integers(1, 3 * 24 * 60), st.sampled_from(sorted(PAUSE_ON))), max_size=4
    ),
    days_later=st.integers(0, 400),
    totals=st.booleans(),
)
def test_a_ticket_paused_all_its_life_is_never_breached(
    calendar, created, span, changes, days_later, totals
):
    created = created.replace(second=0, microsecond=0)
    history = _history(created, changes)
    history[0] = StatusChange(created, Status.PENDING)  # paused from the start
    now = history[-1].at + timedelta(days=days_later)
    ticket = _ticket(created, history)
    if totals:  # the same life told by the helpdesk's totals and the current stretch
        minutes = calendar.elapsed(created, history[-1].at) / timedelta(minutes=1)
        kind = "calendar" if calendar.round_the_clock else "business"
        ticket = _ticket(created, history[-1:], paused_minutes={"pending": {kind: minutes}})
    # The resolution clock only: with totals, the first response clock is not paused by them
    # (it may be at risk, with a timer, in the minute the ticket was created).
    target, next_check = _measure(calendar, span, ticket, now, first=False)
    assert not target.breached and not target.at_risk and target.due is None
    assert next_check is None


# -- the clocks' shortcuts (syncd.rules.calendar.Anchor, syncd.rules.sla._Clock.on) ------------

offsets = st.integers(-3 * 24 * 60, 400 * 24 * 60).map(lambda m: timedelta(minutes=m, seconds=7))


@settings(max_examples=300, deadline=None)
@given(
    calendar=st.sampled_from(CALENDARS),
    start=moments,
    duration=offsets,
    later=offsets,
    days=st.integers(0, 300),
)
def test_an_anchor_answers_as_its_calendar(calendar, start, duration, later, days):
    anchor = Anchor(calendar, start)
    duration = abs(duration)
    assert anchor.after(duration) == calendar.add(start, duration)
    moment = start + later
    assert anchor.until(moment) == calendar.elapsed(start, moment)
    assert anchor.until_now(moment) == calendar.elapsed(start, moment)
    assert anchor.business_days(days) == calendar.business_days(start, days)


@settings(max_examples=300, deadline=None)
@given(
    calendar=st.sampled_from(CALENDARS),
    start=moments,
    stop=offsets,
    duration=offsets,
    later=offsets,
    days=st.integers(0, 30),
)
def test_a_clock_stopped_by_one_pause_answers_as_the_calendar_with_pauses(
    calendar, start, stop, duration, later, days
):
    pauses = [(start + stop, None)]
    now = start + later
    clock = _Clock.on(calendar, start, pauses, now, 0.75)
    assert type(clock).__name__ == "_Stopped"
    duration = abs(duration)
    assert clock.after(duration) == calendar.add_with_pauses(start, duration, pauses)
    assert clock.worked(now) == calendar.elapsed_with_pauses(start, now, pauses)
    assert clock.worked_now() == calendar.elapsed_with_pauses(start, now, pauses)
    assert clock.business_days(days) == calendar.business_days(start, days)


@settings(max_examples=300, deadline=None)
@given(
    calendar=st.sampled_from([c for c in CALENDARS if not c.round_the_clock]),
    created=moments,
    span=spans,
    later=offsets,
)
def test_a_standing_remembered_by_its_opening_is_the_one_worked_out(calendar, created, span, later):
    """Tickets whose clocks start at one opening share the standing of a target not yet met:
    the one remembered (here for a ticket created at the opening itself) is the one worked
    out for each of them."""
    now = created + later
    opening = calendar.add(created, timedelta(0))
    first = _Clock.on(calendar, opening, (), now, 0.75)
    clock = _Clock.on(calendar, created, (), now, 0.75)
    assert first.standing(span, None) == _Clock.standing(first, span, None)
    assert clock.standing(span, None) == _Clock.standing(clock, span, None)
