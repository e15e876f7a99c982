"""The report tabs (syncd.reports): figures worked out by hand for 15 tickets, cell by cell.

The tickets span January to March 2026 in Europe/Berlin (UTC+1 all along: summer time starts
on 29 March). "Now" is Wednesday 4 March 2026, 12:00 UTC. Every time below is UTC; the comment
gives the Berlin day when it differs or matters.

    ticket  created (Berlin day)  category/priority  status     first reply  solved (Berlin)
    T1      02-28 09:00 (02-28)   Billing/High       solved     +1 h met     02-28 20:00
    T2      02-28 23:30 (03-01!)  Technical/High     open       +4 h late    -
    T3      03-02 08:00           Billing/Low        pending    +1 h met     - (resolution paused)
    T4      03-03 10:00           Feature/Medium     open       -            - (targets running)
    T5      03-02 12:00           Billing/High       merged: left out of every figure
    T6      02-20 10:00           Technical/Low      reopened   +2 h met     - (was solved 02-21)
    T7      01-15 10:00           Billing/High       solved     +1 h met     01-16 10:00
    T8      02-10 10:00           Technical/Low      closed     +8 h late    03-02 15:00, late
    T9      03-04 08:00           Billing/Low        open       +1.5 h met   -
    T10     01-31 23:30 (02-01!)  Technical/High     solved     +1 h met     02-02 10:00
    T11     02-24 10:00           Billing/High       closed     unknown      02-26 10:00, late
    T12     03-01 10:00           Technical/Low      solved     none         03-01 12:00
    T13     02-05 10:00           Billing/High       solved     +3 h late    02-06 10:00
    T14     02-16 09:00           Billing/Low        solved     +0.5 h met   02-19 09:00
    T15     02-22 10:00           Technical/High     open       +1 h met     - (resolution late)

Targets settle (see the module docstring of syncd.reports) on these Berlin days:

    first response: met T1 02-28, T3 03-02, T6 02-20, T7 01-15, T9 03-04, T10 02-01, T14 02-16,
                    T15 02-22; breached T2 03-01 (due 01:30 UTC), T8 02-10, T13 02-05;
                    not settled: T4 (due 03-05), T11 (replies unknown), T12 (solved 12:00
                    before its due 18:00, unanswered)
    resolution:     met T1 02-28, T7 01-16, T10 02-02, T12 03-01, T13 02-06, T14 02-19;
                    breached T2 03-03 (due 03-02 23:30 UTC = 00:30 Berlin), T6 02-25,
                    T8 02-15, T11 02-25, T15 02-23; not settled: T3 (paused), T4, T9 (running)
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syncd.backfill import run_backfill
from syncd.config import load_config
from syncd.errors import ConfigError
from syncd.facts import Escalation, Target, TicketFacts, project
from syncd.model import Action, Decision, Person, Reason, SlaStatus, SlaTarget, Status, Ticket
from syncd.ports import Report, SinkRecord, SinkResult
from syncd.reports import ReportSettings, build_reports, report_since, settled
from syncd.sandbox import SPREADSHEET_ID, Sandbox
from syncd.sheet_columns import EPOCH
from syncd.state import open_store
from tests.conftest import Syncd
from tests.sheets_support import sheets_sink

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
CATEGORIES = ("Billing", "Technical")
PRIORITIES = ("High", "Low")
BERLIN = ReportSettings(
    timezone="Europe/Berlin",
    days=5,
    weeks=2,
    months=2,
    categories=CATEGORIES,
    priorities=PRIORITIES,
    recent_breaches=timedelta(days=7),  # the history window (sheets.history_days)
)


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def fact(
    key: str,
    created: datetime,
    category: str,
    priority: str,
    status: str = "open",
    replied: datetime | None = None,
    solved: datetime | None = None,
    first_response: Target | None = None,
    resolution: Target | None = None,
    csat: float | None = None,
    escalations: tuple[Escalation, ...] = (),
) -> TicketFacts:
    return TicketFacts(
        key=key,
        subject=f"Ticket {key}",
        requester=f"Customer {key}",
        category=category,
        priority=priority,
        status=status,
        created_at=created,
        first_response_at=replied,
        solved_at=solved,
        csat=csat,
        url=f"https://acme.zendesk.com/agent/tickets/{key}",
        seen_at=NOW,
        sla_policy="Standard",
        first_response=first_response,
        resolution=resolution,
        escalation_level=max((e.level for e in escalations), default=0),
        escalation_name=escalations[-1].name if escalations else "",
        escalations=escalations,
    )


def escalation(level: int, name: str, reached: datetime, *notified: str) -> Escalation:
    return Escalation(
        level, name, "Standard", "escalation.yaml:20", "resolution breached", notified, reached
    )


def met(due: datetime, when: datetime) -> Target:
    """A target met at `when`, late when after `due` (as the rules engine reports it)."""
    return Target(due, when, when > due)


def running(due: datetime | None) -> Target:
    return Target(due)


FACTS = [
    fact("1", at(2, 28, 9), "Billing", "High", "solved", at(2, 28, 10), at(2, 28, 20),
         met(at(2, 28, 11), at(2, 28, 10)), met(at(3, 1, 9), at(2, 28, 20)), csat=5),
    fact("2", at(2, 28, 23, 30), "Technical", "High", "open", at(3, 1, 3, 30), None,
         met(at(3, 1, 1, 30), at(3, 1, 3, 30)), running(at(3, 2, 23, 30)),
         escalations=(escalation(2, "Team lead", at(3, 1, 5), "slack:#esc", "email:requester"),)),
    fact("3", at(3, 2, 8), "Billing", "Low", "pending", at(3, 2, 9), None,
         met(at(3, 2, 16), at(3, 2, 9)), running(None)),
    fact("4", at(3, 3, 10), "Feature request", "Medium", "open", None, None,
         running(at(3, 5, 10)), running(at(3, 8, 10))),
    fact("5", at(3, 2, 12), "Billing", "High", "merged", None, None,
         running(at(3, 2, 13)), running(at(3, 3, 12)),
         escalations=(escalation(2, "Team lead", at(3, 2, 14), "slack:#esc"),)),
    fact("6", at(2, 20, 10), "Technical", "Low", "open", at(2, 20, 12), None,
         met(at(2, 20, 18), at(2, 20, 12)), running(at(2, 25, 10)),
         escalations=(escalation(2, "Team lead", at(2, 25, 10, 5), "slack:#esc"),)),
    fact("7", at(1, 15, 10), "Billing", "High", "solved", at(1, 15, 11), at(1, 16, 10),
         met(at(1, 15, 12), at(1, 15, 11)), met(at(1, 17, 10), at(1, 16, 10)), csat=3),
    fact("8", at(2, 10, 10), "Technical", "Low", "closed", at(2, 10, 18), at(3, 2, 15),
         met(at(2, 10, 14), at(2, 10, 18)), met(at(2, 15, 10), at(3, 2, 15)), csat=2),
    fact("9", at(3, 4, 8), "Billing", "Low", "open", at(3, 4, 9, 30), None,
         met(at(3, 4, 16), at(3, 4, 9, 30)), running(at(3, 6, 8))),
    fact("10", at(1, 31, 23, 30), "Technical", "High", "solved", at(2, 1, 0, 30), at(2, 2, 10),
         met(at(2, 1, 1, 30), at(2, 1, 0, 30)), met(at(2, 3, 10), at(2, 2, 10)), csat=4),
    fact("11", at(2, 24, 10), "Billing", "High", "closed", None, at(2, 26, 10),
         None, met(at(2, 25, 10), at(2, 26, 10))),
    fact("12", at(3, 1, 10), "Technical", "Low", "solved", None, at(3, 1, 12),
         running(at(3, 1, 18)), met(at(3, 3, 10), at(3, 1, 12)), csat=5),
    fact("13", at(2, 5, 10), "Billing", "High", "solved", at(2, 5, 13), at(2, 6, 10),
         met(at(2, 5, 11), at(2, 5, 13)), met(at(2, 7, 10), at(2, 6, 10)), csat=4),
    fact("14", at(2, 16, 9), "Billing", "Low", "solved", at(2, 16, 9, 30), at(2, 19, 9),
         met(at(2, 16, 17), at(2, 16, 9, 30)), met(at(2, 21, 9), at(2, 19, 9)), csat=5),
    fact("15", at(2, 22, 10), "Technical", "High", "open", at(2, 22, 11), None,
         met(at(2, 22, 12), at(2, 22, 11)), running(at(2, 23, 10)),
         escalations=(
             escalation(1, "Support agent", at(2, 23, 10, 5), "slack:#support"),
             escalation(2, "Team lead", at(2, 28, 0, 30), "slack:#esc", "email:requester"),
         )),
]  # fmt: skip


def reports(settings: ReportSettings = BERLIN, facts: list[TicketFacts] = FACTS) -> dict:
    return {r.name: r for r in build_reports(facts, NOW, settings)}


def as_dicts(report: Report) -> list[dict[str, Any]]:
    return [dict(zip(report.columns, row, strict=True)) for row in report.rows]


# -- daily ------------------------------------------------------------------------------------


DAILY_COLUMNS = (
    "Date", "New", "Solved", "Backlog", "First response attainment", "Resolution attainment",
    "Median first response (h)", "Breaches", "CSAT average", "CSAT responses",
    "New: Billing", "New: Technical", "New: other categories",
    "New: High priority", "New: Low priority", "New: other priorities",
    "Breaches: High priority", "Breaches: Low priority", "Breaches: other priorities",
)  # fmt: skip


DAILY_ROWS = [
    # 02-28: new T1; solved T1 (CSAT 5); backlog 3 + 1 - 1 = 3; FR T1 met 1/1;
    # resolution T1 met 1/1; first reply T1 1 h.
    [date(2026, 2, 28), 1, 1, 3, 1.0, 1.0, 1.0, 0, 5.0, 1,
     1, 0, 0, 1, 0, 0, 0, 0, 0],
    # 03-01: new T2 (created 23:30 UTC on 02-28) and T12; solved T12 (CSAT 5); backlog
    # 3 + 2 - 1 = 4; FR T2 breached 0/1; resolution T12 met 1/1; first reply T2 4 h;
    # breaches 1 (T2, High).
    [date(2026, 3, 1), 2, 1, 4, 0.0, 1.0, 4.0, 1, 5.0, 1,
     0, 2, 0, 1, 1, 0, 1, 0, 0],
    # 03-02: new T3 (T5 is merged: not counted); solved T8 (CSAT 2); backlog 4 + 1 - 1 = 4;
    # FR T3 met 1/1; no resolution settled; first reply T3 1 h.
    [date(2026, 3, 2), 1, 1, 4, 1.0, None, 1.0, 0, 2.0, 1,
     1, 0, 0, 0, 1, 0, 0, 0, 0],
    # 03-03: new T4 (Feature request, Medium: "other"); backlog 5; resolution T2 breached
    # (due 00:30 Berlin) 0/1; breaches 1 (T2, High); no reply, no CSAT.
    [date(2026, 3, 3), 1, 0, 5, None, 0.0, None, 1, None, 0,
     0, 0, 1, 0, 0, 1, 1, 0, 0],
    # 03-04 (today, so far): new T9; backlog 6; FR T9 met 1/1; first reply 1.5 h.
    [date(2026, 3, 4), 1, 0, 6, 1.0, None, 1.5, 0, None, 0,
     1, 0, 0, 0, 1, 0, 0, 0, 0],
]  # fmt: skip


def test_daily_summary_cell_by_cell():
    daily = reports()["daily"]
    assert daily.title == "Daily summary"
    assert daily.columns == DAILY_COLUMNS
    # Backlog at the end of 02-27: created before 02-28 (T6 T7 T8 T10 T11 T13 T14 T15 = 8)
    # minus solved before 02-28 (T7 T10 T11 T13 T14 = 5) = 3 (T6, T8, T15).
    assert daily.rows == DAILY_ROWS
    assert daily.formats["First response attainment"] == "percent"
    assert daily.formats["Median first response (h)"] == "hours"
    assert daily.formats["Date"] == "date"


def test_a_day_is_the_timezones_day():
    # In UTC, T2 (23:30 UTC) is created on 02-28 with T1, and 03-01 has only T12.
    utc = ReportSettings(days=5, weeks=2, months=2, categories=CATEGORIES, priorities=PRIORITIES)
    new = [(row[0], row[1]) for row in reports(utc)["daily"].rows]
    assert new == [
        (date(2026, 2, 28), 2),
        (date(2026, 3, 1), 1),
        (date(2026, 3, 2), 1),
        (date(2026, 3, 3), 1),
        (date(2026, 3, 4), 1),
    ]


def test_days_follow_summer_time():
    # Berlin moves to UTC+2 on 29 March 2026: 22:30 UTC is 23:30 on the 28th, 00:30 on the 30th.
    late = [fact(str(n), at(3, day, 22, 30), "Billing", "High") for n, day in ((1, 28), (2, 29))]
    after = ReportSettings(**{**_fields(BERLIN), "days": 3})
    daily = {r.name: r for r in build_reports(late, at(3, 30, 12), after)}["daily"]
    assert [(row[0], row[1]) for row in daily.rows] == [
        (date(2026, 3, 28), 1),
        (date(2026, 3, 29), 0),
        (date(2026, 3, 30), 1),
    ]


# -- weekly -----------------------------------------------------------------------------------


WEEKLY_COLUMNS = (
    "Week ending", "New", "Solved", "Backlog", "First response attainment",
    "Resolution attainment", "Median first response (h)", "Breaches", "CSAT average",
    "CSAT responses", "Top categories", "Volume change",
    "First response attainment change (pts)", "Resolution attainment change (pts)",
)  # fmt: skip


WEEKLY_ROWS = [
    # 02-21..02-27: new T11 T15 = 2; solved T11 (no CSAT); backlog 3 (as on 02-27 above);
    # FR T15 met 1/1 (T11 has none); resolution breached T6, T11 (02-25), T15 (02-23) 0/3;
    # first reply T15 1 h; breaches 3; Billing 1, Technical 1 (a tie: rule order).
    # Changes: (2 - 2) / 2 = 0; FR 1.0 - 1.0 = 0 pts; resolution 0.0 - 0.5 = -50 pts.
    [date(2026, 2, 27), 2, 1, 3, 1.0, 0.0, 1.0, 3, None, 0,
     "Billing 1, Technical 1", 0.0, 0.0, -50.0],
    # 02-28..03-06: new T1 T2 T12 T3 T4 T9 = 6; solved T1 T12 T8 = 3 (CSAT 5, 5, 2: 4.0);
    # backlog 3 + 6 - 3 = 6; FR met T1 T3 T9, breached T2 = 3/4 = 0.75; resolution met
    # T1 T12, breached T2 = 2/3 = 0.6667; first replies 1, 4, 1, 1.5 h: median 1.25;
    # breaches 2 (T2 twice); Billing 3 (T1 T3 T9), Technical 2, other 1 (T4).
    # Changes: (6 - 2) / 2 = 2.0; FR 0.75 - 1.0 = -25 pts; resolution 0.6667 - 0 = 66.67.
    [date(2026, 3, 6), 6, 3, 6, 0.75, 0.6667, 1.25, 2, 4.0, 3,
     "Billing 3, Technical 2, other 1", 2.0, -25.0, 66.67],
]  # fmt: skip


def test_weekly_report_weeks_ending_friday():
    weekly = reports()["weekly"]
    assert weekly.title == "Weekly report"
    assert weekly.columns == WEEKLY_COLUMNS
    # The week before the first shown (02-14..02-20), for the changes: new T6 T14 = 2;
    # FR met T6 T14 = 2/2 = 1.0; resolution T14 met, T8 breached (02-15) = 1/2 = 0.5.
    assert weekly.rows == WEEKLY_ROWS


def test_weekly_report_weeks_ending_sunday():
    sunday = ReportSettings(**{**_fields(BERLIN), "week_ends": "sunday"})
    weekly = reports(sunday)["weekly"]
    # Before: 02-16..02-22: new T14 T6 T15 = 3; FR met T14 T6 T15 = 1.0; resolution T14 met
    # (02-19) = 1.0 (T8's breach, 02-15, is the week before).
    assert weekly.rows == [
        # 02-23..03-01: new T11 T1 T2 T12 = 4; solved T11 T1 T12 = 3 (CSAT 5, 5: 5.0, 2);
        # backlog 4 (as on 03-01); FR met T1, breached T2 = 1/2 = 0.5; resolution breached T15
        # (02-23) T6 T11 (02-25), met T1 T12 = 2/5 = 0.4; first replies T1 1 h, T2 4 h:
        # median 2.5; breaches 4; Billing 2 (T11 T1), Technical 2 (T2 T12).
        # Changes: (4 - 3) / 3 = 0.3333; FR 0.5 - 1.0 = -50 pts; resolution 0.4 - 1.0 = -60.
        [date(2026, 3, 1), 4, 3, 4, 0.5, 0.4, 2.5, 4, 5.0, 2,
         "Billing 2, Technical 2", 0.3333, -50.0, -60.0],
        # 03-02..03-08: new T3 T4 T9 = 3; solved T8 = 1 (CSAT 2); backlog 4 + 3 - 1 = 6;
        # FR met T3 T9 = 1.0; resolution breached T2 (03-03) = 0.0; replies 1, 1.5 h: 1.25;
        # breaches 1; Billing 2, other 1.
        # Changes: (3 - 4) / 4 = -0.25; FR 1.0 - 0.5 = +50 pts; resolution 0.0 - 0.4 = -40.
        [date(2026, 3, 8), 3, 1, 6, 1.0, 0.0, 1.25, 1, 2.0, 1,
         "Billing 2, other 1", -0.25, 50.0, -40.0],
    ]  # fmt: skip


def _fields(settings: ReportSettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.__dataclass_fields__}


# -- monthly ----------------------------------------------------------------------------------


MONTHLY_ROWS = [
    # February: new T10 T13 T8 T14 T6 T15 T11 T1 = 8; solved T10 T13 T14 T11 T1 = 5
    # (CSAT 4, 4, 5, 5: 4.5, 4); backlog 3 (as on 02-28); FR met T10 T14 T6 T15 T1,
    # breached T13 T8 = 5/7 = 0.7143; resolution met T10 T13 T14 T1, breached T8 T15 T6
    # T11 = 4/8 = 0.5; first replies 1, 3, 8, 0.5, 2, 1, 1 h: median 1; breaches 2 + 4 = 6;
    # Billing 4 (T13 T14 T11 T1), Technical 4 (T10 T8 T6 T15).
    # Changes: (8 - 1) / 1 = 7.0; FR 0.7143 - 1.0 = -28.57 pts; resolution -50 pts.
    ["2026-02", 8, 5, 3, 0.7143, 0.5, 1.0, 6, 4.5, 4,
     "Billing 4, Technical 4", 7.0, -28.57, -50.0, 4, 4, 0],
    # March so far: new T2 T12 T3 T4 T9 = 5; solved T12 T8 = 2 (CSAT 5, 2: 3.5); backlog
    # 3 + 5 - 2 = 6; FR breached T2, met T3 T9 = 2/3 = 0.6667; resolution met T12,
    # breached T2 = 1/2 = 0.5; replies 4, 1, 1.5 h: median 1.5; breaches 2.
    # Changes: (5 - 8) / 8 = -0.375; FR 0.6667 - 0.7143 = -4.76 pts; resolution 0.
    ["2026-03", 5, 2, 6, 0.6667, 0.5, 1.5, 2, 3.5, 2,
     "Billing 2, Technical 2, other 1", -0.375, -4.76, 0.0, 2, 2, 1],
]  # fmt: skip


def test_monthly_trends_cell_by_cell_with_charts():
    monthly = reports()["monthly"]
    assert monthly.title == "Monthly trends"
    assert monthly.columns == (
        *("Month", *WEEKLY_COLUMNS[1:]),
        "New: Billing",
        "New: Technical",
        "New: other categories",
    )
    # January (for the changes): new T7 = 1 (T10 is created 00:30 on 02-01 in Berlin);
    # FR T7 met 1.0; resolution T7 met 1.0.
    assert monthly.rows == MONTHLY_ROWS
    volume, attainment = monthly.charts
    assert (volume.kind, volume.domain) == ("column", "Month")
    assert volume.series == ("New: Billing", "New: Technical", "New: other categories")
    assert (attainment.kind, attainment.domain) == ("line", "Month")
    assert attainment.series == ("First response attainment", "Resolution attainment")
    assert set(attainment.series) <= set(monthly.columns)


# -- breaches and escalations -----------------------------------------------------------------


def test_breaches_open_and_recent_newest_first_with_how_late():
    breaches = as_dicts(reports()["breaches"])
    # Recent: ended within 7 days of now, i.e. at or after 02-25 12:00 UTC. Not listed: T8's
    # and T13's first responses (answered on 02-10 and 02-05) and anything of T5 (merged):
    # the first line says the two older ones are left out.
    note, *breaches = breaches
    assert note["Ticket"].startswith("2 older breaches not shown: this tab keeps open ones and ")
    assert [
        (b["Ticket"], b["Target"], b["Due"], b["Ended"], b["Hours late"], b["State"])
        for b in breaches
    ] == [
        # due 03-02 23:30, open at 03-04 12:00: 36.5 hours
        ("2", "Resolution", at(3, 2, 23, 30), None, 36.5, "open"),
        # due 01:30, answered 03:30
        ("2", "First response", at(3, 1, 1, 30), at(3, 1, 3, 30), 2.0, "met late"),
        # due 02-25 10:00 (the same moment: ticket 6 before 11), open: 7 days 2 hours
        ("6", "Resolution", at(2, 25, 10), None, 170.0, "open"),
        # met 02-26 10:00: 24 hours late
        ("11", "Resolution", at(2, 25, 10), at(2, 26, 10), 24.0, "met late"),
        # due 02-23 10:00, still open at 03-04 12:00: 9 days 2 hours
        ("15", "Resolution", at(2, 23, 10), None, 218.0, "open"),
        # due 02-15 10:00, solved 03-02 15:00: 15 days 5 hours late
        ("8", "Resolution", at(2, 15, 10), at(3, 2, 15), 365.0, "met late"),
    ]
    first = breaches[4]
    assert (first["Subject"], first["Priority"], first["Escalation"]) == (
        "Ticket 15",
        "High",
        "Team lead",
    )
    assert first["Link"] == "https://acme.zendesk.com/agent/tickets/15"


def test_escalations_of_open_tickets_and_recent_ones_newest_first():
    rows = as_dicts(reports()["escalations"])
    # Every level of a ticket still open (T6's of 02-25 and T15's level 1 of 02-23 too, older
    # than the 7 days of history); T5's is a merged ticket's. Nothing older is left out, so
    # there is no first line counting it.
    assert [
        (r["Escalated at"], r["Ticket"], r["Level"], r["Level name"], r["Notified"]) for r in rows
    ] == [
        (at(3, 1, 5), "2", 2, "Team lead", "slack:#esc, email:requester"),
        (at(2, 28, 0, 30), "15", 2, "Team lead", "slack:#esc, email:requester"),
        (at(2, 25, 10, 5), "6", 2, "Team lead", "slack:#esc"),
        (at(2, 23, 10, 5), "15", 1, "Support agent", "slack:#support"),
    ]
    assert rows[0]["Reason"] == "resolution breached"
    assert rows[0]["Rule"] == "Standard (escalation.yaml:20)", "the ladder and its file"


def test_notified_is_looked_up_once_for_the_escalation_rows_shown():
    asked: list[list[str]] = []
    recorded = {
        "2": {
            "escalation:Standard:2:0": ("slack:#esc", "posted to Slack #esc"),
            "escalation:Standard:2:1": ("email:requester", "baseline: first sync"),
        },
        "15": {"escalation:Standard:1:0": ("slack:#support", "skipped: quiet hours")},
    }

    def outcomes(keys: list[str]) -> dict[str, dict[str, tuple[str, str]]]:
        asked.append(keys)
        return {key: recorded[key] for key in keys if key in recorded}

    # Two rows at most: T2's and T15's level 2 are shown, T6's and T15's level 1 left out.
    small = replace(BERLIN, tab_rows=2)
    built = {r.name: r for r in build_reports(FACTS, NOW, small, outcomes)}
    note, *rows = built["escalations"].rows
    assert str(note[0]).startswith("2 older escalations not shown")
    assert asked == [["15", "2"]], "once, for the tickets of the rows shown"
    notified = [(row[1], row[built["escalations"].columns.index("Notified")]) for row in rows]
    assert notified == [
        ("2", "slack:#esc; email:requester (not sent: recorded only (first sync or backfill))"),
        ("15", "slack:#esc (not sent yet), email:requester (not sent yet)"),
    ]
    full = {r.name: r for r in build_reports(FACTS, NOW, BERLIN, outcomes)}["escalations"]
    support = [row for row in full.rows if row[1] == "15" and row[6] == 1]
    assert support[0][full.columns.index("Notified")] == (
        "slack:#support (not sent: skipped, quiet hours)"
    )


def test_report_since_covers_every_period_shown_and_the_one_before():
    # Months: January 2026 (the lead-in) starts at 00:00 Berlin = 2025-12-31 23:00 UTC.
    assert report_since(NOW, BERLIN) == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    short = ReportSettings(days=3, weeks=1, months=1, recent_breaches=timedelta(days=40))
    assert report_since(NOW, short) == NOW - timedelta(days=40)


def test_a_solved_ticket_judges_its_targets_when_solved():
    due = at(3, 1, 18)
    assert settled(Target(due), judged_at=at(3, 1, 12)) is None  # solved before it was due
    assert settled(Target(due), judged_at=at(3, 1, 19)) == (due, False)  # solved after
    assert settled(Target(None, at(3, 1, 9)), judged_at=NOW) == (at(3, 1, 9), True)  # paused
    assert settled(None, judged_at=NOW) is None


def test_gone_tickets_change_nothing():
    without = [f for f in FACTS if f.key != "5"]
    assert reports(facts=without) == reports()


# -- facts: projected from a decision, kept as JSON ------------------------------------------


def _decision(sla: SlaStatus | None, levels: list[tuple[int, str]]) -> Decision:
    reasons = tuple(
        Reason("escalation", f"{n} {name}", "Standard", f"e.yaml:{n}") for n, name in levels
    )
    actions = tuple(
        Action(f"escalation:Standard:{n}:{i}", kind, "", target)
        for n, _ in levels
        for i, (kind, target) in enumerate([("notify", f"slack:#l{n}"), ("tag", "")])
    )
    top = levels[-1] if levels else (0, "")
    return Decision("Billing", "High", (), reasons, sla, top[0], top[1], actions)


def test_facts_keep_when_each_escalation_level_was_first_reached():
    ticket = Ticket(
        id="42", source="zendesk", subject="Refund", description="", status=Status.OPEN,
        created_at=at(3, 1, 9), updated_at=at(3, 1, 9),
        requester=Person("7", "Ada Lovelace", "ada@example.com"),
    )  # fmt: skip
    sla = SlaStatus(
        "Standard",
        "business",
        SlaTarget(at(3, 1, 10), breached=True, used=1.2),
        SlaTarget(at(3, 2, 9), at_risk=True, used=0.8),
    )
    first = project(ticket, _decision(sla, [(1, "Support agent")]), at(3, 1, 11))
    later = project(ticket, _decision(sla, [(1, "Support agent"), (2, "Team lead")]), NOW, first)
    assert [(e.level, e.reached_at, e.notified) for e in later.escalations] == [
        (1, at(3, 1, 11), ("slack:#l1",)),
        (2, NOW, ("slack:#l2",)),
    ]
    assert later.escalations[1].reason == "first response breached; resolution at risk"
    # A level whose condition no longer holds was still reached: it stays in the log.
    again = project(ticket, _decision(None, []), NOW, later)
    assert [e.level for e in again.escalations] == [1, 2]
    assert later.requester == "Ada Lovelace" and later.first_response is not None
    assert TicketFacts.from_json(later.to_json()) == later


def test_a_target_the_policy_does_not_set_is_not_counted():
    ticket = Ticket(
        id="1", source="zendesk", subject="s", description="", status=Status.SOLVED,
        created_at=at(3, 1, 9), updated_at=at(3, 1, 12), solved_at=at(3, 1, 12),
        first_response_at=at(3, 1, 10),
    )  # fmt: skip
    no_target = SlaTarget(None, at(3, 1, 10))  # the engine's "no target for this priority"
    paused = SlaTarget(None, at(3, 1, 12), used=0.3)  # met; its due moment lies in a pause
    facts = project(ticket, _decision(SlaStatus("P", "24/7", no_target, paused), []), NOW)
    assert facts.first_response is None
    assert facts.resolution == Target(None, at(3, 1, 12), False)
    assert facts.solved_at == at(3, 1, 12) and facts.closed_at == at(3, 1, 12)


def test_the_store_keeps_facts_of_open_tickets_and_those_closed_since(tmp_path: Path):
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    store.save_facts(FACTS)
    # Closed before 02-20: T7 (January), T10 (02-03, its resolution due), T13 (02-07).
    kept = {f.key for f in store.report_facts(at(2, 20))}
    assert kept == {f.key for f in FACTS} - {"7", "10", "13"}
    assert {f.key: f for f in store.report_facts(at(1, 1))} == {f.key: f for f in FACTS}
    assert store.facts(["15", "99"]) == {"15": FACTS[-1]}


def test_the_stored_facts_read_back_in_several_fetches_on_each_backend(state_url: str):
    # More facts than one fetch holds (the store reads 500 rows at a time), in a pipeline's
    # own schema on PostgreSQL.
    store = open_store(state_url, "zendesk-acme")
    many = [replace(FACTS[n % len(FACTS)], key=str(1000 + n)) for n in range(1_200)]
    store.save_facts(many)
    stream = store.report_facts(at(1, 1))
    assert iter(stream) is stream, "yielded as they are read, not a list"
    read = {f.key: f for f in stream}
    assert read == {f.key: f for f in many}
    assert len(list(store.report_facts(at(2, 20)))) == 1_200 - 3 * 80  # T7, T10, T13 closed
    store.engine.dispose()


# -- the pipeline: reports from stored facts, across cycles -----------------------------------


class RecordingReportSink:
    """A sink that shows reports: keeps what it was given, as a sheet would keep its tabs."""

    name = "reports"

    def __init__(self) -> None:
        self.tabs: dict[str, Report] = {}
        self.writes: list[list[str]] = []
        self._latest: dict[str, Report] = {}

    def render(self, ticket: Ticket, decision: Decision) -> SinkRecord:
        return SinkRecord(ticket.id, {"status": ticket.status.value})

    def render_reports(self, reports: list[Report]) -> list[SinkRecord]:
        self._latest = {f"report:{r.name}": r for r in reports}
        return [
            SinkRecord(key, {"rows": r.rows, "columns": r.columns})
            for key, r in self._latest.items()
        ]

    def write(self, records: list[SinkRecord]) -> SinkResult:
        self.writes.append([r.key for r in records])
        for record in records:
            if record.key in self._latest:
                self.tabs[record.key] = self._latest[record.key]
        return SinkResult(accepted=[r.key for r in records])

    def describe(self, records: list[SinkRecord]) -> str:
        return f"keep {len(records)} record(s)"


def _column(report: Report, title: str) -> dict[Any, Any]:
    """{first cell of the row: the row's cell in column `title`}."""
    index = report.columns.index(title)
    return {row[0]: row[index] for row in report.rows}


def _earlier_that_day(moment: datetime) -> datetime:
    """A moment before `moment` on the same (UTC) day, whatever the time of day."""
    midnight = moment.replace(hour=0, minute=0, second=0)
    return midnight + (moment - midnight) / 2


def test_reports_count_the_stored_facts_of_earlier_cycles(sandbox: Sandbox, syncd: Syncd):
    sink = RecordingReportSink()
    syncd.parts.sinks, syncd.parts.notifiers = [sink], []  # only the reports, no actions
    today = datetime.now(UTC).replace(microsecond=0)
    yesterday = today - timedelta(days=1)
    created = _earlier_that_day(yesterday)
    for subject in ("Refund for my invoice", "The app crashes with an error"):
        sandbox.zendesk.add_ticket(subject=subject, created_at=created, updated_at=created)

    first = syncd.once(at=yesterday)
    assert (first.sinks["reports"].written, first.sinks["reports"].reports) == (2, 6)
    daily = sink.tabs["report:daily"]
    new_yesterday = {
        title: _column(daily, title)[yesterday.date()]
        for title in ("New", "New: Billing", "New: Technical")
    }
    assert new_yesterday == {"New": 2, "New: Billing": 1, "New: Technical": 1}

    created = _earlier_that_day(today)
    sandbox.zendesk.add_ticket(
        subject="Please add a dark mode, it would be great", created_at=created, updated_at=created
    )
    second = syncd.once(at=today)
    assert second.pulled == 1  # the two earlier tickets come from the stored facts
    daily = sink.tabs["report:daily"]
    assert _column(daily, "New")[yesterday.date()] == 2
    assert _column(daily, "New")[today.date()] == 1
    assert _column(daily, "New: Feature request")[today.date()] == 1
    assert _column(daily, "Backlog")[today.date()] == 3
    for name in ("weekly", "monthly"):
        assert sum(_column(sink.tabs[f"report:{name}"], "New").values()) == 3, name
    writes = len(sink.writes)

    idle = syncd.once(at=today)  # nothing changed on the same day: no report is built
    assert (idle.pulled, idle.timers) == (0, 0) and len(sink.writes) == writes

    tomorrow = syncd.once(at=today + timedelta(days=1))  # a new day: a new row
    assert tomorrow.sinks["reports"].reports >= 1
    assert _column(sink.tabs["report:daily"], "Backlog")[(today + timedelta(days=1)).date()] == 3


def test_dry_run_says_which_report_tabs_would_be_written(sandbox: Sandbox, syncd: Syncd):
    syncd.parts.sinks, syncd.parts.notifiers = [RecordingReportSink()], []
    sandbox.zendesk.add_ticket(subject="Refund for my invoice")
    plan = syncd.once(dry_run=True).sinks["reports"].plan
    assert plan == (
        "keep 1 record(s); write the report tab(s) 'SLA breaches' (0 rows), "
        "'Escalations' (0 rows), 'Daily summary' (92 rows), 'Weekly report' (26 rows), "
        "'Monthly trends' (24 rows), 'Agents' (1 rows)"
    )
    assert list(syncd.parts.store.report_facts(datetime(2000, 1, 1, tzinfo=UTC))) == []


def test_the_sheet_shows_the_report_tabs(sandbox: Sandbox, syncd: Syncd):
    now = datetime.now(UTC).replace(microsecond=0)
    yesterday = _earlier_that_day(now) - timedelta(days=1)
    for subject in ("Refund for my invoice", "The app crashes with an error"):
        sandbox.zendesk.add_ticket(subject=subject, created_at=yesterday, updated_at=yesterday)
    today = _earlier_that_day(now)
    sandbox.zendesk.add_ticket(subject="Refund please", created_at=today, updated_at=today)
    cycle = syncd.once(at=now)
    assert (cycle.sinks["sheets"].written, cycle.sinks["sheets"].reports) == (3, 6)

    daily = sandbox.sheets.values(SPREADSHEET_ID, "Daily summary")
    header, rows = daily[0], {row[0]: dict(zip(daily[0], row, strict=False)) for row in daily[1:]}
    assert header[:4] == ["Date", "New", "Solved", "Backlog"]
    assert len(rows) == 92  # the last 92 days, today's last
    assert daily[-1][0] == now.date().isoformat()
    shown = {
        day.isoformat(): {t: rows[day.isoformat()][t] for t in ("New", "Backlog", "New: Billing")}
        for day in (yesterday.date(), now.date())
    }
    assert shown == {
        yesterday.date().isoformat(): {"New": "2", "Backlog": "2", "New: Billing": "1"},
        now.date().isoformat(): {"New": "1", "Backlog": "3", "New: Billing": "1"},
    }
    for title, periods in (("Weekly report", 26), ("Monthly trends", 24)):
        table = sandbox.sheets.values(SPREADSHEET_ID, title)
        assert len(table) == 1 + periods, title
        assert sum(int(row[1]) for row in table[1:]) == 3, title


def test_an_unknown_timezone_is_a_config_error_naming_the_key(config_path: Path):
    text = config_path.read_text()
    config_path.write_text(text.replace("sheets:\n", "sheets:\n  timezone: Mars/Olympus\n", 1))
    with pytest.raises(ConfigError) as caught:
        load_config(config_path)
    message = caught.value.render()
    assert "sheets.timezone" in message and "Europe/Berlin" in message
    assert f"{config_path}:" in message  # with the line


def test_a_backfill_keeps_every_tickets_facts_and_builds_the_tabs_once(
    sandbox: Sandbox, config_path: Path
):
    text = config_path.read_text()
    config_path.write_text(text.replace("helpdesk:\n", "helpdesk:\n  page_size: 10\n", 1))
    syncd = Syncd(config_path)
    sink = RecordingReportSink()
    syncd.parts.sinks, syncd.parts.notifiers = [sink], []
    tickets = sandbox.zendesk.generate(30, seed=4)
    progress = run_backfill(syncd.parts, datetime(2000, 1, 1, tzinfo=UTC), batch=10)
    assert progress.finished
    stored = syncd.parts.store.facts(str(t["id"]) for t in tickets)
    assert len(stored) == 30
    # Batches of 10 with more waiting keep the facts only; the last one builds the tabs.
    with_tabs = [keys for keys in sink.writes if any(k.startswith("report:") for k in keys)]
    assert len(sink.writes) >= 2 and with_tabs == sink.writes[-1:]
    live = sum(1 for f in stored.values() if not f.gone)
    assert sum(_column(sink.tabs["report:monthly"], "New").values()) == live


def test_the_sheet_holds_the_hand_worked_figures_cell_by_cell(sandbox: Sandbox, tmp_path: Path):
    """The same hand-worked daily, weekly and monthly rows, read back from the sandbox's sheet
    after the real sheet sink wrote them: every cell's underlying value (a day is a date
    serial in the sheet's zone; an empty figure an empty cell)."""
    sink = sheets_sink(sandbox, tmp_path, timezone="Europe/Berlin")
    built = reports()
    tabs = [built[name] for name in ("daily", "weekly", "monthly")]
    sink.write(sink.render_reports(tabs))

    def shown(tab: str, row: int, column: int) -> Any:
        value = sandbox.sheets.cell(SPREADSHEET_ID, tab, row, column).get("effectiveValue")
        if value is None:
            return None
        return next(iter(value.values()))

    def expected(value: Any) -> Any:
        if isinstance(value, date):
            return float((datetime(value.year, value.month, value.day) - EPOCH).days)
        return value

    for title, columns, rows in (
        ("Daily summary", DAILY_COLUMNS, DAILY_ROWS),
        ("Weekly report", WEEKLY_COLUMNS, WEEKLY_ROWS),
        ("Monthly trends", built["monthly"].columns, MONTHLY_ROWS),
    ):
        header = [shown(title, 0, c) for c in range(len(columns))]
        assert header == list(columns), title
        for r, row in enumerate(rows, start=1):
            cells = [shown(title, r, c) for c in range(len(columns))]
            assert cells == [expected(v) for v in row], (title, r)
        assert shown(title, len(rows) + 1, 0) is None, f"{title}: no row beyond the table"
