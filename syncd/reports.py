"""The managers' report tabs, computed from syncd's own state (the facts of each ticket).

Pure: no I/O and no clock reads; `now` is an argument. `build_reports(facts, now, settings)`
returns six `Report`s: "breaches", "escalations", "daily", "weekly", "monthly" and "agents".

What every figure means (the README's "What the report tabs mean" says the same):

- Tickets merged, marked spam or deleted in the helpdesk are left out of every figure.
- Days, weeks and months are those of `settings.timezone`: a ticket created at 23:30 UTC is
  created the next day in Europe/Berlin. A week ends on `settings.week_ends` (Friday unless
  set) and is named by its last day; a month is named "2026-03". The last row is the period in
  progress, counted so far. Rows are oldest first.
- Figures of past periods are counted from each ticket's latest state: a reopened ticket counts
  as unsolved from its creation until it is solved again, then as solved on that day.
- **New**: tickets created in the period.
- **Solved**: tickets whose (latest) solve fell in the period.
- **Backlog**: at the end of the period, tickets created by then and not solved by then.
- **A target is settled** when it was met, on the moment it was met, or breached, on its due
  moment. A breached target is one met after its due moment, or still unmet once its due moment
  has passed (for a solved ticket, unmet when it was solved). A target that is still running,
  has no due moment (the clock is paused, e.g. pending) or cannot be judged (the helpdesk does
  not report replies) is not settled and not counted.
- **First response / resolution attainment**: targets met in the period divided by targets
  settled in the period (a share: 0.9 shows as 90%); empty when none settled.
- **Median first response (h)**: the median of the hours from creation to first reply (wall
  clock, not business hours), over tickets first answered in the period; empty when none.
- **Breaches**: targets (first response and resolution counted apart) whose due moment fell in
  the period, unmet by then. Also by priority.
- **CSAT average / responses**: the average score (1-5) and the number of scored tickets among
  those solved in the period. When every score in the window came from a good/bad survey
  (`TicketFacts.csat_scale` 2), the helpdesk's own scale is shown instead: **CSAT good**, the
  share of good ratings (0.9 shows as 90%).
- **New by category / priority**: the new tickets by the category and priority the rules gave
  them, one column for each in the rule set (in rule order) and "other" for any other value, so
  the columns stay put.
- **Top categories** (weeks, months): the three categories with the most new tickets.
- **Volume change**: (new − new of the previous period) / new of the previous period (a share:
  0.25 shows as 25%); empty when the previous period had none. **Attainment change (pts)**:
  attainment minus the previous period's, in percentage points; empty when either is empty.
- **SLA breaches tab**: one row per breached target, its measure named (first response,
  resolution, or next reply, periodic update, first resolution, requester wait, agent work
  where the policy sets them; the attainment figures count the first two only), newest due
  first: every breach still open
  (the ticket is open and the target unmet) and every breach that ended (met late, or the
  ticket solved) within the last `settings.recent_breaches` (`sheets.history_days`), at most
  `settings.tab_rows` rows. When older breaches are left out, the first line under the header
  says how many (syncd's state database keeps every ticket's facts). **Hours late**: from the
  due moment to when it was met or the ticket solved, or, while it is open, to `now` (wall
  clock). The pipeline rebuilds the tabs when a ticket's facts change and once a day, so an
  open breach's hours are those of the last rebuild.
- **Escalations tab**: one row per escalation level a ticket reached, newest first, for every
  ticket still open and every level reached within the last `settings.recent_breaches`
  (`sheets.history_days`), at most `settings.tab_rows` rows, with a first line counting the
  older ones left out, as on SLA breaches. A row holds when syncd first saw the level reached,
  its level, the reason (the SLA's standing then), **Notified**: the targets its notifications
  reached, and for each one that did not go out why ("not sent yet", "not sent: recorded
  only" on the first sync or in a backfill, "not sent: skipped, <reason>"), from the outcomes
  the state store recorded (a tab built in the cycle that carries the notifications out shows
  them in the next build), and the rule: the ladder's name and its file and line in the rules
  folder.
- **Agents tab**: one row per agent (the ticket's current assignee, by name when the helpdesk
  gives it, else by id; "(unassigned)" for tickets without one) and week, newest week first
  and, within a week, the heaviest open load first. **Assigned**: their tickets created in the
  week. **Solved**: their tickets solved in it. **Open load**: their tickets open at the end
  of the week (created by then, not solved by then). **Median first response (h)**: as above,
  over their tickets first answered in the week. **SLA attainment**: their first response and
  resolution targets met ÷ settled in the week, both targets together. **CSAT**: as above,
  over their tickets solved in the week. **Escalations**: escalation levels their tickets
  reached in the week. An agent without any of these in a week has no row for it. A column
  chart shows the open load of the newest week.
"""

from __future__ import annotations

