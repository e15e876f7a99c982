"""The SOPs' daily issue summary and weekly report, pushed to Slack and email.

The SOPs ask for a daily issue summary when the inbox check starts (08:00) and a weekly report
"compiled every Friday and submitted to the team lead". syncd posts both (`digests` in the
config): the daily digest at `digests.daily.at`, local time of `sheets.timezone`, with the
figures of the day before; the weekly one on `sheets.week_ends` at `digests.weekly.at`, with
the figures of the week ending that day, so far. Each carries the key figures (new, solved,
backlog, attainment, breaches, top categories, CSAT) and a link to its tab.

The figures are read from the report tabs' own tables (`syncd.reports.build_reports`): the row
of the Daily summary for that day, the row of the Weekly report for that week, so a digest
always says what the tab says. Nothing here is computed a second time.

Pure: no I/O and no clock reads. `due(...)` says which digest is due at a moment, given the
marks the state store keeps (meta `digest:<kind>:<local day>:<target>`, one per target, so a
digest goes once to each target, also across restarts, and a target that failed is tried again
next cycle); `compose(...)` turns a report row into the message. `syncd.upkeep` runs them
after each cycle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from syncd.ports import Cell, Report
from syncd.reports import CSAT_AVERAGE, CSAT_GOOD, TITLES, WEEKDAYS, top_categories

DAILY, WEEKLY = "daily", "weekly"
_NEW_BY_CATEGORY = "New: "
_OTHER_CATEGORIES = "New: other categories"


@dataclass(frozen=True, slots=True)
class Schedule:
    """When one digest goes out and to whom (from `digests.<kind>` in the config)."""

    kind: str  # daily | weekly
    at: time  # local time of day
    to: tuple[str, ...]  # "slack:#support", "email:lead@acme.example"


@dataclass(frozen=True, slots=True)
class Due:
    """A digest due now: the period it covers and the targets it has not reached yet."""

    kind: str
    period: date  # daily: the day summed up (yesterday); weekly: the week's last day
    sent_on: date  # the local day it is sent on (the key of its marks)
    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Figures:
    """The key figures of one row of a report tab."""

    new: Cell
    solved: Cell
    backlog: Cell
    first_response_attainment: Cell
    resolution_attainment: Cell
    breaches: Cell
    top_categories: str
    csat: Cell  # the average (1-5), or with `csat_good` the share of good ratings
    csat_good: bool
    csat_responses: Cell


@dataclass(frozen=True, slots=True)
class Digest:
    """A message ready to send."""

    kind: str
    period: date
    subject: str
    text: str


def mark_key(kind: str, sent_on: date, target: str) -> str:
    """The meta key remembering that a digest reached (or was recorded for) a target."""
    return f"digest:{kind}:{sent_on.isoformat()}:{target}"


def due(
    schedules: Sequence[Schedule],
    now: datetime,
    timezone: str,
    week_ends: str,
    marked: Callable[[str], bool],
) -> list[Due]:
    """The digests due at `now`: a daily one once its local time has come today, a weekly
    one once its time has come on the week's last day; each with the targets not `marked`
    yet. A day missed (syncd was down all of it) is not made up the next day."""
    local = now.astimezone(ZoneInfo(timezone))
    today = local.date()
    found = []
    for schedule in schedules:
        if not schedule.to or local.time() < schedule.at:
            continue
        if schedule.kind == WEEKLY:
            if WEEKDAYS[today.weekday()] != week_ends:
                continue
            period = today
        else:
            period = today - timedelta(days=1)
        targets = tuple(t for t in schedule.to if not marked(mark_key(schedule.kind, today, t)))
        if targets:
            found.append(Due(schedule.kind, period, today, targets))
    return found


def row_of(report: Report, period: date) -> list[Cell] | None:
    """The row of a period tab (Daily summary, Weekly report) for the day or week ending on
    `period`; None when the tab does not show it."""
    for row in report.rows:
        if row and row[0] == period:
            return list(row)
    return None


def figures(report: Report, row: Sequence[Cell], categories: Sequence[str] = ()) -> Figures:
    """The key figures of a row, read by column title. Top categories: the tab's own column
    where it has one (weekly), else from its new-by-category columns (daily), ranked as the
    tabs rank them (`syncd.reports.top_categories`)."""
    cells = dict(zip(report.columns, row, strict=False))
    good = CSAT_GOOD in cells
    top = cells.get("Top categories")
    if not isinstance(top, str):
        counts: Counter[str] = Counter()
        for title, value in cells.items():
            named = title.startswith(_NEW_BY_CATEGORY) and title != _OTHER_CATEGORIES
            if named and isinstance(value, int) and value:
                counts[title.removeprefix(_NEW_BY_CATEGORY)] = value
        top = top_categories(counts, categories)
    return Figures(
        new=cells.get("New"),
        solved=cells.get("Solved"),
        backlog=cells.get("Backlog"),
        first_response_attainment=cells.get("First response attainment"),
        resolution_attainment=cells.get("Resolution attainment"),
        breaches=cells.get("Breaches"),
        top_categories=top,
        csat=cells.get(CSAT_GOOD if good else CSAT_AVERAGE),
        csat_good=good,
        csat_responses=cells.get("CSAT responses"),
    )


def compose(kind: str, period: date, found: Figures, timezone: str, link: str) -> Digest:
    """The message of a digest: a subject line and a short text of the figures, with the
    link to its tab."""
    tab = TITLES[kind]
    if kind == WEEKLY:
        heading = f"{tab}: week ending {_day(period)} ({timezone}), so far"
    else:
        heading = f"{tab} for {_day(period)} ({timezone})"
    subject = f"{heading}: {_count(found.new)} new, {_count(found.solved)} solved"
    lines = [
        heading,
        f"New: {_count(found.new)}  Solved: {_count(found.solved)}  "
        f"Backlog: {_count(found.backlog)}",
        f"SLA attainment: first response {_share(found.first_response_attainment)}, "
        f"resolution {_share(found.resolution_attainment)}",
        f"Breaches: {_count(found.breaches)}",
        f"Top categories: {found.top_categories or 'none'}",
        f"CSAT: {_csat(found)}",
    ]
    if link:
        lines.append(f"{tab} tab: {link}")
    return Digest(kind, period, subject, "\n".join(lines))


def _day(day: date) -> str:
    return f"{day.strftime('%a')} {day.isoformat()}"


def _count(value: Cell) -> str:
    return "0" if value is None or value == "" else str(value)


def _share(value: Cell) -> str:
    if not isinstance(value, int | float):
        return "n/a (none settled)"
    return f"{value * 100:.0f}%"


def _csat(found: Figures) -> str:
    responses = _count(found.csat_responses)
    if not isinstance(found.csat, int | float):
        return "no ratings"
    if found.csat_good:
        return f"{found.csat * 100:.0f}% good ({responses} ratings)"
    return f"{found.csat:.2f} average of 5 ({responses} ratings)"
