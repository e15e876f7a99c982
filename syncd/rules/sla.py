"""SLA policies: first-response and resolution targets per priority, on a business calendar.

calendars:
  business:
    timezone: Europe/London
    hours: {mon-fri: "09:00-17:30"}
    holidays: {country: GB, subdivision: ENG, dates: [2026-12-24]}
sla:
  at_risk: 75%                 # share of a target after which a ticket is at risk
  pause_on: [pending, on_hold] # the clock stops while the ticket waits on someone else
  policies:
    - policy: Standard
      calendar: business       # "24/7" is built in
      calendar_by_group:       # optional: teams keeping other hours (by the group's name)
        Support Berlin: berlin
      when: {...}              # optional: which tickets (first matching policy wins)
      targets:
        High: {first_response: 2h, resolution: 24h}   # hours: working hours of the calendar
        Low: {first_response: 2d, resolution: 5d}     # days: business days of the calendar

Measuring, as Zendesk and Freshdesk do: a target is breached once its due time has passed
(also when the calendar has been closed since), or when it was met after its due time. A
target in days on a business calendar counts business days (1d from Friday 10:00 ends Monday
10:00); on 24/7 a day is 24 hours. The resolution clock leaves out every stretch the ticket
spent in a `pause_on` status: from its status history when the source gives one, else from the
helpdesk's paused-time totals (`Ticket.paused_minutes`) plus the current stretch. A ticket of a
group named in `calendar_by_group` is measured on that group's calendar (its hours and
holidays), as Freshdesk applies a group's business hours; any other on the policy's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter
from pathlib import Path
from typing import Any

from syncd.durations import duration_parts, parse_duration
from syncd.model import (
    SLA_MEASURES,
    Reason,
    SlaStatus,
    SlaTarget,
    Status,
    Ticket,
)
from syncd.rules.calendar import Anchor, BusinessCalendar, merge_pauses
from syncd.rules.conditions import FIELDS, SLA, Compiler, Facts, Predicate
from syncd.rules.loader import Problems, where

ALWAYS = "24/7"
_ZERO = timedelta(0)
_SECOND = timedelta(seconds=1)
DEFAULT_PAUSE = frozenset({Status.PENDING, Status.ON_HOLD})
# Zendesk's requester wait time stops while pending; agent work time also on hold.
REQUESTER_WAIT_PAUSE = frozenset({Status.PENDING})
AGENT_WORK_PAUSE = DEFAULT_PAUSE
Pause = tuple[datetime, datetime | None]


@dataclass(frozen=True, slots=True)
class BusinessDays:
    """A target of whole business days, on a business calendar (see `business_days`)."""

    count: int


# A target: working time, or business days (turned into working time per ticket).
Span = timedelta | BusinessDays


@dataclass(frozen=True, slots=True)
class Targets:
    """The targets for one priority (None: no target). `more`: any besides first response
    and resolution is set (most policies set none, and measuring skips them)."""

    first_response: Span | None
    resolution: Span | None
    next_reply: Span | None = None
    periodic_update: Span | None = None
    first_resolution: Span | None = None
    requester_wait: Span | None = None
    agent_work: Span | None = None
    more: bool = False


@dataclass(frozen=True, slots=True)
class Policy:
    """One compiled SLA policy."""

    name: str
    when: Predicate | None
    calendar: BusinessCalendar
    targets: dict[str, Targets]
    where: str
    reason: Reason
    # calendar_by_group: the group's name, case-folded -> its team's calendar.
    by_group: dict[str, BusinessCalendar] = field(default_factory=dict)

    def calendar_for(self, ticket: Ticket) -> BusinessCalendar:
        """The calendar the ticket is measured on: its group's, else the policy's."""
        if self.by_group and ticket.group_name:
            return self.by_group.get(ticket.group_name.casefold(), self.calendar)
        return self.calendar


@dataclass
class SlaRules:
    """Every SLA policy of the rule set, and how to measure them."""

    policies: list[Policy]
    at_risk: float = 0.75
    pause_on: frozenset[Status] = DEFAULT_PAUSE

    def policy_for(self, facts: Facts) -> Policy | None:
        """The first policy whose condition holds."""
        for policy in self.policies:
            if policy.when is None or policy.when(facts):
                return policy
        return None

    def measure(
        self, policy: Policy, ticket: Ticket, priority: str, now: datetime
    ) -> tuple[SlaStatus, datetime | None]:
        """Where the ticket stands against the policy at `now`, and the next moment that
        changes by the clock alone (a target turning at risk or breached)."""
        sla, change, _calendar = self.measured(policy, ticket, priority, now)
        return sla, change

    def measured(
        self, policy: Policy, ticket: Ticket, priority: str, now: datetime
    ) -> tuple[SlaStatus, datetime | None, BusinessCalendar]:
        """`measure`, and the calendar the ticket was measured on."""
        targets = policy.targets.get(priority, NO_TARGETS)
        calendar = policy.calendar
        if policy.by_group and ticket.group_name:  # as `Policy.calendar_for`
            calendar = policy.by_group.get(ticket.group_name.casefold(), calendar)
        status = ticket.status
        resolved = None
        if status is Status.SOLVED or status is Status.CLOSED:
            # Without the helpdesk's solve time, the last update is when it was solved.
            resolved = ticket.solved_at or ticket.updated_at
        clock = self._clock(calendar, ticket, now, self.pause_on)
        first, next_first = clock.standing(targets.first_response, ticket.first_response_at)
        if not ticket.replies_known and ticket.first_response_at is None:
            first, next_first = SlaTarget(due=first.due), None  # cannot judge: show due only
        past = _ZERO
        if ticket.paused_minutes and (targets.resolution is not None or targets.more):
            past = self.past_pauses(ticket, calendar, clock, resolved, self.pause_on)
        resolution, next_resolution = clock.standing(targets.resolution, resolved, past)
        sla = SlaStatus(policy.name, calendar.name, first, resolution)
        if not targets.more:
            if not status.is_open or next_first is None:
                return sla, next_resolution if status.is_open else None, calendar
            if next_resolution is None:
                return sla, next_first, calendar
            return sla, min(next_first, next_resolution), calendar
        changes = [next_first, next_resolution]
        self._more(sla, targets, calendar, ticket, now, (clock, past, resolved), changes)
        if not status.is_open:
            return sla, None, calendar
        return sla, min((c for c in changes if c is not None), default=None), calendar

    def _clock(
        self, calendar: BusinessCalendar, ticket: Ticket, now: datetime, paused: frozenset[Status]
    ) -> _Clock:
        """The clock from the ticket's creation, stopped in the `paused` statuses."""
        status = ticket.status
        start = ticket.created_at
        if not ticket.status_history and status not in paused and start.tzinfo is UTC:
            # Nothing paused it (most tickets): `_Clock.on`'s choice, made here.
            plain = _RoundTheClock if calendar.round_the_clock else _Steady
            return plain(calendar, start, (), now, self.at_risk)
        pauses = ticket.pauses(paused) if ticket.status_history or status in paused else ()
        if ticket.paused_minutes:
            # The helpdesk's totals hold every stretch before the current one: keep only the
            # current (open-ended) pause from the history, so nothing counts twice.
            pauses = [p for p in pauses if p[1] is None]
        return _Clock.on(calendar, start, pauses, now, self.at_risk)

    def _more(
        self,
        sla: SlaStatus,
        targets: Targets,
        calendar: BusinessCalendar,
        ticket: Ticket,
        now: datetime,
        resolution: tuple[_Clock, timedelta, datetime | None],
        changes: list[datetime | None],
    ) -> None:
        """The measures besides first response and (full) resolution, into `sla`.

        Next reply runs from the requester's oldest unanswered message to the next public
        agent reply, periodic update from the latest public agent reply while the ticket is
        open; neither pauses (as Zendesk measures reply and update times). First resolution
        runs from creation to the first solve and is never restarted by a reopen; full
        resolution (`resolution`) is met only while the ticket is solved. Requester wait
        stops while pending, agent work while pending or on hold (Zendesk's definitions)."""
        unseen = ticket.unseen
        is_open = ticket.status.is_open
        if targets.next_reply is not None:
            if "next_reply" in unseen:
                sla.next_reply = SlaTarget(None, known=False)
            elif is_open and ticket.first_response_at and ticket.awaiting_reply_since:
                clock = _Clock.on(calendar, ticket.awaiting_reply_since, (), now, self.at_risk)
                sla.next_reply, change = clock.standing(targets.next_reply, None)
                changes.append(change)
            else:
                sla.next_reply = SlaTarget(None, met_at=ticket.last_agent_reply_at)
        if targets.periodic_update is not None:
            if "periodic_update" in unseen:
                sla.periodic_update = SlaTarget(None, known=False)
            elif is_open and ticket.last_agent_reply_at is not None:
                clock = _Clock.on(calendar, ticket.last_agent_reply_at, (), now, self.at_risk)
                sla.periodic_update, change = clock.standing(targets.periodic_update, None)
                changes.append(change)
        full, past, resolved = resolution
        if targets.first_resolution is not None:
            sla.first_resolution = self._first_resolution(
                targets.first_resolution, ticket, full, past, resolved, changes
            )
        for name, span, paused in (
            ("requester_wait", targets.requester_wait, REQUESTER_WAIT_PAUSE),
            ("agent_work", targets.agent_work, AGENT_WORK_PAUSE),
        ):
            if span is None:
                continue
            clock = full if paused == self.pause_on else self._clock(calendar, ticket, now, paused)
            waited = past if paused == self.pause_on else _ZERO
            if ticket.paused_minutes and paused != self.pause_on:
                waited = self.past_pauses(ticket, calendar, clock, resolved, paused)
            target, change = clock.standing(span, resolved, waited)
            setattr(sla, name, target)
            changes.append(change)

    def _first_resolution(
        self,
        span: Span,
        ticket: Ticket,
        clock: _Clock,
        past: timedelta,
        resolved: datetime | None,
        changes: list[datetime | None],
    ) -> SlaTarget:
        """From creation to the first solve, on the resolution clock; a reopen never restarts
        it. Unknown when the source cannot tell the first solve of a reopened ticket, or
        when a first solve came late by the clock but pauses known only as totals (which
        may have come after it) could have made it on time."""
        if "first_resolution" in ticket.unseen:
            return SlaTarget(None, known=False)
        reopened = ticket.reopens > 0 or (
            ticket.first_solved_at is not None and ticket.first_solved_at != resolved
        )
        if not reopened:
            target, change = clock.standing(span, resolved, past)
            changes.append(change)
            return target
        if ticket.first_solved_at is None:
            return SlaTarget(None, known=False)
        target, _change = clock.standing(span, ticket.first_solved_at)
        if target.breached and ticket.paused_minutes:
            return SlaTarget(target.due, ticket.first_solved_at, known=False)
        return target

    def past_pauses(
        self,
        ticket: Ticket,
        calendar: BusinessCalendar,
        clock: _Clock,
        resolved: datetime | None,
        paused: frozenset[Status] | None = None,
    ) -> timedelta:
        """Working time the ticket spent paused before its current stretch, from the
        helpdesk's totals: calendar minutes on a round-the-clock calendar, else business
        minutes (which the helpdesk counts on its own schedule). Never more than the clock ran
        before the current stretch began: a pause cannot hide time actually worked."""
        kind = "calendar" if calendar.round_the_clock else "business"
        minutes = 0.0
        for status in self.pause_on if paused is None else paused:
            value = (ticket.paused_minutes.get(status.value) or {}).get(kind)
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                minutes += value
        if not minutes:
            return _ZERO
        history = ticket.status_history
        stretch = history[-1].at if history else ticket.updated_at
        before = clock.worked(min(stretch, resolved) if resolved else stretch)
        return min(timedelta(minutes=minutes), before)


