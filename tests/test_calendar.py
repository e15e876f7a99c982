"""Business calendars: hand-computed SLA deadlines, DST edges, and property tests.

The properties run over five timezones (with and without DST, northern and southern) and start
near DST transitions, Christmas and New Year, on calendars from 24/7 to split office hours.
"""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.rules.calendar import END_OF_DAY, BusinessCalendar

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
KOLKATA = ZoneInfo("Asia/Kolkata")
ZONES = ["UTC", "Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]
HOLIDAYS = {
    "UTC": (None, None),
    "Europe/London": ("GB", "ENG"),
    "America/New_York": ("US", "NY"),
    "Australia/Sydney": ("AU", "NSW"),
    "Asia/Kolkata": ("IN", None),
}
YEARS = range(2025, 2028)  # enough for the tests, and quick to build
H = timedelta(hours=1)
US = timedelta(microseconds=1)


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)


def office(tz: str = "Europe/London", **kwargs) -> BusinessCalendar:
    return BusinessCalendar.build("office", tz, {"mon-fri": "09:00-17:00"}, years=YEARS, **kwargs)


UK = office(holiday_country="GB", holiday_subdivision="ENG")


# -- hand-computed deadlines -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "due"),
    [
        # Friday 17:00 + 2 business hours: Monday 11:00 (the SOP's example).
        (local(LONDON, 2026, 1, 16, 17), local(LONDON, 2026, 1, 19, 11)),
        # Same, across the spring-forward weekend (GMT Friday, BST Monday).
        (local(LONDON, 2026, 3, 27, 17), local(LONDON, 2026, 3, 30, 11)),
        (local(LONDON, 2026, 1, 16, 16, 30), local(LONDON, 2026, 1, 19, 10, 30)),
        # Saturday: the clock starts Monday 09:00.
        (local(LONDON, 2026, 1, 17, 12), local(LONDON, 2026, 1, 19, 11)),
        # Christmas 2025 (Thu, Fri) and the weekend: due Monday 29th.
        (local(LONDON, 2025, 12, 24, 16), local(LONDON, 2025, 12, 29, 10)),
        # Christmas 2026 is a Friday, Boxing Day is observed on Monday 28th: due Tuesday 29th.
        (local(LONDON, 2026, 12, 24, 16), local(LONDON, 2026, 12, 29, 10)),
        # Wednesday 8:00 (before opening) + 2h.
        (local(LONDON, 2026, 6, 3, 8), local(LONDON, 2026, 6, 3, 11)),
    ],
)
def test_two_hour_target_in_london(start: datetime, due: datetime) -> None:
    got = UK.add(start, 2 * H)
    assert got == due
    assert got.tzinfo is UTC
    assert UK.elapsed(start, got) == 2 * H


def test_deadline_may_fall_on_closing_time() -> None:
    monday = local(LONDON, 2026, 1, 19, 9)
    assert UK.add(monday, 8 * H) == local(LONDON, 2026, 1, 19, 17)
    assert UK.add(monday, 8 * H + US) == local(LONDON, 2026, 1, 20, 9) + US


def test_duration_zero_is_when_the_clock_starts() -> None:
    open_moment = local(LONDON, 2026, 1, 19, 10, 15)
    assert UK.add(open_moment, timedelta(0)) == open_moment
    # At the closing instant the calendar is closed: the clock starts at the next opening.
    assert UK.add(local(LONDON, 2026, 1, 16, 17), timedelta(0)) == local(LONDON, 2026, 1, 19, 9)
    assert UK.add(local(LONDON, 2025, 12, 24, 18), timedelta(0)) == local(LONDON, 2025, 12, 29, 9)


def test_open_at_opening_closed_at_closing() -> None:
    assert UK.is_open(local(LONDON, 2026, 1, 19, 9))
    assert not UK.is_open(local(LONDON, 2026, 1, 19, 9) - US)
    assert UK.is_open(local(LONDON, 2026, 1, 19, 17) - US)
    assert not UK.is_open(local(LONDON, 2026, 1, 19, 17))
    assert not UK.is_open(local(LONDON, 2026, 12, 25, 12))  # Christmas Day
    assert not UK.is_open(local(LONDON, 2026, 12, 28, 12))  # Boxing Day (observed)


