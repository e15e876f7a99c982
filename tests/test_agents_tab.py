"""The Agents tab (syncd.reports._AgentTallies): figures worked out by hand for 9 tickets, cell
by cell, in the report and read back from the sandbox's sheet.

"Now" is Wednesday 4 March 2026, 12:00 UTC; days are Europe/Berlin's (UTC+1 all along), weeks
end on Friday. Two weeks are shown: 02-21..02-27 ("week 1", from 02-20 23:00 UTC) and
02-28..03-06 ("week 2", from 02-27 23:00 UTC); the week before (02-14..02-20) is the lead-in
whose events are not shown but whose open tickets carry into the load. Times are UTC.

    ticket agent        created       first reply       resolution              solved  CSAT
    A1     Ivy Lee (a1) 02-16 10:00   02-16 11:00 met   due 02-20 10:00, late   02-23   4
           (seen earlier as "Ivy L.": the latest name is shown)
    A2     Ivy Lee      02-23 09:00   02-23 10:00 met   due 02-26 09:00, open   -       -
           escalated 02-26 09:05
    A3     Ivy Lee      03-02 08:00   03-02 08:30 met   due 03-06, running      -       -
    A4     Omar Diaz    02-24 12:00   02-24 15:00 met   met 02-25 12:00         02-25   5
    A5     Omar Diaz    02-27 22:30   02-28 01:30 late  due 03-05, running      -       -
           (created 23:30 Berlin on 02-27: week 1; its reply is 02:30 on 02-28: week 2;
           due 02-28 00:30 UTC, its breach settles in week 2)
    A6     Omar Diaz    03-03 10:00   03-03 11:00 met   met 03-03 14:00         03-03   1
    A7     unassigned   03-04 09:00   due 17:00, running                        -       -
    A8     a3 (no name) 02-26 10:00   02-26 12:00 met   paused (pending)        -       -
    A9     Ivy Lee      merged: left out of every figure
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from syncd.facts import Escalation, Target, TicketFacts, project
from syncd.model import Decision, Status, Ticket
from syncd.ports import Cell
from syncd.reports import LeadingChart, ReportSettings, build_reports
from syncd.sandbox import SPREADSHEET_ID, Sandbox
from syncd.sheet_columns import EPOCH
from tests.sheets_support import sheets_sink

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
SETTINGS = ReportSettings(timezone="Europe/Berlin", days=5, weeks=2, months=2)
COLUMNS = (
    "Week ending", "Agent", "Assigned", "Solved", "Open load", "Median first response (h)",
    "SLA attainment", "CSAT average", "CSAT responses", "Escalations",
)  # fmt: skip


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def met(due: datetime, when: datetime) -> Target:
    return Target(due, when, when > due)


def fact(
    key: str,
    agent: tuple[str, str],
    created: datetime,
    replied: datetime | None,
    first_response: Target | None,
    resolution: Target | None,
    solved: datetime | None = None,
    csat: float | None = None,
    status: str = "open",
    escalated: datetime | None = None,
    seen: datetime = NOW,
) -> TicketFacts:
    escalations = ()
    if escalated is not None:
        reached = Escalation(1, "Team lead", "Standard", "escalation.yaml:20", "", (), escalated)
        escalations = (reached,)
    return TicketFacts(
        key=key,
        subject=f"Ticket {key}",
        requester="Customer",
        category="Billing",
        priority="High",
        status="solved" if solved else status,
        created_at=created,
        first_response_at=replied,
        solved_at=solved,
        csat=csat,
        url="",
        seen_at=seen,
        first_response=first_response,
        resolution=resolution,
        escalations=escalations,
        assignee_id=agent[0],
        assignee_name=agent[1],
    )


IVY, OMAR, NAMELESS, NOBODY = ("a1", "Ivy Lee"), ("a2", "Omar Diaz"), ("a3", ""), ("", "")
FACTS = [
    fact("A1", ("a1", "Ivy L."), at(2, 16, 10), at(2, 16, 11), met(at(2, 16, 12), at(2, 16, 11)),
         met(at(2, 20, 10), at(2, 23, 10)), at(2, 23, 10), csat=4, seen=at(2, 23, 10)),
    fact("A2", IVY, at(2, 23, 9), at(2, 23, 10), met(at(2, 23, 11), at(2, 23, 10)),
         Target(at(2, 26, 9)), escalated=at(2, 26, 9, 5)),
    fact("A3", IVY, at(3, 2, 8), at(3, 2, 8, 30), met(at(3, 2, 10), at(3, 2, 8, 30)),
         Target(at(3, 6, 8))),
    fact("A4", OMAR, at(2, 24, 12), at(2, 24, 15), met(at(2, 24, 16), at(2, 24, 15)),
         met(at(2, 27, 12), at(2, 25, 12)), at(2, 25, 12), csat=5),
    fact("A5", OMAR, at(2, 27, 22, 30), at(2, 28, 1, 30), met(at(2, 28, 0, 30), at(2, 28, 1, 30)),
         Target(at(3, 5, 22, 30))),
    fact("A6", OMAR, at(3, 3, 10), at(3, 3, 11), met(at(3, 3, 12), at(3, 3, 11)),
         met(at(3, 5, 10), at(3, 3, 14)), at(3, 3, 14), csat=1),
    fact("A7", NOBODY, at(3, 4, 9), None, Target(at(3, 4, 17)), Target(at(3, 6, 9))),
    fact("A8", NAMELESS, at(2, 26, 10), at(2, 26, 12), met(at(2, 26, 14), at(2, 26, 12)),
         Target(None), status="pending"),
    fact("A9", IVY, at(2, 24, 10), None, Target(at(2, 24, 12)), Target(at(2, 25, 10)),
         status="merged", escalated=at(2, 24, 13)),
]  # fmt: skip

WEEK_1, WEEK_2 = date(2026, 2, 27), date(2026, 3, 6)
ROWS: list[list[Cell]] = [
    # Week 2, heaviest load first; a tie on load and solved goes by name ("(" sorts first).
    # Ivy: assigned A3; load A2 A3; reply A3 0.5 h; A3's first response met 1/1.
    [WEEK_2, "Ivy Lee", 1, 0, 2, 0.5, 1.0, None, 0, 0],
    # Omar: assigned and solved A6 (CSAT 1); load A5; replies A5 3 h, A6 1 h: median 2;
    # A5's first response late, A6's both met: 2/3.
    [WEEK_2, "Omar Diaz", 1, 1, 1, 2.0, 0.6667, 1.0, 1, 0],
    # Unassigned: A7, its first response still running.
    [WEEK_2, "(unassigned)", 1, 0, 1, None, None, None, 0, 0],
    # a3 (no name: the id): A8 still open (pending), nothing else this week.
    [WEEK_2, "a3", 0, 0, 1, None, None, None, 0, 0],
    # Week 1. Ivy: assigned A2; solved A1 (CSAT 4); load A2 (A1 solved); reply A2 1 h (A1's
    # was in the lead-in); A2's first response met, its resolution breached 02-26 (A1's
    # breach settled on its due day, 02-20): 1/2; A2 escalated 02-26.
    [WEEK_1, "Ivy Lee", 1, 1, 1, 1.0, 0.5, 4.0, 1, 1],
    # Omar: assigned A4 A5; solved A4 (CSAT 5); load A5; reply A4 3 h; A4 met both: 2/2.
    [WEEK_1, "Omar Diaz", 2, 1, 1, 3.0, 1.0, 5.0, 1, 0],
    # a3: assigned A8; load A8; reply 2 h; first response met 1/1 (resolution paused).
    [WEEK_1, "a3", 1, 0, 1, 2.0, 1.0, None, 0, 0],
]


def agents(facts: list[TicketFacts] = FACTS) -> Any:
    return {r.name: r for r in build_reports(facts, NOW, SETTINGS)}["agents"]


def test_agents_tab_cell_by_cell() -> None:
    report = agents()
    assert report.title == "Agents"
    assert report.columns == COLUMNS
    assert [list(row) for row in report.rows] == ROWS
    assert report.formats["SLA attainment"] == "percent"
    assert report.formats["Median first response (h)"] == "hours"
    (chart,) = report.charts
    assert isinstance(chart, LeadingChart)
    assert (chart.kind, chart.domain, chart.series, chart.rows) == (
        "column",
        "Agent",
        ("Open load",),
        4,  # the newest week's rows
    )


def test_the_sheet_holds_the_agents_tab_cell_by_cell(sandbox: Sandbox, tmp_path: Path) -> None:
    """Written by the real sheet sink, read back from the sandbox: every cell's underlying
    value (a week ending is a date serial in the sheet's zone; an empty figure an empty
    cell), and the chart plots the newest week's rows only."""
    sink = sheets_sink(sandbox, tmp_path, timezone="Europe/Berlin")
    sink.write(sink.render_reports([agents()]))

    def shown(row: int, column: int) -> Any:
        value = sandbox.sheets.cell(SPREADSHEET_ID, "Agents", row, column).get("effectiveValue")
        return None if value is None else next(iter(value.values()))

    def expected(value: Cell) -> Any:
        if isinstance(value, date):
            return float((datetime(value.year, value.month, value.day) - EPOCH).days)
        return value

    assert [shown(0, c) for c in range(len(COLUMNS))] == list(COLUMNS)
    for r, row in enumerate(ROWS, start=1):
        assert [shown(r, c) for c in range(len(COLUMNS))] == [expected(v) for v in row], r
    assert shown(len(ROWS) + 1, 0) is None
    (chart,) = sandbox.sheets.sheet(SPREADSHEET_ID, "Agents")["charts"]
    basic = chart["spec"]["basicChart"]
    domain = basic["domains"][0]["domain"]["sourceRange"]["sources"][0]
    assert (domain["startColumnIndex"], domain["endRowIndex"]) == (1, 5)  # header + 4 rows
    assert chart["position"]["overlayPosition"]["anchorCell"]["rowIndex"] == len(ROWS) + 2


