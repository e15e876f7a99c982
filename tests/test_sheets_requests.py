"""Issue 6 acceptance: a cycle costs at most 3 Sheets requests, with 1 or 10,000 changed
tickets, and the formatting (frozen bold header, filter, widths, number formats, conditional
rules, charts) is sent once, found again after a restart, and replaced only when it changes.

Counted with the sandbox's request counters, over real HTTP through gspread."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from connectors.sheets_format import column_letter
from syncd.ports import Chart, Report
from syncd.sandbox import SPREADSHEET_ID, Sandbox
from syncd.sheet_columns import DEFAULT_COLUMNS
from tests.sheets_support import records, rows, sheets_requests, sheets_sink, ticket

# Where the default columns are: derived, so that a new column moves them along.
CREATED = DEFAULT_COLUMNS.index("created")
SLA = DEFAULT_COLUMNS.index("sla")

FORMATTING = {
    "addSheet",
    "updateSheetProperties",
    "repeatCell",
    "setBasicFilter",
    "updateDimensionProperties",
    "addConditionalFormatRule",
    "deleteConditionalFormatRule",
    "addChart",
    "updateChartSpec",
    "createDeveloperMetadata",
    "updateDeveloperMetadata",
}


def paths(sandbox: Sandbox) -> list[str]:
    """The Sheets requests served since the counters were reset: GET, or what a POST
    called (":batchUpdate", "/values:batchUpdate")."""
    with sandbox.server.lock:
        calls = [(method, path) for api, method, path, _ in sandbox.server.log if api == "sheets"]
    return [
        m if m == "GET" else p[p.rindex(SPREADSHEET_ID) + len(SPREADSHEET_ID) :] for m, p in calls
    ]


def monthly(rows_: int = 3) -> Report:
    months = [f"2026-{m:02d}" for m in range(1, rows_ + 1)]
    return Report(
        "monthly",
        "Monthly trends",
        ("Month", "New", "Billing", "Technical", "First response attainment"),
        [[m, 10 + i, 4 + i, 6, 0.8 + i / 100] for i, m in enumerate(months)],
        {"New": "count", "First response attainment": "percent"},
        (
            Chart("New tickets by category", "column", "Month", ("Billing", "Technical")),
            Chart("SLA attainment", "line", "Month", ("First response attainment",)),
        ),
    )


def test_one_changed_ticket_costs_two_requests_and_a_restart_three(
    sandbox: Sandbox, tmp_path: Path
):
    sink = sheets_sink(sandbox, tmp_path)
    first = records(sink, [ticket(i) for i in range(1, 6)]) + sink.render_reports([monthly()])
    sandbox.reset_counts()
    sink.write(first)
    # The tabs are read (metadata only: none exists yet), then one batch creates, formats
    # and fills the Tickets and Monthly trends tabs.
    assert paths(sandbox) == ["GET", ":batchUpdate"]
    assert sandbox.sheets.sheet_titles(SPREADSHEET_ID) == ["Sheet1", "Tickets", "Monthly trends"]

    for i in range(3):  # steady state: the key column is read, the cells written
        sandbox.reset_counts()
        sink.write(records(sink, [ticket(2, subject=f"Changed {i}")]))
        assert paths(sandbox) == ["GET", "/values:batchUpdate"]
    assert rows(sandbox)[2][1] == "Changed 2"

    restarted = sheets_sink(sandbox, tmp_path)  # a new process knows no tab titles yet
    sandbox.reset_counts()
    restarted.write(records(restarted, [ticket(3, subject="After a restart")]))
    assert sheets_requests(sandbox) == 3  # titles, key column, cells
    assert rows(sandbox)[3][1] == "After a restart"


@pytest.mark.slow
def test_ten_thousand_changed_tickets_cost_the_same_as_one(sandbox: Sandbox, tmp_path: Path):
    sink = sheets_sink(sandbox, tmp_path)
    tickets = [ticket(i) for i in range(1, 10_001)]
    sandbox.reset_counts()
    started = time.perf_counter()
    sink.write(records(sink, tickets) + sink.render_reports([monthly()]))
    first = time.perf_counter() - started
    # The tab list, the batch creating and formatting the tabs, and the cells: too many to
    # ride in the batch, they go in the compact values form.
    assert paths(sandbox) == ["GET", ":batchUpdate", "/values:batchUpdate"]
    shown = rows(sandbox)
    assert len(shown) == 10_001 and {r[0] for r in shown[1:]} == {str(i) for i in range(1, 10_001)}

    changed = [replace(t, subject=f"Changed {t.id}", status=t.status) for t in tickets]
    sandbox.reset_counts()
    started = time.perf_counter()
    sink.write(records(sink, changed, state="breached"))
    again = time.perf_counter() - started
    assert sheets_requests(sandbox) == 2
    shown = rows(sandbox)
    assert len(shown) == 10_001, "updated in place, none appended"
    assert all(r[1] == f"Changed {r[0]}" and r[SLA] == "breached" for r in shown[1:])

    # A restarted daemon meets 10,000 new tickets: the tab list and the key column are read,
    # and the grid must grow, so the cells ride in that batch rather than cost a fourth.
    restarted = sheets_sink(sandbox, tmp_path)
    sandbox.reset_counts()
    restarted.write(records(restarted, [ticket(i) for i in range(10_001, 20_001)]))
    assert paths(sandbox) == ["GET", "GET", ":batchUpdate"]
    assert len(rows(sandbox)) == 20_001
    print(f"\n10,000 tickets: first write {first:.1f}s, all changed {again:.1f}s (sandbox)")


def test_formatting_is_sent_once_and_kept(sandbox: Sandbox, tmp_path: Path):
    sink = sheets_sink(sandbox, tmp_path)
    sink.write(records(sink, [ticket(i) for i in range(1, 4)]) + sink.render_reports([monthly()]))
    tickets = sandbox.sheets.sheet(SPREADSHEET_ID, "Tickets")
    assert tickets["properties"]["gridProperties"]["frozenRowCount"] == 1
    assert tickets["formats"]["A1"]["textFormat"]["bold"] is True
    assert tickets["basicFilter"]["range"] == {"sheetId": tickets["properties"]["sheetId"]}
    assert tickets["columnMetadata"]["1"]["pixelSize"] == 320  # Subject
    created = tickets["formats"][f"{column_letter(CREATED)}2"]["numberFormat"]  # Created (UTC)
    assert created == {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"}
    rules = tickets["conditionalFormats"]
    conditions = [r["booleanRule"]["condition"] for r in rules]
    assert [c["values"][0]["userEnteredValue"] for c in conditions] == [
        "Critical",
        "High",
        "Medium",
        "Low",
        f'=${column_letter(SLA)}2="breached"',
        f'=${column_letter(SLA)}2="at_risk"',
    ]
    across = len(DEFAULT_COLUMNS)
    assert rules[4]["ranges"][0]["endColumnIndex"] == across, "a breached row is red across"
    report = sandbox.sheets.sheet(SPREADSHEET_ID, "Monthly trends")
    charts = {c["spec"]["title"]: c for c in report["charts"]}
    assert set(charts) == {"New tickets by category", "SLA attainment"}
    column = charts["New tickets by category"]["spec"]["basicChart"]
    assert (column["chartType"], column["stackedType"]) == ("COLUMN", "STACKED")
    series = [s["series"]["sourceRange"]["sources"][0] for s in column["series"]]
    assert [(s["startColumnIndex"], s["endRowIndex"]) for s in series] == [(2, 4), (3, 4)]
    assert report["formats"]["E2"]["numberFormat"]["type"] == "PERCENT"
    batches = len(sandbox.sheets.batches(SPREADSHEET_ID))

    sandbox.reset_counts()
    for i in range(5):  # later cycles, and a restarted daemon, send cells only
        writer = sink if i < 3 else sheets_sink(sandbox, tmp_path)
        writer.write(records(writer, [ticket(1, subject=f"Again {i}")]))
    changed = replace(monthly(), rows=[["2026-01", 99, 1, 2, 0.5], *monthly().rows[1:]])
    writer.write(writer.render_reports([changed]))
    assert len(sandbox.sheets.batches(SPREADSHEET_ID)) == batches, "no :batchUpdate at all"
    assert paths(sandbox).count("/values:batchUpdate") == 6
    assert rows(sandbox, "Monthly trends")[1][1] == "99"
    assert len(sandbox.sheets.sheet(SPREADSHEET_ID, "Tickets")["conditionalFormats"]) == 6
    assert len(sandbox.sheets.sheet(SPREADSHEET_ID, "Monthly trends")["charts"]) == 2


def test_a_longer_report_updates_its_charts_in_place(sandbox: Sandbox, tmp_path: Path):
    sink = sheets_sink(sandbox, tmp_path)
    sink.write(sink.render_reports([monthly(3)]))
    before = {
        c["chartId"]: c for c in sandbox.sheets.sheet(SPREADSHEET_ID, "Monthly trends")["charts"]
    }
    sink.write(sink.render_reports([monthly(8)]))  # five more months: the table grows
    kinds = sandbox.sheets.batches(SPREADSHEET_ID)[-1]
    assert "addChart" not in kinds and kinds.count("updateChartSpec") == 2
    after = {
        c["chartId"]: c for c in sandbox.sheets.sheet(SPREADSHEET_ID, "Monthly trends")["charts"]
    }
    assert set(after) == set(before), "the same charts, not new ones"
    for chart in after.values():
        source = chart["spec"]["basicChart"]["domains"][0]["domain"]["sourceRange"]["sources"][0]
        assert source["endRowIndex"] == 9
        # The table grew under the charts (anchored one row below it): they moved down.
        assert chart["position"]["overlayPosition"]["anchorCell"]["rowIndex"] == 10
    assert rows(sandbox, "Monthly trends")[8][0] == "2026-08"


def test_new_columns_replace_syncds_rules_and_keep_a_managers(sandbox: Sandbox, tmp_path: Path):
    sink = sheets_sink(sandbox, tmp_path)
    sink.write(records(sink, [ticket(1), ticket(2)]))
    sheet_id = sandbox.sheets.sheet(SPREADSHEET_ID, "Tickets")["properties"]["sheetId"]
    mine = {
        "ranges": [
            {"sheetId": sheet_id, "startRowIndex": 1, "startColumnIndex": 1, "endColumnIndex": 2}
        ],
        "booleanRule": {
            "condition": {"type": "TEXT_CONTAINS", "values": [{"userEnteredValue": "login"}]},
            "format": {"textFormat": {"italic": True}},
        },
    }
    sink.http.batch_update(
        SPREADSHEET_ID, {"requests": [{"addConditionalFormatRule": {"rule": mine, "index": 6}}]}
    )
    narrower = sheets_sink(
        sandbox, tmp_path, columns=["ticket", "subject", "sla", "priority", "updated", "status"]
    )
    narrower.write(records(narrower, [ticket(1)]))
    rules = sandbox.sheets.sheet(SPREADSHEET_ID, "Tickets")["conditionalFormats"]
    formulas = [r["booleanRule"]["condition"]["values"][0]["userEnteredValue"] for r in rules]
    assert formulas == [
        "Critical",
        "High",
        "Medium",
        "Low",
        '=$C2="breached"',
        '=$C2="at_risk"',
        "login",
    ]
    assert rows(sandbox)[0] == ["Ticket", "Subject", "SLA", "Priority", "Updated (UTC)", "Status"]


def test_a_grown_grid_formats_its_new_rows_without_formatting_again(
    sandbox: Sandbox, tmp_path: Path
):
    sink = sheets_sink(sandbox, tmp_path)
    sink.write(records(sink, [ticket(i) for i in range(1, 4)]))
    grid = sandbox.sheets.sheet(SPREADSHEET_ID, "Tickets")["properties"]["gridProperties"]
    assert grid["rowCount"] == 504  # 4 rows and 500 to grow into
    sink.write(records(sink, [ticket(i) for i in range(4, 1004)]))
    kinds = sandbox.sheets.batches(SPREADSHEET_ID)[-1]
    assert kinds[0] == "appendDimension" and "addConditionalFormatRule" not in kinds
    grid = sandbox.sheets.sheet(SPREADSHEET_ID, "Tickets")["properties"]["gridProperties"]
    assert grid["rowCount"] == 1504
    created = sandbox.sheets.cell(SPREADSHEET_ID, "Tickets", 1000, CREATED)
    assert created["effectiveFormat"]["numberFormat"]["type"] == "DATE_TIME"
    assert rows(sandbox)[1000][CREATED] == "2026-03-09 12:00"
