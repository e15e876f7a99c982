"""What one `spreadsheets.get` tells the sheet sink: the tabs, their grids, syncd's stamps,
and for the tabs syncd writes, the header row and the key column.

The response is parsed with a JSON object hook that turns each CellData into its text as it
is read, so a key column of 100,000 rows costs megabytes, not hundreds. A key cell's text is
its underlying value, not its displayed one: a manager may format the id column (1234 shown
as "1,234") and the row must still be found.

syncd marks each tab it formats with a developer metadata entry (key `syncd.format`, on the
whole sheet) whose value is a `Stamp`: the fingerprint of the formatting it applied, the
columns it owned, and the conditional rules and charts it added. The stamp says whether the
formatting is in place without reading any format, and which rules and charts are syncd's
when they must be replaced (a manager's own are never touched).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

STAMP_KEY = "syncd.format"
META_FIELDS = (
    "sheets(properties(sheetId,title,sheetType,gridProperties(rowCount,columnCount,"
    "frozenRowCount)),developerMetadata(metadataId,metadataKey,metadataValue),"
    "conditionalFormats(booleanRule(condition(type,values(userEnteredValue)))),"
    "charts(chartId,position(overlayPosition(anchorCell(rowIndex,columnIndex))),"
    "spec(basicChart(domains(domain(sourceRange(sources(endRowIndex))))))))"
)
DATA_FIELDS = META_FIELDS[:-1] + ",data(rowData(values(effectiveValue,formattedValue))))"


@dataclass
class Stamp:
    """What syncd applied to a tab the last time it formatted it."""

    metadata_id: int
    layout: str = ""  # fingerprint of the formatting
    columns: list[str] = field(default_factory=list)  # titles of syncd's columns, in order
    rules: list[str] = field(default_factory=list)  # signatures of syncd's conditional rules
    charts: list[int] = field(default_factory=list)  # ids of syncd's charts

    def value(self) -> str:
        """The metadata value that stores this stamp."""
        return json.dumps(
            {"layout": self.layout, "columns": self.columns, "rules": self.rules,
             "charts": self.charts},
            ensure_ascii=False,
            separators=(",", ":"),
        )  # fmt: skip

    @classmethod
    def parse(cls, metadata_id: int, text: str) -> Stamp:
        """A stamp from its metadata value; a damaged one reads as empty (formatting again
        is always safe)."""
        try:
            data = json.loads(text)
            return cls(
                metadata_id,
                str(data.get("layout", "")),
                [str(c) for c in data.get("columns", [])],
                [str(r) for r in data.get("rules", [])],
                [int(c) for c in data.get("charts", [])],
            )
        except (ValueError, TypeError, AttributeError):
            return cls(metadata_id)


@dataclass
class Tab:
    """One sheet of the spreadsheet as read."""

    title: str
    sheet_id: int
    grid: bool = True  # False for a chart on a sheet of its own
    rows: int = 0
    columns: int = 0
    frozen_rows: int = 0
    stamp: Stamp | None = None
    rules: list[str] = field(default_factory=list)  # signature of each conditional rule
    # chart id -> (anchor row, anchor column, end row of its domain range); -1 when unknown
    charts: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    # Read only for the tabs syncd writes:
    header: list[str] = field(default_factory=list)
    keys: dict[str, int] = field(default_factory=dict)  # key cell text -> 0-based row
    last_row: int = 0  # 0-based index of the last non-empty key cell (0: header only)
    extra: list[dict[int, str]] = field(default_factory=list)  # more columns: row -> text

    @property
    def cells(self) -> int:
        """Cells in the grid: what the spreadsheet's 10,000,000-cell limit counts."""
        return self.rows * self.columns


@dataclass
class Book:
    """The spreadsheet as read: tabs by title."""

    tabs: dict[str, Tab] = field(default_factory=dict)
    complete: bool = False  # every sheet was read (the cell count is the spreadsheet's)

    @property
    def cells(self) -> int:
        """Cells in the grids read."""
        return sum(t.cells for t in self.tabs.values())

    def find(self, title: str) -> Tab | None:
        """A tab by title; Sheets titles are unique regardless of case ("tickets" is the
        Tickets tab, and another "Tickets" cannot be added)."""
        found = self.tabs.get(title)
        if found is None:
            folded = title.casefold()
            found = next((t for t in self.tabs.values() if t.title.casefold() == folded), None)
        return found


