"""JSON views of the Sheets emulator's storage: the Spreadsheet resource spreadsheets.get
returns, with GridData and CellData (effective values and formats computed on the way out).

Like Google's proto3 JSON, empty lists and zero offsets are left out.
"""

from __future__ import annotations

import copy
from typing import Any

from syncd.sandbox.a1 import Box
from syncd.sandbox.sheets_cells import effective_value, format_value
from syncd.sandbox.sheets_grid import Cell, Sheet, Spreadsheet, merged

DEFAULT_ROW_PIXELS, DEFAULT_COL_PIXELS = 21, 100


def cell_data(cell: Cell | None, default_format: dict[str, Any]) -> dict[str, Any]:
    """CellData as spreadsheets.get returns it (effective value and format included)."""
    if not cell:
        return {}
    out = dict(cell)
    entered = cell.get("userEnteredValue")
    fmt = cell.get("userEnteredFormat") or {}
    if entered:
        value = effective_value(entered)
        out["effectiveValue"] = value
        out["formattedValue"] = format_value(value, fmt.get("numberFormat"))
    if entered or fmt:
        out["effectiveFormat"] = merged(default_format, fmt)
    return out


def grid_data(sheet: Sheet, box: Box, default_format: dict[str, Any]) -> dict[str, Any]:
    """GridData for a clipped box: rowData trimmed like the values API, full dimension metadata."""
    assert box.end_row is not None and box.end_col is not None
    rows: list[dict[str, Any]] = []
    for r in range(box.start_row, box.end_row):
        cols = sheet.rows.get(r) or {}
        inside = [c for c in cols if box.start_col <= c < box.end_col]
        if not inside:
            rows.append({})
            continue
        values = [
            cell_data(cols.get(c), default_format) for c in range(box.start_col, max(inside) + 1)
        ]
        rows.append({"values": values})
    while rows and not rows[-1]:
        rows.pop()
    data: dict[str, Any] = {}
    if box.start_row:
        data["startRow"] = box.start_row
    if box.start_col:
        data["startColumn"] = box.start_col
    if rows:
        data["rowData"] = rows
    data["rowMetadata"] = [
        {"pixelSize": DEFAULT_ROW_PIXELS} | sheet.row_meta.get(r, {})
        for r in range(box.start_row, box.end_row)
    ]
    data["columnMetadata"] = [
        {"pixelSize": DEFAULT_COL_PIXELS} | sheet.col_meta.get(c, {})
        for c in range(box.start_col, box.end_col)
    ]
    return data


def sheet_json(
    ss: Spreadsheet, sheet: Sheet, boxes: list[Box] | None, include_grid: bool
) -> dict[str, Any]:
    """A Sheet resource; `data` only with includeGridData, one GridData per requested box."""
    out: dict[str, Any] = {"properties": copy.deepcopy(sheet.properties)}
    if include_grid and sheet.properties.get("sheetType", "GRID") == "GRID":
        wanted = boxes if boxes else [Box()]
        fmt = ss.properties["defaultFormat"]
        out["data"] = [grid_data(sheet, sheet.check_start(b), fmt) for b in wanted]
    for key, value in (
        ("merges", sheet.merges),
        ("conditionalFormats", sheet.conditional_formats),
        ("charts", sheet.charts),
        ("basicFilter", sheet.basic_filter),
        ("protectedRanges", sheet.protected_ranges),
        ("bandedRanges", sheet.banded_ranges),
        ("developerMetadata", sheet.developer_metadata),
    ):
        if value:  # proto3 JSON leaves out empty fields
            out[key] = copy.deepcopy(value)
    return out


def spreadsheet_json(
    ss: Spreadsheet, ranges: list[str] | None = None, include_grid: bool = False
) -> dict[str, Any]:
    """The Spreadsheet resource; with ranges, only the sheets they name (in sheet order)."""
    wanted: dict[int, list[Box]] = {}
    for text in ranges or []:
        sheet, parsed = ss.resolve(text)
        wanted.setdefault(sheet.sheet_id, []).append(parsed.box)
    sheets = [
        sheet_json(ss, s, wanted.get(s.sheet_id), include_grid)
        for s in ss.sheets
        if not ranges or s.sheet_id in wanted
    ]
    out: dict[str, Any] = {
        "spreadsheetId": ss.spreadsheet_id,
        "properties": copy.deepcopy(ss.properties),
        "sheets": sheets,
    }
    if ss.named_ranges:
        out["namedRanges"] = copy.deepcopy(ss.named_ranges)
    if ss.developer_metadata:
        out["developerMetadata"] = copy.deepcopy(ss.developer_metadata)
    out["spreadsheetUrl"] = f"https://docs.google.com/spreadsheets/d/{ss.spreadsheet_id}/edit"
    return out