class _Clock:
    """One ticket's SLA clock on a calendar: working time from its creation, minus pauses.

    `on` picks the kind; each answers `after`, `worked`, `worked_now` and `business_days`
    its own way, and `standing` judges a target with them."""

    # Each kind has its own slots (a steady clock's are the Anchor's and more); an instance
    # without a __dict__ keeps attribute and method lookups on the interpreter's fast paths.
    __slots__ = ()
    calendar: BusinessCalendar
    start: datetime
    now: datetime
    at_risk: float
    pauses: Sequence[Pause]  # as `merge_pauses` gives them

    @staticmethod
    def on(
        calendar: BusinessCalendar,
        start: datetime,
        pauses: Sequence[Pause],
        now: datetime,
        at_risk: float,
    ) -> _Clock:
        """The clock for `start`: plain arithmetic when the calendar is open around the clock
        and nothing paused it (most tickets of 24/7 policies); the start located once when
        nothing paused it or one pause stopped it for good (a ticket waiting in a paused
        status, the usual way to be paused); else the calendar's, pauses merged once."""
        if start.tzinfo is UTC:
            if not pauses:
                plain = _RoundTheClock if calendar.round_the_clock else _Steady
                return plain(calendar, start, (), now, at_risk)
            if len(pauses) == 1:
                stop, until = pauses[0]
                if until is None and stop.tzinfo is UTC:  # as `merge_pauses` gives it
                    return _Stopped(calendar, start, ((max(stop, start), None),), now, at_risk)
        # Merged once here rather than on each of the calendar calls of the clock.
        merged = merge_pauses(pauses, start) if pauses else ()
        return _Paused(calendar, start, merged, now, at_risk)

    def after(self, duration: timedelta) -> datetime | None:
        """The moment `duration` of clock time has run (None: paused for good before)."""
        raise NotImplementedError

    def worked(self, moment: datetime) -> timedelta:
        """The clock time from the start to `moment`."""
        raise NotImplementedError

    def worked_now(self) -> timedelta:
        """The clock time from the start to now."""
        return self.worked(self.now)

    def business_days(self, count: int) -> timedelta:
        """The working time of `count` business days from the start (pauses aside)."""
        return self.calendar.business_days(self.start, count)

    def standing(
        self, span: Span | None, met_at: datetime | None, past: timedelta = _ZERO
    ) -> tuple[SlaTarget, datetime | None]:
        """Where one target stands, and when it next changes by the clock alone. `past`:
        working time paused before the ticket's current stretch, known only as a total.
        Breached means past the due time, even while the calendar is closed (a target due at
        Friday's closing is breached all weekend, not from Monday's opening)."""
        if span is None:
            return SlaTarget(due=None, met_at=met_at), None
        target = self.business_days(span.count) if isinstance(span, BusinessDays) else span
        if target <= _ZERO:
            return SlaTarget(due=None, met_at=met_at), None
        due = self.after(target + past) if past else self.after(target)
        if met_at is not None:
            used_time = self.worked(met_at) - past if past else self.worked(met_at)
            # due None: paused for good before the target ran out.
            late = met_at > due if due is not None else used_time > target
            return SlaTarget(due, met_at, None, used_time / target, late), None
        so_far = self.worked_now()
        used_time = so_far - past if past else so_far
        used = used_time / target
        breached = self.now > due if due is not None else used_time > target
        at_risk = not breached and used >= self.at_risk
        next_change = None
        if not breached and due is not None:
            # Just past the threshold: at-risk first (if not yet), then the due time.
            if at_risk:
                next_change = due + _SECOND
            elif not self.pauses or ticket_clock_runs(self.pauses):
                share = _RISK_SPANS.get((target, self.at_risk)) or _risk_span(target, self.at_risk)
                risk = self.after(share + past) if past else self.after(share)
                next_change = risk + _SECOND if risk else None
        return SlaTarget(due, None, target - used_time, used, breached, at_risk), next_change