import functools
import itertools
import statistics
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from operator import itemgetter
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from syncd.facts import OTHER_MEASURES, Escalation, Target, TicketFacts, rule_file
from syncd.ports import Cell, Chart, Report

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
OTHER = "other"
TITLES = {
    "breaches": "SLA breaches",
    "escalations": "Escalations",
    "daily": "Daily summary",
    "weekly": "Weekly report",
    "monthly": "Monthly trends",
    "agents": "Agents",
}
TOP_CATEGORIES = 3
CSAT_AVERAGE = "CSAT average"
CSAT_GOOD = "CSAT good"  # share of good ratings, when every rating is good/bad
UNASSIGNED = "(unassigned)"
# The most rows the SLA breaches and Escalations tabs show: a manager reads the newest, and a
# backfill of old tickets must not fill the spreadsheet (10 million cells at most).
TAB_ROWS = 1000

# The measures every period row shows, in order (daily, weekly and monthly alike).
MEASURES = (
    "New",
    "Solved",
    "Backlog",
    "First response attainment",
    "Resolution attainment",
    "Median first response (h)",
    "Breaches",
    CSAT_AVERAGE,
    "CSAT responses",
)
CHANGES = (
    "Volume change",
    "First response attainment change (pts)",
    "Resolution attainment change (pts)",
)
_FORMATS = {
    "New": "count",
    "Solved": "count",
    "Backlog": "count",
    "First response attainment": "percent",
    "Resolution attainment": "percent",
    "Median first response (h)": "hours",
    "Breaches": "count",
    "CSAT responses": "count",
    CSAT_GOOD: "percent",
    "Volume change": "percent",
}


@dataclass(frozen=True, slots=True)
class LeadingChart(Chart):
    """A chart of the table's first `rows` rows only (the Agents tab's newest week)."""

    rows: int = 0


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """How the reports are cut: the timezone of days, the week's last day, how many periods to
    show, how long an ended breach or a closed ticket's escalation stays listed (the history
    window, `sheets.history_days`) and how many rows those two tabs show at most, and the
    categories and priorities to break figures down by (from the rule set, so the columns
    are stable)."""

    timezone: str = "UTC"
    week_ends: str = "friday"
    days: int = 92
    weeks: int = 26
    months: int = 24
    recent_breaches: timedelta = timedelta(days=30)  # the history window (see above)
    tab_rows: int = TAB_ROWS
    categories: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    good_bad: bool = False  # set by build_reports: every CSAT score is good/bad

    def local_day(self, now: datetime) -> date:
        """The day it is at `now` in the reports' timezone."""
        return now.astimezone(ZoneInfo(self.timezone)).date()


def report_since(now: datetime, settings: ReportSettings) -> datetime:
    """The earliest moment any report looks at (the facts of tickets closed before it change
    no figure): the start of the first period shown, or of the one before it that the
    changes compare with, or the oldest ended breach still listed."""
    zone = ZoneInfo(settings.timezone)
    first = _Calendar(now.astimezone(zone).date(), settings).first
    return min(
        datetime.combine(first, time(), zone).astimezone(UTC), now - settings.recent_breaches
    )


# ticket -> action key -> (target, recorded outcome), as the state store keeps them
Outcomes = Mapping[str, Mapping[str, tuple[str, str]]]


def build_reports(
    facts: Iterable[TicketFacts],
    now: datetime,
    settings: ReportSettings,
    outcomes: Callable[[list[str]], Outcomes] | None = None,
) -> list[Report]:
    """The six report tables, from the facts of every ticket open or closed in the window
    (see `report_since`). `outcomes` gives the recorded actions of some tickets (the state
    store's `action_outcomes`): it is asked once, for the tickets of the escalation rows the
    Escalations tab shows, which notifications went out; without it the tab lists each
    level's notify targets as the rules name them.

    One pass over `facts`, keeping only what the tables need (counts per day, per agent and
    week, the hours of the medians, the rows the bounded tabs can still show), so a
    backfill's hundred thousand facts can be streamed from the state store in bounded
    memory."""
    zone = ZoneInfo(settings.timezone)
    calendar = _Calendar(now.astimezone(zone).date(), settings)
    days = _DayTallies(now, calendar, zone, settings)
    breaches = _BreachRows(now, settings)
    escalations = _EscalationRows(now - settings.recent_breaches, settings.tab_rows)
    agents = _AgentTallies(now, calendar.weeks, zone)
    scales: set[int | None] = set()  # the survey scales of the CSAT scores
    for f in facts:
        if f.gone:
            continue
        if f.csat is not None:
            scales.add(f.csat_scale)
        days.add(f)
        breaches.add(f)
        escalations.add(f)
        agents.add(f)
    # Every score from a good/bad survey: the tabs show the share of good ratings instead of
    # an average on 1-5. It changes only how the CSAT cells are figured, from the same sums.
    good_bad = scales == {2}
    counted = days.days()
    cut = replace(settings, good_bad=good_bad)
    return [
        breaches.report(),
        escalations.report(outcomes),
        daily_report(calendar.days.roll_up(counted, calendar.first), calendar.days, cut),
        weekly_report(calendar.weeks.roll_up(counted, calendar.first), calendar.weeks, cut),
        monthly_report(calendar.months.roll_up(counted, calendar.first), calendar.months, cut),
        agents.report(good_bad),
    ]