def test_long_durations_and_long_holidays_are_jumped() -> None:
    # Five business days of 8h from Monday 09:00: the next Monday 09:00 (end of Friday = 17:00).
    assert UK.add(local(LONDON, 2026, 1, 19, 9), 40 * H) == local(LONDON, 2026, 1, 23, 17)
    # A three-week shutdown in February.
    shutdown = [date(2026, 2, 2) + timedelta(days=i) for i in range(21)]
    cal = office(holiday_dates=shutdown)
    assert cal.add(local(LONDON, 2026, 1, 30, 16), 2 * H) == local(LONDON, 2026, 2, 23, 10)
    assert cal.elapsed(local(LONDON, 2026, 1, 30, 16), local(LONDON, 2026, 2, 23, 10)) == 2 * H
    # Years of working time, and back: exact.
    start = local(LONDON, 2026, 5, 5, 12, 34, 56, 789)
    far = cal.add(start, timedelta(days=900))
    assert far.year > 2030
    assert cal.elapsed(start, far) == timedelta(days=900)


def test_us_spring_forward_day() -> None:
    # 2026-03-08: 02:00 EST jumps to 03:00 EDT.
    daytime = BusinessCalendar.build("ny", "America/New_York", {"daily": "08:00-18:00"})
    day = local(NEW_YORK, 2026, 3, 8)
    assert daytime.elapsed(day, day + 24 * H) == 10 * H  # still a 10-hour working day
    assert daytime.add(local(NEW_YORK, 2026, 3, 7, 17), 2 * H) == local(NEW_YORK, 2026, 3, 8, 9)
    assert daytime.add(local(NEW_YORK, 2026, 3, 7, 17), 2 * H) == datetime(
        2026, 3, 8, 13, tzinfo=UTC
    )
    # Hours in the gap: 02:30 does not exist and resolves forward to 03:00 EDT; 02:00-02:30 is
    # wholly in the gap and is not there that day.
    night = BusinessCalendar.build("n", "America/New_York", {"sun": "02:30-05:00"})
    assert night.add(day, timedelta(0)) == local(NEW_YORK, 2026, 3, 8, 3)
    assert night.elapsed(day, day + 24 * H) == 2 * H
    gone = BusinessCalendar.build("g", "America/New_York", {"sun": "02:00-02:30"})
    assert gone.elapsed(day, day + 24 * H) == timedelta(0)
    assert gone.elapsed(day + 7 * 24 * H, day + 8 * 24 * H) == timedelta(minutes=30)
    # A whole day (24h, not the 24/7 shortcut because of a holiday) is 23 hours long.
    whole = BusinessCalendar.build("w", "America/New_York", {"daily": "24h"}, holiday_dates=[])
    with_holiday = BusinessCalendar.build(
        "w", "America/New_York", {"daily": "24h"}, holiday_dates=[date(2026, 7, 4)]
    )
    for cal in (whole, with_holiday):
        assert cal.elapsed(day, local(NEW_YORK, 2026, 3, 9)) == 23 * H
        assert cal.elapsed(local(NEW_YORK, 2026, 11, 1), local(NEW_YORK, 2026, 11, 2)) == 25 * H


def test_fall_back_ambiguous_times_use_the_first_occurrence() -> None:
    # 2026-11-01: 02:00 EDT falls back to 01:00 EST, so 01:30 happens twice.
    cal = BusinessCalendar.build("n", "America/New_York", {"sun": "01:30-03:00"})
    day = local(NEW_YORK, 2026, 11, 1)
    assert cal.add(day, timedelta(0)) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert cal.elapsed(day, day + 24 * H) == 2.5 * H
    assert cal.elapsed(day + 7 * 24 * H, day + 8 * 24 * H) == 1.5 * H


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/London", date(2026, 3, 29), 23),
        ("Europe/London", date(2026, 10, 25), 25),
        ("Australia/Sydney", date(2026, 4, 5), 25),
        ("Australia/Sydney", date(2026, 10, 4), 23),
        ("Asia/Kolkata", date(2026, 3, 29), 24),
    ],
)
def test_whole_days_follow_dst(zone: str, day: date, hours: int) -> None:
    cal = BusinessCalendar.build("d", zone, {"daily": "24h"}, holiday_dates=[date(2030, 1, 1)])
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    assert cal.elapsed(start, end) == hours * H
    office_hours = BusinessCalendar.build("o", zone, {"daily": "08:00-18:00"})
    assert office_hours.elapsed(start, end) == 10 * H