class _Paused(_Clock):
    """A clock that pauses: the calendar's arithmetic with pauses, merged once."""

    __slots__ = ("at_risk", "calendar", "now", "pauses", "so_far", "start")

    def __init__(
        self,
        calendar: BusinessCalendar,
        start: datetime,
        merged: Sequence[Pause],
        now: datetime,
        at_risk: float,
    ) -> None:
        self.pauses = merged
        self.calendar = calendar
        self.start = start
        self.now = now
        self.at_risk = at_risk
        self.so_far: timedelta | None = None  # worked_now, for both targets

    def after(self, duration: timedelta) -> datetime | None:
        if self.pauses:
            return self.calendar.add_with_pauses(self.start, duration, self.pauses, merged=True)
        return self.calendar.add(self.start, duration)

    def worked(self, moment: datetime) -> timedelta:
        if self.pauses:
            return self.calendar.elapsed_with_pauses(self.start, moment, self.pauses, merged=True)
        return self.calendar.elapsed(self.start, moment)

    def worked_now(self) -> timedelta:
        # Worked out once for both targets: with pauses, the calendar walks them all.
        if self.so_far is None:
            self.so_far = self.worked(self.now)
        return self.so_far


class _RoundTheClock(_Paused):
    """A clock that never paused on a calendar open around the clock: clock time is elapsed
    time, so `add` and `elapsed` come to datetime arithmetic (their checks done once, in
    `_Clock.on`: the start is in UTC, the durations are positive)."""

    __slots__ = ()

    def after(self, duration: timedelta) -> datetime | None:
        return self.start + duration

    def worked(self, moment: datetime) -> timedelta:
        return moment - self.start if moment > self.start else _ZERO

    def standing(
        self, span: Span | None, met_at: datetime | None, past: timedelta = _ZERO
    ) -> tuple[SlaTarget, datetime | None]:
        # `_Clock.standing` with `after` and `worked` written out as the arithmetic they are
        # here, for a target in hours (most tickets of 24/7 policies, each measured twice).
        if past or span.__class__ is not timedelta or span <= _ZERO:
            return _Clock.standing(self, span, met_at, past)
        start = self.start
        due = start + span
        if met_at is not None:
            used_time = met_at - start if met_at > start else _ZERO
            return SlaTarget(due, met_at, None, used_time / span, met_at > due), None
        now = self.now
        used_time = now - start if now > start else _ZERO
        used = used_time / span
        left = span - used_time
        if now > due:
            return SlaTarget(due, None, left, used, True, False), None
        if used >= self.at_risk:  # at risk: the next change is the due time
            return SlaTarget(due, None, left, used, False, True), due + _SECOND
        share = _RISK_SPANS.get((span, self.at_risk)) or _risk_span(span, self.at_risk)
        return SlaTarget(due, None, left, used, False, False), start + share + _SECOND


