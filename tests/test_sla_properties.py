"""Property tests: the SLA the rules engine reports agrees with calendar arithmetic for any
creation time, moment of evaluation and pending/on-hold pauses (DST, weekends, holidays)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.model import Status, StatusChange, Ticket
from syncd.rules import load_rules
from tests.conftest import RULES

RULESET = load_rules(RULES)
CALENDAR = RULESET.calendars["business"]  # Europe/London, GB holidays
TARGET = timedelta(hours=2)  # Standard policy, High, first response

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
    assert target.breached == (worked > TARGET)
    assert target.due is not None and (target.breached == (now > target.due))
    assert target.at_risk == (not target.breached and worked >= TARGET * 0.75)
