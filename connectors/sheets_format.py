"""How each tab syncd owns should look, and the `:batchUpdate` requests that make it so.

A `TabSpec` is the whole look of a tab: column titles and widths, a number format per column,
conditional rules and charts. Its `layout` fingerprint is kept in the tab's stamp (see
sheets_layout); the formatting requests are sent only when the tab is new or the fingerprint
differs (columns, titles, timezone or this module changed), so a steady cycle sends none.
Formatting a tab: the header row bold on grey and frozen, a basic filter over the whole sheet
(sorting through it moves whole rows, a manager's own columns with them), widths, number
formats, syncd's conditional rules (its previous ones deleted first, a manager's kept) and
charts, placed under the table (updated in place when they exist, so a chart a manager moved
stays where it is). A chart's range follows its table's length without a reformat, and a
chart the table grew under moves down.

Grid changes come with it: a new tab is created at its size, a grid too small grows (its new
rows get the columns' number formats), and when syncd's columns widen while a manager has
columns of their own to the right, columns are inserted before theirs instead of writing over
them.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from connectors.sheets_layout import STAMP_KEY, Stamp, Tab
from syncd.sheet_columns import ID, MOMENT, NUMBER, SCORE, Column

FORMAT_VERSION = 2  # bump when this module changes what a formatted tab looks like
HEADER_BACKGROUND = {"red": 0.91, "green": 0.93, "blue": 0.96}
BREACHED = {"red": 0.96, "green": 0.8, "blue": 0.8}  # light red
AT_RISK = {"red": 1.0, "green": 0.9, "blue": 0.7}  # light amber
PRIORITY_COLOURS = {
    "Critical": ({"red": 0.8, "green": 0.0, "blue": 0.0}, {"red": 1.0, "green": 1.0, "blue": 1.0}),
    "High": ({"red": 0.96, "green": 0.7, "blue": 0.42}, None),
    "Medium": ({"red": 1.0, "green": 0.95, "blue": 0.8}, None),
    "Low": ({"red": 0.85, "green": 0.92, "blue": 0.83}, None),
}
DATE_TIME = {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"}
NUMBER_FORMATS: dict[str, dict[str, str]] = {
    # Ticket column kinds
    MOMENT: DATE_TIME,
    SCORE: {"type": "NUMBER", "pattern": "0.0"},
    NUMBER: {"type": "NUMBER", "pattern": "0"},
    ID: {"type": "NUMBER", "pattern": "0"},
    # Report column formats (syncd.ports.Report.formats)
    "datetime": DATE_TIME,
    "date": {"type": "DATE", "pattern": "yyyy-mm-dd"},
    "percent": {"type": "PERCENT", "pattern": "0.0%"},
    "hours": {"type": "NUMBER", "pattern": "0.0"},
    "count": {"type": "NUMBER", "pattern": "0"},
}
CHART_SIZE = (640, 360)  # pixels
REPORT_WIDTHS = {"datetime": 130, "date": 100, "percent": 110, "hours": 110, "count": 90}
# Report columns of text that reads better wide (any other text column: 90 pixels).
REPORT_TEXT_WIDTHS = {
    "Subject": 260,
    "Requester": 140,
    "Agent": 140,
    "Reason": 220,
    "Notified": 220,
    "Rule": 220,
    "Top categories": 240,
    "Link": 260,
}
# A header's width in pixels: its bold text (about 7.5 pixels a character in the default
# 10-point font, wider than the average letter so that no title is cut) and the filter's
# button at the right edge.
HEADER_CHARACTER = 7.5
HEADER_PADDING = 30
MAX_WIDTH = 400  # a column never grows wider than this for its title


def header_width(title: str) -> int:
    """The pixels a header cell needs to show `title` whole, next to the filter's button."""
    return min(MAX_WIDTH, round(len(title) * HEADER_CHARACTER) + HEADER_PADDING)


def fit(title: str, pixels: int) -> int:
    """A column's width: what its values want, or wider so that its title is not cut."""
    return max(pixels, header_width(title))