class _Steady(Anchor, _Clock):
    """A clock that never paused, on a business calendar: an `Anchor`, the start located on
    the calendar once rather than on each of the clock's four or five questions."""

    __slots__ = ("at_risk", "now", "pauses", "so_far")

    def __init__(
        self,
        calendar: BusinessCalendar,
        start: datetime,
        merged: Sequence[Pause],
        now: datetime,
        at_risk: float,
    ) -> None:
        Anchor.__init__(self, calendar, start)
        self.pauses = merged
        self.now = now
        self.at_risk = at_risk
        self.so_far: timedelta | None = None  # worked_now, for both targets

    worked = Anchor.until
    business_days = Anchor.business_days

    def worked_now(self) -> timedelta:
        if self.so_far is None:
            self.so_far = self.until_now(self.now)
        return self.so_far

    def standing(
        self, span: Span | None, met_at: datetime | None, past: timedelta = _ZERO
    ) -> tuple[SlaTarget, datetime | None]:
        # A ticket that came in while the office was closed (most tickets of a business
        # calendar) has its clock start at the next opening, as every other one then: a target
        # not yet met stands the same for all of them at `now`, so it is worked out once.
        if met_at is not None or past or span is None or not self.at_opening:
            return _Clock.standing(self, span, met_at, past)
        days = span.count if isinstance(span, BusinessDays) else span
        key = (*self.opening(), days, self.now, self.at_risk)
        found = _AT_OPENING.get(key)
        if found is None:
            if len(_AT_OPENING) >= _AT_OPENING_LIMIT:
                _AT_OPENING.clear()
            found = _AT_OPENING[key] = _Clock.standing(self, span, None)
        return found


