"""Issue 6 acceptance: what managers add is theirs. A column right of syncd's and a tab syncd
does not own survive 100 cycles unchanged, rows keep their place when a manager sorts, and
when syncd's columns widen, they are inserted before the manager's column, not over it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from connectors.sheets_format import LEGACY_HEADER
from syncd.model import Status, Ticket
from syncd.ports import Report
from syncd.sandbox import SPREADSHEET_ID, Sandbox
from syncd.sheet_columns import DEFAULT_COLUMNS
from tests.sheets_support import NOW, records, rows, sheets_requests, sheets_sink, ticket

NOTES = len(DEFAULT_COLUMNS)  # the first column right of syncd's default columns


def daily(day: int) -> Report:
    return Report(
        "daily",
        "Daily summary",
        ("Date", "New", "Solved"),
        [[f"2026-03-{d:02d}", d, day] for d in range(1, 6)],
        {"New": "count", "Solved": "count"},
    )


def batch(sandbox: Sandbox, sink: Any, *requests: dict[str, Any]) -> None:
    """What a manager does in the UI, as the API requests it makes."""
    sink.http.batch_update(SPREADSHEET_ID, {"requests": list(requests)})


def test_a_managers_column_and_tab_survive_100_cycles(sandbox: Sandbox, tmp_path: Path):
    sink = sheets_sink(sandbox, tmp_path)
    tickets = {i: ticket(i, created_at=NOW - timedelta(hours=i)) for i in range(1, 21)}
    sink.write(records(sink, list(tickets.values())) + sink.render_reports([daily(0)]))
    tab = sandbox.sheets.sheet(SPREADSHEET_ID, "Tickets")["properties"]["sheetId"]
    # The manager sorts the tab, oldest ticket first, through the filter (whole rows move),
    # and keeps a note per ticket in a column of their own.
    batch(
        sandbox,
        sink,
        {
            "sortRange": {
                "range": {"sheetId": tab, "startRowIndex": 1},
                "sortSpecs": [
                    {"dimensionIndex": DEFAULT_COLUMNS.index("created"), "sortOrder": "ASCENDING"}
                ],
            }
        },
    )
    order = [r[0] for r in rows(sandbox)[1:]]
    assert order == [str(i) for i in range(20, 0, -1)]
    notes = [["Notes"], *[[f"note for #{key}"] for key in order]]
    sandbox.sheets.set_values(SPREADSHEET_ID, "Tickets", notes, start=(0, NOTES))
    # ... and a tab of their own, with values and a format.
    own = sandbox.sheets.add_sheet(SPREADSHEET_ID, "Team notes", rows=50, cols=5)
    sandbox.sheets.set_values(SPREADSHEET_ID, "Team notes", [["Week", "Owner"], ["11", "Sam"]])
    bold = {"userEnteredFormat": {"textFormat": {"bold": True}}}
    batch(
        sandbox,
        sink,
        {
            "repeatCell": {
                "range": {"sheetId": own, "endRowIndex": 1},
                "cell": bold,
                "fields": "userEnteredFormat.textFormat.bold",
            }
        },
    )
    theirs = sandbox.sheets.sheet(SPREADSHEET_ID, "Team notes")
    theirs_values = rows(sandbox, "Team notes")

    most = 0
    for cycle in range(100):
        changed = [tickets[1 + (cycle * 7 + k) % 20] for k in range(1 + cycle % 3)]
        out = records(sink, [_changed(t, cycle) for t in changed])
        if cycle % 10 == 9:  # now and then a new ticket
            out += records(sink, [ticket(100 + cycle)])
        if cycle % 25 == 24:  # and a report that changed
            out += sink.render_reports([daily(cycle)])
        sandbox.reset_counts()
        sink.write(out)
        most = max(most, sheets_requests(sandbox))

    assert most == 2
    shown = rows(sandbox)
    assert shown[0][NOTES] == "Notes"
    assert [r[0] for r in shown[1:21]] == order, "syncd's rows kept the manager's order"
    for row in shown[1:21]:
        assert row[NOTES] == f"note for #{row[0]}", "each note stayed with its ticket"
    assert all(len(r) <= NOTES for r in shown[21:]), "new tickets were appended, no note"
    assert [r[0] for r in shown[21:]] == [str(100 + c) for c in range(9, 100, 10)]
    assert sandbox.sheets.sheet(SPREADSHEET_ID, "Team notes") == theirs
    assert rows(sandbox, "Team notes") == theirs_values
    assert rows(sandbox, "Daily summary")[1] == ["2026-03-01", "1", "99"]


def _changed(original: Ticket, cycle: int) -> Ticket:
    """The ticket as it stands in cycle `cycle`: retitled, pending every other cycle."""
    status = Status.PENDING if cycle % 2 else Status.OPEN
    return replace(original, subject=f"{original.subject.split(' #')[0]} #{cycle}", status=status)


def test_wider_columns_go_in_before_a_managers_own(sandbox: Sandbox, tmp_path: Path):
    few = sheets_sink(sandbox, tmp_path, columns=["ticket", "subject", "status", "updated"])
    few.write(records(few, [ticket(1), ticket(2)]))
    sandbox.sheets.set_values(SPREADSHEET_ID, "Tickets", [["Notes"], ["n1"], ["n2"]], start=(0, 4))

    keys = ["ticket", "subject", "priority", "status", "sla", "updated"]
    more = sheets_sink(sandbox, tmp_path, columns=keys)
    more.write(records(more, [ticket(1), ticket(2)]))
    shown = rows(sandbox)
    header = ["Ticket", "Subject", "Priority", "Status", "SLA", "Updated (UTC)", "Notes"]
    assert shown[0] == header
    assert [r[6] for r in shown[1:]] == ["n1", "n2"]
    assert [r[2] for r in shown[1:]] == ["High", "High"]


def test_a_tickets_tab_of_the_old_layout_keeps_a_managers_column(sandbox: Sandbox, tmp_path: Path):
    # The Tickets tab as syncd's earlier versions wrote it (18 columns, no stamp), with a
    # manager's Notes column right of it.
    sandbox.sheets.add_sheet(SPREADSHEET_ID, "Tickets", rows=10, cols=26)
    old_row = ["7", "Old subject", *[""] * 16]
    sandbox.sheets.set_values(
        SPREADSHEET_ID, "Tickets", [[*LEGACY_HEADER, "Notes"], [*old_row, "keep me"]]
    )
    sink = sheets_sink(sandbox, tmp_path)
    sink.write(records(sink, [ticket(7)]))
    shown = rows(sandbox)
    assert shown[0][NOTES] == "Notes" and shown[1][NOTES] == "keep me"
    assert shown[1][:2] == ["7", "Cannot log in (7)"]


def test_a_tab_renamed_or_deleted_by_a_manager_is_found_or_made_again(
    sandbox: Sandbox, tmp_path: Path
):
    sink = sheets_sink(sandbox, tmp_path)
    sink.write(records(sink, [ticket(1), ticket(2)]) + sink.render_reports([daily(1)]))
    tickets = sandbox.sheets.sheet(SPREADSHEET_ID, "Tickets")["properties"]["sheetId"]
    report = sandbox.sheets.sheet(SPREADSHEET_ID, "Daily summary")["properties"]["sheetId"]
    batch(
        sandbox,
        sink,
        {
            "updateSheetProperties": {
                "properties": {"sheetId": tickets, "title": "tickets"},
                "fields": "title",
            }
        },
        {"deleteSheet": {"sheetId": report}},
    )
    sandbox.reset_counts()
    sink.write(records(sink, [ticket(2, subject="Renamed tab")]) + sink.render_reports([daily(2)]))
    # The read naming the deleted tab is refused; the tab list is read again, then the
    # key columns, then the one write.
    assert sheets_requests(sandbox) == 4
    assert sandbox.sheets.sheet_titles(SPREADSHEET_ID) == ["Sheet1", "tickets", "Daily summary"]
    assert [r[1] for r in rows(sandbox, "tickets")[1:]] == ["Cannot log in (1)", "Renamed tab"]
    assert rows(sandbox, "Daily summary")[1] == ["2026-03-01", "1", "2"]
    sandbox.reset_counts()
    sink.write(records(sink, [ticket(1, subject="And again")]))
    assert sheets_requests(sandbox) == 2