def test_kolkata_half_hour_offset() -> None:
    cal = office("Asia/Kolkata")
    assert cal.add(local(KOLKATA, 2026, 3, 2, 8), timedelta(0)) == datetime(
        2026, 3, 2, 3, 30, tzinfo=UTC
    )
    assert cal.elapsed(datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)) == 8 * H


def test_sydney_new_year_is_the_local_year() -> None:
    # 2026-12-31 14:00 UTC is already 2027-01-01 01:00 in Sydney, a holiday there.
    cal = office("Australia/Sydney", holiday_country="AU", holiday_subdivision="NSW")
    start = datetime(2026, 12, 31, 14, tzinfo=UTC)
    assert not cal.is_open(local(SYDNEY, 2027, 1, 1, 10))
    assert cal.add(start, timedelta(0)) == local(SYDNEY, 2027, 1, 4, 9)
    assert cal.add(local(SYDNEY, 2026, 12, 31, 16), 2 * H) == local(SYDNEY, 2027, 1, 4, 10)


def test_always_is_plain_arithmetic() -> None:
    cal = BusinessCalendar.always()
    start = local(SYDNEY, 2026, 4, 5, 1, 30)
    assert cal.add(start, 5 * H) == start.astimezone(UTC) + 5 * H
    # (UTC on one side: same-zone datetime arithmetic in Python is wall-clock, not elapsed time.)
    assert cal.elapsed(start, start.astimezone(UTC) + 30 * H) == 30 * H
    assert cal.is_open(start)
    assert cal.add(start, 5 * H).tzinfo is UTC


# -- pauses ------------------------------------------------------------------------------------


def test_pause_pushes_the_deadline() -> None:
    start = local(LONDON, 2026, 1, 19, 9)
    # Waiting on the customer 10:00-14:00: a 2h target is met at 15:00 instead of 11:00.
    pauses = [(local(LONDON, 2026, 1, 19, 10), local(LONDON, 2026, 1, 19, 14))]
    assert UK.add_with_pauses(start, 2 * H, pauses) == local(LONDON, 2026, 1, 19, 15)
    at_noon = local(LONDON, 2026, 1, 19, 16)
    assert UK.elapsed_with_pauses(start, at_noon, pauses) == 3 * H
    # Unsorted, overlapping, one starting before the ticket and one past the deadline.
    messy = [
        (local(LONDON, 2026, 1, 19, 12), local(LONDON, 2026, 1, 19, 14)),
        (local(LONDON, 2026, 1, 19, 10), local(LONDON, 2026, 1, 19, 13)),
        (local(LONDON, 2026, 1, 18, 10), local(LONDON, 2026, 1, 19, 9, 30)),
        (local(LONDON, 2026, 1, 22, 10), local(LONDON, 2026, 1, 23, 10)),
    ]
    assert UK.add_with_pauses(start, 2 * H, messy) == local(LONDON, 2026, 1, 19, 15, 30)
    assert UK.elapsed_with_pauses(start, at_noon, messy) == 2.5 * H


def test_open_ended_pause() -> None:
    start = local(LONDON, 2026, 1, 19, 9)
    still_pending = [(local(LONDON, 2026, 1, 19, 10), None)]
    assert UK.add_with_pauses(start, 2 * H, still_pending) is None  # no deadline while pending
    assert UK.add_with_pauses(start, H, still_pending) == local(LONDON, 2026, 1, 19, 10)
    assert UK.add_with_pauses(start, timedelta(0), still_pending) == start
    assert UK.add_with_pauses(start, timedelta(0), [(start, None)]) is None
    assert UK.elapsed_with_pauses(start, start + 30 * 24 * H, still_pending) == H