class _Stopped(_Clock):
    """A clock on any calendar that a pause stopped for good (the ticket waits in a paused
    status since `stop`): it counts up to the stop on the located start (`Anchor`), and
    nothing runs out after it."""

    __slots__ = ("anchor", "at_risk", "calendar", "now", "pauses", "start", "stop")

    def __init__(
        self,
        calendar: BusinessCalendar,
        start: datetime,
        merged: Sequence[Pause],
        now: datetime,
        at_risk: float,
    ) -> None:
        self.pauses = merged  # one open-ended pause
        self.calendar = calendar
        self.start = start
        self.now = now
        self.at_risk = at_risk
        self.anchor = Anchor(calendar, start)
        self.stop = merged[0][0]

    def after(self, duration: timedelta) -> datetime | None:
        due = self.anchor.after(duration)
        # As `add_with_pauses`: a positive duration may run out at the stop, none after it.
        if due < self.stop or (due == self.stop and duration > _ZERO):
            return due
        return None

    def worked(self, moment: datetime) -> timedelta:
        return self.anchor.until(moment if moment < self.stop else self.stop)

    def business_days(self, count: int) -> timedelta:
        return self.anchor.business_days(count)


# `target * at_risk` by target and share: a timedelta times a float costs as much as the
# rest of a target's standing, and a rule set has few targets (business days vary with the
# start's hour, but every ticket that came in while the office was closed has the same).
_RISK_SPANS: dict[tuple[timedelta, float], timedelta] = {}
_RISK_SPANS_LIMIT = 4096


