"""spreadsheets.batchUpdate requests that write cells: updateCells, repeatCell,
updateBorders, mergeCells/unmergeCells and sortRange.

Cells are replaced, never edited in place (see sheets_grid), and `fields` masks say which
parts of a cell a request sets: a masked field absent from the request is cleared.
"""

from __future__ import annotations

from typing import Any

from syncd.sandbox.a1 import Box
from syncd.sandbox.sheets_cells import SheetsError, check_length, effective_value
from syncd.sandbox.sheets_fields import apply_mask, request_mask
from syncd.sandbox.sheets_grid import Sheet, Spreadsheet

Body = dict[str, Any]
Reply = dict[str, Any] | None
READ_ONLY_CELL = ("effectiveValue", "formattedValue", "effectiveFormat", "hyperlink")


def _clean_cell(cell: Any, prefix: str) -> dict[str, Any]:
    """CellData as stored: read-only fields dropped, length checked."""
    if not isinstance(cell, dict):
        return {}
    out = {k: v for k, v in cell.items() if k not in READ_ONLY_CELL}
    entered = out.get("userEnteredValue") or {}
    for key in ("stringValue", "formulaValue"):
        if isinstance(entered.get(key), str):
            try:
                check_length(entered[key])
            except SheetsError as err:
                raise SheetsError(400, prefix + err.message) from None
    return out