def test_duration_zero_skips_a_pause_at_the_start() -> None:
    start = local(LONDON, 2026, 1, 19, 11)
    pauses = [(local(LONDON, 2026, 1, 19, 10), local(LONDON, 2026, 1, 19, 12))]
    assert UK.add_with_pauses(start, timedelta(0), pauses) == local(LONDON, 2026, 1, 19, 12)


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "unknown timezone 'Mars/Olympus_Mons'"),
        ({"timezone": ""}, "IANA name"),
        ({"hours": {"mon-fry": "09:00-17:00"}}, "unknown day 'fry'"),
        ({"hours": {"funday": "09:00-17:00"}}, "unknown day 'funday'"),
        ({"hours": {"mon": "9am-5pm"}}, "cannot read '9am-5pm'"),
        ({"hours": {"mon": "09:00-25:00"}}, "bad time in '09:00-25:00'"),
        ({"hours": {"mon": "09:75-17:00"}}, "bad time"),
        ({"hours": {"mon": "18:00-08:00"}}, "18:00-08:00 ends before it starts"),
        ({"hours": {"mon": "09:00-09:00"}}, "ends before it starts"),
        ({"hours": {"mon": "09:00-12:00,11:00-13:00"}}, "overlap at 11:00"),
        ({"hours": {"mon-fri": "09:00-17:00", "fri": "10:00-12:00"}}, "fri is given twice"),
        ({"hours": {"sat": "closed"}}, "no working hours"),
        ({"hours": {"mon": 9}}, "is not a string"),
        ({"holiday_country": "XX"}, "unknown holiday country 'XX'"),
        ({"holiday_country": "GB", "holiday_subdivision": "XYZ"}, "expected one of ENG, NIR"),
        ({"holiday_subdivision": "ENG"}, "needs a holiday country"),
        ({"holiday_dates": ["24/12/2026"]}, "expected a date like"),
    ],
)
def test_build_rejects_bad_input_clearly(kwargs: dict, message: str) -> None:
    args = {"name": "x", "timezone": "Europe/London", "hours": {"mon-fri": "09:00-17:00"}}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        BusinessCalendar.build(**args, years=YEARS)


def test_build_reads_the_rule_file_forms() -> None:
    cal = BusinessCalendar.build(
        "forms",
        "UTC",
        {
            "mon,wed": "08:00-12:00, 13:00-17:00",
            "tue": "24h",
            "thu-fri": "09:00-24:00",
            "Saturday": "10:00-14:00",
            "sun": "closed",
        },
        holiday_dates=["2026-12-24", date(2026, 12, 31)],
    )
    split = ((time(8), time(12)), (time(13), time(17)))
    assert dict(cal.hours) == {
        0: split,
        2: split,
        1: ((END_OF_DAY, END_OF_DAY),),
        3: ((time(9), END_OF_DAY),),
        4: ((time(9), END_OF_DAY),),
        5: ((time(10), time(14)),),
    }
    assert cal.holidays == {date(2026, 12, 24), date(2026, 12, 31)}
    wrapped = BusinessCalendar.build("w", "UTC", {"fri-mon": "10:00-11:00", "tue-thu": "closed"})
    assert set(wrapped.hours) == {0, 4, 5, 6}


def test_constructor_validates_and_normalises() -> None:
    tz = ZoneInfo("UTC")
    cal = BusinessCalendar("c", tz, {0: [(time(13), time(17)), (time(8), time(12))]})
    assert cal.hours[0] == ((time(8), time(12)), (time(13), time(17)))
    same = BusinessCalendar("c", tz, {0: ((time(8), time(12)), (time(13), time(17)))})
    assert cal == same
    assert len({cal, same}) == 1
    with pytest.raises(ValueError, match="weekday 7"):
        BusinessCalendar("c", tz, {7: ((time(8), time(12)),)})
    with pytest.raises(ValueError, match="no working hours"):
        BusinessCalendar("c", tz, {})
    with pytest.raises(ValueError, match="overlap"):
        BusinessCalendar("c", tz, {0: ((time(8), END_OF_DAY), (time(9), time(10)))})


def test_copies_and_pickles_keep_equality() -> None:
    UK.add(local(LONDON, 2026, 1, 19, 9), H)  # warm the cache, which is not part of the value
    again = pickle.loads(pickle.dumps(UK))
    assert again == UK
    assert copy.deepcopy(UK) == UK
    assert again.add(local(LONDON, 2026, 12, 24, 16), 2 * H) == local(LONDON, 2026, 12, 29, 10)


def test_inputs_in_any_zone_outputs_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    start = datetime(2026, 1, 19, 11, tzinfo=plus_two)  # 09:00 in London
    assert UK.is_open(start)
    assert UK.add(start, H) == datetime(2026, 1, 19, 10, tzinfo=UTC)
    assert UK.elapsed(start, local(LONDON, 2026, 1, 19, 17)) == 8 * H