# The standing of a target not yet met, by where a steady clock starts (an opening), the
# target, now and the at-risk share (see `_Steady.standing`). Targets are values, shared.
_AT_OPENING: dict[tuple[Any, ...], tuple[SlaTarget, datetime | None]] = {}
_AT_OPENING_LIMIT = 4096


def _risk_span(target: timedelta, share: float) -> timedelta:
    """The working time after which a target is at risk, remembered."""
    if len(_RISK_SPANS) >= _RISK_SPANS_LIMIT:
        _RISK_SPANS.clear()
    found = _RISK_SPANS[target, share] = target * share
    return found


def ticket_clock_runs(pauses: Sequence[Pause]) -> bool:
    """False while the ticket sits in a paused status (an open-ended pause)."""
    return all(end is not None for _start, end in pauses)


NO_TARGETS = Targets(None, None)


def _sla_field(path: str) -> Callable[[Facts], Any]:
    read = attrgetter(path)
    return lambda f: None if f.sla is None else read(f.sla)


# Every measure as rule fields: sla.next_reply.breached, sla.periodic_update.used, ...;
# `known` is false where the source cannot see the measure. First response and resolution
# keep their entries in the conditions module (which adds `known` here too).
FIELDS.update(
    {
        f"sla.{measure}.{attr}": (_sla_field(f"{measure}.{attr}"), SLA)
        for measure in SLA_MEASURES
        for attr in ("breached", "at_risk", "used", "known")
        if f"sla.{measure}.{attr}" not in FIELDS
    }
)


def compile_calendars(
    path: Path, data: dict[str, Any], problems: Problems, into: dict[str, BusinessCalendar]
) -> None:
    """The `calendars:` section of one file, added to `into`."""
    section = data.get("calendars")
    if section is None:
        return
    if not isinstance(section, dict):
        problems.add(where(path, data, "calendars"), "calendars must be a mapping of names")
        return
    for name, spec in section.items():
        loc = where(path, section, name)
        if name in into:
            problems.add(loc, f"calendar {name!r} is defined twice")
            continue
        if not isinstance(spec, dict):
            problems.add(
                loc,
                "a calendar needs timezone and hours",
                "e.g. {timezone: UTC, hours: {mon-fri: '09:00-17:00'}}",
            )
            continue
        if not problems.only_keys(path, spec, {"timezone", "hours", "holidays"}, "a calendar"):
            continue
        holidays = spec.get("holidays") or {}
        if not isinstance(holidays, dict) or set(holidays) - {"country", "subdivision", "dates"}:
            problems.add(
                loc,
                f"calendar {name!r}: holidays take country, subdivision and dates",
                "e.g. holidays: {country: GB, subdivision: ENG, dates: [2026-12-24]}",
            )
            continue
        try:
            dates = [
                d if isinstance(d, date) else date.fromisoformat(str(d))
                for d in holidays.get("dates", [])
            ]
            into[str(name)] = BusinessCalendar.build(
                str(name),
                str(spec.get("timezone", "UTC")),
                {str(k): str(v) for k, v in (spec.get("hours") or {}).items()},
                holiday_country=holidays.get("country"),
                holiday_subdivision=holidays.get("subdivision"),
                holiday_dates=dates,
            )
        except (ValueError, TypeError, AttributeError) as exc:
            problems.add(loc, f"calendar {name!r}: {exc}")