@dataclass(frozen=True)
class Rule:
    """A conditional rule over rows 2.. of some columns."""

    condition: str  # BooleanCondition type: CUSTOM_FORMULA, TEXT_EQ
    value: str
    background: dict[str, float]
    first_col: int
    end_col: int
    text_colour: dict[str, float] | None = None

    @property
    def signature(self) -> str:
        """How the rule is recognised when read back (sheets_layout.rule_signature)."""
        return f"{self.condition}|{self.value}"

    def body(self, sheet_id: int) -> dict[str, Any]:
        """The ConditionalFormatRule."""
        fmt: dict[str, Any] = {"backgroundColor": self.background}
        if self.text_colour:
            fmt["textFormat"] = {"foregroundColor": self.text_colour, "bold": True}
        return {
            "ranges": [_columns(sheet_id, self.first_col, self.end_col, first_row=1)],
            "booleanRule": {
                "condition": {"type": self.condition, "values": [{"userEnteredValue": self.value}]},
                "format": fmt,
            },
        }


@dataclass(frozen=True)
class ChartSpec:
    """A chart of some columns against a domain column, placed under the table."""

    title: str
    kind: str  # "column" (stacked) or "line"
    domain: int  # column index
    series: tuple[int, ...]
    rows: int  # rows of the table, header included
    column: int  # where its left edge goes: charts of a tab sit side by side
    leading: int = 0  # plot only the table's first rows under the header (0: all of them)

    @property
    def end_row(self) -> int:
        """Where the plotted rows end (exclusive, header included)."""
        return min(self.rows, 1 + self.leading) if self.leading else self.rows

    @property
    def anchor_row(self) -> int:
        """A blank row under the table."""
        return self.rows + 1

    def chart_id(self, tab: str) -> int:
        """A stable id, so the chart is found again (and replaced, not duplicated)."""
        return zlib.crc32(f"syncd chart\0{tab}\0{self.title}".encode()) & 0x7FFFFFFF or 1

    def spec(self, sheet_id: int, domain_title: str) -> dict[str, Any]:
        """The ChartSpec."""

        def source(col: int) -> dict[str, Any]:
            grid = _columns(sheet_id, col, col + 1, first_row=0) | {"endRowIndex": self.end_row}
            return {"sourceRange": {"sources": [grid]}}

        basic: dict[str, Any] = {
            "chartType": "COLUMN" if self.kind == "column" else "LINE",
            "legendPosition": "BOTTOM_LEGEND",
            "headerCount": 1,
            "axis": [{"position": "BOTTOM_AXIS", "title": domain_title}],
            "domains": [{"domain": source(self.domain)}],
            "series": [{"series": source(c), "targetAxis": "LEFT_AXIS"} for c in self.series],
        }
        if self.kind == "column":
            basic["stackedType"] = "STACKED"
        return {"title": self.title, "basicChart": basic}


@dataclass(frozen=True)
class TabSpec:
    """Everything syncd decides about a tab's look."""

    title: str
    columns: tuple[str, ...]
    widths: tuple[int, ...]
    formats: tuple[dict[str, str] | None, ...]  # NumberFormat per column
    rules: tuple[Rule, ...] = ()
    charts: tuple[ChartSpec, ...] = ()
    headroom: int = 0  # empty rows added when the grid grows, so growth is rare
    layout: str = field(init=False)

    def __post_init__(self) -> None:
        # A chart's rows are left out: a longer table only extends the charts' ranges.
        charts = [(c.title, c.kind, c.domain, c.series, c.column, bool(c.leading))
                  for c in self.charts]  # fmt: skip
        parts = [FORMAT_VERSION, self.columns, self.widths, self.formats, self.rules, charts]
        text = json.dumps(parts, default=repr, sort_keys=True)
        object.__setattr__(self, "layout", hashlib.sha256(text.encode()).hexdigest()[:16])

    @property
    def width(self) -> int:
        """Number of syncd's columns."""
        return len(self.columns)


