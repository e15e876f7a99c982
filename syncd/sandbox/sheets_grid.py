"""The Sheets emulator's storage: spreadsheets, sheets and their sparse cells.

Each sheet keeps its grid size in `properties.gridProperties` and its cells in a sparse
`rows[row][col] -> cell` map, a cell being `{"userEnteredValue", "userEnteredFormat", ...}` as
CellData has them. Stored cells and the dicts inside them are never mutated in place (writers
build new ones), so `clone()` copies only the row maps: a batch works on a clone and the clone
replaces the original only if every request in it succeeded (batches are atomic).

Limits (Sheets API docs and the errors Google returns): a new sheet is 1,000 rows × 26
columns; a spreadsheet holds at most 10,000,000 cells; a sheet at most 18,278 columns.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator
from typing import Any

from syncd.sandbox.a1 import MAX_COLUMNS, A1Range, Box, format_range, parse_cells, split_title
from syncd.sandbox.sheets_cells import SheetsError

DEFAULT_ROWS, DEFAULT_COLS = 1000, 26
MAX_CELLS = 10_000_000
CELL_LIMIT = (
    "This action would increase the number of cells in the workbook above the limit of "
    "10000000 cells."
)
COLUMN_LIMIT = f"This action would increase the number of columns in the sheet above {MAX_COLUMNS}."
DEFAULT_FORMAT: dict[str, Any] = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}

Cell = dict[str, Any]


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep merge (over wins), e.g. the default format under a cell's own format."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


class Sheet:
    """One tab: properties, cells, dimension properties and the objects attached to it."""

    def __init__(self, properties: dict[str, Any]) -> None:
        self.properties = properties
        self.rows: dict[int, dict[int, Cell]] = {}
        self.row_meta: dict[int, dict[str, Any]] = {}  # DimensionProperties by row index
        self.col_meta: dict[int, dict[str, Any]] = {}
        self.merges: list[dict[str, Any]] = []
        self.conditional_formats: list[dict[str, Any]] = []
        self.charts: list[dict[str, Any]] = []
        self.basic_filter: dict[str, Any] | None = None
        self.protected_ranges: list[dict[str, Any]] = []
        self.banded_ranges: list[dict[str, Any]] = []
        self.developer_metadata: list[dict[str, Any]] = []  # located on the whole sheet

    @property
    def sheet_id(self) -> int:
        return int(self.properties["sheetId"])

    @property
    def title(self) -> str:
        return str(self.properties["title"])

    @property
    def row_count(self) -> int:
        # OBJECT sheets (a chart on its own sheet) have no grid
        return int(self.properties.get("gridProperties", {}).get("rowCount", 0))

    @property
    def col_count(self) -> int:
        return int(self.properties.get("gridProperties", {}).get("columnCount", 0))

    def clone(self) -> Sheet:
        """A copy sharing the (immutable) cells; everything else is copied."""
        other = Sheet(copy.deepcopy(self.properties))
        other.rows = {r: dict(cols) for r, cols in self.rows.items()}
        for name in ("row_meta", "col_meta", "merges", "conditional_formats", "charts"):
            setattr(other, name, copy.deepcopy(getattr(self, name)))
        other.basic_filter = copy.deepcopy(self.basic_filter)
        other.protected_ranges = copy.deepcopy(self.protected_ranges)
        other.banded_ranges = copy.deepcopy(self.banded_ranges)
        other.developer_metadata = copy.deepcopy(self.developer_metadata)
        return other

    def get(self, row: int, col: int) -> Cell | None:
        """The stored cell, or None."""
        cols = self.rows.get(row)
        return cols.get(col) if cols else None

    def put(self, row: int, col: int, cell: Cell | None) -> None:
        """Store a new cell dict (None or {} removes it)."""
        if cell:
            self.rows.setdefault(row, {})[col] = cell
            return
        cols = self.rows.get(row)
        if cols and col in cols:
            del cols[col]
            if not cols:
                del self.rows[row]

    def set_size(self, rows: int, cols: int) -> None:
        """Set the grid size, dropping cells that fall outside it."""
        grid = self.properties["gridProperties"]
        if rows < self.row_count or cols < self.col_count:
            for r in [r for r in self.rows if r >= rows]:
                del self.rows[r]
            for r, row in list(self.rows.items()):
                for c in [c for c in row if c >= cols]:
                    del row[c]
                if not row:
                    del self.rows[r]
        grid["rowCount"], grid["columnCount"] = rows, cols

    def value_rows(self) -> list[int]:
        """Indexes of the rows holding at least one value, ascending."""
        return sorted(
            r
            for r, cols in self.rows.items()
            if any(c.get("userEnteredValue") for c in cols.values())
        )

    def grid_error(self, box: Box, prefix: str = "") -> SheetsError:
        """Google's refusal of a range past the grid."""
        where = format_range(self.title, box, self.col_count)
        return SheetsError(
            400,
            f"{prefix}Range ({where}) exceeds grid limits. "
            f"Max rows: {self.row_count}, max columns: {self.col_count}",
        )

    def check_start(self, box: Box, prefix: str = "") -> Box:
        """Refuse a non-empty box starting past the grid; return it clipped to the grid.

        A range that starts inside the grid and ends past it is taken and clipped, as Google
        does for reads, clears and formatting requests.
        """
        empty = box.end_row == box.start_row or box.end_col == box.start_col
        if not empty and (box.start_row >= self.row_count or box.start_col >= self.col_count):
            raise self.grid_error(box, prefix)
        return box.clip(self.row_count, self.col_count)

    def insert_dimension(self, dimension: str, start: int, count: int) -> None:
        """Insert rows or columns before index `start`, shifting cells and ranges after it."""
        self.shift(dimension, lambda i: i + count if i >= start else i, drop=None)
        key = "rowCount" if dimension == "ROWS" else "columnCount"
        self.properties["gridProperties"][key] += count

    def delete_dimension(self, dimension: str, start: int, end: int) -> None:
        """Delete rows or columns [start, end), shifting what follows back."""
        count = end - start
        self.shift(
            dimension,
            lambda i: i if i <= start else (start if i <= end else i - count),
            (start, end),
        )
        key = "rowCount" if dimension == "ROWS" else "columnCount"
        self.properties["gridProperties"][key] -= count

    def shift(
        self, dimension: str, move: Callable[[int], int], drop: tuple[int, int] | None
    ) -> None:
        """Renumber rows or columns with `move`, dropping the indexes in `drop`."""

        def gone(i: int) -> bool:
            return drop is not None and drop[0] <= i < drop[1]

        if dimension == "ROWS":
            self.rows = {move(r): cols for r, cols in self.rows.items() if not gone(r)}
            self.row_meta = {move(r): m for r, m in self.row_meta.items() if not gone(r)}
        else:
            shifted = {}
            for r, cols in self.rows.items():
                row = {move(c): cell for c, cell in cols.items() if not gone(c)}
                if row:
                    shifted[r] = row
            self.rows = shifted
            self.col_meta = {move(c): m for c, m in self.col_meta.items() if not gone(c)}
        keys = ("Row", "rowIndex") if dimension == "ROWS" else ("Column", "columnIndex")
        for grid_range in self.attached_ranges():
            for edge in (f"start{keys[0]}Index", f"end{keys[0]}Index"):
                if edge in grid_range:
                    grid_range[edge] = move(int(grid_range[edge]))
        for chart in self.charts:
            anchor = chart.get("position", {}).get("overlayPosition", {}).get("anchorCell")
            if anchor and keys[1] in anchor:
                anchor[keys[1]] = move(int(anchor[keys[1]]))
        self.merges = [m for m in self.merges if not _empty_range(m)]
        self.protected_ranges = [
            p for p in self.protected_ranges if not _empty_range(p.get("range", {}))
        ]

    def attached_ranges(self) -> list[dict[str, Any]]:
        """Every stored GridRange on this sheet (merges, rules, filter, protections, bands)."""
        ranges = list(self.merges)
        for rule in self.conditional_formats:
            ranges.extend(rule.get("ranges", []))
        if self.basic_filter and "range" in self.basic_filter:
            ranges.append(self.basic_filter["range"])
        ranges.extend(p["range"] for p in self.protected_ranges if "range" in p)
        ranges.extend(b["range"] for b in self.banded_ranges if "range" in b)
        return ranges

    def cells_in(self, box: Box) -> Iterator[tuple[int, int, Cell]]:
        """Stored cells inside a (clipped) box."""
        assert box.end_row is not None and box.end_col is not None
        for r in sorted(r for r in self.rows if box.start_row <= r < box.end_row):
            cols = self.rows[r]
            for c in sorted(c for c in cols if box.start_col <= c < box.end_col):
                yield r, c, cols[c]


