"""spreadsheets.batchUpdate requests for the Sheets emulator.

Per the reference: requests apply in order, "if any request is not valid then the entire
request will fail and nothing will be applied", and replies mirror the requests (`{}` for a
request without a reply). The caller runs `apply_batch` on a clone and keeps it only on
success. Errors carry Google's prefix, e.g. "Invalid requests[2].repeatCell: Range (...)
exceeds grid limits. Max rows: 1000, max columns: 26".

Everything a request carries (formats, charts, rules, filters, dimension properties) is stored
as sent, so it can be read back through spreadsheets.get or the emulator's Python API. This
module has the sheet and dimension requests; cell, object and developer-metadata requests live
in sheets_batch_cells, sheets_batch_objects and sheets_metadata.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from syncd.sandbox import sheets_batch_cells as cells
from syncd.sandbox import sheets_batch_objects as objects
from syncd.sandbox import sheets_metadata as metadata
from syncd.sandbox.a1 import Box
from syncd.sandbox.sheets_cells import SheetsError, effective_value, format_value
from syncd.sandbox.sheets_fields import apply_mask, request_mask
from syncd.sandbox.sheets_grid import Sheet, Spreadsheet

Body = dict[str, Any]
Reply = dict[str, Any] | None


def apply_batch(ss: Spreadsheet, requests: Any) -> list[dict[str, Any]]:
    """Apply every request to ss (a working copy) and return the replies."""
    if not isinstance(requests, list):
        raise SheetsError(400, "Invalid JSON payload received. 'requests' must be a list.")
    replies = []
    for i, request in enumerate(requests):
        if not isinstance(request, dict) or len(request) != 1:
            raise SheetsError(400, f"Invalid requests[{i}]: exactly one request kind must be set.")
        kind, body = next(iter(request.items()))
        handler = HANDLERS.get(kind)
        if handler is None:
            raise SheetsError(
                400,
                f"Invalid JSON payload received. Unknown name \"{kind}\" at 'requests[{i}]': "
                "Cannot find field.",
            )
        reply = handler(ss, body or {}, f"Invalid requests[{i}].{kind}: ")
        replies.append({kind: reply} if reply is not None else {})
    return replies


def _dimension_range(ss: Spreadsheet, rng: Body, prefix: str) -> tuple[Sheet, str, int, int]:
    """A DimensionRange as (sheet, ROWS|COLUMNS, start, end), end defaulting to the grid edge."""
    sheet = ss.by_id(rng.get("sheetId", 0), prefix)
    dimension = rng.get("dimension")
    if dimension not in ("ROWS", "COLUMNS"):
        raise SheetsError(400, f"{prefix}range.dimension must be ROWS or COLUMNS.")
    count = sheet.row_count if dimension == "ROWS" else sheet.col_count
    start = int(rng.get("startIndex", 0))
    end = int(rng.get("endIndex", count))
    if start < 0 or end < start:
        raise SheetsError(400, f"{prefix}Invalid dimension range [{start}, {end}).")
    return sheet, dimension, start, end


def _dimension_box(dimension: str, start: int, end: int) -> Box:
    return Box(start, 0, end, None) if dimension == "ROWS" else Box(0, start, None, end)


# --- sheets ---------------------------------------------------------------------------


def add_sheet(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """addSheet: Google's defaults for what is not given (a random sheetId, the next free SheetN
    title, 1000 × 26); a taken title or id is refused.
    """
    props = copy.deepcopy(body.get("properties") or {})
    title = props.get("title")
    if title is not None and ss.find(title):
        raise SheetsError(
            400,
            f'{prefix}A sheet with the name "{title}" already exists. Please enter another name.',
        )
    if "sheetId" in props and any(s.sheet_id == int(props["sheetId"]) for s in ss.sheets):
        raise SheetsError(400, f"{prefix}A sheet with id {props['sheetId']} already exists.")
    grid = props.get("gridProperties", {})
    if grid.get("rowCount", 1) < 1 or grid.get("columnCount", 1) < 1:
        raise SheetsError(400, f"{prefix}A sheet needs at least one row and one column.")
    sheet = ss.add_sheet(props)
    ss.check_limits(prefix)
    return {"properties": copy.deepcopy(sheet.properties)}


def delete_sheet(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """deleteSheet: the last sheet of a spreadsheet cannot go."""
    sheet = ss.by_id(body.get("sheetId", 0), prefix)
    if len(ss.sheets) == 1:
        raise SheetsError(400, f"{prefix}You can't remove all the sheets in a document.")
    ss.sheets.remove(sheet)
    ss.reindex()
    return None


def update_sheet_properties(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """updateSheetProperties under its `fields` mask (title, index, gridProperties.*, hidden,
    tabColor...); a smaller grid drops the cells outside it.
    """
    props = body.get("properties") or {}
    mask = request_mask(body, prefix)
    sheet = ss.by_id(props.get("sheetId", 0), prefix)
    if "*" in mask:
        mask = {k: {} for k in props if k not in ("sheetId", "sheetType")}
    mask = {k: v for k, v in mask.items() if k not in ("sheetId", "sheetType")}
    new = apply_mask(sheet.properties, props, mask)
    title = new.get("title")
    if not title:
        raise SheetsError(400, f"{prefix}The sheet name cannot be empty.")
    if any(s is not sheet and s.title.casefold() == title.casefold() for s in ss.sheets):
        raise SheetsError(
            400,
            f'{prefix}A sheet with the name "{title}" already exists. Please enter another name.',
        )
    if sheet.properties.get("sheetType", "GRID") == "GRID":
        grid = {
            "rowCount": sheet.row_count,
            "columnCount": sheet.col_count,
        } | new.get("gridProperties", {})
        rows, cols = int(grid["rowCount"]), int(grid["columnCount"])
        if rows < 1 or cols < 1:
            raise SheetsError(400, f"{prefix}A sheet needs at least one row and one column.")
        if grid.get("frozenRowCount", 0) >= rows:
            raise SheetsError(400, f"{prefix}You can't freeze all visible rows on the sheet.")
        if grid.get("frozenColumnCount", 0) >= cols:
            raise SheetsError(400, f"{prefix}You can't freeze all visible columns on the sheet.")
        sheet.set_size(rows, cols)  # drops cells outside a smaller grid
        new["gridProperties"] = grid
    sheet.properties = new
    if "index" in mask:
        ss.sheets.remove(sheet)
        ss.sheets.insert(min(max(int(new.get("index", 0)), 0), len(ss.sheets)), sheet)
        ss.reindex()
    if all(s.properties.get("hidden") for s in ss.sheets):
        raise SheetsError(400, f"{prefix}You can't hide all the sheets in a document.")
    ss.check_limits(prefix)
    return None


def update_spreadsheet_properties(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """updateSpreadsheetProperties under its `fields` mask (title, locale, timeZone...)."""
    ss.properties = apply_mask(
        ss.properties, body.get("properties") or {}, request_mask(body, prefix)
    )
    return None


# --- dimensions -----------------------------------------------------------------------


def append_dimension(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """appendDimension: `length` more rows or columns at the end."""
    sheet = ss.by_id(body.get("sheetId", 0), prefix)
    length = int(body.get("length", 0))
    if length < 1:
        raise SheetsError(400, f"{prefix}length must be greater than zero.")
    if body.get("dimension") == "ROWS":
        sheet.set_size(sheet.row_count + length, sheet.col_count)
    elif body.get("dimension") == "COLUMNS":
        sheet.set_size(sheet.row_count, sheet.col_count + length)
    else:
        raise SheetsError(400, f"{prefix}dimension must be ROWS or COLUMNS.")
    ss.check_limits(prefix)
    return None


def insert_dimension(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """insertDimension: rows or columns inserted before startIndex; they take the formats of the
    row/column before (inheritFromBefore) or after.
    """
    sheet, dimension, start, end = _dimension_range(ss, body.get("range") or {}, prefix)
    count = sheet.row_count if dimension == "ROWS" else sheet.col_count
    if start > count:
        raise sheet.grid_error(_dimension_box(dimension, start, end), prefix)
    inherit = bool(body.get("inheritFromBefore"))
    if inherit and start == 0:
        raise SheetsError(400, f"{prefix}Cannot inherit properties from before the first row.")
    if end == start:
        return None
    sheet.insert_dimension(dimension, start, end - start)
    source = start - 1 if inherit else end  # new rows/columns take this one's formats
    for index in range(start, end):
        _copy_formats(sheet, dimension, source, index)
    ss.check_limits(prefix)
    return None


def _copy_formats(sheet: Sheet, dimension: str, source: int, target: int) -> None:
    if dimension == "ROWS":
        for c, cell in (sheet.rows.get(source) or {}).items():
            if "userEnteredFormat" in cell:
                sheet.put(target, c, {"userEnteredFormat": cell["userEnteredFormat"]})
    else:
        for r, cols in list(sheet.rows.items()):
            found = cols.get(source)
            if found and "userEnteredFormat" in found:
                sheet.put(r, target, {"userEnteredFormat": found["userEnteredFormat"]})


def delete_dimension(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """deleteDimension: removes [startIndex, endIndex); every row or column cannot go."""
    sheet, dimension, start, end = _dimension_range(ss, body.get("range") or {}, prefix)
    count = sheet.row_count if dimension == "ROWS" else sheet.col_count
    if start >= count and end > start:
        raise sheet.grid_error(_dimension_box(dimension, start, end), prefix)
    end = min(end, count)
    if start == 0 and end == count:
        noun = "rows" if dimension == "ROWS" else "columns"
        raise SheetsError(400, f"{prefix}You can't delete all the {noun} on the sheet.")
    if end > start:
        sheet.delete_dimension(dimension, start, end)
    return None


def update_dimension_properties(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """updateDimensionProperties: DimensionProperties (pixelSize, hiddenByUser...) per index, under
    `fields`.
    """
    sheet, dimension, start, end = _dimension_range(ss, body.get("range") or {}, prefix)
    count = sheet.row_count if dimension == "ROWS" else sheet.col_count
    if start >= count and end > start:
        raise sheet.grid_error(_dimension_box(dimension, start, end), prefix)
    mask, props = request_mask(body, prefix), body.get("properties") or {}
    meta = sheet.row_meta if dimension == "ROWS" else sheet.col_meta
    for index in range(start, min(end, count)):
        meta[index] = apply_mask(meta.get(index, {}), props, mask)
    return None


def auto_resize_dimensions(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """Size columns to their longest text (≈7 px a character) and rows to one line (21 px)."""
    sheet, dimension, start, end = _dimension_range(ss, body.get("dimensions") or {}, prefix)
    count = sheet.row_count if dimension == "ROWS" else sheet.col_count
    for index in range(start, min(end, count)):
        if dimension == "ROWS":
            sheet.row_meta[index] = sheet.row_meta.get(index, {}) | {"pixelSize": 21}
            continue
        texts = [
            format_value(effective_value(cell["userEnteredValue"]), None)
            for cols in sheet.rows.values()
            if (cell := cols.get(index)) and cell.get("userEnteredValue")
        ]
        if texts:
            width = max(len(t) for t in texts) * 7 + 10
            sheet.col_meta[index] = sheet.col_meta.get(index, {}) | {"pixelSize": width}
    return None


HANDLERS: dict[str, Callable[[Spreadsheet, Body, str], Reply]] = {
    "addSheet": add_sheet,
    "deleteSheet": delete_sheet,
    "updateSheetProperties": update_sheet_properties,
    "updateSpreadsheetProperties": update_spreadsheet_properties,
    "appendDimension": append_dimension,
    "insertDimension": insert_dimension,
    "deleteDimension": delete_dimension,
    "updateDimensionProperties": update_dimension_properties,
    "autoResizeDimensions": auto_resize_dimensions,
    "updateCells": cells.update_cells,
    "repeatCell": cells.repeat_cell,
    "updateBorders": cells.update_borders,
    "mergeCells": cells.merge_cells,
    "unmergeCells": cells.unmerge_cells,
    "sortRange": cells.sort_range,
    "copyPaste": cells.copy_paste,
    "setBasicFilter": objects.set_basic_filter,
    "clearBasicFilter": objects.clear_basic_filter,
    "addConditionalFormatRule": objects.add_conditional_format_rule,
    "updateConditionalFormatRule": objects.update_conditional_format_rule,
    "deleteConditionalFormatRule": objects.delete_conditional_format_rule,
    "addProtectedRange": objects.add_protected_range,
    "deleteProtectedRange": objects.delete_protected_range,
    "addBanding": objects.add_banding,
    "addChart": objects.add_chart,
    "updateChartSpec": objects.update_chart_spec,
    "updateEmbeddedObjectPosition": objects.update_embedded_object_position,
    "deleteEmbeddedObject": objects.delete_embedded_object,
    "createDeveloperMetadata": metadata.create_developer_metadata,
    "updateDeveloperMetadata": metadata.update_developer_metadata,
    "deleteDeveloperMetadata": metadata.delete_developer_metadata,
}
