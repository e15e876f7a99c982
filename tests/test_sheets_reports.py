"""The report tabs, written from hand-built `Report`s: each cell as a manager reads it, its
underlying value and number format, tab titles from the config, and a shorter table leaving
no stale rows behind."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from syncd.pipeline import fingerprint
from syncd.ports import Chart, Report
from syncd.sandbox import SPREADSHEET_ID, Sandbox
from tests.sheets_support import records, rows, sheets_sink, ticket

DAILY = Report(
    "daily",
    "Daily summary",
    ("Date", "New", "Solved", "First response attainment", "Median first response (h)"),
    [
        [date(2026, 3, 8), 12, 9, 0.75, 1.25],
        [date(2026, 3, 9), 7, 11, 1.0, None],
        [date(2026, 3, 10), 0, 2, None, 3.5],
    ],
    {
        "Date": "date",
        "New": "count",
        "Solved": "count",
        "First response attainment": "percent",
        "Median first response (h)": "hours",
    },
)
BREACHES = Report(
    "breaches",
    "SLA breaches",
    ("Ticket", "Subject", "Target", "Due", "Hours late"),
    [
        ["41", "Refund not received", "resolution", datetime(2026, 3, 9, 16, 0, tzinfo=UTC), 20.5],
        ["7", "=SUM(A1:A9)", "first response", datetime(2026, 3, 10, 8, 0, tzinfo=UTC), 4.0],
    ],
    {"Hours late": "hours"},  # "Due" is a moment: shown as one without being told
)
MONTHLY = Report(
    "monthly",
    "Monthly trends",
    ("Month", "New", "Billing", "Technical"),
    [["2026-01", 30, 12, 18], ["2026-02", 41, 20, 21]],
    {"New": "count"},
    (Chart("New tickets by category", "column", "Month", ("Billing", "Technical")),),
)


def test_report_tabs_hold_the_tables_cell_by_cell(sandbox: Sandbox, tmp_path: Path):
    sink = sheets_sink(sandbox, tmp_path, timezone="Europe/Berlin", tabs={"daily": "Per day"})
    sink.write(sink.render_reports([DAILY, BREACHES, MONTHLY]))
    assert rows(sandbox, "Per day") == [
        ["Date", "New", "Solved", "First response attainment", "Median first response (h)"],
        ["2026-03-08", "12", "9", "75.0%", "1.3"],
        ["2026-03-09", "7", "11", "100.0%"],
        ["2026-03-10", "0", "2", "", "3.5"],
    ]
    # 16:00 and 08:00 UTC are 17:00 and 09:00 in Berlin (winter time).
    assert rows(sandbox, "SLA breaches") == [
        ["Ticket", "Subject", "Target", "Due", "Hours late"],
        ["41", "Refund not received", "resolution", "2026-03-09 17:00", "20.5"],
        ["7", "=SUM(A1:A9)", "first response", "2026-03-10 09:00", "4.0"],
    ]
    assert rows(sandbox, "Monthly trends") == [
        ["Month", "New", "Billing", "Technical"],
        ["2026-01", "30", "12", "18"],
        ["2026-02", "41", "20", "21"],
    ]
    day = sandbox.sheets.cell(SPREADSHEET_ID, "Per day", 1, 0)
    assert day["effectiveValue"] == {"numberValue": 46089}  # 2026-03-08 as a serial number
    share = sandbox.sheets.cell(SPREADSHEET_ID, "Per day", 1, 3)
    assert share["effectiveValue"] == {"numberValue": 0.75}
    formula_like = sandbox.sheets.cell(SPREADSHEET_ID, "SLA breaches", 2, 1)
    assert formula_like["userEnteredValue"] == {"stringValue": "=SUM(A1:A9)"}
    assert "Daily summary" not in sandbox.sheets.sheet_titles(SPREADSHEET_ID)


def test_a_shorter_table_leaves_no_stale_rows(sandbox: Sandbox, tmp_path: Path):
    sink = sheets_sink(sandbox, tmp_path)
    sink.write(sink.render_reports([BREACHES]))
    solved = Report(
        BREACHES.name, BREACHES.title, BREACHES.columns, BREACHES.rows[1:], BREACHES.formats
    )
    sink.write(sink.render_reports([solved]))
    assert rows(sandbox, "SLA breaches") == [
        ["Ticket", "Subject", "Target", "Due", "Hours late"],
        ["7", "=SUM(A1:A9)", "first response", "2026-03-10 08:00", "4.0"],
    ]
    empty = Report(BREACHES.name, BREACHES.title, BREACHES.columns, [], BREACHES.formats)
    sink.write(sink.render_reports([empty]))
    assert rows(sandbox, "SLA breaches") == [["Ticket", "Subject", "Target", "Due", "Hours late"]]


def test_report_records_are_stable_so_an_unchanged_report_is_not_sent(
    sandbox: Sandbox, tmp_path: Path
):
    sink = sheets_sink(sandbox, tmp_path)
    first = sink.render_reports([DAILY, MONTHLY])
    again = sink.render_reports([DAILY, MONTHLY])
    assert [r.key for r in first] == ["report:daily", "report:monthly"]
    assert [fingerprint(r.payload) for r in first] == [fingerprint(r.payload) for r in again]
    changed = Report(DAILY.name, DAILY.title, DAILY.columns, DAILY.rows[:2], DAILY.formats)
    assert fingerprint(sink.render_reports([changed])[0].payload) != fingerprint(first[0].payload)


def test_csat_shows_on_the_helpdesks_own_scale(sandbox: Sandbox, tmp_path: Path):
    sink = sheets_sink(sandbox, tmp_path, columns=["ticket", "csat"], archive_after_days=None)
    rated = [
        ticket(1, csat=5.0, csat_scale=2),  # Zendesk's good/bad survey
        ticket(2, csat=1.0, csat_scale=2),
        ticket(3, csat=4.0, csat_scale=5),  # a 5-point survey: as it is
        ticket(4, csat=3.0, csat_scale=3),  # 2 of 3 points (3.0 on syncd's 1-5 scale)
        ticket(5, csat=4.0),  # a 1-5 score without a known survey
        ticket(6),
    ]
    sink.write(records(sink, rated))
    assert rows(sandbox) == [
        ["Ticket", "CSAT"],
        ["1", "good"],
        ["2", "bad"],
        ["3", "4.0"],
        ["4", "2.0"],
        ["5", "4.0"],
        ["6"],
    ]