def test_good_bad_ratings_show_as_the_share_of_good_ones() -> None:
    rated = [
        replace(f, csat_scale=2, csat=None if f.csat is None else (5.0 if f.csat > 3 else 1.0))
        for f in FACTS
    ]
    report = agents(rated)
    assert report.columns[7] == "CSAT good"
    assert report.formats["CSAT good"] == "percent"
    # Week 2: Omar's A6 rated bad (0 of 1); week 1: Ivy's A1 and Omar's A4 rated good.
    assert [(row[1], row[7], row[8]) for row in report.rows if row[8]] == [
        ("Omar Diaz", 0.0, 1),
        ("Ivy Lee", 1.0, 1),
        ("Omar Diaz", 1.0, 1),
    ]
    weekly = {r.name: r for r in build_reports(rated, NOW, SETTINGS)}["weekly"]
    assert "CSAT good" in weekly.columns and "CSAT average" not in weekly.columns
    # One scale of 1-5 among them: the average, on 1-5, for all.
    mixed = [
        *rated[:-1],
        replace(rated[-1], status="solved", solved_at=NOW, csat=4.0, csat_scale=5),
    ]
    assert agents(mixed).columns[7] == "CSAT average"


def test_facts_keep_the_assignee_and_the_survey_scale() -> None:
    fields: dict[str, Any] = {"assignee_id": "a1"}
    if "assignee_name" in Ticket.__dataclass_fields__:  # agent names (issue 14, item 3)
        fields["assignee_name"] = "Ivy Lee"
    ticket = Ticket(
        id="7", source="zendesk", subject="s", description="", status=Status.SOLVED,
        created_at=at(3, 1, 9), updated_at=at(3, 1, 12), solved_at=at(3, 1, 12), csat=5.0,
        csat_scale=2, **fields,
    )  # fmt: skip
    facts = project(ticket, Decision("Billing", "High"), NOW)
    assert (facts.assignee_id, facts.csat_scale) == ("a1", 2)
    assert facts.agent == fields.get("assignee_name", "a1")
    assert TicketFacts.from_json(facts.to_json()) == facts
    # Facts stored before agents were kept (layout 1) still load, without an agent.
    old = facts.to_json().replace("[2,", "[1,", 1).rsplit(",", 3)[0] + "]"
    assert TicketFacts.from_json(old) == replace(
        facts, assignee_id="", assignee_name="", csat_scale=None
    )
    assert facts.seen_at - facts.created_at > timedelta(0)