def test_naive_and_negative_inputs_are_refused() -> None:
    naive = datetime(2026, 1, 19, 9)
    aware = naive.replace(tzinfo=UTC)
    for call in (
        lambda: UK.is_open(naive),
        lambda: UK.add(naive, H),
        lambda: UK.elapsed(naive, aware),
        lambda: UK.elapsed(aware, naive),
        lambda: UK.add_with_pauses(aware, H, [(naive, None)]),
        lambda: UK.elapsed_with_pauses(aware, aware + H, [(aware, naive)]),
        lambda: BusinessCalendar.always().add(naive, H),
    ):
        with pytest.raises(ValueError, match="timezone-aware"):
            call()
    with pytest.raises(ValueError, match="negative"):
        UK.add(aware, -H)
    with pytest.raises(ValueError, match="ends before it starts"):
        UK.add_with_pauses(aware, H, [(aware + H, aware)])


# -- properties --------------------------------------------------------------------------------


def _calendars() -> list[BusinessCalendar]:
    cals = [BusinessCalendar.always()]
    for zone in ZONES:
        country, subdivision = HOLIDAYS[zone]
        for name, hours in (
            ("office", {"mon-fri": "09:00-17:00"}),
            ("split", {"mon-fri": "08:00-12:00,13:00-18:00", "sat": "10:00-14:00"}),
            # Sunday night hours straddle every DST change of these zones (all on Sundays).
            ("night", {"mon-sat": "09:00-17:00", "sun": "00:30-03:30"}),
            ("whole days", {"daily": "24h"}),
        ):
            cals.append(
                BusinessCalendar.build(
                    f"{zone} {name}",
                    zone,
                    hours,
                    holiday_country=country,
                    holiday_subdivision=subdivision,
                    holiday_dates=[date(2026, 3, 30)],
                    years=YEARS,
                )
            )
    return cals


CALENDARS = _calendars()
ANCHORS = [
    datetime(2026, 3, 8, 7, tzinfo=UTC),  # US spring forward
    datetime(2026, 3, 29, 1, tzinfo=UTC),  # EU spring forward
    datetime(2026, 4, 4, 16, tzinfo=UTC),  # Sydney falls back
    datetime(2026, 10, 3, 16, tzinfo=UTC),  # Sydney springs forward
    datetime(2026, 10, 25, 1, tzinfo=UTC),  # EU falls back
    datetime(2026, 11, 1, 6, tzinfo=UTC),  # US falls back
    datetime(2026, 12, 25, 12, tzinfo=UTC),  # Christmas
    datetime(2026, 12, 31, 13, tzinfo=UTC),  # New Year, local years differ from UTC
]
SPREAD = 4 * 24 * 3600 * 10**6  # microseconds either side of an anchor

calendars = st.sampled_from(CALENDARS)
zones = st.sampled_from([ZoneInfo(z) for z in ZONES])


@st.composite
def moments(draw: st.DrawFn) -> datetime:
    """Aware moments near a DST change or a holiday, in any of the zones."""
    anchor = draw(st.sampled_from(ANCHORS))
    offset = draw(st.integers(-SPREAD, SPREAD))
    if draw(st.booleans()):
        offset -= offset % (15 * 60 * 10**6)  # often on a quarter hour, like opening times
    return (anchor + timedelta(microseconds=offset)).astimezone(draw(zones))


durations = st.one_of(
    st.just(timedelta(0)),
    st.integers(1, 10 * 24 * 3600 * 10**6).map(lambda us: timedelta(microseconds=us)),
    st.integers(1, 48 * 4).map(lambda q: timedelta(minutes=15 * q)),
)
props = settings(max_examples=60, deadline=None)


def wall_open(cal: BusinessCalendar, moment: datetime) -> bool:
    """Independent reading of the hours: is the local wall clock inside an open interval?"""
    here = moment.astimezone(cal.timezone)
    if here.date() in cal.holidays:
        return False
    wall = here.time()
    return any(
        opens <= wall and (closes == END_OF_DAY or wall < closes)
        for opens, closes in cal.hours.get(here.weekday(), ())
    )


def unambiguous(cal: BusinessCalendar, moment: datetime) -> bool:
    here = moment.astimezone(cal.timezone)
    return here.replace(fold=1 - here.fold).utcoffset() == here.utcoffset()


@props
@given(calendars, moments(), durations)
def test_add_then_elapsed_round_trips_exactly(cal, start, duration) -> None:
    due = cal.add(start, duration)
    assert due.tzinfo is UTC
    assert due >= start
    assert cal.elapsed(start, due) == duration