def is_good(score: float) -> bool:
    """A good rating: above the middle of the 1-5 scale (a good/bad survey's good is 5)."""
    return score > 3


# -- the measures: one function each, the same for days, weeks and months -------------------


def settled(target: Target | None, judged_at: datetime) -> tuple[datetime, bool] | None:
    """When a target was settled and whether it was met, as of `judged_at`; None while it is
    not settled (running, paused, or no target)."""
    if target is None:
        return None
    if target.met_at is not None:
        if not target.breached:
            return target.met_at, True
        return (target.due or target.met_at), False
    if target.due is not None and target.due < judged_at:
        return target.due, False
    return None


def attainment(met: int, settled_count: int) -> float | None:
    """Share of settled targets that were met; None when none settled."""
    return round(met / settled_count, 4) if settled_count else None


def median_hours(hours: Sequence[float]) -> float | None:
    """The median of some durations in hours; None when there are none."""
    return round(statistics.median(hours), 2) if hours else None


def average(total: float, count: int) -> float | None:
    """An average; None when there is nothing to average."""
    return round(total / count, 2) if count else None


def csat_figure(total: float, good: int, count: int, good_bad: bool) -> float | None:
    """The CSAT cell: the average score, or with `good_bad` the share of good ratings."""
    return attainment(good, count) if good_bad else average(total, count)


def measure_titles(good_bad: bool) -> tuple[str, ...]:
    """MEASURES, with "CSAT good" for the average when every rating is good/bad."""
    return tuple(CSAT_GOOD if good_bad and m == CSAT_AVERAGE else m for m in MEASURES)


def volume_change(current: int, previous: int | None) -> float | None:
    """Relative change of a count (0.25: up 25%); None without a previous count above 0."""
    return round((current - previous) / previous, 4) if previous else None


def points_change(current: float | None, previous: float | None) -> float | None:
    """Change of a share in percentage points; None when either is missing."""
    if current is None or previous is None:
        return None
    return round((current - previous) * 100, 2)


def top_categories(counts: Counter[str], order: Sequence[str], n: int = TOP_CATEGORIES) -> str:
    """ "Technical 5, Billing 3, General 1": the most frequent, ties in rule order."""
    rank = {name: i for i, name in enumerate(order)}
    best = sorted(
        (c for c in counts.items() if c[1] > 0), key=lambda c: (-c[1], rank.get(c[0], len(rank)))
    )
    return ", ".join(f"{name} {count}" for name, count in best[:n])


def hours_between(start: datetime, end: datetime) -> float:
    """Wall-clock hours from start to end (0 when end comes first)."""
    return max((end - start).total_seconds(), 0.0) / 3600


# -- counting: every event once, on its local day; weeks and months are sums of days ---------


def _hours() -> array[float]:
    """Durations in hours for a median, as C doubles: 8 bytes a value, not a float object's
    32 (a backfill adds one or two per ticket)."""
    return array("d")


@dataclass(slots=True)
class _Tally:
    """What happened in one day, week or month."""

    new: int = 0
    solved: int = 0
    backlog: int = 0  # at the end of the period
    fr_met: int = 0
    fr_settled: int = 0
    res_met: int = 0
    res_settled: int = 0
    breaches: int = 0
    reply_hours: array[float] = field(default_factory=_hours)
    csat_total: float = 0.0
    csat_count: int = 0
    csat_good: int = 0
    new_by_category: Counter[str] = field(default_factory=Counter)
    new_by_priority: Counter[str] = field(default_factory=Counter)
    breaches_by_priority: Counter[str] = field(default_factory=Counter)

    def add(self, other: _Tally) -> None:
        """Count another period's events in this one (not its backlog)."""
        self.new += other.new
        self.solved += other.solved
        self.fr_met += other.fr_met
        self.fr_settled += other.fr_settled
        self.res_met += other.res_met
        self.res_settled += other.res_settled
        self.breaches += other.breaches
        self.reply_hours.extend(other.reply_hours)
        self.csat_total += other.csat_total
        self.csat_count += other.csat_count
        self.csat_good += other.csat_good
        self.new_by_category.update(other.new_by_category)
        self.new_by_priority.update(other.new_by_priority)
        self.breaches_by_priority.update(other.breaches_by_priority)

    def measures(self, good_bad: bool = False) -> list[Cell]:
        """The cells of MEASURES (`good_bad`: the share of good ratings for the average)."""
        return [
            self.new,
            self.solved,
            self.backlog,
            attainment(self.fr_met, self.fr_settled),
            attainment(self.res_met, self.res_settled),
            median_hours(self.reply_hours),
            self.breaches,
            csat_figure(self.csat_total, self.csat_good, self.csat_count, good_bad),
            self.csat_count,
        ]


