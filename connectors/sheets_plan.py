"""One cycle's write to the sheet, planned from what was read.

What changes the tabs goes in one `:batchUpdate` (`Plan.requests`), only when needed:
creating a tab, making room (rows, columns), formatting it when its stamp says the formatting
is missing or out of date (sheets_format), the archive (rows of tickets finished before the
cutoff copied, whole rows with a manager's columns, to the end of their year's
"Archive <year>" tab) and row deletions, last and bottom-up, each shifting only rows already
handled (gone tickets' rows with `gone_tickets: remove`, and the archived rows).

The cells (`Plan.cells`) are placed where the rows are once those deletions are done: Tickets
rows found by id (a manager may sort or filter) or appended, report tabs rewritten whole and
the rows a longer table left cleared. They are written RAW: a text is stored as the text it
is, so no subject ever becomes a formula, a number or a date; numbers and dates (serial
numbers) are JSON numbers. They are sent either as `updateCells` at the end of the batch
(typed CellData, equally raw) when the batch is sent anyway and stays small, or as one
`values:batchUpdate` with valueInputOption RAW, the compact form (10,000 full rows are about
2 MB; a request may carry 10 MB).

The ticket id links to the ticket in the helpdesk through a cell-level link
(`userEnteredFormat.textFormat.link`, which the API documents as the way to link a cell
besides a HYPERLINK formula), set once when the row is appended: a link never changes, and a
format moves with its row when a manager sorts. So a cycle that appends tickets sends the
batch (one `updateCells` for the run of new rows), still within the three requests. The one
case where links would cost a fourth request (a restarted process, which reads the tab list
first, appending so many rows that the cells cannot ride in the batch) leaves those ids
without a link and says so in the log.
"""

from __future__ import annotations

import bisect
import zlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from connectors.sheets_format import TabSpec, column_letter, report_spec, tab_requests
from connectors.sheets_layout import Book, Tab
from syncd.sheet_columns import EPOCH, FINISHED

REMOVE = "remove"  # payload key of a record whose row is to be deleted
MIN_TICKETS_COLUMNS = 26  # a new Tickets tab leaves managers room for columns of their own
MAX_LINK = 2000  # characters of a URL worth a link
BLOCK_ROWS = 100  # rows per block of cells: 100 cells of 50,000 characters fit a request


@dataclass(frozen=True)
class Sweep:
    """This write also moves finished tickets' rows to the archive: those whose Updated cell
    (a serial number) is before `cutoff`. The Tickets tab was read with its Status and
    Updated columns, in that order (`Tab.extra`)."""

    cutoff: float
    spec: Callable[[str], TabSpec]  # an archive tab's spec by its title


@dataclass
class Plan:
    """The batch and what it does."""

    requests: list[dict[str, Any]] = field(default_factory=list)  # for :batchUpdate
    links: list[dict[str, Any]] = field(default_factory=list)  # new rows' id links, after
    cells: list[Cells] = field(default_factory=list)  # written after those requests
    written: int = 0  # ticket rows
    appended: int = 0
    removed: int = 0
    archived: dict[str, int] = field(default_factory=dict)  # archive tab -> rows moved
    reports: list[str] = field(default_factory=list)  # report tabs written
    formatted: list[str] = field(default_factory=list)  # tabs created or (re)formatted


def plan(
    book: Book,
    tickets: Mapping[str, Mapping[str, Any]],
    reports: Sequence[Mapping[str, Any]],
    spec: TabSpec,
    sweep: Sweep | None = None,
) -> Plan:
    """The batch writing `tickets` (key -> payload) to the Tickets tab described by `spec`
    and each report payload to its tab, with the archive sweep when given."""
    out = Plan()
    ids = _SheetIds(book)
    if tickets or sweep:
        _tickets(book, tickets, spec, sweep, ids, out)
    for report in reports:
        _report(book, report, ids, out)
    return out


