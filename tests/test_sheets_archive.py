"""Issue 6: the spreadsheet stays under Google's limits. Once a day, finished tickets whose
last change is older than `sheets.archive_after_days` move, whole rows with a manager's notes,
to the "Archive <year>" tab of that year, within the cycle's requests; past 80% of the
10,000,000-cell limit a warning says so, with figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from structlog.testing import capture_logs

from connectors.sheets_format import column_letter
from syncd.model import Status
from syncd.sandbox import SPREADSHEET_ID, Sandbox
from syncd.sheet_columns import DEFAULT_COLUMNS
from tests.sheets_support import NOW, records, rows, sheets_requests, sheets_sink, ticket

NOTES = len(DEFAULT_COLUMNS)  # the first column right of syncd's default columns
CREATED = column_letter(DEFAULT_COLUMNS.index("created"))


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def test_old_finished_tickets_move_to_their_years_archive(sandbox: Sandbox, tmp_path: Path):
    today = [NOW]
    sink = sheets_sink(sandbox, tmp_path, clock=lambda: today[0])
    tickets = [
        ticket(1, status=Status.CLOSED, updated_at=at("2024-05-01")),
        ticket(2, status=Status.SOLVED, updated_at=at("2025-01-02")),
        ticket(3, status=Status.CLOSED, updated_at=at("2026-02-01")),  # not old enough
        ticket(4, status=Status.OPEN, updated_at=at("2024-01-01")),  # old but open
        ticket(5, status=Status.MERGED, merged_into="4", updated_at=at("2024-06-01")),
    ]
    sink.write(records(sink, tickets))
    first = rows(sandbox)
    notes = [["Notes"], *[[f"note for #{r[0]}"] for r in first[1:]]]
    sandbox.sheets.set_values(SPREADSHEET_ID, "Tickets", notes, start=(0, NOTES))

    today[0] = NOW + timedelta(days=1)  # the next day's first write sweeps
    late = ticket(6, status=Status.CLOSED, updated_at=at("2024-08-01"))
    sandbox.reset_counts()
    sink.write(records(sink, [ticket(4, subject="Still open"), late]))
    # The key, Status and Updated columns (and one cell of every other tab, for the cell
    # count), then one batch: the archive, the deletions and the cells.
    assert sheets_requests(sandbox) == 2
    shown = rows(sandbox)
    assert [r[0] for r in shown[1:]] == ["3", "4", "6"]
    assert [r[NOTES] for r in shown[1:3]] == ["note for #3", "note for #4"]
    archive = rows(sandbox, "Archive 2024")
    assert archive[0] == [*first[0][:NOTES], "Notes"]
    by_id = {r[0]: r for r in first[1:]}
    assert archive[1:] == [[*by_id["1"], "note for #1"], [*by_id["5"], "note for #5"]]
    assert rows(sandbox, "Archive 2025")[1:] == [[*by_id["2"], "note for #2"]]
    for year in ("2024", "2025"):
        tab = sandbox.sheets.sheet(SPREADSHEET_ID, f"Archive {year}")
        assert tab["properties"]["gridProperties"]["frozenRowCount"] == 1
        assert tab["formats"][f"{CREATED}2"]["numberFormat"]["type"] == "DATE_TIME"

    batches = len(sandbox.sheets.batches(SPREADSHEET_ID))
    sandbox.reset_counts()
    sink.write(records(sink, [ticket(4, subject="Still open, again")]))
    assert sheets_requests(sandbox) == 2  # one sweep a day: the key column, the cells
    assert len(sandbox.sheets.batches(SPREADSHEET_ID)) == batches
    assert [r[0] for r in rows(sandbox)[1:]] == ["3", "4", "6"]

    today[0] = NOW + timedelta(days=2)
    sink.write(records(sink, [ticket(4, subject="Day three")]))
    assert [r[0] for r in rows(sandbox)[1:]] == ["3", "4"]
    assert [r[0] for r in rows(sandbox, "Archive 2024")[1:]] == ["1", "5", "6"], "appended"


def test_no_archive_when_turned_off(sandbox: Sandbox, tmp_path: Path):
    today = [NOW]
    sink = sheets_sink(sandbox, tmp_path, clock=lambda: today[0], archive_after_days=None)
    sink.write(records(sink, [ticket(1, status=Status.CLOSED, updated_at=at("2020-01-01"))]))
    today[0] = NOW + timedelta(days=1)
    sink.write(records(sink, [ticket(2)]))
    assert [r[0] for r in rows(sandbox)[1:]] == ["1", "2"]
    assert not [t for t in sandbox.sheets.sheet_titles(SPREADSHEET_ID) if "Archive" in t]


def test_a_spreadsheet_near_the_cell_limit_is_warned_about(sandbox: Sandbox, tmp_path: Path):
    sandbox.sheets.add_sheet(SPREADSHEET_ID, "Big pivot", rows=9_000, cols=1_000)
    sink = sheets_sink(sandbox, tmp_path)
    with capture_logs() as logs:
        sink.write(records(sink, [ticket(1)]))
        sink.write(records(sink, [ticket(2)]))  # the same day: warned once
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert len(warnings) == 1
    (warning,) = warnings
    assert warning["event"] == "the spreadsheet nears Google's cell limit"
    assert warning["limit"] == 10_000_000 and warning["cells"] > 9_000_000
    assert warning["biggest"]["Big pivot"] == 9_000_000
