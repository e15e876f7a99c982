"""Business calendars for SLA clocks: working hours in a timezone, minus holidays, with pauses.

Pure and fast: no I/O and no clock reads (every "now" is an argument), stdlib `zoneinfo` plus the
`holidays` package. Conventions, chosen so that the arithmetic is exact and easy to reason about:

* Moments in are timezone-aware datetimes in any zone (naive ones raise ValueError); moments out
  are in UTC. Durations are working time: `add` and `elapsed` are exact inverses, to the
  microsecond.
* Working hours are wall-clock intervals `[open, close)` of the calendar's timezone, per weekday
  (0 = Monday .. 6 = Sunday). A close of `time(0)` means 24:00, the end of that day, so
  `(time(0), time(0))` is the whole day. An interval is open at its opening instant and closed at
  its closing instant.
* A wall-clock time is taken as the first instant at which the wall clock reads that time or
  later. So across DST changes 08:00-18:00 is still 10 hours; a time that does not exist (inside a
  spring-forward gap) resolves forward to the end of the gap (the transition instant): on the US
  spring-forward day 02:30-05:00 opens at 03:00 and lasts 2 hours, and 02:00-02:30 vanishes. A
  time that occurs twice (fall-back) is its first occurrence (fold=0): 01:30-03:00 on the US
  fall-back day lasts 2.5 hours. An interval is always one contiguous stretch of absolute time.
* Holidays are local dates (in the calendar's timezone) without working hours. Country holidays
  from the `holidays` package are computed for the `years` given to `build` (2020-2035 by
  default); dates outside those years have no country holidays.
* `add(start, 0)` is when the clock starts: `start` itself if the calendar is open then, else the
  next opening. `add(start, d)` for d > 0 is the instant when `d` of working time has passed,
  which may be exactly a closing time (a target met by 17:00 is due at 17:00, not at the next
  morning's opening).

Speed: the open intervals of a year are turned into UTC once, with running sums of working time,
and cached on the calendar. `add`/`elapsed` are then two binary searches whatever the duration,
so long durations and multi-week holidays cost nothing extra; a calendar open around the clock
(`always()`, or 24h every day without holidays) is plain datetime arithmetic.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as pyholidays

__all__ = [
    "DEFAULT_HOLIDAY_YEARS",
    "END_OF_DAY",
    "Anchor",
    "BusinessCalendar",
    "Pause",
    "merge_pauses",
]

# A closing time of midnight means the end of the day (24:00): `time` cannot say 24:00 and an
# interval cannot close before it opens, so the reading is unambiguous.
END_OF_DAY = time(0)
DEFAULT_HOLIDAY_YEARS = range(2020, 2036)

# A pause: from, until (None: still paused).
Pause = tuple[datetime, datetime | None]

_ZERO = timedelta(0)
_DAY = timedelta(days=1)
_US = timedelta(microseconds=1)
_WHOLE_DAY = ((END_OF_DAY, END_OF_DAY),)
_LOCATED_LIMIT = 4096  # moments remembered per calendar (see `_locate`)

_DAY_NAMES = {
    "mon": 0, "monday": 0,
    "tue": 1, "tues": 1, "tuesday": 1,
    "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3,
    "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5,
    "sun": 6, "sunday": 6,
}  # fmt: skip
_DAY_GROUPS = {
    "daily": (0, 1, 2, 3, 4, 5, 6),
    "everyday": (0, 1, 2, 3, 4, 5, 6),
    "weekdays": (0, 1, 2, 3, 4),
    "weekends": (5, 6),
    "weekend": (5, 6),
}
_SHORT = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOSED = {"closed", "off", "none", ""}
_ALL_DAY = {"24h", "24/7", "all day"}
_INTERVAL = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*-\s*(\d{1,2}):(\d{2})(?::(\d{2}))?")
_HOURS_EXAMPLE = "e.g. '09:00-17:00', '08:00-12:00,13:00-17:00', '24h' or 'closed'"


class _Year:
    """The open intervals of one local calendar year, in UTC, with running sums of working time.

    The year covers `[lo, hi)`: from local midnight of 1 January to the next one. `before[i]` is
    the working time from `lo` to `starts[i]`, `through[i]` the same to `ends[i]`.
    """

    __slots__ = (
        "before",
        "day_before",
        "day_length",
        "day_starts",
        "ends",
        "hi",
        "lo",
        "span_day",
        "starts",
        "through",
        "total",
        "year",
    )

    def __init__(
        self,
        year: int,
        lo: datetime,
        hi: datetime,
        spans: list[list[datetime]],
        days: list[tuple[datetime, timedelta]],
    ) -> None:
        self.year = year
        self.lo = lo
        self.hi = hi
        self.starts = [s for s, _ in spans]
        self.ends = [e for _, e in spans]
        self.before: list[timedelta] = []
        self.through: list[timedelta] = []
        total = _ZERO
        for s, e in spans:
            self.before.append(total)
            total += e - s
            self.through.append(total)
        self.total = total
        # The working days (their local midnights, in UTC), each day's working time, and the
        # working time of the year before each: business days are counted on these.
        self.day_starts = [midnight for midnight, _ in days]
        self.day_length = [length for _, length in days]
        self.day_before: list[timedelta] = []
        running = _ZERO
        for length in self.day_length:
            self.day_before.append(running)
            running += length
        # The working day holding each interval (-1: it runs past a midnight, as back-to-back
        # 24h days do), so a moment located in an interval knows its day without a search.
        self.span_day = [
            i - 1 if i == bisect_left(self.day_starts, e) else -1
            for s, e in spans
            for i in (bisect_right(self.day_starts, s),)
        ]

    def worked(self, moment: datetime) -> timedelta:
        """Working time from the start of the year to `moment` (inside the year)."""
        i = bisect_right(self.ends, moment)  # the first interval still open after `moment`
        if i == len(self.ends):
            return self.total
        start = self.starts[i]
        return self.before[i] + (moment - start) if moment > start else self.before[i]


class Anchor:
    """Working time counted from one moment on a calendar, without pauses: `after(d)` is
    `calendar.add(start, d)`, `until(m)` is `calendar.elapsed(start, m)` and
    `business_days(n)` is `calendar.business_days(start, n)`.

    The start is located in its year once, so within that year each answer is one binary
    search: an SLA clock asks four or five of them per ticket, and `add`/`elapsed` would
    check the moments' types and look the start up again every time. Anything else (another
    year, a zero duration, a calendar open around the clock) goes to the calendar itself.
    """

    __slots__ = ("_before", "_span", "_year", "at_opening", "calendar", "start")

    def __init__(self, calendar: BusinessCalendar, start: datetime) -> None:
        self.calendar = calendar
        self.start = at = start if start.tzinfo is UTC else _utc(start, "start")
        # `at_opening`: the clock starts at the opening of the start's interval (the start lies
        # there, or in the closed time before it), as for every other start there.
        if calendar._continuous:
            self._year, self._span, self._before, self.at_opening = None, -1, _ZERO, False
            return
        # As `_year_at`, inline: most moments lie in their UTC year's local year.
        year = calendar._years.get(at.year)
        if year is None or not year.lo <= at < year.hi:
            year = calendar._year_at(at)
        self._year = year
        # As `_Year.worked`, keeping the interval: the first one still open after the start.
        k = self._span = bisect_right(year.ends, at)
        if k == len(year.ends):
            self._before, self.at_opening = year.total, False
        elif at > year.starts[k]:
            self._before, self.at_opening = year.before[k] + (at - year.starts[k]), False
        else:
            self._before, self.at_opening = year.before[k], True

    def opening(self) -> tuple[object, int]:
        """Where the clock starts, when `at_opening`: the same for every start there."""
        return self._year, self._span

    def after(self, duration: timedelta) -> datetime:
        """The moment (UTC) when `duration` of working time has passed after the start."""
        year = self._year
        if year is None or duration <= _ZERO:
            return self.calendar.add(self.start, duration)
        target = self._before + duration
        k = self._span
        if k < len(year.ends) and target <= year.through[k]:  # within the start's interval
            return year.starts[k] + (target - year.before[k])
        if target > year.total:
            return self.calendar.add(self.start, duration)
        j = bisect_left(year.through, target)
        return year.starts[j] + (target - year.before[j])

    def until(self, moment: datetime) -> timedelta:
        """Working time from the start to `moment` (zero if `moment` is not later)."""
        year = self._year
        if year is None or moment.tzinfo is not UTC or moment >= year.hi:
            return self.calendar.elapsed(self.start, moment)
        if moment <= self.start:
            return _ZERO
        # As `_Year.worked`, inline: the first interval still open after `moment` (often the
        # start's own: a reply the same morning).
        i = self._span
        if i == len(year.ends) or moment >= year.ends[i]:
            i = bisect_right(year.ends, moment)
        if i == len(year.ends):
            return year.total - self._before
        start = year.starts[i]
        return (year.before[i] + (moment - start) if moment > start else year.before[i]) - (
            self._before
        )

    def business_days(self, count: int) -> timedelta:
        """`calendar.business_days(start, count)`, from the located start."""
        year, k = self._year, self._span
        if (
            year is None
            or k == len(year.ends)
            or year.span_day[k] < 0
            or count.__class__ is not int
            or count < 0
        ):
            return self.calendar.business_days(self.start, count)
        # The clock starts at the start, or the opening of interval k: `_before` either way.
        return self.calendar._days_ahead(year, year.span_day[k], self._before, count)

    def until_now(self, now: datetime) -> timedelta:
        """`until(now)` for the `now` of an evaluation, shared by every ticket: its place in
        the year is remembered by the calendar (`_locate`), not searched for each ticket."""
        year = self._year
        if year is None or now.tzinfo is not UTC or now <= self.start:
            return self.until(now)
        located, worked = self.calendar._located.get(now) or self.calendar._locate(now)
        return worked - self._before if located is year else self.until(now)


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours in a timezone, minus holidays. `always()` is the 24/7 calendar.

    `hours` maps a weekday (0 = Monday .. 6 = Sunday) to its open intervals `(open, close)` in
    local wall-clock time; a close of `time(0)` (END_OF_DAY) means 24:00. Intervals are kept
    sorted and must not overlap. `holidays` are local dates without working hours. See the module
    docstring for DST and duration-0 conventions. Instances are immutable; the only state is a
    cache of precomputed years, which makes them safe to share.
    """

    name: str
    timezone: tzinfo
    hours: Mapping[int, tuple[tuple[time, time], ...]]
    holidays: frozenset[date] = frozenset()
    _continuous: bool = field(init=False, repr=False, compare=False)
    # Open every hour of every day, without holidays (like 24/7): a day is 24 hours. A plain
    # attribute (the same as `_continuous`), not a property: SLA clocks ask it per ticket.
    round_the_clock: bool = field(init=False, repr=False, compare=False)
    _years: dict[int, _Year] = field(init=False, repr=False, compare=False)
    _located: dict[datetime, tuple[_Year, timedelta]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.timezone, tzinfo):
            raise TypeError(
                f"timezone must be a tzinfo such as ZoneInfo('UTC'), got {self.timezone!r}"
            )
        hours: dict[int, tuple[tuple[time, time], ...]] = {}
        for day, intervals in self.hours.items():
            if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
                raise ValueError(f"hours: weekday {day!r} must be 0 (Monday) .. 6 (Sunday)")
            checked = _check_intervals(tuple(intervals), f"hours for {_SHORT[day]}")
            if checked:
                hours[day] = checked
        if not hours:
            # With no working time at all, `add` would never finish: refuse the calendar.
            raise ValueError("hours: the calendar has no working hours")
        # Frozen: normalise through object.__setattr__, the documented way for __post_init__.
        object.__setattr__(self, "hours", MappingProxyType(hours))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        # Whole days back to back are one unbroken stretch in absolute time, whatever the DST.
        continuous = not self.holidays and all(hours.get(d) == _WHOLE_DAY for d in range(7))
        object.__setattr__(self, "_continuous", continuous)
        object.__setattr__(self, "round_the_clock", continuous)
        object.__setattr__(self, "_years", {})
        object.__setattr__(self, "_located", {})

    def __hash__(self) -> int:
        # The generated hash would fail on the mapping; hash its items instead.
        return hash((self.name, self.timezone, tuple(sorted(self.hours.items())), self.holidays))

    def __reduce__(self) -> tuple[type[BusinessCalendar], tuple[object, ...]]:
        # A mappingproxy cannot be pickled (nor deep-copied): rebuild from the fields instead,
        # which also leaves the cache of years behind.
        return (type(self), (self.name, self.timezone, dict(self.hours), self.holidays))

    @classmethod
    def always(cls, name: str = "24/7") -> BusinessCalendar:
        """The calendar that is always open: working time is elapsed time."""
        return cls(name, ZoneInfo("UTC"), dict.fromkeys(range(7), _WHOLE_DAY))

    @classmethod
    def build(
        cls,
        name: str,
        timezone: str,
        hours: Mapping[str, str],
        holiday_country: str | None = None,
        holiday_subdivision: str | None = None,
        holiday_dates: Iterable[date | str] = (),
        years: Iterable[int] = DEFAULT_HOLIDAY_YEARS,
    ) -> BusinessCalendar:
        """A calendar from rule-file values.

        `timezone` is an IANA name ("Europe/London"). `hours` maps days to intervals:
        keys are day names (mon, tue, ... or full names), ranges ("mon-fri", "fri-mon" wraps),
        comma lists ("mon,wed", "mon-wed,fri") or daily/weekdays/weekends; values are
        "HH:MM-HH:MM" intervals, comma-separated for several ("08:00-12:00,13:00-17:00"),
        "24h" for the whole day or "closed". An end of "24:00" (or "00:00") is midnight at the
        end of the day; overnight hours are split at midnight. Each day may be named once; days
        not named are closed. Holidays: the country's public holidays from the `holidays`
        package for `years` (e.g. country "GB", subdivision "ENG"), plus `holiday_dates`
        (dates or ISO strings).

        Raises ValueError saying which key or value is wrong and what is expected.
        """
        zone = _zone(timezone)
        if not isinstance(hours, Mapping):
            raise ValueError(f"hours must be a mapping of days to intervals, got {hours!r}")
        parsed = _parse_hours(hours)
        days = {_holiday_date(d) for d in holiday_dates}
        if holiday_country:
            days |= _country_holidays(holiday_country, holiday_subdivision, years)
        elif holiday_subdivision:
            raise ValueError(
                f"holiday subdivision {holiday_subdivision!r} needs a holiday country, e.g. GB"
            )
        return cls(name, zone, parsed, frozenset(days))

    # -- queries ---------------------------------------------------------------------------

    def is_open(self, moment: datetime) -> bool:
        """Whether the clock runs at `moment` (open at an opening instant, closed at a closing)."""
        at = _utc(moment, "moment")
        if self._continuous:
            return True
        year = self._year_at(at)
        i = bisect_right(year.ends, at)
        return i < len(year.ends) and year.starts[i] <= at

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment (UTC) when `duration` of working time has passed after `start`.

        If `start` is outside working hours the clock starts at the next opening. A zero
        duration gives the moment the clock starts: `start` if open, else the next opening. A
        positive duration may end exactly at a closing time. Raises ValueError on a naive
        `start` or a negative duration.
        """
        # The checks inline: this runs several times per ticket and rules evaluation.
        at = start if start.__class__ is datetime and start.tzinfo is UTC else _utc(start, "start")
        if duration.__class__ is not timedelta or duration < _ZERO:
            _check_duration(duration)
        if self._continuous:
            return at + duration
        if not duration:
            return self._next_open(at)
        year, worked = self._locate(at)
        target = worked + duration
        # Skip whole years (rarely more than one step); within the year, one binary search.
        while target > year.total:
            target -= year.total
            year = self._year(year.year + 1)
        j = bisect_left(year.through, target)
        return year.starts[j] + (target - year.before[j])

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two moments (zero if `end` <= `start`)."""
        a = start if start.__class__ is datetime and start.tzinfo is UTC else _utc(start, "start")
        b = end if end.__class__ is datetime and end.tzinfo is UTC else _utc(end, "end")
        if b <= a:
            return _ZERO
        if self._continuous:
            return b - a
        ya, worked_a = self._locate(a)
        yb, worked_b = self._locate(b)
        if ya is yb:
            return worked_b - worked_a
        total = ya.total - worked_a + worked_b
        for y in range(ya.year + 1, yb.year):
            total += self._year(y).total
        return total

    def business_days(self, start: datetime, count: int) -> timedelta:
        """The working time of `count` business days from `start`: from the moment the clock
        starts (`start`, or the next opening) to the same point of the working day `count`
        working days later (1 day from Friday 10:00 on a Mon-Fri calendar ends Monday 10:00).
        The point of the day is the working time already passed that day, so a later day with
        shorter hours ends at its closing. On a calendar open around the clock a day is 24 h.
        """
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be a whole number of days, got {count!r}")
        if self._continuous:
            return _DAY * count
        at = start if start.__class__ is datetime and start.tzinfo is UTC else _utc(start, "start")
        # Where the clock starts: `at`, or the next opening (as `_next_open`, inline: this
        # runs for every ticket with a target in days).
        year = self._year_at(at)
        k = bisect_right(year.ends, at)
        while k == len(year.ends):
            year = self._year(year.year + 1)
            k = 0
        opens = year.starts[k]
        if at < opens:
            at = opens
        # `at` is open, so the day holding it is one of the year's working days.
        i = bisect_right(year.day_starts, at) - 1
        passed = year.before[k] + (at - opens)  # working time of the year before `at`
        return self._days_ahead(year, i, passed, count)

    def _days_ahead(self, year: _Year, i: int, passed: timedelta, count: int) -> timedelta:
        """`business_days` from the open moment `passed` into `year`, on its working day `i`:
        to the same point of the working day `count` working days later."""
        into = passed - year.day_before[i]  # working time of that day before the moment
        span = -passed
        j = i + count
        while j >= len(year.day_starts):  # the days run into the next year(s)
            span += year.total
            j -= len(year.day_starts)
            year = self._year(year.year + 1)
        return span + year.day_before[j] + min(into, year.day_length[j])

    def add_with_pauses(
        self, start: datetime, duration: timedelta, pauses: Sequence[Pause], *, merged: bool = False
    ) -> datetime | None:
        """Like `add`, but the clock does not run during the pauses (e.g. waiting on the customer).

        Pauses are `(from, until)` pairs; they may overlap, come unsorted, start before `start`
        or extend past the result. `until` None means still paused: if the clock is paused
        for good before `duration` has run, the result is None (no deadline). The clock runs again
        from a pause's end instant. Raises ValueError on naive moments, a pause that ends
        before it starts, or a negative duration. `merged`: the pauses are already what
        `merge_pauses(pauses, start)` returns (saves merging them again on every call).
        """
        at = _utc(start, "start")
        _check_duration(duration)
        moment = at
        left = duration
        for p_from, p_until in pauses if merged else merge_pauses(pauses, at):
            if p_from > moment:
                # The clock runs from `moment` up to the pause: does it finish before it?
                if left:
                    due = self.add(moment, left)
                    if due <= p_from:
                        return due
                    left -= self.elapsed(moment, p_from)
                else:
                    due = self._next_open(moment)
                    if due < p_from:
                        return due
            if p_until is None:
                return None
            moment = max(moment, p_until)
        return self.add(moment, left) if left else self._next_open(moment)

    def elapsed_with_pauses(
        self, start: datetime, end: datetime, pauses: Sequence[Pause], *, merged: bool = False
    ) -> timedelta:
        """Working time between two moments outside the pauses (same pause rules and
        `merged` as `add_with_pauses`; an open-ended pause runs to `end`)."""
        a = _utc(start, "start")
        b = _utc(end, "end")
        total = self.elapsed(a, b)
        for p_from, p_until in pauses if merged else merge_pauses(pauses, a):
            if p_from >= b:
                break  # sorted: the rest start later still
            total -= self.elapsed(p_from, b if p_until is None else min(p_until, b))
        return total

    # -- internals -------------------------------------------------------------------------

    def _next_open(self, at: datetime) -> datetime:
        """`at` if the calendar is open then, else the next opening (UTC in, UTC out)."""
        if self._continuous:
            return at
        year = self._year_at(at)
        i = bisect_right(year.ends, at)
        while i == len(year.ends):  # closed for the rest of the year: the next one
            year = self._year(year.year + 1)
            i = 0
        return at if at >= year.starts[i] else year.starts[i]

    def _locate(self, at: datetime) -> tuple[_Year, timedelta]:
        """The local year holding the UTC moment `at`, and the working time from its start.

        Remembered per moment: an SLA asks about one ticket's start several times, and about
        the same `now` for every ticket of a cycle (a one-answer cache lost `now` to each
        ticket's met-at lookup). Bounded: emptied when full, which only costs recomputing.
        Dict reads and writes are atomic, so threads sharing the calendar stay consistent.
        """
        known = self._located.get(at)
        if known is not None:
            return known
        year = self._year_at(at)
        located = self._located
        if len(located) >= _LOCATED_LIMIT:
            located.clear()
        found = located[at] = (year, year.worked(at))
        return found

    def _year_at(self, at: datetime) -> _Year:
        """The local year holding the UTC moment `at`."""
        year = self._years.get(at.year) or self._year(at.year)
        # Near New Year the UTC and local years differ by one (offsets are under a day).
        if at < year.lo:
            return self._year(year.year - 1)
        if at >= year.hi:
            return self._year(year.year + 1)
        return year

    def _year(self, y: int) -> _Year:
        cached = self._years.get(y)
        if cached is not None:
            return cached
        # Built without locks: two threads may both build a year, and get equal results.
        tz = self.timezone
        hours = self.hours
        holidays = self.holidays
        day = date(y, 1, 1)
        lo = _resolve(day, END_OF_DAY, tz)
        midnight = lo
        spans: list[list[datetime]] = []
        days: list[tuple[datetime, timedelta]] = []
        while day.year == y:
            following = day + _DAY
            next_midnight = _resolve(following, END_OF_DAY, tz)
            intervals = hours.get(day.weekday()) if day not in holidays else None
            length = _ZERO
            for opens, closes in intervals or ():
                s = midnight if opens == END_OF_DAY else _resolve(day, opens, tz)
                e = next_midnight if closes == END_OF_DAY else _resolve(day, closes, tz)
                if e <= s:
                    continue  # the interval fell entirely in a DST gap: that day it is not there
                length += e - s
                if spans and s <= spans[-1][1]:
                    spans[-1][1] = max(spans[-1][1], e)  # back to back (e.g. 24h days): one span
                else:
                    spans.append([s, e])
            if length:
                days.append((midnight, length))
            day = following
            midnight = next_midnight
        year = _Year(y, lo, midnight, spans, days)
        self._years[y] = year
        return year


