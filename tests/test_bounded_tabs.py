"""The SLA breaches and Escalations tabs stay readable after a backfill of old tickets (issue 17,
item 4): what is open plus `sheets.history_days` of history, newest first, at most
`ReportSettings.tab_rows` rows, and a first line counting the older rows left out; read back
from the sandbox's sheet as a manager sees it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from syncd.config import SheetsConfig
from syncd.facts import Escalation, Target, TicketFacts
from syncd.ports import Report
from syncd.reports import TAB_ROWS, ReportSettings, build_reports
from syncd.sandbox import Sandbox
from tests.sheets_support import rows, sheets_sink

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
SETTINGS = ReportSettings(days=5, weeks=2, months=2)  # 30 days of history by default
OLD, RECENT, OPEN = 2000, 12, 7  # old solved tickets, recently solved ones, open ones


def _fact(key: int, created: datetime, solved: datetime | None, escalated: datetime) -> TicketFacts:
    """A ticket whose first response came 3 hours late and whose resolution is late (solved
    a day after its due moment, or still open past it), escalated to level 2 at `escalated`."""
    due = created + HOUR
    resolution_due = created + 2 * DAY
    return TicketFacts(
        key=str(key),
        subject=f"Ticket {key}",
        requester=f"Customer {key}",
        category="Technical",
        priority="High",
        status="open" if solved is None else "solved",
        created_at=created,
        first_response_at=due + 3 * HOUR,
        solved_at=solved,
        csat=None,
        url=f"https://acme.zendesk.com/agent/tickets/{key}",
        seen_at=NOW,
        sla_policy="Standard",
        first_response=Target(due, due + 3 * HOUR, True),
        resolution=Target(resolution_due, solved, solved is not None),
        escalation_level=2,
        escalation_name="Team lead",
        escalations=(
            Escalation(
                2,
                "Team lead",
                "Standard",
                "escalation.yaml:20",
                "first response breached",
                ("slack:#esc",),
                escalated,
            ),
        ),
    )


def backfilled() -> list[TicketFacts]:
    """OLD tickets solved between 40 and 700 days ago, RECENT ones solved in the last 20 days,
    and OPEN ones created half a year ago and never solved (their breaches still open)."""
    facts = []
    for i in range(OLD):
        created = NOW - timedelta(days=40 + (i * 660) // OLD, hours=i % 24)
        facts.append(_fact(10_000 + i, created, created + 3 * DAY, created + 2 * HOUR))
    for i in range(RECENT):
        created = NOW - timedelta(days=25 - i, hours=3)
        facts.append(_fact(500 + i, created, created + 3 * DAY, created + 2 * HOUR))
    for i in range(OPEN):
        created = NOW - timedelta(days=180 + i)
        facts.append(_fact(100 + i, created, None, created + 2 * HOUR))
    return facts


def _moment(cell: object) -> datetime:
    assert isinstance(cell, datetime)
    return cell


def tabs(facts: list[TicketFacts], settings: ReportSettings = SETTINGS) -> dict[str, Report]:
    return {r.name: r for r in build_reports(facts, NOW, settings)}


def test_breaches_keep_the_open_and_the_last_30_days_newest_first_and_count_the_rest() -> None:
    report = tabs(backfilled())["breaches"]
    note, *table = report.rows
    # Kept: the open tickets' resolutions (still open) and both breaches of each recently
    # solved ticket (answered and solved within the 30 days). Left out: both of every old
    # ticket, and the open tickets' first responses, answered late half a year ago.
    assert len(table) == OPEN + 2 * RECENT
    older = 2 * OLD + OPEN
    assert note[0] == (
        f"{older:,} older breaches not shown: this tab keeps open ones and those ended in the "
        f"last 30 days, newest first, {TAB_ROWS:,} rows at most; syncd's state database keeps "
        "every ticket's facts"
    )
    assert note[1:] == [None] * (len(report.columns) - 1)
    due = [_moment(row[report.columns.index("Due")]) for row in table]
    assert due == sorted(due, reverse=True), "newest due first"
    states = [row[report.columns.index("State")] for row in table]
    assert states.count("open") == OPEN and states.count("met late") == 2 * RECENT


def test_escalations_keep_open_tickets_and_the_last_30_days_newest_first() -> None:
    report = tabs(backfilled())["escalations"]
    note, *table = report.rows
    assert len(table) == OPEN + RECENT  # the open tickets' (reached long ago) and the recent
    assert str(note[0]).startswith(
        f"{OLD:,} older escalations not shown: this tab keeps those of open"
    )
    reached = [_moment(row[0]) for row in table]
    assert reached == sorted(reached, reverse=True), "newest first"
    tickets = {row[1] for row in table}
    assert {str(100 + i) for i in range(OPEN)} <= tickets


def test_a_tab_never_grows_past_its_row_limit() -> None:
    # A backfill of many tickets still open: every breach is open, yet the tab stops at the
    # limit and counts the rest, so the spreadsheet never fills up from it.
    facts = [
        _fact(i, NOW - timedelta(days=100, hours=i), None, NOW - timedelta(hours=i))
        for i in range(60)
    ]
    small = ReportSettings(days=5, weeks=2, months=2, tab_rows=25)
    found = tabs(facts, small)
    breaches, escalations = found["breaches"].rows, found["escalations"].rows
    assert len(breaches) == 26 and len(escalations) == 26
    assert str(breaches[0][0]).startswith("95 older breaches not shown")  # 120 - 25
    assert str(escalations[0][0]).startswith("35 older escalations not shown")  # 60 - 25
    assert [row[1] for row in escalations[1:4]] == ["0", "1", "2"], "the newest escalations"


def test_nothing_left_out_means_no_first_line() -> None:
    facts = [f for f in backfilled() if int(f.key) < 10_000]  # no old ticket
    found = tabs(facts, ReportSettings(days=5, weeks=2, months=2, recent_breaches=200 * DAY))
    assert len(found["breaches"].rows) == 2 * OPEN + 2 * RECENT
    assert len(found["escalations"].rows) == OPEN + RECENT
    assert found["breaches"].rows[0][0] == str(500 + RECENT - 1), "a ticket, not a note"


def test_the_sheet_shows_the_bounded_tabs(sandbox: Sandbox, tmp_path: Path) -> None:
    reports = build_reports(backfilled(), NOW, SETTINGS)
    sink = sheets_sink(sandbox, tmp_path)
    sink.write(sink.render_reports(reports))
    breaches = rows(sandbox, "SLA breaches")
    escalations = rows(sandbox, "Escalations")
    assert breaches[0][:3] == ["Ticket", "Subject", "Requester"]
    assert breaches[1][0].startswith(f"{2 * OLD + OPEN:,} older breaches not shown")
    assert len(breaches) == 2 + OPEN + 2 * RECENT, "header, first line, open and recent"
    assert breaches[2][:2] == [str(500 + RECENT - 1), f"Ticket {500 + RECENT - 1}"]
    assert escalations[1][0] == (
        f"{OLD:,} older escalations not shown: this tab keeps those of open tickets and those "
        f"reached since {NOW - 30 * DAY:%Y-%m-%d %H:%M} UTC, newest first, {TAB_ROWS:,} rows at "
        "most; syncd's state database keeps every ticket's facts"
    )
    assert len(escalations) == 2 + OPEN + RECENT


def test_history_days_is_the_option_and_its_former_name_still_reads() -> None:
    def sheets(**options: object) -> SheetsConfig:
        base = {"spreadsheet_id": "x", "credentials_file": "key.json"}
        return SheetsConfig.model_validate({**base, **options})

    assert sheets().history_days == 30
    assert sheets(history_days=14).history_days == 14
    old = sheets(recent_breach_days=7)
    assert (old.history_days, old.recent_breach_days) == (7, 7)