def _tickets(
    book: Book,
    records: Mapping[str, Mapping[str, Any]],
    spec: TabSpec,
    sweep: Sweep | None,
    ids: _SheetIds,
    out: Plan,
) -> None:
    tab = book.find(spec.title)
    if tab is None and not records:
        return  # the archive sweep of a Tickets tab that does not exist yet
    keys = tab.keys if tab else {}
    placed: dict[int, list[Any]] = {}
    links: dict[int, str] = {}  # appended rows -> the ticket's link in the helpdesk
    next_row = (tab.last_row if tab else 0) + 1
    for key, payload in records.items():
        if payload.get(REMOVE):
            continue
        index = keys.get(key)
        if index is None:
            index, next_row = next_row, next_row + 1
            out.appended += 1
            link = str(payload.get("link") or "")
            if link.startswith(("https://", "http://")) and len(link) <= MAX_LINK:
                links[index] = link
        placed[index] = [_value(v) for v in payload["row"]]
    out.written = len(placed)
    removed = {keys[k] for k, p in records.items() if p.get(REMOVE) and k in keys}
    moves = _finished(tab, sweep, set(placed) | removed) if tab and sweep else {}
    if not tab or tab.header[: spec.width] != list(spec.columns):
        placed[0] = [_value(title) for title in spec.columns]
    if not placed and not removed and not moves:
        return  # only gone tickets without a row, nothing old enough to archive
    sheet_id = tab.sheet_id if tab else ids.new(spec.title)
    wide = 0 if tab else MIN_TICKETS_COLUMNS
    rows = max(placed, default=0) + 1
    requests, _, width = tab_requests(spec, tab, sheet_id, rows, wide)
    _note_format(out, spec, tab, requests)
    out.requests.extend(requests)
    if moves and sweep and tab:  # whole rows are copied, a manager's columns too
        _archive(book, tab, moves, sweep, width, ids, out)
    out.removed = len(removed)
    gone = sorted(removed | set(moves))
    # The cells are written after the deletions: each row moves up by those deleted above it.
    shifted = {index - bisect.bisect_left(gone, index): row for index, row in placed.items()}
    out.cells.extend(_blocks(spec.title, sheet_id, shifted))
    for first, count in reversed(_spans(gone)):
        out.requests.append(
            {
                "deleteDimension": {
                    "range": {
                        "sheetId": sheet_id,
                        "dimension": "ROWS",
                        "startIndex": first,
                        "endIndex": first + count,
                    }
                }
            }
        )
    shifted_links = {i - bisect.bisect_left(gone, i): link for i, link in links.items()}
    out.links.extend(_link_requests(sheet_id, shifted_links))


def _link_requests(sheet_id: int, links: Mapping[int, str]) -> list[dict[str, Any]]:
    """Cell-level links on the id cells of these rows: one updateCells per run of rows."""
    rows = {
        index: [{"userEnteredFormat": {"textFormat": {"link": {"uri": uri}}}}]
        for index, uri in links.items()
    }
    return [
        {
            "updateCells": {
                "start": {"sheetId": sheet_id, "rowIndex": first, "columnIndex": 0},
                "rows": [{"values": cells} for cells in run],
                "fields": "userEnteredFormat.textFormat.link",
            }
        }
        for first, run in _runs(rows)
    ]


def _finished(tab: Tab, sweep: Sweep, busy: set[int]) -> dict[int, str]:
    """Rows to archive -> their archive tab: finished, last changed before the cutoff."""
    if len(tab.extra) < 2:
        return {}
    statuses, updated = tab.extra[0], tab.extra[1]
    moves = {}
    for key_row in tab.keys.values():
        if key_row in busy:
            continue
        status = statuses.get(key_row, "").split(" ")[0]  # "merged into #12" -> merged
        try:
            serial = float(updated.get(key_row, ""))
        except ValueError:
            continue  # not a date (a manager's edit, or a row of an older layout)
        if status in FINISHED and serial < sweep.cutoff:
            moves[key_row] = f"Archive {(EPOCH + timedelta(days=serial)).year}"
    return moves