@props
@given(calendars, moments(), moments(), moments())
def test_elapsed_is_additive(cal, a, b, c) -> None:
    # Compare in UTC: Python compares same-zone datetimes by wall clock, and never finds an
    # inter-zone datetime with fold=1 equal to anything.
    a, b, c = sorted(m.astimezone(UTC) for m in (a, b, c))
    assert cal.elapsed(a, b) + cal.elapsed(b, c) == cal.elapsed(a, c)
    assert cal.elapsed(c, a) == timedelta(0)
    assert cal.elapsed(a, c) <= c - a


@props
@given(calendars, moments(), moments(), durations, durations)
def test_add_is_monotonic(cal, s1, s2, d1, d2) -> None:
    s1, s2 = sorted([s1.astimezone(UTC), s2.astimezone(UTC)])
    d1, d2 = sorted([d1, d2])
    assert cal.add(s1, d1) <= cal.add(s1, d2)
    assert cal.add(s1, d1) <= cal.add(s2, d1)


@props
@given(calendars, moments(), durations)
def test_add_lands_in_working_hours(cal, start, duration) -> None:
    due = cal.add(start, duration)
    if duration:
        # Work was done just before the deadline: inside hours, not on a holiday.
        inside = due - US
        assert cal.is_open(inside)
        assert inside.astimezone(cal.timezone).date() not in cal.holidays
        if unambiguous(cal, inside):
            assert wall_open(cal, inside)
        assert cal.elapsed(start, inside) < duration
    else:
        # Zero: the moment the clock starts, `start` itself when open.
        assert cal.is_open(due)
        assert cal.elapsed(start, due) == timedelta(0)
        assert (due == start.astimezone(UTC)) == cal.is_open(start)


@props
@given(calendars, moments())
def test_is_open_matches_the_wall_clock(cal, moment) -> None:
    if unambiguous(cal, moment):
        assert cal.is_open(moment) == wall_open(cal, moment)


@settings(max_examples=25, deadline=None)
@given(calendars, moments())
def test_elapsed_counts_the_open_minutes(cal, start) -> None:
    start = start.astimezone(UTC).replace(second=0, microsecond=0)
    minute = timedelta(minutes=1)
    minutes = 36 * 60
    open_minutes = sum(cal.is_open(start + i * minute) for i in range(minutes))
    assert cal.elapsed(start, start + minutes * minute) == open_minutes * minute


@props
@given(moments(), moments(), durations)
def test_always_equals_plain_arithmetic(a, b, duration) -> None:
    cal = BusinessCalendar.always()
    a, b = a.astimezone(UTC), b.astimezone(UTC)  # elapsed-time arithmetic, not wall-clock
    assert cal.add(a, duration) == a + duration
    assert cal.elapsed(a, b) == max(b - a, timedelta(0))
    assert cal.is_open(a)


@props
@given(zones, moments(), moments(), durations)
def test_whole_days_are_plain_arithmetic(zone, a, b, duration) -> None:
    # 24h every day with a holiday far away: the interval path, not the 24/7 shortcut.
    cal = BusinessCalendar.build("d", zone.key, {"daily": "24h"}, holiday_dates=[date(2031, 1, 1)])
    a, b = a.astimezone(UTC), b.astimezone(UTC)
    assert cal.add(a, duration) == a + duration
    assert cal.elapsed(a, b) == max(b - a, timedelta(0))


FAR = datetime(2028, 1, 1, tzinfo=UTC)


@st.composite
def pause_lists(draw: st.DrawFn, start: datetime) -> list[tuple[datetime, datetime | None]]:
    pauses = []
    for _ in range(draw(st.integers(0, 4))):
        shift = timedelta(minutes=draw(st.integers(-2 * 24 * 60, 6 * 24 * 60)))
        begin = (start.astimezone(UTC) + shift).astimezone(draw(zones))
        if draw(st.integers(0, 6)) == 0:
            pauses.append((begin, None))
        else:
            length = timedelta(minutes=draw(st.integers(0, 3 * 24 * 60)))
            pauses.append((begin, (begin.astimezone(UTC) + length).astimezone(draw(zones))))
    return pauses


