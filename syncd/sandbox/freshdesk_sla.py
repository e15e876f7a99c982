"""Freshdesk's own SLA, as the emulator computes it: `fr_due_by`, `due_by`, `nr_due_by` and
the escalation flags of a ticket, from the account's SLA policy and business hours.

What Freshdesk documents, and the emulator does:

- An SLA policy sets, per priority (Urgent, High, Medium, Low), a first response time, an
  every response time (each customer message after the first response) and a resolution
  time, each counted in business hours or in calendar hours ([SLA], [Hours]). The API serves
  them as `fr_due_by` (first response due), `nr_due_by` (next response due, where the account
  has every-response targets) and `due_by` (resolution due) ([API] View a ticket).
- Calendar hours run round the clock, weekends and holidays included; business hours only
  within the working hours of the business-hours setting, minus its holidays ([Hours]).
- Business hours are chosen by group: each group can have its own (teams in other regions);
  a ticket without a group, or in a group without any, gets the account's default business
  hours ([BH]).
- The SLA timer starts when the ticket is created ([Timer]) and stops while the ticket is in
  a status whose SLA timer is switched off: Pending by default, and any status the admin set
  so ([Timer], [OnHold]; the emulator's `STOPS_SLA_TIMER`). The time spent there does not
  count: when the ticket leaves such a status its due times move later by the working time
  it spent stopped.
- A change of priority (or group) recalculates the due times, unless an agent set the due
  time by hand: "Once a manual change is done to the Due Time of a ticket, it will not change
  again when the ticket properties (for example, a change in priority) are updated" ([Due]).
- `fr_escalated` is set once the first response is overdue ("Response due"), `is_escalated`
  once the resolution is overdue ("Overdue"), `nr_escalated` once a next response is
  ([Overdue], [API]: "Set to true if the ticket has been escalated as the result of first
  response time being breached"); a flag stays set.

Inferred, to re-check against a live account:
- while the timer is stopped the due times keep their last value (the ticket shows no new
  due time until it leaves the status); the emulator keeps them, and the flags do not turn
  while stopped;
- a recalculated due time counts from the ticket's creation with the new priority's target
  (as Zendesk re-applies its policies), not from the moment of the change;
- `nr_due_by` counts from the requester's latest unanswered message and is null once an
  agent answered it (or while nobody waits);
- one working interval per day (Freshdesk's business hours set a start and an end per day),
  holidays as a list of dates.

References:
- [SLA] Understanding SLA policies,
  https://support.freshdesk.com/support/solutions/articles/37626-understanding-sla-policies
- [Hours] What are business hours and calendar hours?,
  https://support.freshdesk.com/support/solutions/articles/37627
- [BH] the same article since December 2025: "Business hours in Freshdesk cannot be applied to
  tickets unless they are first mapped to a group ... If no group is assigned, the ticket
  defaults to the business hours."
- [Timer] When a ticket is created, does the timer start right away?,
  https://support.freshdesk.com/support/solutions/articles/229718
- [Due] SLA FAQ folder, https://support.freshdesk.com/support/solutions/folders/272943
- [Overdue] Response due vs overdue,
  https://support.freshdesk.com/support/solutions/articles/228680
- [OnHold] https://freshdesk.com/customer-support-glossary/on-hold-ticket
- [API] https://developers.freshdesk.com/api/#tickets (fr_due_by, due_by, fr_escalated,
  is_escalated; nr_due_by and nr_escalated in current responses)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

Stop = tuple[int, int | None]  # epoch seconds the timer was stopped: from, until (None: still)
MAX_DAYS = 3 * 366  # a target that does not end within three years never ends


@dataclass(frozen=True)
class BusinessHours:
    """A business-hours setting: one working interval per weekday (0 Monday .. 6 Sunday; a
    day not listed is off) in a timezone, and holiday dates."""

    name: str
    timezone: str
    days: Mapping[int, tuple[time, time]]
    holidays: frozenset[date] = frozenset()

    def windows(self, start: int) -> Any:
        """Working intervals (epoch seconds) from `start` on, in order."""
        zone = ZoneInfo(self.timezone)
        day = datetime.fromtimestamp(start, zone).date()
        for _ in range(MAX_DAYS):
            hours = self.days.get(day.weekday())
            if hours is not None and day not in self.holidays:
                opens = int(datetime.combine(day, hours[0], zone).timestamp())
                closes = int(datetime.combine(day, hours[1], zone).timestamp())
                if closes > start:
                    yield max(opens, start), closes
            day += timedelta(days=1)


def weekdays(opens: str, closes: str, days: Sequence[int] = (0, 1, 2, 3, 4)) -> dict[int, Any]:
    """The same hours on each of `days` ("09:00", "17:00"): Monday to Friday by default."""
    return {d: (time.fromisoformat(opens), time.fromisoformat(closes)) for d in days}


@dataclass(frozen=True)
class Targets:
    """One priority's targets in minutes; `business_hours` False counts calendar hours."""

    first_response: int
    resolution: int
    every_response: int | None = None
    business_hours: bool = False


