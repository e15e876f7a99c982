"""Export a Google spreadsheet to files: one CSV per tab and one XLSX that keeps its look.

The input is the Sheets API's own Spreadsheet resource with grid data (what
`spreadsheets.get?includeGridData=true` returns; the demo takes it from the sandbox), so the
export shows what was actually stored, not what syncd meant to store. The CSVs hold each
cell as a manager sees it (formatted). The XLSX keeps the values typed (numbers, dates),
number formats, bold and background of cells, column widths, frozen rows, the basic filter,
the ticket links, conditional formats (custom formulas and "text is exactly" rules) and the
basic charts (column, stacked or not, and line). Each tab prints landscape with the tab's
name in the page header, so a PDF or a screenshot shows which tab is which.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

PIXELS_PER_CHARACTER = 7  # Sheets' pixel widths to Excel's character widths
HYPERLINK = re.compile(r'=HYPERLINK\("((?:[^"]|"")*)"\s*,', re.IGNORECASE)
TITLE_CHARS = re.compile(r"[\[\]:*?/\\]")  # not allowed in an Excel sheet name


def export(resource: dict[str, Any], folder: Path, name: str = "syncd-demo.xlsx") -> list[Path]:
    """Write `<tab>.csv` for every tab holding values, and `name` (the XLSX), into `folder`;
    returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for sheet in _grid_sheets(resource):
        path = folder / f"{_slug(sheet['properties']['title'])}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(_formatted(sheet))
        written.append(path)
    path = folder / name
    to_xlsx(resource).save(path)
    written.append(path)
    return written


def to_xlsx(resource: dict[str, Any]) -> Workbook:
    """The spreadsheet as an openpyxl Workbook."""
    book = Workbook()
    book.remove(book.active)
    for sheet in _grid_sheets(resource):
        props = sheet["properties"]
        ws = book.create_sheet(TITLE_CHARS.sub(" ", props["title"])[:31])
        rows = _cells(ws, sheet)
        data = (sheet.get("data") or [{}])[0]
        for index, meta in enumerate(data.get("columnMetadata", [])):
            pixels = meta.get("pixelSize", 100)
            ws.column_dimensions[get_column_letter(index + 1)].width = pixels / PIXELS_PER_CHARACTER
        frozen = props.get("gridProperties", {}).get("frozenRowCount", 0)
        if frozen:
            ws.freeze_panes = f"A{frozen + 1}"
        width = max((len(r.get("values", [])) for r in data.get("rowData", [])), default=1)
        if sheet.get("basicFilter") and rows:
            ws.auto_filter.ref = f"A1:{get_column_letter(width)}{rows}"
        _conditional_formats(ws, sheet, max(rows, 2), width)
        _charts(ws, sheet)
        _print_setup(ws)
    return book