@dataclass(slots=True)
class _Periods:
    """Consecutive days, weeks or months, by their first days."""

    starts: list[date]
    end: date  # the last day of the last period

    def roll_up(self, days: list[_Tally], first: date) -> list[_Tally]:
        """Each period's tally from the tallies of the days from `first` on, with the backlog
        at the end of its last day."""
        out = []
        bounds = [*self.starts, self.end + timedelta(days=1)]
        for start, following in itertools.pairwise(bounds):
            total = _Tally()
            for day in days[(start - first).days : (following - first).days]:
                total.add(day)
            total.backlog = days[(following - first).days - 1].backlog
            out.append(total)
        return out


class _Calendar:
    """The days, weeks and months the reports show as of `today` (weeks and months from the
    one before the first shown, which the changes compare with), and the run of days that
    covers them all (from `first` to `last`)."""

    def __init__(self, today: date, settings: ReportSettings) -> None:
        self.days = _Periods(
            [today - timedelta(days=n) for n in range(settings.days - 1, -1, -1)], today
        )
        week_end = today + timedelta(
            days=(WEEKDAYS.index(settings.week_ends) - today.weekday()) % 7
        )
        self.weeks = _Periods(
            [week_end - timedelta(days=7 * n + 6) for n in range(settings.weeks, -1, -1)],
            week_end,
        )
        starts = []
        year, month = today.year, today.month
        for _ in range(settings.months + 1):
            starts.append(date(year, month, 1))
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        following = date(today.year + today.month // 12, today.month % 12 + 1, 1)
        self.months = _Periods(starts[::-1], following - timedelta(days=1))
        self.first = min(p.starts[0] for p in (self.days, self.weeks, self.months))
        self.last = max(p.end for p in (self.days, self.weeks, self.months))


class _DayTallies:
    """Every counted event of the live tickets, on its local day from `calendar.first` to
    `calendar.last`, counted as the facts go by (`add`); `days()` adds the backlog at the end
    of each day."""

    def __init__(
        self, now: datetime, calendar: _Calendar, zone: ZoneInfo, settings: ReportSettings
    ) -> None:
        count = (calendar.last - calendar.first).days + 1
        # A moment's day by bisecting the UTC timestamps of local midnights: one C call,
        # several times faster than converting each moment to the zone. Slot 0 gathers what
        # happened before the first day (its new and solved make the backlog), slot count + 1
        # what after.
        midnights = [
            datetime.combine(calendar.first + timedelta(days=n), time(), zone).timestamp()
            for n in range(count + 1)
        ]
        self.day = functools.partial(bisect_right, midnights)
        self.slots = [_Tally() for _ in range(count + 2)]
        self.categories, self.priorities = set(settings.categories), set(settings.priorities)
        self.now = now

    def add(self, f: TicketFacts) -> None:
        """Count a live ticket's events: created, solved (with its score), first answered,
        and its first response and resolution targets, once settled."""
        slots, day = self.slots, self.day
        priority = f.priority if f.priority in self.priorities else OTHER
        t = slots[day(f.created_at.timestamp())]
        t.new += 1
        t.new_by_category[f.category if f.category in self.categories else OTHER] += 1
        t.new_by_priority[priority] += 1
        if f.solved_at is not None:
            t = slots[day(max(f.solved_at, f.created_at).timestamp())]
            t.solved += 1
            if f.csat is not None:
                t.csat_total += f.csat
                t.csat_count += 1
                t.csat_good += is_good(f.csat)
        if f.first_response_at is not None:
            t = slots[day(f.first_response_at.timestamp())]
            t.reply_hours.append(hours_between(f.created_at, f.first_response_at))
        judged_at = min(f.solved_at or self.now, self.now)
        for is_fr, target in ((True, f.first_response), (False, f.resolution)):
            outcome = settled(target, judged_at)
            if outcome is None:
                continue
            moment, met = outcome
            t = slots[day(moment.timestamp())]
            if is_fr:
                t.fr_settled += 1
                t.fr_met += met
            else:
                t.res_settled += 1
                t.res_met += met
            if not met:
                t.breaches += 1
                t.breaches_by_priority[priority] += 1

    def days(self) -> list[_Tally]:
        """The tallies of the days from `calendar.first` to `calendar.last`, each with the
        backlog at its end."""
        before, days = self.slots[0], self.slots[1:-1]
        backlog = before.new - before.solved
        for t in days:
            backlog += t.new - t.solved
            t.backlog = backlog
        return days


# -- the tables ------------------------------------------------------------------------------


def _by_category(measure: str, names: Sequence[str]) -> list[str]:
    """Column titles: "New: Billing", ..., "New: other categories"."""
    return [*(f"{measure}: {name}" for name in names), f"{measure}: other categories"]


def _by_priority(measure: str, names: Sequence[str]) -> list[str]:
    """Column titles: "New: High priority", ..., "New: other priorities"."""
    return [*(f"{measure}: {name} priority" for name in names), f"{measure}: other priorities"]


def _counts(counter: Counter[str], names: Sequence[str]) -> list[Cell]:
    return [counter[name] for name in (*names, OTHER)]


def _formats(columns: Sequence[str], extra: dict[str, str]) -> dict[str, str]:
    found = {c: _FORMATS[c] for c in columns if c in _FORMATS}
    found.update({c: "count" for c in columns if c.startswith(("New: ", "Breaches: "))})
    found.update(extra)
    return found


def daily_report(tallies: list[_Tally], days: _Periods, settings: ReportSettings) -> Report:
    """One row per day: the measures, and new tickets by category and by priority, and
    breaches by priority."""
    cats, prios = settings.categories, settings.priorities
    columns = (
        "Date",
        *measure_titles(settings.good_bad),
        *_by_category("New", cats),
        *_by_priority("New", prios),
        *_by_priority("Breaches", prios),
    )
    rows = [
        [
            day,
            *t.measures(settings.good_bad),
            *_counts(t.new_by_category, cats),
            *_counts(t.new_by_priority, prios),
            *_counts(t.breaches_by_priority, prios),
        ]
        for day, t in zip(days.starts, tallies, strict=True)
    ]
    formats = _formats(columns, {"Date": "date"})
    return Report("daily", TITLES["daily"], columns, rows, formats, _trend_charts("Date"))


def _trend_charts(domain: str) -> tuple[Chart, ...]:
    """The charts of a period tab: the volumes (new, solved, backlog) and both attainments."""
    return (
        Chart("New, solved and backlog", "line", domain, ("New", "Solved", "Backlog")),
        Chart(
            "SLA attainment", "line", domain, ("First response attainment", "Resolution attainment")
        ),
    )


def _with_changes(
    tallies: list[_Tally],
    label: Callable[[int], Cell],
    extra: Callable[[_Tally], list[Cell]],
    good_bad: bool,
) -> list[list[Cell]]:
    """Rows of periods 1.. (period 0 is the lead-in they are compared with)."""
    rows: list[list[Cell]] = []
    for i in range(1, len(tallies)):
        t, before = tallies[i], tallies[i - 1]
        rows.append(
            [
                label(i),
                *t.measures(good_bad),
                *extra(t),
                volume_change(t.new, before.new),
                points_change(
                    attainment(t.fr_met, t.fr_settled), attainment(before.fr_met, before.fr_settled)
                ),
                points_change(
                    attainment(t.res_met, t.res_settled),
                    attainment(before.res_met, before.res_settled),
                ),
            ]
        )
    return rows


def weekly_report(tallies: list[_Tally], weeks: _Periods, settings: ReportSettings) -> Report:
    """One row per week (named by its last day): the measures, the top categories and the
    change from the week before."""
    columns = ("Week ending", *measure_titles(settings.good_bad), "Top categories", *CHANGES)
    ends = _week_ends(weeks)
    rows = _with_changes(
        tallies, lambda i: ends[i], lambda t: [_top(t, settings.categories)], settings.good_bad
    )
    formats = _formats(columns, {"Week ending": "date"})
    return Report("weekly", TITLES["weekly"], columns, rows, formats, _trend_charts("Week ending"))


def _week_ends(weeks: _Periods) -> list[date]:
    """The last day of each week."""
    return [*(s - timedelta(days=1) for s in weeks.starts[1:]), weeks.end]


def monthly_report(tallies: list[_Tally], months: _Periods, settings: ReportSettings) -> Report:
    """One row per month: the measures, the top categories, the change from the month before
    and new tickets by category, with a chart of each."""
    cats = settings.categories
    by_category = _by_category("New", cats)
    columns = ("Month", *measure_titles(settings.good_bad), "Top categories", *CHANGES)
    columns += tuple(by_category)
    rows = _with_changes(
        tallies,
        lambda i: months.starts[i].strftime("%Y-%m"),
        lambda t: [_top(t, cats)],
        settings.good_bad,
    )
    for row, t in zip(rows, tallies[1:], strict=True):
        row.extend(_counts(t.new_by_category, cats))
    charts = (
        Chart("New tickets by category", "column", "Month", tuple(by_category)),
        Chart(
            "SLA attainment",
            "line",
            "Month",
            ("First response attainment", "Resolution attainment"),
        ),
    )
    return Report("monthly", TITLES["monthly"], columns, rows, _formats(columns, {}), charts=charts)


def _top(t: _Tally, order: Sequence[str]) -> str:
    return top_categories(t.new_by_category, order)


BREACH_COLUMNS = (
    "Ticket",
    "Subject",
    "Requester",
    "Category",
    "Priority",
    "SLA policy",
    "Target",
    "Due",
    "Ended",
    "Hours late",
    "State",
    "Escalation",
    "Link",
)


def _targets_of(f: TicketFacts) -> list[tuple[int, str, Target | None]]:
    """A ticket's targets as the SLA breaches tab names their measure, in a fixed order:
    first response, resolution, then the other measures its policy sets."""
    out: list[tuple[int, str, Target | None]] = [
        (0, "First response", f.first_response),
        (1, "Resolution", f.resolution),
    ]
    order = list(OTHER_MEASURES)
    out.extend((2 + order.index(m), OTHER_MEASURES[m], t) for m, t in f.other_targets)
    return out


# The order of a bounded tab's rows: newest first (minus the moment's timestamp); at the same
# moment, numeric ticket ids in numeric order (length, then id); then the ticket's own order.
_RowKey = tuple[float, int, str, int]
_Row = TypeVar("_Row")


class _Newest(Generic[_Row]):
    """The rows a bounded tab can still show, offered in any order: the first `limit` in key
    order, and a count of the rows left out. It holds at most twice `limit` rows whatever
    the number offered: when the buffer fills it is sorted and cut back to `limit`, and the
    last key kept bars any row that would sort after it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.found: list[tuple[_RowKey, _Row]] = []
        self.left_out = 0  # rows not shown: past the limit, or left out by the tab's caller
        self.bar: _RowKey | None = None  # a row of this key or later cannot be shown

    def may_show(self, key: _RowKey) -> bool:
        """Whether a row of this key can still be among the first `limit` (when not, the
        caller counts it left out and need not build it). At an equal key the row offered
        first comes first, as in a stable sort, so a key equal to the bar is out too."""
        return self.bar is None or key < self.bar

    def add(self, key: _RowKey, row: _Row) -> None:
        """Offer a row that `may_show`."""
        self.found.append((key, row))
        if len(self.found) > 2 * self.limit:
            self._cut()

    def shown(self) -> list[_Row]:
        """The rows shown, in key order."""
        self._cut()
        return [row for _, row in self.found]

    def _cut(self) -> None:
        self.found.sort(key=itemgetter(0))  # stable: equal keys keep the order offered
        self.left_out += max(0, len(self.found) - self.limit)
        del self.found[self.limit :]
        if self.found and len(self.found) == self.limit:
            self.bar = self.found[-1][0]


class _BreachRows:
    """The SLA breaches tab: every open breach and every breach that ended within the history
    window, newest due first, at most `settings.tab_rows`; a first line counts the older ones
    left out."""

    def __init__(self, now: datetime, settings: ReportSettings) -> None:
        self.now = now
        self.window = settings.recent_breaches
        self.recent = now - settings.recent_breaches
        self.rows: _Newest[list[Cell]] = _Newest(settings.tab_rows)

    def add(self, f: TicketFacts) -> None:
        """List the breached targets of a live ticket."""
        judged_at = min(f.solved_at or self.now, self.now)
        for order, label, target in _targets_of(f):
            outcome = settled(target, judged_at)
            if outcome is None or outcome[1]:
                continue
            due = outcome[0]
            assert target is not None
            ended = target.met_at or f.solved_at
            key = (-due.timestamp(), len(f.key), f.key, order)
            if (ended is not None and ended < self.recent) or not self.rows.may_show(key):
                self.rows.left_out += 1
                continue
            state = "open" if ended is None else "met late" if target.met_at else "solved unmet"
            row: list[Cell] = [
                f.key,
                f.subject,
                f.requester,
                f.category,
                f.priority,
                f.sla_policy,
                label,
                due,
                ended,
                round(hours_between(due, ended or self.now), 2),
                state,
                f.escalation_name,
                f.url,
            ]
            self.rows.add(key, row)

    def report(self) -> Report:
        """The tab, from the breaches listed."""
        kept = f"open ones and those ended in the last {_days(self.window)}"
        noun = ("breach", "breaches")
        shown, left_out = self.rows.shown(), self.rows.left_out
        rows = _bounded(shown, left_out, self.rows.limit, BREACH_COLUMNS, noun, kept)
        formats = {"Due": "datetime", "Ended": "datetime", "Hours late": "hours"}
        return Report("breaches", TITLES["breaches"], BREACH_COLUMNS, rows, formats)


def _bounded(
    rows: list[list[Cell]],
    left_out: int,
    limit: int,
    columns: Sequence[str],
    noun: tuple[str, str],
    kept: str,
) -> list[list[Cell]]:
    """The rows shown (at most `limit`) after a first line saying how many older ones
    (`left_out`) are not shown, when there are any; `noun`: singular and plural, `kept`: which
    rows the tab keeps."""
    if not left_out:
        return rows
    note = (
        f"{left_out:,} older {noun[left_out != 1]} not shown: this tab keeps {kept}, newest "
        f"first, {limit:,} rows at most; syncd's state database keeps every ticket's facts"
    )
    return [[note, *([None] * (len(columns) - 1))], *rows]


def _days(window: timedelta) -> str:
    """A history window in words: "30 days", "1 day", "36 hours"."""
    if window % timedelta(days=1):
        hours = window / timedelta(hours=1)
        return f"{hours:g} hour{'' if hours == 1 else 's'}"
    return f"{window.days} day{'' if window.days == 1 else 's'}"


ESCALATION_COLUMNS = (
    "Escalated at",
    "Ticket",
    "Subject",
    "Requester",
    "Category",
    "Priority",
    "Level",
    "Level name",
    "Reason",
    "Notified",
    "Rule",
    "Status",
    "Link",
)


def notified(escalation: Escalation, outcomes: Mapping[str, tuple[str, str]] | None) -> str:
    """The Notified cell of an escalation: the targets its notifications reached, then each
    other with what happened instead: "slack:#support; email:lead@x.example (not sent:
    recorded only, first sync)". `outcomes`: the ticket's recorded actions (action key ->
    (target, outcome)); None lists the targets as the rules name them."""
    if outcomes is None:
        return ", ".join(escalation.notified)
    prefix = f"escalation:{escalation.ladder}:{escalation.level}:"
    recorded = {target: o for key, (target, o) in outcomes.items() if key.startswith(prefix)}
    sent: list[str] = []
    other: list[str] = []
    for target in escalation.notified:
        why = _not_sent(recorded.get(target))
        if why is None:
            sent.append(target)
        else:
            other.append(f"{target} ({why})")
    return "; ".join(part for part in (", ".join(sent), ", ".join(other)) if part)


def _not_sent(outcome: str | None) -> str | None:
    """Why an action's outcome is not a delivery (None: it was delivered)."""
    if outcome is None:
        return "not sent yet"
    if outcome.startswith("baseline"):
        return "not sent: recorded only (first sync or backfill)"
    if outcome.startswith("skipped"):
        reason = outcome.partition(":")[2].strip()
        return f"not sent: skipped, {reason}" if reason else "not sent: skipped"
    return None