def tickets_spec(title: str, columns: list[Column], headroom: int) -> TabSpec:
    """The Tickets (or an archive) tab: SLA rows coloured, priorities coloured."""
    keys = [c.key for c in columns]
    rules: list[Rule] = []
    if "priority" in keys:  # first: a priority cell keeps its colour on a coloured row
        p = keys.index("priority")
        for name, (background, text) in PRIORITY_COLOURS.items():
            rules.append(Rule("TEXT_EQ", name, background, p, p + 1, text))
    if "sla" in keys:
        letter = column_letter(keys.index("sla"))
        for state, colour in (("breached", BREACHED), ("at_risk", AT_RISK)):
            rules.append(Rule("CUSTOM_FORMULA", f'=${letter}2="{state}"', colour, 0, len(keys)))
    return TabSpec(
        title=title,
        columns=tuple(c.title for c in columns),
        widths=tuple(fit(c.title, c.width) for c in columns),
        formats=tuple(NUMBER_FORMATS.get(c.kind) for c in columns),
        rules=tuple(rules),
        headroom=headroom,
    )


def report_spec(
    title: str,
    columns: list[str],
    formats: list[str],
    charts: list[dict[str, Any]],
    rows: int,
) -> TabSpec:
    """A report tab: `formats` gives each column's format name ("" for none)."""
    widths = [
        fit(c, REPORT_WIDTHS.get(f) or REPORT_TEXT_WIDTHS.get(c, 90))
        for c, f in zip(columns, formats, strict=True)
    ]
    edges = [sum(widths[:i]) for i in range(len(widths) + 1)]
    specs = []
    for i, chart in enumerate(charts):
        # Side by side: the first column whose left edge is past the charts before it.
        left = i * (CHART_SIZE[0] + 20)
        column = next((c for c, edge in enumerate(edges) if edge >= left), len(widths))
        domain = columns.index(chart["domain"])
        series = tuple(columns.index(s) for s in chart["series"])
        leading = int(chart.get("rows") or 0)
        specs.append(
            ChartSpec(chart["title"], chart["kind"], domain, series, rows, column, leading)
        )
    return TabSpec(
        title=title,
        columns=tuple(columns),
        widths=tuple(widths),
        formats=tuple(NUMBER_FORMATS.get(f) for f in formats),
        charts=tuple(specs),
        headroom=50,
    )


def tab_requests(
    spec: TabSpec, tab: Tab | None, sheet_id: int, rows_needed: int, columns_needed: int = 0
) -> tuple[list[dict[str, Any]], int, int]:
    """The requests that give a tab (None: missing) room for `rows_needed` rows and
    `columns_needed` columns (at least syncd's) and syncd's current formatting; returns them
    and the grid's row and column counts after them."""
    for chart in spec.charts:  # a chart's anchor cell must be in the grid
        rows_needed = max(rows_needed, chart.anchor_row + 1)
        columns_needed = max(columns_needed, chart.column + 1)
    columns_needed = max(columns_needed, spec.width)
    if tab is None:
        rows = rows_needed + spec.headroom
        add = {
            "addSheet": {
                "properties": {
                    "sheetId": sheet_id,
                    "title": spec.title,
                    "gridProperties": {"rowCount": rows, "columnCount": columns_needed},
                }
            }
        }
        return [add, *_format(spec, None, sheet_id, rows)], rows, columns_needed
    reformat = tab.stamp is None or tab.stamp.layout != spec.layout
    # syncd's previous rules go first, while their indexes are still those read.
    requests = _drop_rules(tab, sheet_id) if reformat else []
    room, columns = _make_room(spec, tab, sheet_id, columns_needed)
    requests += room
    rows = tab.rows
    if rows_needed > rows:
        grow = rows_needed + spec.headroom - rows
        requests.append(_append(sheet_id, "ROWS", grow))
        rows += grow
    if reformat:
        requests.extend(_format(spec, tab, sheet_id, rows))
        return requests, rows, columns
    if rows > tab.rows:  # the new rows get the columns' number formats
        requests.extend(_number_formats(spec, sheet_id, tab.rows, rows))
    requests.extend(_charts(spec, tab, sheet_id, changed_only=True))
    return requests, rows, columns