def row_layout(columns: Sequence[tuple[str, str]], timezone: str) -> str:
    """What decides how a Tickets row is laid out: the columns (key and title, in order) and
    the timezone its moments are written in. When it changes, the rows written before must be
    written again (the sheet sink names them after its next read: `SheetsSink.stale_rows`)."""
    text = json.dumps([timezone, [list(c) for c in columns]], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def header_differs(tab: Tab, columns: Sequence[str]) -> bool:
    """Whether a tab holding rows has a header other than `columns` (its rows were written in
    another layout)."""
    return bool(tab.last_row > 0 and tab.header and tab.header[: len(columns)] != list(columns))


def rule_signature(rule: dict[str, Any]) -> str:
    """A conditional rule by its condition (type and values), which Google keeps as sent."""
    condition = (rule.get("booleanRule") or {}).get("condition") or {}
    values = [str(v.get("userEnteredValue", "")) for v in condition.get("values") or []]
    return "|".join([str(condition.get("type", "")), *values])


def parse_book(content: bytes, wanted: dict[str, list[str]], complete: bool) -> Book:
    """The Book of a spreadsheets.get response. `wanted`: for each tab read with grid data,
    what its ranges were, in request order: "header", "keys" or "extra"."""
    meta = json.loads(content, object_hook=_compact)
    book = Book(complete=complete)
    for sheet in meta.get("sheets", []):
        props = sheet.get("properties", {})
        grid = props.get("gridProperties", {})
        tab = Tab(
            title=str(props.get("title", "")),
            sheet_id=int(props.get("sheetId", 0)),
            grid=props.get("sheetType", "GRID") == "GRID",
            rows=int(grid.get("rowCount", 0)),
            columns=int(grid.get("columnCount", 0)),
            frozen_rows=int(grid.get("frozenRowCount", 0)),
            rules=[rule_signature(r) for r in sheet.get("conditionalFormats", [])],
            charts={
                int(c["chartId"]): _anchor(c) for c in sheet.get("charts", []) if "chartId" in c
            },
        )
        for metadata in sheet.get("developerMetadata", []):
            if metadata.get("metadataKey") == STAMP_KEY:
                tab.stamp = Stamp.parse(
                    int(metadata["metadataId"]), metadata.get("metadataValue", "")
                )
        for role, data in zip(wanted.get(tab.title, []), sheet.get("data", []), strict=False):
            if role == "keys":
                _index_keys(tab, data.get("rowData", []))
                continue
            cells = _texts(data)
            if role == "header":
                tab.header = cells[0] if cells else []
            else:
                tab.extra.append({r: row[0] for r, row in enumerate(cells) if row and row[0] != ""})
        book.tabs[tab.title] = tab
    return book


def _anchor(chart: dict[str, Any]) -> tuple[int, int, int]:
    """Where a chart's top-left corner sits (-1, -1 for a chart on a sheet of its own), and
    where its domain's range ends (-1 when it has none)."""
    anchor = (chart.get("position") or {}).get("overlayPosition", {}).get("anchorCell")
    row, column = (
        (-1, -1) if anchor is None else (anchor.get("rowIndex", 0), anchor.get("columnIndex", 0))
    )
    domains = ((chart.get("spec") or {}).get("basicChart") or {}).get("domains") or [{}]
    sources = domains[0].get("domain", {}).get("sourceRange", {}).get("sources") or [{}]
    return int(row), int(column), int(sources[0].get("endRowIndex", -1))


def _index_keys(tab: Tab, rows: list[Any]) -> None:
    """The key column's rows (RowData read through `_compact`) into `tab.keys` and
    `tab.last_row`; written out for a column of 100,000 keys read every batch."""
    keys = tab.keys
    for index, row in enumerate(rows):
        key = row[0] if row.__class__ is list and row else ""
        if not key or key.__class__ is not str:
            continue
        tab.last_row = index
        if index > 0:
            keys.setdefault(key, index)  # a duplicated id: the first row is syncd's


def _compact(node: dict[str, Any]) -> Any:
    """JSON object hook: a CellData becomes its text, a RowData the list of its cells' texts
    (other objects stay as they are). Called for every object of a read that holds a key
    column of up to 100,000 rows a batch, hence the fast path for a text cell."""
    if "effectiveValue" in node or "formattedValue" in node:
        value = node.get("effectiveValue")
        if value.__class__ is dict and len(value) == 1 and "stringValue" in value:
            return str(value["stringValue"])
        return cell_text(node)
    if len(node) == 1 and node.get("values").__class__ is list:
        return node["values"]
    return node


def _texts(data: dict[str, Any]) -> list[list[str]]:
    """Cell texts of one GridData read through `_compact` (ranges here start at row 0)."""
    return [[c if isinstance(c, str) else "" for c in row] for row in data.get("rowData", [])]


def cell_text(cell: dict[str, Any]) -> str:
    """The underlying value of a cell as text ("1234" for 1234.0)."""
    value = cell.get("effectiveValue") or {}
    if "numberValue" in value:
        number = value["numberValue"]
        return str(int(number)) if float(number).is_integer() else repr(float(number))
    if "stringValue" in value:
        return str(value["stringValue"])
    if "boolValue" in value:
        return "TRUE" if value["boolValue"] else "FALSE"
    return str(cell.get("formattedValue", ""))