# -- helpers ---------------------------------------------------------------------------------


def _utc(moment: datetime, what: str) -> datetime:
    """`moment` in UTC; ValueError if it is naive (a naive time would silently mean local time)."""
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime, got {moment!r}")
    tz = moment.tzinfo
    if tz is UTC:
        return moment
    if tz is None or tz.utcoffset(moment) is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _check_duration(duration: timedelta) -> None:
    if not isinstance(duration, timedelta):
        raise TypeError(f"duration must be a timedelta, got {duration!r}")
    if duration < _ZERO:
        raise ValueError(f"duration must not be negative, got {duration}")


def merge_pauses(pauses: Sequence[Pause], start: datetime) -> list[Pause]:
    """Pauses in UTC, clipped to start at `start` or later, sorted, overlaps merged."""
    start = _utc(start, "start")
    spans: list[tuple[datetime, datetime | None]] = []
    for p_from, p_until in pauses:
        a = _utc(p_from, "pause start")
        b = None if p_until is None else _utc(p_until, "pause end")
        if b is not None:
            if b < a:
                raise ValueError(f"pause ends before it starts: {a.isoformat()} .. {b.isoformat()}")
            if b <= start:
                continue
        spans.append((max(a, start), b))
    spans.sort(key=lambda span: span[0])
    merged: list[tuple[datetime, datetime | None]] = []
    for a, b in spans:
        if merged:
            last_a, last_b = merged[-1]
            if last_b is None:
                break  # paused for good: later pauses change nothing
            if a <= last_b:
                merged[-1] = (last_a, None if b is None else max(b, last_b))
                continue
        if b is None or b > a:  # empty pauses do not pause anything
            merged.append((a, b))
    return merged