def _drop_rules(tab: Tab, sheet_id: int) -> list[dict[str, Any]]:
    """Delete the conditional rules syncd added last time (its stamp lists them), highest
    index first; a manager's own rules stay."""
    ours = set(tab.stamp.rules) if tab.stamp else set()
    found = sorted((i for i, s in enumerate(tab.rules) if s in ours), reverse=True)
    return [{"deleteConditionalFormatRule": {"sheetId": sheet_id, "index": i}} for i in found]


def _make_room(
    spec: TabSpec, tab: Tab, sheet_id: int, columns_needed: int
) -> tuple[list[dict[str, Any]], int]:
    """Columns for syncd's: inserted before a manager's own columns when syncd's widen,
    deleted when they narrow (they held syncd's values), appended when the grid is narrow.
    Returns the requests and the column count after them."""
    old = len(tab.stamp.columns) if tab.stamp else _legacy_width(tab.header, spec.width)
    theirs = any(text for text in tab.header[old:])
    requests: list[dict[str, Any]] = []
    columns = tab.columns
    if spec.width > old and theirs:
        count = spec.width - old
        requests.append(
            {
                "insertDimension": {
                    "range": _dimension(sheet_id, "COLUMNS", old, old + count),
                    "inheritFromBefore": False,
                }
            }
        )
        columns += count
    elif spec.width < old <= tab.columns:
        requests.append(
            {"deleteDimension": {"range": _dimension(sheet_id, "COLUMNS", spec.width, old)}}
        )
        columns -= old - spec.width
    if columns < columns_needed:
        requests.append(_append(sheet_id, "COLUMNS", columns_needed - columns))
    return requests, columns


# The Tickets header written by syncd versions before the stamp (tabs without one).
LEGACY_HEADER = (
    "Ticket", "Subject", "Requester", "Requester email", "Organization", "Channel", "Status",
    "Category", "Priority", "SLA", "First response due (UTC)", "Resolution due (UTC)",
    "Escalation", "Helpdesk priority", "Tags", "Created (UTC)", "Updated (UTC)", "Link",
)  # fmt: skip


def _legacy_width(header: list[str], width: int) -> int:
    """How many columns an unstamped tab's syncd owned: the old layout's when its header is
    the old one, else as many as syncd now writes (what it would write over anyway)."""
    if tuple(header[: len(LEGACY_HEADER)]) == LEGACY_HEADER:
        return len(LEGACY_HEADER)
    return width


def _format(spec: TabSpec, tab: Tab | None, sheet_id: int, rows: int) -> list[dict[str, Any]]:
    width = spec.width
    requests: list[dict[str, Any]] = [
        {
            "updateSheetProperties": {
                "properties": {"sheetId": sheet_id, "gridProperties": {"frozenRowCount": 1}},
                "fields": "gridProperties.frozenRowCount",
            }
        },
        {
            "repeatCell": {
                "range": _columns(sheet_id, 0, width, first_row=0) | {"endRowIndex": 1},
                "cell": {
                    "userEnteredFormat": {
                        "textFormat": {"bold": True},
                        "backgroundColor": HEADER_BACKGROUND,
                    }
                },
                "fields": "userEnteredFormat(textFormat.bold,backgroundColor)",
            }
        },
        {"setBasicFilter": {"filter": {"range": {"sheetId": sheet_id}}}},
    ]
    for col, pixels in enumerate(spec.widths):
        requests.append(
            {
                "updateDimensionProperties": {
                    "range": _dimension(sheet_id, "COLUMNS", col, col + 1),
                    "properties": {"pixelSize": pixels},
                    "fields": "pixelSize",
                }
            }
        )
    requests.extend(_number_formats(spec, sheet_id, 1, rows, clear=True))
    stamp = tab.stamp if tab else None
    for index, rule in enumerate(spec.rules):
        requests.append({"addConditionalFormatRule": {"rule": rule.body(sheet_id), "index": index}})
    requests.extend(_charts(spec, tab, sheet_id))
    new = Stamp(
        metadata_id=stamp.metadata_id if stamp else 0,
        layout=spec.layout,
        columns=list(spec.columns),
        rules=[r.signature for r in spec.rules],
        charts=[c.chart_id(spec.title) for c in spec.charts],
    )
    requests.append(_stamp_request(sheet_id, new, exists=stamp is not None))
    return requests


