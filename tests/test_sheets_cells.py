"""What the cells hold: configured columns and titles, dates as real dates in the sheet's
timezone, the ticket id linking to the helpdesk, text that stays text, and the 50,000
character limit."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncd.config import SheetsConfig
from syncd.sandbox import SPREADSHEET_ID, Sandbox
from syncd.sheet_columns import from_serial, to_serial
from tests.sheets_support import records, rows, sheets_sink, ticket


def cell(sandbox: Sandbox, row: int, column: int, tab: str = "Tickets") -> dict:
    return sandbox.sheets.cell(SPREADSHEET_ID, tab, row, column)


def test_columns_titles_and_tab_come_from_the_config(sandbox: Sandbox, tmp_path: Path):
    sink = sheets_sink(
        sandbox,
        tmp_path,
        timezone="Europe/Paris",
        columns=["ticket", {"subject": "Sujet"}, "status", "csat", "tags", "updated"],
        tabs={"tickets": "Tous les tickets"},
    )
    sink.write(records(sink, [ticket(3, csat=4.5, tags=("vip", "billing"))]))
    assert rows(sandbox, "Tous les tickets") == [
        ["Ticket", "Sujet", "Status", "CSAT", "Tags", "Updated (Europe/Paris)"],
        ["3", "Cannot log in (3)", "open", "4.5", "vip, billing", "2026-03-10 12:00"],
    ]
    assert "Tickets" not in sandbox.sheets.sheet_titles(SPREADSHEET_ID)


def test_the_older_worksheet_setting_still_names_the_tickets_tab(sandbox: Sandbox, tmp_path: Path):
    sink = sheets_sink(sandbox, tmp_path, worksheet="Open tickets")
    sink.write(records(sink, [ticket(1)]))
    assert rows(sandbox, "Open tickets")[1][0] == "1"


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        # Berlin moves to summer time at 01:00 UTC on 2026-03-29.
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "2026-03-29 01:30"),
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "2026-03-29 03:30"),
        # 23:30 UTC is already the next day in Berlin.
        (datetime(2026, 1, 5, 23, 30, tzinfo=UTC), "2026-01-06 00:30"),
    ],
)
def test_moments_are_dates_in_the_sheets_timezone(
    sandbox: Sandbox, tmp_path: Path, moment: datetime, shown: str
):
    sink = sheets_sink(sandbox, tmp_path, timezone="Europe/Berlin")
    sink.write(records(sink, [ticket(1, created_at=moment, updated_at=moment)]))
    header = rows(sandbox)[0]
    created = header.index("Created (Europe/Berlin)")
    assert rows(sandbox)[1][created] == shown
    data = cell(sandbox, 1, created)
    # A number (sortable, filterable) under a date-time format, not text.
    serial = data["effectiveValue"]["numberValue"]
    assert data["effectiveFormat"]["numberFormat"]["type"] == "DATE_TIME"
    assert from_serial(serial, sink.zone) == moment
    assert serial == to_serial(moment, sink.zone)


def test_the_ticket_id_links_to_the_helpdesk_and_text_stays_text(sandbox: Sandbox, tmp_path: Path):
    sink = sheets_sink(sandbox, tmp_path)
    subjects = ['=IMPORTXML("http://evil","//a")', "+1 555 0100", "2026-03-01", "007"]
    tickets = [ticket(i + 1, subject=s) for i, s in enumerate(subjects)]
    sink.write(records(sink, tickets))
    link = cell(sandbox, 1, 0)
    # The id stays a number (sortable); the link is the cell's own, set with the row.
    assert link["userEnteredValue"] == {"numberValue": 1}
    uri = link["userEnteredFormat"]["textFormat"]["link"]["uri"]
    assert uri == "https://acme.zendesk.com/agent/tickets/1"
    assert link["formattedValue"] == "1"
    for row, subject in enumerate(subjects, start=1):
        assert cell(sandbox, row, 1)["userEnteredValue"] == {"stringValue": subject}
    assert [r[1] for r in rows(sandbox)[1:]] == subjects
    # A ticket appended later gets its link too; an update goes through values:batchUpdate,
    # RAW, where the emulator (as Sheets) would make a formula of "=1+1" under USER_ENTERED.
    sink.write(records(sink, [ticket(9, subject="x")]))
    added = cell(sandbox, 5, 0)
    assert added["userEnteredFormat"]["textFormat"]["link"]["uri"].endswith("/tickets/9")
    before = len(sandbox.server.log)
    sink.write(records(sink, [ticket(2, subject="=1+1")]))
    paths = [path for api, _m, path, _s in sandbox.server.log[before:] if api == "sheets"]
    assert any(path.endswith("values:batchUpdate") for path in paths), paths
    assert cell(sandbox, 2, 1)["userEnteredValue"] == {"stringValue": "=1+1"}
    assert cell(sandbox, 2, 0)["userEnteredFormat"]["textFormat"]["link"]["uri"].endswith("/2")


def test_a_ticket_without_a_link_shows_its_plain_id(sandbox: Sandbox, tmp_path: Path):
    sink = sheets_sink(sandbox, tmp_path)
    sink.write(records(sink, [ticket(5, url=""), ticket(6, url='javascript:alert("x")')]))
    assert cell(sandbox, 1, 0)["userEnteredValue"] == {"numberValue": 5}
    assert cell(sandbox, 2, 0)["userEnteredValue"] == {"numberValue": 6}
    assert "link" not in cell(sandbox, 2, 0).get("userEnteredFormat", {}).get("textFormat", {})


def test_long_text_is_cut_to_the_cell_limit_with_a_marker(sandbox: Sandbox, tmp_path: Path):
    sink = sheets_sink(sandbox, tmp_path)
    subjects = ["x" * 60_000, "y" * 49_999, "z" * 50_000]
    sink.write(records(sink, [ticket(i + 1, subject=s) for i, s in enumerate(subjects)]))
    cut, kept, one_over = (r[1] for r in rows(sandbox)[1:])
    # A cell holds 50,000 characters.
    assert len(cut) == 50_000 and cut.endswith("… [truncated by syncd]")
    assert cut.startswith("x" * 49_000)
    assert kept == "y" * 49_999, "a text that fits is kept whole"
    assert one_over == "z" * 50_000, "exactly the limit fits"


def test_an_unknown_column_or_zone_is_a_clear_config_error():
    with pytest.raises(ValueError, match="unknown column 'owner'"):
        SheetsConfig(spreadsheet_id="x", credentials_file="k.json", columns=["ticket", "owner"])
    with pytest.raises(ValueError, match="the first column must be `ticket`"):
        SheetsConfig(spreadsheet_id="x", credentials_file="k.json", columns=["subject"])
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        SheetsConfig(spreadsheet_id="x", credentials_file="k.json", timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="unknown tab 'archive'"):
        SheetsConfig(spreadsheet_id="x", credentials_file="k.json", tabs={"archive": "Old"})
    with pytest.raises(ValueError, match="archive_after_days needs the status and updated"):
        SheetsConfig(spreadsheet_id="x", credentials_file="k.json", columns=["ticket", "status"])