def _resolve(day: date, wall: time, tz: tzinfo) -> datetime:
    """The first UTC instant at which the wall clock in `tz` reads `day` `wall` or later.

    That is the usual reading for a time that exists, the first one (fold=0) for a time that
    occurs twice, and the transition instant for a time skipped by a spring-forward gap.
    """
    naive = datetime.combine(day, wall)
    local = naive.replace(tzinfo=tz)
    first = local.astimezone(UTC)
    other = local.replace(fold=1)
    if other.utcoffset() == local.utcoffset():
        return first  # the common case: one offset, the time exists once
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first  # it exists: ambiguous, and fold=0 is the first occurrence
    # In a gap: the two folds map to either side of the transition; find it by bisection
    # (in microseconds, and only on the one or two gap days a year that have hours in the gap).
    a = first
    b = other.astimezone(UTC)
    lo, hi = min(a, b), max(a, b)
    after = hi.astimezone(tz).utcoffset()
    steps = (hi - lo) // _US
    low, high = 0, steps  # invariant: lo + high*us has the post-transition offset, low does not
    while high - low > 1:
        mid = (low + high) // 2
        if (lo + mid * _US).astimezone(tz).utcoffset() == after:
            high = mid
        else:
            low = mid
    return lo + high * _US


def _zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"timezone {name!r}: expected an IANA name such as 'Europe/London'")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown timezone {name!r}: expected an IANA name such as 'Europe/London' or 'UTC'"
        ) from exc


