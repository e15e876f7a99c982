"""The spreadsheets.values methods of the Sheets emulator, as functions over a Spreadsheet.

Behaviour taken from the Sheets API v4 reference and from the errors Google is seen to return:
- Reads clip the range to the grid; a range starting past the grid is refused with
  "Range (...) exceeds grid limits. Max rows: N, max columns: M". Trailing empty rows and
  cells are left out; a range with no values has no `values` field.
- Writes: a single cell ("A1") is an origin and the data may run right and down from it; a
  multi-cell range bounds the data. Data running past the bound, or past the grid, is refused
  with "Requested writing within range [<range as sent>], but tried writing to row [N]" (or
  "column [X]"); a range starting past the grid with "Range (...) exceeds grid limits".
  update and batchUpdate never grow the grid.
- append finds the table: the last block of consecutive rows holding values in the range's
  columns; the data goes in the row after it, from the table's first column. OVERWRITE grows
  the grid when the data runs past it ("adding data to the end of the sheet will still insert
  new rows or columns"), INSERT_ROWS inserts rows for the data.
"""

from __future__ import annotations

from typing import Any

from syncd.sandbox.a1 import Box, col_letters, format_range
from syncd.sandbox.sheets_cells import MAX_CELL_CHARS, SheetsError, input_value, render
from syncd.sandbox.sheets_grid import Sheet, Spreadsheet

RENDER_OPTIONS = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
DATE_OPTIONS = ("SERIAL_NUMBER", "FORMATTED_STRING")
INPUT_OPTIONS = ("RAW", "USER_ENTERED")
DIMENSIONS = ("ROWS", "COLUMNS")
INSERT_OPTIONS = ("OVERWRITE", "INSERT_ROWS")


def enum(value: str | None, allowed: tuple[str, ...], field: str, type_name: str) -> str:
    """Validate an enum parameter; the first allowed value is the default."""
    if value is None or value == "":
        return allowed[0]
    if value not in allowed:
        raise SheetsError(
            400,
            f"Invalid value at '{field}' "
            f'(type.googleapis.com/google.apps.sheets.v4.{type_name}), "{value}"',
        )
    return value


def input_option(value: str | None, where: str = "query") -> str:
    """valueInputOption is required by every write."""
    if not value:
        if where == "body":
            raise SheetsError(400, "Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
        raise SheetsError(400, "'valueInputOption' is required but not specified")
    return enum(value, INPUT_OPTIONS, "value_input_option", "ValueInputOption")


def read_range(
    ss: Spreadsheet,
    text: str,
    major: str = "ROWS",
    option: str = "FORMATTED_VALUE",
    date_option: str = "SERIAL_NUMBER",
    prefix: str = "",
) -> dict[str, Any]:
    """A ValueRange for values.get / batchGet."""
    sheet, parsed = ss.resolve(text, prefix)
    box = sheet.check_start(parsed.box, prefix)
    matrix = read_matrix(sheet, box, option, date_option)
    if major == "COLUMNS":
        width = max((len(row) for row in matrix), default=0)
        padded = [row + [""] * (width - len(row)) for row in matrix]
        matrix = [_trim(list(col)) for col in zip(*padded, strict=True)] if padded else []
        while matrix and not matrix[-1]:
            matrix.pop()
    out: dict[str, Any] = {"range": format_range(sheet.title, box), "majorDimension": major}
    if matrix:
        out["values"] = matrix
    return out


def read_matrix(sheet: Sheet, box: Box, option: str, date_option: str) -> list[list[Any]]:
    """Rendered rows of a clipped box, trailing empty cells and rows trimmed."""
    assert box.end_row is not None and box.end_col is not None
    rows = sorted(r for r in sheet.rows if box.start_row <= r < box.end_row)
    matrix: list[list[Any]] = []
    for r in rows:
        cols = sheet.rows[r]
        inside = [c for c in cols if box.start_col <= c < box.end_col]
        if not inside:
            continue
        values = [
            render(cols.get(c), option, date_option) for c in range(box.start_col, max(inside) + 1)
        ]
        values = _trim(values)
        if values:
            matrix.extend([] for _ in range(r - box.start_row - len(matrix)))
            matrix.append(values)
    return matrix


def _trim(values: list[Any]) -> list[Any]:
    while values and values[-1] == "":
        values.pop()
    return values


def _as_rows(values: Any, major: str) -> list[list[Any]]:
    """The request's values as rows (transposing a COLUMNS-major body)."""
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(v, list) for v in values):
        raise SheetsError(
            400, "Invalid value at 'data.values' (type.googleapis.com/google.protobuf.ListValue)"
        )
    if major != "COLUMNS":
        return values
    height = max((len(col) for col in values), default=0)
    return [[col[i] if i < len(col) else None for col in values] for i in range(height)]