_NOTIFIED = ESCALATION_COLUMNS.index("Notified")
_RULE = ESCALATION_COLUMNS.index("Rule")


class _EscalationRows:
    """The Escalations tab: every escalation level of a ticket still open, and every other one
    reached since `since`, newest first, at most `limit` rows after a first line counting the
    older ones left out."""

    def __init__(self, since: datetime, limit: int = TAB_ROWS) -> None:
        self.since = since
        # A row with the ticket's key and the escalation, whose Notified and Rule cells are
        # filled in once the rows shown are known: only their outcomes are looked up, and
        # only their rule files named.
        self.rows: _Newest[tuple[str, Escalation, list[Cell]]] = _Newest(limit)

    def add(self, f: TicketFacts) -> None:
        """List the escalation levels a live ticket reached."""
        if not f.escalations:
            return
        still_open = f.closed_at is None
        for e in f.escalations:
            key = (-e.reached_at.timestamp(), len(f.key), f.key, -e.level)
            if (e.reached_at < self.since and not still_open) or not self.rows.may_show(key):
                self.rows.left_out += 1
                continue
            row: list[Cell] = [
                e.reached_at,
                f.key,
                f.subject,
                f.requester,
                f.category,
                f.priority,
                e.level,
                e.name,
                e.reason,
                None,  # Notified and Rule: filled in for the rows shown (see report())
                None,
                f.status,
                f.url,
            ]
            self.rows.add(key, (f.key, e, row))

    def report(self, outcomes: Callable[[list[str]], Outcomes] | None = None) -> Report:
        """The tab, from the escalations listed; `outcomes` as in `build_reports`."""
        shown = self.rows.shown()
        recorded = None if outcomes is None else outcomes(sorted({key for key, _, _ in shown}))
        rules: dict[tuple[str, str], str] = {}  # a ladder's levels are a few rules
        for key, e, row in shown:
            row[_NOTIFIED] = notified(e, None if recorded is None else recorded.get(key, {}))
            rule = rules.get((e.ladder, e.where))
            if rule is None:
                rule = rules[e.ladder, e.where] = f"{e.ladder} ({rule_file(e.where)})"
            row[_RULE] = rule
        since = self.since.astimezone(UTC)
        kept = f"those of open tickets and those reached since {since:%Y-%m-%d %H:%M} UTC"
        noun = ("escalation", "escalations")
        rows = [row for _, _, row in shown]
        rows = _bounded(rows, self.rows.left_out, self.rows.limit, ESCALATION_COLUMNS, noun, kept)
        formats = {"Escalated at": "datetime", "Level": "count"}
        return Report("escalations", TITLES["escalations"], ESCALATION_COLUMNS, rows, formats)