def update_cells(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """updateCells from `start` (data must fit the grid) or over `range` (cells the rows do not
    cover get the masked fields cleared, as documented).
    """
    mask = request_mask(body, prefix)
    rows = [
        [_clean_cell(v, prefix) for v in (row or {}).get("values", [])]
        for row in body.get("rows") or []
    ]
    if ("start" in body) == ("range" in body):
        raise SheetsError(400, f"{prefix}Exactly one of start or range must be set.")
    if "start" in body:
        start = body["start"] or {}
        sheet = ss.by_id(start.get("sheetId", 0), prefix)
        r0, c0 = int(start.get("rowIndex", 0)), int(start.get("columnIndex", 0))
        end_row = r0 + max(len(rows), 1)
        end_col = c0 + max((len(r) for r in rows), default=1)
        if end_row > sheet.row_count or end_col > sheet.col_count:
            raise sheet.grid_error(Box(r0, c0, end_row, end_col), prefix)
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                sheet.put(r0 + i, c0 + j, apply_mask(sheet.get(r0 + i, c0 + j) or {}, value, mask))
        return None
    sheet, box = ss.grid_range(body["range"] or {}, prefix)
    box = sheet.check_start(box, prefix)
    assert box.end_row is not None and box.end_col is not None
    # Cells of the range not covered by `rows` get the masked fields cleared (reference docs).
    for r in range(box.start_row, box.end_row):
        row = rows[r - box.start_row] if r - box.start_row < len(rows) else []
        for c in range(box.start_col, box.end_col):
            value = row[c - box.start_col] if c - box.start_col < len(row) else {}
            old = sheet.get(r, c)
            if old or value:
                sheet.put(r, c, apply_mask(old or {}, value, mask))
    return None


def repeat_cell(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """repeatCell: one CellData under `fields` over every cell of the range."""
    mask = request_mask(body, prefix)
    value = _clean_cell(body.get("cell") or {}, prefix)
    sheet, box = ss.grid_range(body.get("range") or {}, prefix)
    box = sheet.check_start(box, prefix)
    assert box.end_row is not None and box.end_col is not None
    for r in range(box.start_row, box.end_row):
        for c in range(box.start_col, box.end_col):
            old = sheet.get(r, c)
            if old or value:
                sheet.put(r, c, apply_mask(old or {}, value, mask))
    return None


def update_borders(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """updateBorders: outer sides on the range's edge cells, inner sides between cells; a side not
    given is left as it is, style NONE removes it.
    """
    sheet, box = ss.grid_range(body.get("range") or {}, prefix)
    box = sheet.check_start(box, prefix)
    assert box.end_row is not None and box.end_col is not None
    last_row, last_col = box.end_row - 1, box.end_col - 1
    for r in range(box.start_row, box.end_row):
        for c in range(box.start_col, box.end_col):
            sides = {
                "top": body.get("top") if r == box.start_row else body.get("innerHorizontal"),
                "bottom": body.get("bottom") if r == last_row else body.get("innerHorizontal"),
                "left": body.get("left") if c == box.start_col else body.get("innerVertical"),
                "right": body.get("right") if c == last_col else body.get("innerVertical"),
            }
            old = sheet.get(r, c) or {}
            fmt = old.get("userEnteredFormat") or {}
            borders = dict(fmt.get("borders") or {})
            for side, border in sides.items():
                if border is None:
                    continue  # not given: this side keeps its border
                if border.get("style") == "NONE":
                    borders.pop(side, None)
                else:
                    borders[side] = border
            fmt = {k: v for k, v in fmt.items() if k != "borders"}
            if borders:
                fmt["borders"] = borders
            cell = {k: v for k, v in old.items() if k != "userEnteredFormat"}
            if fmt:
                cell["userEnteredFormat"] = fmt
            sheet.put(r, c, cell)
    return None


def merge_cells(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """mergeCells (MERGE_ALL, MERGE_COLUMNS, MERGE_ROWS): overlapping merges are replaced and only
    each merge's top-left value is kept, as in the UI.
    """
    sheet, box = ss.grid_range(body.get("range") or {}, prefix)
    box = sheet.check_start(box, prefix)
    assert box.end_row is not None and box.end_col is not None
    kind = body.get("mergeType", "MERGE_ALL")
    if kind == "MERGE_ALL":
        boxes = [box]
    elif kind == "MERGE_COLUMNS":
        boxes = [
            Box(box.start_row, c, box.end_row, c + 1) for c in range(box.start_col, box.end_col)
        ]
    elif kind == "MERGE_ROWS":
        boxes = [
            Box(r, box.start_col, r + 1, box.end_col) for r in range(box.start_row, box.end_row)
        ]
    else:
        raise SheetsError(400, f"{prefix}Invalid mergeType: {kind}")
    sheet.merges = [m for m in sheet.merges if not _overlaps(m, box)]
    for part in boxes:
        sheet.merges.append(_grid_range(sheet, part))
        for r, c, cell in list(sheet.cells_in(part)):
            if (r, c) != (part.start_row, part.start_col) and "userEnteredValue" in cell:
                rest = {k: v for k, v in cell.items() if k != "userEnteredValue"}
                sheet.put(r, c, rest)  # a merge keeps only the top-left value
    return None


def unmerge_cells(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """unmergeCells: every merge touching the range goes."""
    sheet, box = ss.grid_range(body.get("range") or {}, prefix)
    box = sheet.check_start(box, prefix)
    sheet.merges = [m for m in sheet.merges if not _overlaps(m, box)]
    return None


def _grid_range(sheet: Sheet, box: Box) -> dict[str, Any]:
    return {
        "sheetId": sheet.sheet_id,
        "startRowIndex": box.start_row,
        "endRowIndex": box.end_row,
        "startColumnIndex": box.start_col,
        "endColumnIndex": box.end_col,
    }


def _overlaps(grid_range: dict[str, Any], box: Box) -> bool:
    assert box.end_row is not None and box.end_col is not None
    return bool(
        grid_range.get("startRowIndex", 0) < box.end_row
        and box.start_row < grid_range.get("endRowIndex", box.end_row)
        and grid_range.get("startColumnIndex", 0) < box.end_col
        and box.start_col < grid_range.get("endColumnIndex", box.end_col)
    )


def sort_range(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """Sort the rows of a range (its columns only). Numbers sort before text before booleans;
    empty cells always go last, as in Sheets."""
    sheet, box = ss.grid_range(body.get("range") or {}, prefix)
    box = sheet.check_start(box, prefix)
    assert box.end_row is not None and box.end_col is not None
    cols = range(box.start_col, box.end_col)
    rows = [[sheet.get(r, c) for c in cols] for r in range(box.start_row, box.end_row)]
    for spec in reversed(body.get("sortSpecs") or [{"dimensionIndex": box.start_col}]):
        index = int(spec.get("dimensionIndex", 0)) - box.start_col
        descending = spec.get("sortOrder") == "DESCENDING"
        filled = [row for row in rows if _sort_key(row, index) is not None]
        empty = [row for row in rows if _sort_key(row, index) is None]
        filled.sort(key=lambda row: _sort_key(row, index) or (9, ""), reverse=descending)
        rows = filled + empty
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            sheet.put(box.start_row + i, box.start_col + j, cell)
    return None


def _sort_key(row: list[Any], index: int) -> tuple[int, Any] | None:
    cell = row[index] if 0 <= index < len(row) else None
    entered = (cell or {}).get("userEnteredValue")
    if not entered:
        return None
    value = effective_value(entered)
    if "numberValue" in value:
        return (0, value["numberValue"])
    if "stringValue" in value:
        return (1, value["stringValue"].casefold())
    if "boolValue" in value:
        return (2, value["boolValue"])
    return (3, "")


PASTE_TYPES = ("PASTE_NORMAL", "PASTE_VALUES", "PASTE_FORMAT", "PASTE_FORMULA")


def copy_paste(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """copyPaste (NORMAL orientation): the source's cells onto the destination, repeated when
    the destination spans a multiple of the source's height or width, and copied once, past
    the destination's end, when it is smaller. PASTE_NORMAL copies whole cells, PASTE_VALUES
    only the (computed) values, PASTE_FORMULA the values as entered, PASTE_FORMAT only the
    formats; other paste types are refused rather than emulated half-way."""
    kind = body.get("pasteType", "PASTE_NORMAL")
    if kind not in PASTE_TYPES:
        raise SheetsError(400, f"{prefix}The emulator does not paste {kind}.")
    if body.get("pasteOrientation", "NORMAL") != "NORMAL":
        raise SheetsError(400, f"{prefix}The emulator pastes in NORMAL orientation only.")
    source_sheet, source_box = ss.grid_range(body.get("source") or {}, prefix)
    source = source_sheet.check_start(source_box, prefix)
    target_sheet, target_box = ss.grid_range(body.get("destination") or {}, prefix)
    target = target_sheet.check_start(target_box, prefix)
    assert source.end_row is not None and source.end_col is not None
    assert target.end_row is not None and target.end_col is not None
    height, width = source.end_row - source.start_row, source.end_col - source.start_col
    span_rows, span_cols = target.end_row - target.start_row, target.end_col - target.start_col
    rows = span_rows if span_rows >= height and span_rows % height == 0 else height
    cols = span_cols if span_cols >= width and span_cols % width == 0 else width
    end_row, end_col = target.start_row + rows, target.start_col + cols
    if end_row > target_sheet.row_count or end_col > target_sheet.col_count:
        raise target_sheet.grid_error(
            Box(target.start_row, target.start_col, end_row, end_col), prefix
        )
    copied = {
        (r, c): dict(source_sheet.get(source.start_row + r, source.start_col + c) or {})
        for r in range(height)
        for c in range(width)
    }  # read before writing: source and destination may overlap
    for r in range(rows):
        for c in range(cols):
            cell = copied[(r % height, c % width)]
            old = target_sheet.get(target.start_row + r, target.start_col + c) or {}
            target_sheet.put(target.start_row + r, target.start_col + c, _pasted(cell, old, kind))
    return None


def _pasted(cell: dict[str, Any], old: dict[str, Any], kind: str) -> dict[str, Any]:
    if kind == "PASTE_NORMAL":
        return cell
    new = dict(old)
    if kind == "PASTE_FORMAT":
        parts = {"userEnteredFormat": cell.get("userEnteredFormat")}
    elif kind == "PASTE_VALUES" and cell.get("userEnteredValue"):
        parts = {"userEnteredValue": effective_value(cell["userEnteredValue"])}
    else:
        parts = {"userEnteredValue": cell.get("userEnteredValue")}
    for key, value in parts.items():
        if value:
            new[key] = value
        else:
            new.pop(key, None)
    return new