def write_range(
    ss: Spreadsheet, text: str, values: Any, major: str, option: str, prefix: str = ""
) -> tuple[dict[str, Any], Sheet]:
    """values.update of one range: an UpdateValuesResponse (without spreadsheetId)."""
    sheet, parsed = ss.resolve(text, prefix)
    rows = _as_rows(values, major)
    box = parsed.box
    if box.start_row >= sheet.row_count or box.start_col >= sheet.col_count:
        raise sheet.grid_error(box, prefix)
    if not parsed.single_cell and (
        (box.end_row or 0) > sheet.row_count or (box.end_col or 0) > sheet.col_count
    ):
        raise sheet.grid_error(box, prefix)
    height = len(rows)
    width = max((len(row) for row in rows), default=0)
    last_row, last_col = box.start_row + height - 1, box.start_col + width - 1
    row_limit = sheet.row_count if parsed.single_cell or box.end_row is None else box.end_row
    col_limit = sheet.col_count if parsed.single_cell or box.end_col is None else box.end_col
    beyond = f"{prefix}Requested writing within range [{text}], but tried writing to"
    if height and last_row >= row_limit:
        raise SheetsError(400, f"{beyond} row [{last_row + 1}]")
    if width and last_col >= col_limit:
        raise SheetsError(400, f"{beyond} column [{col_letters(last_col)}]")
    counts = write_cells(sheet, box.start_row, box.start_col, rows, option, prefix)
    if width and height:
        written = Box(box.start_row, box.start_col, last_row + 1, last_col + 1)
    else:
        written = box.clip(sheet.row_count, sheet.col_count)
    return update_response(sheet, written, counts), sheet


def write_cells(
    sheet: Sheet, row0: int, col0: int, rows: list[list[Any]], option: str, prefix: str = ""
) -> tuple[int, int, int]:
    """Store values from (row0, col0); returns (rows, columns, cells) actually written."""
    touched_rows = touched_cells = 0
    touched_cols: set[int] = set()
    raw = option == "RAW"
    for i, row in enumerate(rows):
        r = row0 + i
        cols = sheet.rows.get(r) or {}
        before = touched_cells
        for j, value in enumerate(row):
            if value is None:
                continue  # null: leave the cell as it is
            if raw and type(value) is str and 0 < len(value) <= MAX_CELL_CHARS:
                entered, number_format = {"stringValue": value}, None  # the common case, inlined
            else:
                try:
                    parsed = input_value(value, option)
                except SheetsError as err:
                    raise SheetsError(err.status, prefix + err.message) from None
                if parsed is None:
                    continue
                entered, number_format = parsed
            c = col0 + j
            old = cols.get(c)
            cell = dict(old) if old else {}
            if entered:
                cell["userEnteredValue"] = entered
            else:
                cell.pop("userEnteredValue", None)
            if number_format:
                fmt = cell.get("userEnteredFormat") or {}
                if "numberFormat" not in fmt:  # the UI only picks a format for a plain cell
                    cell["userEnteredFormat"] = fmt | {"numberFormat": number_format}
            if cell:
                cols[c] = cell
            else:
                cols.pop(c, None)
            touched_cells += 1
            touched_cols.add(c)
        if cols:
            sheet.rows[r] = cols
        else:
            sheet.rows.pop(r, None)
        touched_rows += touched_cells > before
    return touched_rows, len(touched_cols), touched_cells


def update_response(sheet: Sheet, written: Box, counts: tuple[int, int, int]) -> dict[str, Any]:
    """UpdateValuesResponse fields; zero counts are left out as proto3 JSON does."""
    out: dict[str, Any] = {"updatedRange": format_range(sheet.title, written)}
    for key, count in zip(("updatedRows", "updatedColumns", "updatedCells"), counts, strict=True):
        if count:
            out[key] = count
    return out


def append(
    ss: Spreadsheet, text: str, values: Any, major: str, option: str, insert: str
) -> tuple[dict[str, Any], Sheet]:
    """values.append: {"tableRange"?, "updates"} (without spreadsheetId)."""
    sheet, parsed = ss.resolve(text)
    search = sheet.check_start(parsed.box)
    assert search.end_row is not None and search.end_col is not None
    filled = [
        r
        for r in sheet.value_rows()
        if search.start_row <= r < search.end_row
        and any(
            search.start_col <= c < search.end_col and cell.get("userEnteredValue")
            for c, cell in sheet.rows[r].items()
        )
    ]
    out: dict[str, Any] = {}
    row0, col0 = search.start_row, search.start_col
    if filled:
        last = first = filled[-1]
        present = set(filled)
        while first - 1 in present:
            first -= 1
        cols = [
            c
            for r in range(first, last + 1)
            for c, cell in sheet.rows[r].items()
            if search.start_col <= c < search.end_col and cell.get("userEnteredValue")
        ]
        table = Box(first, min(cols), last + 1, max(cols) + 1)
        out["tableRange"] = format_range(sheet.title, table)
        row0, col0 = last + 1, min(cols)
    rows = _as_rows(values, major)
    height, width = len(rows), max((len(row) for row in rows), default=0)
    if insert == "INSERT_ROWS" and height:
        sheet.insert_dimension("ROWS", min(row0, sheet.row_count), height)
    rows_needed, cols_needed = row0 + height, col0 + width
    if rows_needed > sheet.row_count or cols_needed > sheet.col_count:
        sheet.set_size(max(rows_needed, sheet.row_count), max(cols_needed, sheet.col_count))
    ss.check_limits()
    counts = write_cells(sheet, row0, col0, rows, option)
    written = Box(row0, col0, row0 + max(height, 1), col0 + max(width, 1))
    out["updates"] = {"spreadsheetId": ss.spreadsheet_id} | update_response(sheet, written, counts)
    return out, sheet


def clear(ss: Spreadsheet, text: str, prefix: str = "") -> str:
    """values.clear: remove values (formats stay); returns the clearedRange."""
    sheet, parsed = ss.resolve(text, prefix)
    box = sheet.check_start(parsed.box, prefix)
    for r, c, cell in list(sheet.cells_in(box)):
        if "userEnteredValue" in cell:
            rest = {k: v for k, v in cell.items() if k != "userEnteredValue"}
            sheet.put(r, c, rest or None)
    return format_range(sheet.title, box)