def _archive(
    book: Book,
    tickets: Tab,
    moves: dict[int, str],
    sweep: Sweep,
    width: int,
    ids: _SheetIds,
    out: Plan,
) -> None:
    """Copy each row to its archive tab's end (rows grouped in runs per tab)."""
    by_title: dict[str, list[int]] = defaultdict(list)
    for row, title in moves.items():
        by_title[title].append(row)
    for title in sorted(by_title):
        rows = sorted(by_title[title])
        spec = sweep.spec(title)
        tab = book.find(title)
        sheet_id = tab.sheet_id if tab else ids.new(title)
        start = tab.last_row + 1 if tab else 1  # archive tabs are read with their key column
        requests, _, _ = tab_requests(spec, tab, sheet_id, start + len(rows), width)
        _note_format(out, spec, tab, requests)
        out.requests.extend(requests)
        if not tab or tab.header[: spec.width] != list(spec.columns):
            # The Tickets header, with the titles of a manager's columns too.
            out.requests.append(_copy(tickets.sheet_id, 0, sheet_id, 0, 1, width))
        position = start
        for first, count in _spans(rows):
            out.requests.append(_copy(tickets.sheet_id, first, sheet_id, position, count, width))
            position += count
        out.archived[title] = len(rows)


def _copy(
    source: int, first: int, target: int, position: int, count: int, width: int
) -> dict[str, Any]:
    """copyPaste of whole rows: values, formulas and formats."""
    return {
        "copyPaste": {
            "source": _box(source, first, first + count, width),
            "destination": _box(target, position, position + count, width),
            "pasteType": "PASTE_NORMAL",
            "pasteOrientation": "NORMAL",
        }
    }


def _report(book: Book, payload: Mapping[str, Any], ids: _SheetIds, out: Plan) -> None:
    """A report tab rewritten whole: header, rows, and the leftovers of a longer table
    cleared. A report with columns people fill (`people`: the Incidents tab's RCA owner and
    link) is written like the Tickets tab instead (`_keyed_report`)."""
    if payload.get("people"):
        _keyed_report(book, payload, ids, out)
        return
    columns = list(payload["columns"])
    table = [[_value(c) for c in columns], *[[_value(v) for v in row] for row in payload["rows"]]]
    spec = report_spec(
        payload["tab"], columns, list(payload["formats"]), list(payload["charts"]), len(table)
    )
    tab = book.find(spec.title)
    sheet_id = tab.sheet_id if tab else ids.new(spec.title)
    requests, _, _ = tab_requests(spec, tab, sheet_id, len(table))
    _note_format(out, spec, tab, requests)
    out.requests.extend(requests)
    left = tab.last_row + 1 if tab else 0  # rows the previous table took
    blank = [[""] * spec.width for _ in range(len(table), left)]  # "" clears a cell
    out.cells.extend(_blocks(spec.title, sheet_id, dict(enumerate([*table, *blank]))))
    out.reports.append(spec.title)


def _keyed_report(book: Book, payload: Mapping[str, Any], ids: _SheetIds, out: Plan) -> None:
    """A report whose rows are found by their key (column A) and appended when new, whose
    rows are never removed, and whose `people` columns, right of syncd's, get their titles
    and nothing else: what people write there stays with its row, whatever the order."""
    columns = list(payload["columns"])
    people = [str(p) for p in payload["people"]]
    header = [*columns, *people]
    formats = [*payload["formats"], *([""] * len(people))]
    rows = [[_value(v) for v in row] for row in payload["rows"]]
    tab = book.find(str(payload["tab"]))
    keys = tab.keys if tab else {}
    next_row = (tab.last_row if tab else 0) + 1
    placed: dict[int, list[Any]] = {}
    for row in rows:
        index = keys.get(str(row[0]) if row else "")
        if index is None:
            index, next_row = next_row, next_row + 1
        placed[index] = row
    if not tab or tab.header[: len(header)] != header:
        placed[0] = [_value(title) for title in header]
    length = max(placed, default=0) + 1
    spec = report_spec(payload["tab"], header, formats, list(payload["charts"]), length)
    sheet_id = tab.sheet_id if tab else ids.new(spec.title)
    requests, _, _ = tab_requests(spec, tab, sheet_id, length)
    _note_format(out, spec, tab, requests)
    out.requests.extend(requests)
    out.cells.extend(_blocks(spec.title, sheet_id, placed))
    out.reports.append(spec.title)


def _note_format(out: Plan, spec: TabSpec, tab: Tab | None, requests: list[Any]) -> None:
    kinds = {next(iter(r)) for r in requests}
    if "addSheet" in kinds or kinds & {"createDeveloperMetadata", "updateDeveloperMetadata"}:
        out.formatted.append(spec.title)


@dataclass(frozen=True)
class Cells:
    """Consecutive rows of one tab, from `first` (0-based), written RAW."""

    title: str
    sheet_id: int
    first: int
    rows: list[list[Any]]