def _charts(
    spec: TabSpec, tab: Tab | None, sheet_id: int, changed_only: bool = False
) -> list[dict[str, Any]]:
    """syncd's charts: added, or updated in place (and moved down only when the table grew
    under one); those it no longer shows deleted. `changed_only`: only the charts whose
    range no longer spans the table."""
    requests: list[dict[str, Any]] = []
    present = tab.charts if tab else {}
    wanted = {c.chart_id(spec.title): c for c in spec.charts}
    for chart_id in tab.stamp.charts if tab and tab.stamp and not changed_only else []:
        if chart_id in present and chart_id not in wanted:
            requests.append({"deleteEmbeddedObject": {"objectId": chart_id}})
    for chart_id, chart in wanted.items():
        if changed_only and (chart_id not in present or present[chart_id][2] == chart.end_row):
            continue  # a chart a manager deleted stays deleted until the layout changes
        body = chart.spec(sheet_id, spec.columns[chart.domain])
        anchor = {"sheetId": sheet_id, "rowIndex": chart.anchor_row, "columnIndex": chart.column}
        if chart_id not in present:
            width, height = CHART_SIZE
            overlay = {"anchorCell": anchor, "widthPixels": width, "heightPixels": height}
            position = {"overlayPosition": overlay}
            requests.append(
                {"addChart": {"chart": {"chartId": chart_id, "spec": body, "position": position}}}
            )
            continue
        requests.append({"updateChartSpec": {"chartId": chart_id, "spec": body}})
        row, column, _ = present[chart_id]
        # Moved down when the table grew under it (where syncd put it, or over the table).
        if 0 <= row < chart.rows and (column < spec.width or column == chart.column):
            requests.append(
                {
                    "updateEmbeddedObjectPosition": {
                        "objectId": chart_id,
                        "newPosition": {"overlayPosition": {"anchorCell": anchor}},
                        "fields": "anchorCell",
                    }
                }
            )
    return requests


def _number_formats(
    spec: TabSpec, sheet_id: int, first_row: int, end_row: int, clear: bool = False
) -> list[dict[str, Any]]:
    """repeatCell of each column's number format over rows [first_row, end_row); with
    `clear`, columns without one lose any they had (a column may have changed meaning)."""
    requests = []
    for col, number_format in enumerate(spec.formats):
        if number_format is None and not clear:
            continue
        fmt = {"userEnteredFormat": {"numberFormat": number_format}} if number_format else {}
        requests.append(
            {
                "repeatCell": {
                    "range": _columns(sheet_id, col, col + 1, first_row=first_row)
                    | {"endRowIndex": end_row},
                    "cell": fmt,
                    "fields": "userEnteredFormat.numberFormat",
                }
            }
        )
    return requests


def _stamp_request(sheet_id: int, stamp: Stamp, exists: bool) -> dict[str, Any]:
    if exists:
        return {
            "updateDeveloperMetadata": {
                "dataFilters": [{"developerMetadataLookup": {"metadataId": stamp.metadata_id}}],
                "developerMetadata": {"metadataValue": stamp.value()},
                "fields": "metadataValue",
            }
        }
    return {
        "createDeveloperMetadata": {
            "developerMetadata": {
                "metadataKey": STAMP_KEY,
                "metadataValue": stamp.value(),
                "location": {"sheetId": sheet_id},
                "visibility": "DOCUMENT",
            }
        }
    }


def _append(sheet_id: int, dimension: str, length: int) -> dict[str, Any]:
    return {"appendDimension": {"sheetId": sheet_id, "dimension": dimension, "length": length}}


def _dimension(sheet_id: int, dimension: str, start: int, end: int) -> dict[str, Any]:
    return {"sheetId": sheet_id, "dimension": dimension, "startIndex": start, "endIndex": end}


def _columns(sheet_id: int, first: int, end: int, first_row: int) -> dict[str, Any]:
    """A GridRange over columns [first, end) from `first_row` down (open-ended)."""
    return {
        "sheetId": sheet_id,
        "startRowIndex": first_row,
        "startColumnIndex": first,
        "endColumnIndex": end,
    }


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