def reference_elapsed(cal, start, end, pauses) -> timedelta:
    """Working time minus the working time inside the merged pauses, computed separately."""
    spans = sorted((a.astimezone(UTC), FAR if b is None else b.astimezone(UTC)) for a, b in pauses)
    merged: list[list[datetime]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    paused = sum((cal.elapsed(max(a, start), min(b, end)) for a, b in merged), timedelta(0))
    return cal.elapsed(start, end) - paused


@props
@given(calendars, moments(), durations, st.data())
def test_pauses(cal, start, duration, data) -> None:
    pauses = data.draw(pause_lists(start))
    end = data.draw(moments())
    assert cal.elapsed_with_pauses(start, end, pauses) == reference_elapsed(cal, start, end, pauses)
    start = start.astimezone(UTC)
    due = cal.add_with_pauses(start, duration, pauses)
    if due is None:
        forever = min(a.astimezone(UTC) for a, b in pauses if b is None)
        budget = reference_elapsed(cal, start, max(forever, start), pauses)
        assert budget < duration or budget == duration == timedelta(0)
        return
    assert due >= cal.add(start, duration)
    assert cal.elapsed_with_pauses(start, due, pauses) == duration
    if not pauses:
        assert due == cal.add(start, duration)
    if duration:
        assert cal.elapsed_with_pauses(start, due - US, pauses) < duration
    else:
        assert cal.is_open(due)
        assert not any(a <= due and (b is None or due < b) for a, b in pauses)


# -- business days (issue 13) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "count", "due"),
    [
        (local(LONDON, 2026, 11, 20, 10), 1, local(LONDON, 2026, 11, 23, 10)),  # Fri -> Mon
        (local(LONDON, 2026, 11, 20, 10), 3, local(LONDON, 2026, 11, 25, 10)),
        (local(LONDON, 2026, 11, 20, 9), 0, local(LONDON, 2026, 11, 20, 9)),
        # Outside hours the days count from the next opening; a whole day from an opening
        # ends at the closing of the day before the next one (the same working time).
        (local(LONDON, 2026, 11, 21, 15), 1, local(LONDON, 2026, 11, 23, 17)),
        (local(LONDON, 2026, 11, 20, 19), 1, local(LONDON, 2026, 11, 23, 17)),
        # Christmas, Boxing Day (Sat, observed Mon 28), New Year's Day
        (local(LONDON, 2026, 12, 24, 11), 1, local(LONDON, 2026, 12, 29, 11)),
        (local(LONDON, 2026, 12, 31, 16), 2, local(LONDON, 2027, 1, 5, 16)),
        # Across the end of summer time: the same wall-clock time
        (local(LONDON, 2026, 10, 23, 16), 3, local(LONDON, 2026, 10, 28, 16)),
    ],
)
def test_business_days_keep_the_point_of_the_working_day(
    start: datetime, count: int, due: datetime
) -> None:
    span = UK.business_days(start, count)
    assert UK.add(start, span) == due.astimezone(UTC)


def test_a_shorter_day_ends_a_business_day_at_its_closing() -> None:
    cal = BusinessCalendar.build("c", "UTC", {"mon-thu": "09:00-17:00", "fri": "09:00-13:00"})
    thursday_4pm = datetime(2026, 11, 19, 16, tzinfo=UTC)
    assert cal.add(thursday_4pm, cal.business_days(thursday_4pm, 1)) == datetime(
        2026, 11, 20, 13, tzinfo=UTC
    )
    # Split hours: the point of the day is the working time passed (3 h 30 m by 13:30).
    split = BusinessCalendar.build("s", "UTC", {"mon-fri": "09:00-12:00,13:00-17:00"})
    monday = datetime(2026, 11, 23, 13, 30, tzinfo=UTC)
    assert split.business_days(monday, 1) == 7 * H
    assert split.add(monday, 7 * H) == datetime(2026, 11, 24, 13, 30, tzinfo=UTC)


def test_on_a_round_the_clock_calendar_a_day_is_24_hours() -> None:
    always = BusinessCalendar.always()
    assert always.round_the_clock and not UK.round_the_clock
    assert always.business_days(datetime(2026, 3, 28, 10, tzinfo=UTC), 2) == 48 * H


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2025, 1, 2), max_value=datetime(2027, 6, 1), timezones=st.just(UTC)
    ),
    count=st.integers(0, 30),
)
def test_business_days_add_up(start: datetime, count: int) -> None:
    # n days then m days is n + m days, and each day is one working day of the calendar.
    span = UK.business_days(start, count)
    assert UK.business_days(start, count + 1) - span == UK.business_days(UK.add(start, span), 1)
    assert timedelta(0) <= UK.business_days(start, 1) <= 8 * H