def _blocks(title: str, sheet_id: int, placed: Mapping[int, list[Any]]) -> list[Cells]:
    """Runs of consecutive rows, at most BLOCK_ROWS long (so they can be split between
    requests when they would not fit in one)."""
    return [
        Cells(title, sheet_id, first + start, run[start : start + BLOCK_ROWS])
        for first, run in _runs(placed)
        for start in range(0, len(run), BLOCK_ROWS)
    ]


def value_ranges(cells: Sequence[Cells]) -> list[dict[str, Any]]:
    """The cells as ValueRanges for `values:batchUpdate` (valueInputOption RAW)."""
    out = []
    for block in cells:
        q = "'" + block.title.replace("'", "''") + "'"
        last = column_letter(max(len(r) for r in block.rows) - 1)
        end = block.first + len(block.rows)
        out.append({"range": f"{q}!A{block.first + 1}:{last}{end}", "values": block.rows})
    return out


def cell_requests(cells: Sequence[Cells]) -> list[dict[str, Any]]:
    """The cells as `updateCells` requests (typed CellData, only userEnteredValue set)."""
    return [
        {
            "updateCells": {
                "start": {"sheetId": block.sheet_id, "rowIndex": block.first, "columnIndex": 0},
                "rows": [{"values": [_cell_data(v) for v in row]} for row in block.rows],
                "fields": "userEnteredValue",
            }
        }
        for block in cells
    ]


# The fewest bytes a non-empty cell takes in an updateCells request besides its value's text:
# {"userEnteredValue":{"numberValue":}} less a number's digits.
_CELL_OVERHEAD = len('{"userEnteredValue":{"numberValue":}}')


def cell_bytes_at_least(cells: Sequence[Cells]) -> int:
    """A lower bound of the bytes `cell_requests(cells)` takes, counted without building it: a
    batch whose cells cannot ride along is known so without rendering 20,000 CellData."""
    total = 0
    for block in cells:
        for row in block.rows:
            for value in row:
                total += 2 if value == "" else _CELL_OVERHEAD + len(str(value))
    return total


def _cell_data(value: Any) -> dict[str, Any]:
    """One of syncd's values as CellData, as RAW stores it."""
    if value == "":
        return {}  # under the mask: the value cleared
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
    return {"userEnteredValue": {"stringValue": value}}


def _value(value: Any) -> Any:
    """A cell as RAW takes it: numbers as they are, text as text, "" (which clears the
    cell) for nothing."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool | int | float):
        return value
    return str(value)


def _box(sheet_id: int, first_row: int, end_row: int, end_col: int) -> dict[str, Any]:
    return {
        "sheetId": sheet_id,
        "startRowIndex": first_row,
        "endRowIndex": end_row,
        "startColumnIndex": 0,
        "endColumnIndex": end_col,
    }


def _runs(placed: Mapping[int, list[Any]]) -> list[tuple[int, list[list[Any]]]]:
    """Consecutive rows grouped, so a write names few ranges."""
    runs: list[tuple[int, list[list[Any]]]] = []
    for index in sorted(placed):
        if runs and runs[-1][0] + len(runs[-1][1]) == index:
            runs[-1][1].append(placed[index])
        else:
            runs.append((index, [placed[index]]))
    return runs


def _spans(indices: Sequence[int]) -> list[tuple[int, int]]:
    """(first, count) of each run of consecutive indices, ascending."""
    spans: list[tuple[int, int]] = []
    for index in sorted(set(indices)):
        if spans and spans[-1][0] + spans[-1][1] == index:
            spans[-1] = (spans[-1][0], spans[-1][1] + 1)
        else:
            spans.append((index, 1))
    return spans


class _SheetIds:
    """Ids for new tabs: derived from the title, so a retried batch names the same tab."""

    def __init__(self, book: Book) -> None:
        self.taken = {t.sheet_id for t in book.tabs.values()}

    def new(self, title: str) -> int:
        salt = 0
        while True:
            sheet_id = zlib.crc32(f"{title}\0{salt}".encode()) & 0x7FFFFFFF
            if sheet_id and sheet_id not in self.taken:
                self.taken.add(sheet_id)
                return sheet_id
            salt += 1