def _parse_hours(hours: Mapping[str, str]) -> dict[int, tuple[tuple[time, time], ...]]:
    """Rule-file hours ({"mon-fri": "09:00-17:00"}) as weekday -> intervals."""
    parsed: dict[int, tuple[tuple[time, time], ...]] = {}
    named_by: dict[int, str] = {}
    for key, value in hours.items():
        days = _parse_days(key)
        intervals = _parse_intervals(key, value)
        for d in days:
            if d in named_by:
                raise ValueError(
                    f"hours: {_SHORT[d]} is given twice (by {named_by[d]!r} and {key!r}); "
                    "name each day once"
                )
            named_by[d] = key
            if intervals:
                parsed[d] = intervals
    if not parsed:
        raise ValueError("hours: no working hours given; expected e.g. {'mon-fri': '09:00-17:00'}")
    return parsed


def _parse_days(key: str) -> tuple[int, ...]:
    """A days key: "mon", "mon-fri", "fri-mon" (wraps), "mon,wed", "daily", "weekdays"."""
    expected = "expected day names (mon .. sun), ranges like mon-fri, lists like mon,wed, or daily"
    if not isinstance(key, str) or not key.strip():
        raise ValueError(f"hours key {key!r}: {expected}")
    days: list[int] = []
    for part in key.lower().split(","):
        part = part.strip()
        if part in _DAY_GROUPS:
            days.extend(_DAY_GROUPS[part])
            continue
        ends = [p.strip() for p in part.split("-")]
        if len(ends) > 2 or any(e not in _DAY_NAMES for e in ends):
            bad = next((e for e in ends if e not in _DAY_NAMES), part)
            raise ValueError(f"hours key {key!r}: unknown day {bad!r}; {expected}")
        first, last = _DAY_NAMES[ends[0]], _DAY_NAMES[ends[-1]]
        days.extend((first + i) % 7 for i in range((last - first) % 7 + 1))
    if len(set(days)) != len(days):
        raise ValueError(f"hours key {key!r} names a day twice; name each day once")
    return tuple(days)