@dataclass
class SlaSetup:
    """The account's SLA policy (targets by priority code 1 Low .. 4 Urgent) and business
    hours: the default setting and the groups' own (group id -> setting)."""

    targets: dict[int, Targets]
    name: str = "Default SLA Policy"
    business_hours: BusinessHours = field(
        default_factory=lambda: BusinessHours("Default", "UTC", weekdays("09:00", "17:00"))
    )
    group_hours: dict[int, BusinessHours] = field(default_factory=dict)

    def hours_for(self, priority: int, group_id: int | None) -> BusinessHours | None:
        """The business hours a ticket's targets count on (None: calendar hours)."""
        targets = self.targets.get(priority)
        if targets is None or not targets.business_hours:
            return None
        return self.group_hours.get(group_id or 0, self.business_hours)


def add_working(
    start: int, minutes: int, hours: BusinessHours | None, stops: Sequence[Stop]
) -> int | None:
    """When `minutes` of working time have passed from `start`, leaving out the stopped
    stretches; None while the timer is stopped for good before that."""
    left = minutes * 60
    windows = hours.windows(start) if hours is not None else iter([(start, None)])
    for lo, hi in windows:
        for a, b in _minus(lo, hi, stops):
            if b is None or b - a >= left:
                return a + left
            left -= b - a
        if hi is None or any(s[1] is None and s[0] <= hi for s in stops):
            return None  # round the clock, or stopped for good: never runs out
    return None


def _minus(lo: int, hi: int | None, stops: Sequence[Stop]) -> list[tuple[int, int | None]]:
    """[lo, hi) without the stopped stretches (sorted by start)."""
    out: list[tuple[int, int | None]] = []
    at: int | None = lo
    for a, b in stops:
        if at is None or (hi is not None and a >= hi):
            break
        if b is not None and b <= at:
            continue
        if a > at:
            out.append((at, a if hi is None else min(a, hi)))
        at = None if b is None else max(at, b)
    if at is not None and (hi is None or at < hi):
        out.append((at, hi))
    return out


def stops(history: Sequence[tuple[int, int]], stopping: Mapping[int, bool]) -> list[Stop]:
    """The stretches of a status history ((epoch, status code), oldest first) spent in
    statuses that stop the SLA timer."""
    out: list[Stop] = []
    for i, (at, code) in enumerate(history):
        if stopping.get(code, False):
            end = history[i + 1][0] if i + 1 < len(history) else None
            out.append((at, end))
    return out


def due_times(
    setup: SlaSetup,
    ticket: Mapping[str, Any],
    history: Sequence[tuple[int, int]],
    stopping: Mapping[int, bool],
    stats: Mapping[str, int | None],
) -> dict[str, int | None]:
    """The due times of a ticket as epoch seconds: fr_due_by, due_by, nr_due_by (None: no
    due time now: no target, or stopped). `stats` holds epoch seconds of the ticket's
    created_at, requester_responded_at, agent_responded_at and first_responded_at."""
    targets = setup.targets.get(ticket["priority"])
    if targets is None:
        return {"fr_due_by": None, "due_by": None, "nr_due_by": None}
    hours = setup.hours_for(ticket["priority"], ticket.get("group_id"))
    stopped = stops(history, stopping)
    created = stats["created_at"]
    assert created is not None
    out = {
        "fr_due_by": add_working(created, targets.first_response, hours, stopped),
        "due_by": add_working(created, targets.resolution, hours, stopped),
        "nr_due_by": None,
    }
    asked, answered = stats.get("requester_responded_at"), stats.get("agent_responded_at")
    waiting = asked is not None and answered is not None and asked > answered
    if targets.every_response is not None and waiting and stats.get("first_responded_at"):
        assert asked is not None
        out["nr_due_by"] = add_working(asked, targets.every_response, hours, stopped)
    return out


def escalations(
    due: Mapping[str, int | None], met: Mapping[str, int | None], now: int, running: bool
) -> dict[str, bool]:
    """The escalation flags that hold at `now` ([Overdue]): a target met after its due
    time, or unmet past it while the timer runs (`met`: epoch of the first response,
    "first_response", and of the resolution, "resolution")."""
    out = {}
    for flag, key, done in (
        ("fr_escalated", "fr_due_by", met.get("first_response")),
        ("is_escalated", "due_by", met.get("resolution")),
        ("nr_escalated", "nr_due_by", None),
    ):
        at = due.get(key)
        late = False
        if at is not None:
            late = done > at if done is not None else running and now > at
        out[flag] = late
    return out
