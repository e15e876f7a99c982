"""The demo's export: what the sandbox stored (values, formats, rules, charts) becomes one
CSV per tab and an XLSX that keeps the look, read back here with openpyxl."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import load_workbook

from connectors.sheets_format import column_letter, header_width
from syncd.sandbox import SPREADSHEET_ID, Sandbox
from syncd.sheet_columns import DEFAULT_COLUMNS
from syncd.sheet_export import export
from tests.conftest import run_cli
from tests.sheets_support import records, rows, sheets_sink, ticket
from tests.test_sheets_reports import DAILY, MONTHLY


def test_every_tab_exports_to_csv_and_to_an_xlsx_with_its_look(sandbox: Sandbox, tmp_path: Path):
    sink = sheets_sink(sandbox, tmp_path)
    tickets = [ticket(1, subject="=1+1"), ticket(2), ticket(3)]
    sink.write(records(sink, tickets[:2], state="breached") + records(sink, tickets[2:]))
    sink.write(sink.render_reports([DAILY, MONTHLY]))

    files = export(sandbox.sheets.resource(SPREADSHEET_ID), tmp_path / "out")
    names = [f.name for f in files]
    assert names == ["tickets.csv", "daily-summary.csv", "monthly-trends.csv", "syncd-demo.xlsx"]
    with (tmp_path / "out" / "tickets.csv").open(newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == rows(sandbox)

    book = load_workbook(tmp_path / "out" / "syncd-demo.xlsx")
    assert book.sheetnames == ["Tickets", "Daily summary", "Monthly trends"]
    ws = book["Tickets"]
    last = column_letter(len(DEFAULT_COLUMNS) - 1)  # the last of syncd's default columns
    created = column_letter(DEFAULT_COLUMNS.index("created"))
    sla = column_letter(DEFAULT_COLUMNS.index("sla"))
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:{last}4"
    assert ws["A1"].value == "Ticket" and ws["A1"].font.b
    assert ws["A2"].value == 1 and ws["A2"].hyperlink.target.endswith("/tickets/1")
    assert ws["B2"].value == "=1+1" and ws["B2"].data_type == "s", "text stays text"
    assert ws[f"{created}2"].is_date and ws[f"{created}2"].number_format == "yyyy-mm-dd hh:mm"
    assert round(ws.column_dimensions["B"].width) == round(320 / 7)
    rules = {str(r.formula[0]) for rng in ws.conditional_formatting for r in rng.rules if r.formula}
    sla_rules = {f'${sla}2="breached"', f'${sla}2="at_risk"'}
    assert rules == {*sla_rules, '"Critical"', '"High"', '"Medium"', '"Low"'}
    assert ws.oddHeader.center.text == "&A", "the tab's name heads each printed page"
    monthly = book["Monthly trends"]
    (chart,) = monthly._charts
    assert chart.grouping == "stacked" and len(chart.series) == 2
    assert book["Daily summary"]["D2"].number_format == "0.0%"


def test_the_demo_exports_every_tab(tmp_path: Path):
    out = tmp_path / "demo"
    result = run_cli("--log-level", "warning", "demo", "--output", str(out), timeout=300)
    assert result.returncode == 0, result.stderr
    tabs = ["Tickets", "SLA breaches", "Escalations", "Daily summary", "Weekly report"]
    tabs += ["Monthly trends", "Agents"]
    for tab in tabs:
        assert (out / f"{tab.lower().replace(' ', '-')}.csv").stat().st_size > 0
    book = load_workbook(out / "syncd-demo.xlsx")
    assert book.sheetnames == tabs
    charts = {tab: len(book[tab]._charts) for tab in tabs}
    assert charts == {
        "Tickets": 0,
        "SLA breaches": 0,
        "Escalations": 0,
        "Daily summary": 2,
        "Weekly report": 2,
        "Monthly trends": 2,
        "Agents": 1,
    }
    assert book["Tickets"].conditional_formatting, "the SLA and priority colours came along"
    for tab in tabs:  # every title fits its column (widths in characters of the XLSX)
        ws = book[tab]
        for cell in ws[1]:
            width = ws.column_dimensions[cell.column_letter].width
            assert round(width * 7) >= header_width(str(cell.value)), (tab, cell.value)