def _parse_intervals(key: str, value: str) -> tuple[tuple[time, time], ...]:
    """A value: "09:00-17:00", "08:00-12:00,13:00-17:00", "24h" or "closed"."""
    if not isinstance(value, str):
        raise ValueError(f"hours {key!r}: {value!r} is not a string; expected {_HOURS_EXAMPLE}")
    text = value.strip().lower()
    if text in _CLOSED:
        return ()
    if text in _ALL_DAY:
        return _WHOLE_DAY
    intervals: list[tuple[time, time]] = []
    for part in text.split(","):
        match = _INTERVAL.fullmatch(part.strip())
        if match is None:
            raise ValueError(
                f"hours {key!r}: cannot read {part.strip()!r} as an interval; "
                f"expected {_HOURS_EXAMPLE}"
            )
        h1, m1, s1, h2, m2, s2 = (int(g) if g else 0 for g in match.groups())
        opens = _clock(key, part, h1, m1, s1, end=False)
        closes = _clock(key, part, h2, m2, s2, end=True)
        intervals.append((opens, closes))
    return _check_intervals(tuple(intervals), f"hours {key!r}")


def _clock(key: str, part: str, h: int, m: int, s: int, *, end: bool) -> time:
    if end and (h, m, s) == (24, 0, 0):
        return END_OF_DAY
    if h > 23 or m > 59 or s > 59:
        limit = "00:00 .. 24:00" if end else "00:00 .. 23:59"
        raise ValueError(f"hours {key!r}: bad time in {part.strip()!r}; expected {limit}")
    return time(h, m, s)