def compile_sla(
    path: Path,
    data: dict[str, Any],
    problems: Problems,
    calendars: dict[str, BusinessCalendar],
    levels: Sequence[str],
    into: SlaRules,
    aliases: dict[str, str],
    compiler: Compiler,
) -> None:
    """The `sla:` section of one file, added to `into`; time thresholds of the policies'
    conditions go to `compiler.thresholds`."""
    section = data["sla"]
    loc = where(path, data, "sla")
    if not isinstance(section, dict):
        problems.add(loc, "sla must be a mapping with policies", "See the README's rule guide")
        return
    for key in section:
        if key not in ("at_risk", "pause_on", "policies"):
            problems.add(
                where(path, section, key),
                f"unknown sla key {key!r}",
                "sla has at_risk, pause_on and policies",
            )
    if "at_risk" in section:
        share = _share(section["at_risk"])
        if share is None:
            problems.add(where(path, section, "at_risk"), "at_risk must be a share like 75%")
        else:
            into.at_risk = share
    if "pause_on" in section:
        statuses = {s.value: s for s in Status}
        names = section["pause_on"] if isinstance(section["pause_on"], list) else []
        bad = [n for n in names if n not in statuses]
        if bad or not names:
            problems.add(
                where(path, section, "pause_on"),
                f"pause_on has {bad or names!r}",
                f"Use statuses among {', '.join(statuses)}",
            )
        else:
            into.pause_on = frozenset(statuses[n] for n in names)
    policies = section.get("policies", [])
    if not isinstance(policies, list):
        problems.add(where(path, section, "policies"), "policies must be a list")
        return
    for index, item in enumerate(policies):
        policy = _policy(
            path, policies, index, item, problems, calendars, levels, compiler, aliases
        )
        if policy is not None:
            into.policies.append(policy)


def _policy(
    path: Path,
    parent: list[Any],
    index: int,
    item: Any,
    problems: Problems,
    calendars: dict[str, BusinessCalendar],
    levels: Sequence[str],
    compiler: Compiler,
    aliases: dict[str, str],
) -> Policy | None:
    loc = where(path, parent, index)
    if not isinstance(item, dict) or not isinstance(item.get("policy"), str):
        problems.add(loc, "each SLA policy needs `policy:` with a name", "e.g. - policy: Standard")
        return None
    if not problems.only_keys(
        path, item, {"policy", "when", "calendar", "calendar_by_group", "targets"}, "an SLA policy"
    ):
        return None
    calendar_name = str(item.get("calendar", ALWAYS))
    calendar = calendars.get(calendar_name)
    if calendar is None:
        problems.add(
            where(path, item, "calendar") if "calendar" in item else loc,
            f"unknown calendar {calendar_name!r}",
            f"Define it under calendars:, or use one of: {', '.join(calendars)}",
        )
        return None
    when = compiler.condition(item["when"], item, "when") if "when" in item else None
    if "when" in item and when is None:
        return None
    targets = _targets(path, item, problems, levels, aliases, calendar)
    if targets is None:
        return None
    by_group = _by_group(path, item, problems, calendars, calendar)
    if by_group is None:
        return None
    name = item["policy"]
    return Policy(name, when, calendar, targets, loc, Reason("sla", name, name, loc), by_group)