def _grid_sheets(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """The tabs that hold cells (charts on sheets of their own and empty tabs left out)."""
    return [
        s
        for s in resource.get("sheets", [])
        if s["properties"].get("sheetType", "GRID") == "GRID"
        and any(r.get("values") for d in s.get("data", []) for r in d.get("rowData", []))
    ]


def _formatted(sheet: dict[str, Any]) -> list[list[str]]:
    """Each row's cells as shown, trailing empty cells and rows left out."""
    out: list[list[str]] = []
    for row in (sheet.get("data") or [{}])[0].get("rowData", []):
        texts = [c.get("formattedValue", "") for c in row.get("values", [])]
        while texts and texts[-1] == "":
            texts.pop()
        out.append(texts)
    while out and not out[-1]:
        out.pop()
    return out


def _cells(ws: Worksheet, sheet: dict[str, Any]) -> int:
    """Copy values and cell formats; returns the number of the last row holding a value.
    An empty cell is copied only when it shows a colour (a number format alone shows
    nothing, and would stretch the sheet to the grid's end)."""
    rows = (sheet.get("data") or [{}])[0].get("rowData", [])
    last = 0
    for r, row in enumerate(rows, start=1):
        for c, data in enumerate(row.get("values", []), start=1):
            value = _value(data)
            if value is None and not (data.get("userEnteredFormat") or {}).get("backgroundColor"):
                continue
            if value is not None:
                last = r
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula stays text, as in the sheet
            fmt = data.get("userEnteredFormat") or {}
            pattern = (fmt.get("numberFormat") or {}).get("pattern")
            if pattern:
                cell.number_format = pattern
            text = fmt.get("textFormat") or {}
            link = _link(data, text)
            if link:
                cell.hyperlink = link
            if text.get("bold") or link or text.get("foregroundColor"):
                cell.font = Font(
                    bold=bool(text.get("bold")),
                    underline="single" if link else None,
                    color=_rgb(text.get("foregroundColor")) or ("0563C1" if link else None),
                )
            background = _rgb(fmt.get("backgroundColor"))
            if background:
                cell.fill = PatternFill("solid", fgColor=background)
    return last


def _link(data: dict[str, Any], text_format: dict[str, Any]) -> str | None:
    """Where a cell links: a cell-level link (how syncd links a ticket id) or a HYPERLINK
    formula (a manager's)."""
    uri = (text_format.get("link") or {}).get("uri")
    if uri:
        return str(uri)
    formula = HYPERLINK.match((data.get("userEnteredValue") or {}).get("formulaValue", ""))
    return formula.group(1).replace('""', '"') if formula else None


def _value(data: dict[str, Any]) -> Any:
    value = data.get("effectiveValue") or {}
    if "numberValue" in value:
        return value["numberValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "stringValue" in value:
        text = value["stringValue"]
        formula = "formulaValue" in (data.get("userEnteredValue") or {})
        # A HYPERLINK to a ticket shows its id: keep it a number when it is one.
        return int(text) if formula and text.isdigit() else text
    if data.get("formattedValue"):
        return data["formattedValue"]  # an error value: its text (#DIV/0!...)
    return None


def _rgb(colour: dict[str, float] | None) -> str | None:
    """A Sheets Color (0..1 floats) as an Excel RGB hex, None when absent."""
    if not colour:
        return None
    return "".join(f"{round(colour.get(k, 0) * 255):02X}" for k in ("red", "green", "blue"))


def _conditional_formats(ws: Worksheet, sheet: dict[str, Any], rows: int, width: int) -> None:
    for rule in sheet.get("conditionalFormats", []):
        boolean = rule.get("booleanRule") or {}
        condition = boolean.get("condition") or {}
        values = [v.get("userEnteredValue", "") for v in condition.get("values") or []]
        fmt = boolean.get("format") or {}
        fill = PatternFill("solid", bgColor=_rgb(fmt.get("backgroundColor")) or "FFFFFF")
        text = fmt.get("textFormat") or {}
        font = Font(bold=bool(text.get("bold")), color=_rgb(text.get("foregroundColor")))
        if condition.get("type") == "CUSTOM_FORMULA" and values:
            made = FormulaRule(formula=[values[0].lstrip("=")], fill=fill, font=font)
        elif condition.get("type") == "TEXT_EQ" and values:
            quoted = '"' + values[0].replace('"', '""') + '"'
            made = CellIsRule(operator="equal", formula=[quoted], fill=fill, font=font)
        else:
            continue  # other conditions are not carried over
        for grid in rule.get("ranges", []):
            first = get_column_letter(grid.get("startColumnIndex", 0) + 1)
            last = get_column_letter(grid.get("endColumnIndex", width))
            top = grid.get("startRowIndex", 0) + 1
            bottom = grid.get("endRowIndex", rows)
            ws.conditional_formatting.add(f"{first}{top}:{last}{bottom}", made)


def _charts(ws: Worksheet, sheet: dict[str, Any]) -> None:
    for chart in sheet.get("charts", []):
        spec = chart.get("spec") or {}
        basic = spec.get("basicChart")
        if not basic:
            continue
        if basic.get("chartType") == "LINE":
            made: BarChart | LineChart = LineChart()
        else:
            made = BarChart()
            made.type = "col"
            if basic.get("stackedType") == "STACKED":
                made.grouping, made.overlap = "stacked", 100
        made.title = spec.get("title")
        made.legend.position = "b"
        header = int(basic.get("headerCount", 0))
        for series in basic.get("series", []):
            made.add_data(_reference(ws, series["series"]), titles_from_data=header > 0)
        for line in made.series:
            line.smooth = False  # Sheets draws straight segments
        for domain in basic.get("domains", [])[:1]:
            ref = _reference(ws, domain["domain"], skip=header)
            made.set_categories(ref)
        overlay = (chart.get("position") or {}).get("overlayPosition") or {}
        anchor = overlay.get("anchorCell") or {}
        made.width = overlay.get("widthPixels", 600) * 2.54 / 96  # cm
        made.height = overlay.get("heightPixels", 371) * 2.54 / 96
        column = get_column_letter(anchor.get("columnIndex", 0) + 1)
        ws.add_chart(made, f"{column}{anchor.get('rowIndex', 0) + 1}")


def _reference(ws: Worksheet, data: dict[str, Any], skip: int = 0) -> Reference:
    grid = data["sourceRange"]["sources"][0]
    column = grid.get("startColumnIndex", 0) + 1
    return Reference(
        ws,
        min_col=column,
        max_col=column,
        min_row=grid.get("startRowIndex", 0) + 1 + skip,
        max_row=grid.get("endRowIndex", ws.max_row),
    )


def _print_setup(ws: Worksheet) -> None:
    """A3 landscape at 70%, the header row on every page and the tab's name in the page
    header. Wide tabs run over several pages rather than shrink out of legibility."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A3
    ws.page_setup.scale = 70
    ws.oddHeader.center.text = "&A"
    ws.oddHeader.center.size = 14
    ws.print_title_rows = "1:1"


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "sheet"