def _check_intervals(
    intervals: tuple[tuple[time, time], ...], where: str
) -> tuple[tuple[time, time], ...]:
    """Intervals sorted by opening; ValueError if one is empty, reversed or overlaps another."""
    for interval in intervals:
        if (
            not isinstance(interval, tuple)
            or len(interval) != 2
            or not all(isinstance(t, time) and t.tzinfo is None for t in interval)
        ):
            raise ValueError(f"{where}: {interval!r} is not an (open, close) pair of naive times")
        opens, closes = interval
        if closes != END_OF_DAY and closes <= opens:
            raise ValueError(
                f"{where}: {opens:%H:%M}-{closes:%H:%M} ends before it starts; overnight hours "
                "are split at midnight, e.g. mon: 22:00-24:00 and tue: 00:00-06:00"
            )
    ordered = tuple(sorted(intervals))
    for (_, closes), (opens, _) in pairwise(ordered):
        if closes == END_OF_DAY or closes > opens:
            raise ValueError(f"{where}: intervals overlap at {opens:%H:%M}")
    return ordered


def _holiday_date(value: date | str) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"holiday {value!r}: expected a date, not a datetime")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValueError(f"holiday {value!r}: expected a date like 2026-12-24") from exc


def _country_holidays(country: str, subdivision: str | None, years: Iterable[int]) -> set[date]:
    supported = pyholidays.list_supported_countries()
    code = str(country).strip().upper()
    if code not in supported:
        raise ValueError(
            f"unknown holiday country {country!r}: expected an ISO 3166 code such as "
            "'GB', 'US' or 'DE' (see holidays.list_supported_countries())"
        )
    try:
        found = pyholidays.country_holidays(code, subdiv=subdivision, years=list(years))
    except NotImplementedError as exc:
        known = ", ".join(supported[code]) or "none"
        raise ValueError(
            f"unknown holiday subdivision {subdivision!r} for {code}: expected one of {known}"
        ) from exc
    return set(found.keys())