def _by_group(
    path: Path,
    item: dict[str, Any],
    problems: Problems,
    calendars: dict[str, BusinessCalendar],
    calendar: BusinessCalendar,
) -> dict[str, BusinessCalendar] | None:
    """A policy's `calendar_by_group:` (group name -> calendar name), by case-folded group
    name; None after a problem. Days count business days on a business calendar and 24 h on
    24/7, so a policy with targets in days keeps to one kind of calendar."""
    section = item.get("calendar_by_group")
    if section is None:
        return {}
    example = "e.g. calendar_by_group: {Support Berlin: berlin, Support US: new_york}"
    if not isinstance(section, dict) or not section:
        problems.add(
            where(path, item, "calendar_by_group"),
            "calendar_by_group maps group names to calendars",
            example,
        )
        return None
    days = any(
        duration_parts(value)[1] in ("d", "w")
        for spec in item["targets"].values()
        for value in spec.values()
    )
    out: dict[str, BusinessCalendar] = {}
    for group, name in section.items():
        loc = where(path, section, group)
        chosen = calendars.get(str(name))
        if chosen is None:
            problems.add(
                loc,
                f"group {group!r}: unknown calendar {name!r}",
                f"Define it under calendars:, or use one of: {', '.join(calendars)}",
            )
            return None
        if days and chosen.round_the_clock != calendar.round_the_clock:
            problems.add(
                loc,
                f"group {group!r}: calendar {name!r} and the policy's {calendar.name!r} count "
                "days differently (business days against 24 hours)",
                "Write the targets in hours, or give this team a policy of its own",
            )
            return None
        out[str(group).casefold()] = chosen
    return out


def _targets(
    path: Path,
    item: dict[str, Any],
    problems: Problems,
    levels: Sequence[str],
    aliases: dict[str, str],
    calendar: BusinessCalendar,
) -> dict[str, Targets] | None:
    section = item.get("targets")
    if not isinstance(section, dict) or not section:
        problems.add(
            where(path, item, "targets"),  # the item itself when the key is missing
            "a policy needs targets per priority",
            "e.g. targets: {High: {first_response: 2h, resolution: 24h}}",
        )
        return None
    out: dict[str, Targets] = {}
    for key, spec in section.items():
        loc = where(path, section, key)
        level = aliases.get(str(key), str(key))
        if level not in levels:
            problems.add(loc, f"unknown priority {key!r}", f"Use one of: {', '.join(levels)}")
            return None
        if not isinstance(spec, dict) or not set(spec) <= set(SLA_MEASURES):
            problems.add(
                loc,
                "targets take durations for " + ", ".join(SLA_MEASURES),
                "e.g. {first_response: 2h, next_reply: 4h, resolution: 3d}",
            )
            return None
        try:
            spans = {str(k): _span(v, calendar) for k, v in spec.items()}
            more = bool(set(spans) - {"first_response", "resolution"})
            out[str(level)] = Targets(
                **{k: spans.get(k) for k in SLA_MEASURES},
                more=more,
            )
        except ValueError as exc:
            problems.add(loc, str(exc))
            return None
    return out


def _span(value: Any, calendar: BusinessCalendar) -> Span:
    """A target as written: days on a business calendar are business days, anything else
    (hours, minutes; days on 24/7) is working time."""
    number, unit = duration_parts(value)
    if unit not in ("d", "w") or calendar.round_the_clock:
        return timedelta(seconds=parse_duration(value))
    if unit == "w":
        raise ValueError(
            f"{value!r}: on the business calendar {calendar.name!r} write business days "
            "(5d) or working hours (50h), not weeks"
        )
    if not number.is_integer():
        raise ValueError(
            f"{value!r}: on the business calendar {calendar.name!r} days are business days; "
            "write whole days (1d, 3d) or working hours (15h)"
        )
    return BusinessDays(int(number))


def _share(value: Any) -> float | None:
    text = str(value).strip()
    try:
        number = float(text.removesuffix("%"))
    except ValueError:
        return None
    share = number / 100 if text.endswith("%") or number > 1 else number
    return share if 0 < share <= 1 else None