def _empty_range(grid_range: dict[str, Any]) -> bool:
    """True once a deletion has shrunk a range to no cells."""
    for axis in ("Row", "Column"):
        end = grid_range.get(f"end{axis}Index")
        if end is not None and end <= grid_range.get(f"start{axis}Index", 0):
            return True
    return False


class Spreadsheet:
    """A spreadsheet: properties, sheets in index order, named ranges."""

    def __init__(self, spreadsheet_id: str, title: str) -> None:
        self.spreadsheet_id = spreadsheet_id
        self.properties: dict[str, Any] = {
            "title": title,
            "locale": "en_US",
            "autoRecalc": "ON_CHANGE",
            "timeZone": "Etc/GMT",
            "defaultFormat": copy.deepcopy(DEFAULT_FORMAT),
        }
        self.sheets: list[Sheet] = []
        self.named_ranges: list[dict[str, Any]] = []
        self.developer_metadata: list[dict[str, Any]] = []  # located on the spreadsheet
        self.shared = True  # False: the service account was not given access (403)
        self.rng = random.Random(spreadsheet_id)  # sheet and object ids, reproducibly

    def clone(self) -> Spreadsheet:
        """A working copy for an atomic batch."""
        other = Spreadsheet.__new__(Spreadsheet)
        other.spreadsheet_id = self.spreadsheet_id
        other.properties = copy.deepcopy(self.properties)
        other.sheets = [s.clone() for s in self.sheets]
        other.named_ranges = copy.deepcopy(self.named_ranges)
        other.developer_metadata = copy.deepcopy(self.developer_metadata)
        other.shared = self.shared
        other.rng = self.rng
        return other

    def adopt(self, other: Spreadsheet) -> None:
        """Take over the state of a working copy (the commit of a batch)."""
        self.properties, self.sheets = other.properties, other.sheets
        self.named_ranges = other.named_ranges
        self.developer_metadata = other.developer_metadata

    def add_sheet(self, properties: dict[str, Any] | None = None) -> Sheet:
        """Append a sheet with Google's defaults for anything not given."""
        props = copy.deepcopy(properties or {})
        if "sheetId" not in props:
            props["sheetId"] = self.new_id()
        props.setdefault("title", self.free_title())
        props.setdefault("index", len(self.sheets))
        props.setdefault("sheetType", "GRID")
        if props["sheetType"] == "GRID":
            grid = {"rowCount": DEFAULT_ROWS, "columnCount": DEFAULT_COLS}
            props["gridProperties"] = grid | props.get("gridProperties", {})
        sheet = Sheet(props)
        index = min(max(int(props["index"]), 0), len(self.sheets))
        self.sheets.insert(index, sheet)
        self.reindex()
        return sheet

    def reindex(self) -> None:
        """Keep every sheet's `index` equal to its position."""
        for i, sheet in enumerate(self.sheets):
            sheet.properties["index"] = i

    def new_id(self) -> int:
        """A fresh positive id (Google's sheet and object ids are large random ints)."""
        used = {s.sheet_id for s in self.sheets}
        used |= {c["chartId"] for s in self.sheets for c in s.charts}
        while True:
            candidate = self.rng.randrange(1, 2**31 - 1)
            if candidate not in used:
                return candidate

    def free_title(self, stem: str = "Sheet") -> str:
        """A free default title: SheetN counting on from the number of sheets, as the UI
        numbers new sheets, or ChartN from 1 for a chart's own sheet."""
        n = len(self.sheets) + 1 if stem == "Sheet" else 1
        while self.find(f"{stem}{n}"):
            n += 1
        return f"{stem}{n}"

    def find(self, title: str) -> Sheet | None:
        """A sheet by title (exact first, then case-insensitively, as Sheets matches names)."""
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        folded = title.casefold()
        return next((s for s in self.sheets if s.title.casefold() == folded), None)

    def by_id(self, sheet_id: Any, prefix: str = "") -> Sheet:
        """A sheet by sheetId, or Google's "No grid with id" error."""
        for sheet in self.sheets:
            if sheet.sheet_id == int(sheet_id or 0):
                return sheet
        raise SheetsError(400, f"{prefix}No grid with id: {int(sheet_id or 0)}")

    def resolve(self, text: str, prefix: str = "") -> tuple[Sheet, A1Range]:
        """An A1 range to (sheet, parsed range); 400 "Unable to parse range" otherwise."""
        failure = SheetsError(400, f"{prefix}Unable to parse range: {text}")
        try:
            title, cells = split_title(text)
        except ValueError:
            raise failure from None
        if title is None and cells is not None:
            sheet = self.find(cells)  # a bare word is a sheet name before it is a cell
            if sheet is not None:
                return sheet, A1Range(sheet.title, Box())
            if not self.sheets:
                raise failure
            sheet = self.sheets[0]
        else:
            sheet = self.find(title or "")
            if sheet is None:
                raise failure
            if cells is None:
                return sheet, A1Range(sheet.title, Box())
        parsed = parse_cells(cells or "")
        if parsed is None:
            raise failure
        return sheet, A1Range(sheet.title, parsed[0], parsed[1])

    def grid_range(self, grid_range: dict[str, Any], prefix: str = "") -> tuple[Sheet, Box]:
        """A GridRange (0-based, end-exclusive, missing end = open) to (sheet, box)."""
        sheet = self.by_id(grid_range.get("sheetId", 0), prefix)
        end_row, end_col = grid_range.get("endRowIndex"), grid_range.get("endColumnIndex")
        box = Box(
            int(grid_range.get("startRowIndex", 0)),
            int(grid_range.get("startColumnIndex", 0)),
            None if end_row is None else int(end_row),
            None if end_col is None else int(end_col),
        )
        return sheet, box

    def total_cells(self) -> int:
        """Cells in every grid: what the 10,000,000-cell limit counts."""
        return sum(s.row_count * s.col_count for s in self.sheets)

    def check_limits(self, prefix: str = "") -> None:
        """Refuse a state past the workbook's cell limit or a sheet's column limit."""
        if self.total_cells() > MAX_CELLS:
            raise SheetsError(400, prefix + CELL_LIMIT)
        if any(s.col_count > MAX_COLUMNS for s in self.sheets):
            raise SheetsError(400, prefix + COLUMN_LIMIT)