# -- agents -----------------------------------------------------------------------------------


def agent_columns(good_bad: bool) -> tuple[str, ...]:
    """The Agents tab's columns."""
    return (
        "Week ending",
        "Agent",
        "Assigned",
        "Solved",
        "Open load",
        "Median first response (h)",
        "SLA attainment",
        CSAT_GOOD if good_bad else CSAT_AVERAGE,
        "CSAT responses",
        "Escalations",
    )


@dataclass(slots=True)
class _AgentWeek:
    """One agent's week."""

    assigned: int = 0
    solved: int = 0
    load: int = 0  # change in open tickets over the week (a running sum makes the load)
    reply_hours: array[float] = field(default_factory=_hours)
    met: int = 0
    settled: int = 0
    csat_total: float = 0.0
    csat_good: int = 0
    csat_count: int = 0
    escalations: int = 0

    def active(self, load: int) -> bool:
        """Whether the agent has any figure this week (`load`: open at its end)."""
        counts = (self.assigned, self.solved, load, self.settled, self.csat_count)
        return any(counts) or bool(self.reply_hours or self.escalations)


class _AgentTallies:
    """The Agents tab: one row per agent and week shown (as on the Weekly report), newest week
    first and the heaviest open load first; a column chart of the newest week's open load.
    Each agent's weeks are counted as the facts go by (`add`)."""

    def __init__(self, now: datetime, weeks: _Periods, zone: ZoneInfo) -> None:
        starts = [datetime.combine(s, time(), zone).timestamp() for s in weeks.starts]
        starts.append(datetime.combine(weeks.end + timedelta(days=1), time(), zone).timestamp())
        self.starts = starts
        self.count = len(weeks.starts)
        self.weeks = weeks
        self.now = now
        self.tallies: dict[str, list[_AgentWeek]] = {}
        self.names: dict[str, tuple[datetime, str]] = {}  # agent id -> the latest name seen

    def week(self, moment: datetime) -> int:
        """The week of a moment: -1 before the first, `count` after the last."""
        return bisect_right(self.starts, moment.timestamp()) - 1

    def tally(self, agent: str, index: int) -> _AgentWeek | None:
        """The agent's week `index`; None outside the weeks shown."""
        if not 0 <= index < self.count:
            return None
        weeks_of = self.tallies.get(agent)
        if weeks_of is None:
            weeks_of = self.tallies[agent] = [_AgentWeek() for _ in range(self.count)]
        return weeks_of[index]

    def add(self, f: TicketFacts) -> None:
        """Count a live ticket for its assignee."""
        week, tally = self.week, self.tally
        agent = f.assignee_id or f.assignee_name
        if f.assignee_name and (agent not in self.names or self.names[agent][0] < f.seen_at):
            self.names[agent] = (f.seen_at, f.assignee_name)
        created = week(f.created_at)
        if (t := tally(agent, max(created, 0))) is not None:
            t.load += 1  # open from its creation (before the first week: from the start)
            if created >= 0:
                t.assigned += 1
        if f.solved_at is not None:
            solved = week(max(f.solved_at, f.created_at))
            if (t := tally(agent, max(solved, 0))) is not None:
                t.load -= 1
                if solved >= 0:
                    t.solved += 1
                    if f.csat is not None:
                        t.csat_total += f.csat
                        t.csat_count += 1
                        t.csat_good += is_good(f.csat)
        if f.first_response_at is not None and (t := tally(agent, week(f.first_response_at))):
            t.reply_hours.append(hours_between(f.created_at, f.first_response_at))
        judged_at = min(f.solved_at or self.now, self.now)
        for target in (f.first_response, f.resolution):
            outcome = settled(target, judged_at)
            if outcome is not None and (t := tally(agent, week(outcome[0]))) is not None:
                t.settled += 1
                t.met += outcome[1]
        for e in f.escalations:
            if (t := tally(agent, week(e.reached_at))) is not None:
                t.escalations += 1

    def report(self, good_bad: bool) -> Report:
        """The tab, from the weeks counted (`good_bad`: the share of good ratings for CSAT)."""
        count = self.count
        ends = _week_ends(self.weeks)
        by_week: list[list[tuple[tuple[int, int, str], list[Cell]]]] = [[] for _ in range(count)]
        for agent, weeks_of in self.tallies.items():
            label = self.names[agent][1] if agent in self.names else agent or UNASSIGNED
            load = 0
            for i, t in enumerate(weeks_of):
                load += t.load
                if i == 0 or not t.active(load):
                    continue  # week 0 is the lead-in of the Weekly report's changes
                row: list[Cell] = [
                    ends[i],
                    label,
                    t.assigned,
                    t.solved,
                    load,
                    median_hours(t.reply_hours),
                    attainment(t.met, t.settled),
                    csat_figure(t.csat_total, t.csat_good, t.csat_count, good_bad),
                    t.csat_count,
                    t.escalations,
                ]
                by_week[i].append(((-load, -t.solved, label.casefold()), row))
        rows = [row for i in range(count - 1, 0, -1) for _, row in sorted(by_week[i], key=_first)]
        newest = len(by_week[-1]) if count > 1 else 0
        columns = agent_columns(good_bad)
        formats = _formats(columns, {"Week ending": "date", "SLA attainment": "percent"})
        formats.update({"Assigned": "count", "Open load": "count", "Escalations": "count"})
        chart = LeadingChart(
            "Open load by agent, this week", "column", "Agent", ("Open load",), newest
        )
        return Report("agents", TITLES["agents"], columns, rows, formats, charts=(chart,))


def _first(item: tuple[tuple[int, int, str], list[Cell]]) -> tuple[int, int, str]:
    return item[0]
