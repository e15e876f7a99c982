"""spreadsheets.batchUpdate requests that attach objects to sheets: basic filters,
conditional format rules, protected ranges, banding and charts. They are stored as sent
(plus the ids and defaults Google fills in) so they can be read back.
"""

from __future__ import annotations

import copy
from typing import Any

from syncd.sandbox.a1 import Box
from syncd.sandbox.sheets_cells import SheetsError
from syncd.sandbox.sheets_fields import apply_mask, request_mask
from syncd.sandbox.sheets_grid import Sheet, Spreadsheet

Body = dict[str, Any]
Reply = dict[str, Any] | None


def set_basic_filter(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """setBasicFilter: stored as sent (criteria are not applied to any view)."""
    basic = copy.deepcopy(body.get("filter") or {})
    sheet, box = ss.grid_range(basic.get("range") or {}, prefix)
    sheet.check_start(box, prefix)
    sheet.basic_filter = basic
    return None


def clear_basic_filter(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """clearBasicFilter."""
    ss.by_id(body.get("sheetId", 0), prefix).basic_filter = None
    return None


def _rule_sheet(ss: Spreadsheet, rule: Body, prefix: str) -> Sheet:
    ranges = rule.get("ranges") or []
    if not ranges:
        raise SheetsError(400, f"{prefix}A conditional format rule needs at least one range.")
    sheets = {ss.grid_range(r, prefix)[0].sheet_id for r in ranges}
    if len(sheets) != 1:
        raise SheetsError(400, f"{prefix}All ranges of a rule must be on the same sheet.")
    sheet = ss.by_id(sheets.pop(), prefix)
    for r in ranges:
        sheet.check_start(ss.grid_range(r, prefix)[1], prefix)
    return sheet


def add_conditional_format_rule(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """addConditionalFormatRule at `index` (default 0); all ranges on one sheet."""
    rule = copy.deepcopy(body.get("rule") or {})
    sheet = _rule_sheet(ss, rule, prefix)
    index = int(body.get("index", 0))
    if not 0 <= index <= len(sheet.conditional_formats):
        raise SheetsError(400, f"{prefix}Invalid index {index}.")
    sheet.conditional_formats.insert(index, rule)
    return None


def _rule_at(ss: Spreadsheet, body: Body, prefix: str) -> tuple[Sheet, int]:
    sheet = ss.by_id(body.get("sheetId", 0), prefix)
    index = int(body.get("index", 0))
    if not 0 <= index < len(sheet.conditional_formats):
        raise SheetsError(
            400, f"{prefix}No conditional format on sheet: {sheet.sheet_id} at index: {index}"
        )
    return sheet, index


def update_conditional_format_rule(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """updateConditionalFormatRule: replace and/or move the rule at `index`."""
    sheet, index = _rule_at(ss, body, prefix)
    old = sheet.conditional_formats.pop(index)
    rule = copy.deepcopy(body["rule"]) if "rule" in body else old
    new_index = int(body.get("newIndex", index))
    if "rule" in body:
        _rule_sheet(ss, rule, prefix)
    sheet.conditional_formats.insert(min(new_index, len(sheet.conditional_formats)), rule)
    return {"oldRule": old, "newRule": rule, "oldIndex": index, "newIndex": new_index}


def delete_conditional_format_rule(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """deleteConditionalFormatRule: the reply carries the removed rule."""
    sheet, index = _rule_at(ss, body, prefix)
    return {"rule": sheet.conditional_formats.pop(index)}


def add_protected_range(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """addProtectedRange: a fresh protectedRangeId; the reply carries the stored range."""
    protected = copy.deepcopy(body.get("protectedRange") or {})
    sheet, box = ss.grid_range(protected.get("range") or {}, prefix)
    sheet.check_start(box, prefix)
    existing = {p["protectedRangeId"] for s in ss.sheets for p in s.protected_ranges}
    if protected.get("protectedRangeId") in existing:
        raise SheetsError(400, f"{prefix}A protected range with that id already exists.")
    protected.setdefault("protectedRangeId", ss.new_id())
    protected.setdefault("requestingUserCanEdit", True)
    sheet.protected_ranges.append(protected)
    return {"protectedRange": copy.deepcopy(protected)}


def delete_protected_range(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """deleteProtectedRange by protectedRangeId."""
    wanted = body.get("protectedRangeId")
    for sheet in ss.sheets:
        for protected in sheet.protected_ranges:
            if protected["protectedRangeId"] == wanted:
                sheet.protected_ranges.remove(protected)
                return None
    raise SheetsError(400, f"{prefix}No protected range with id: {wanted}")


def add_banding(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """addBanding: a fresh bandedRangeId; the reply carries the stored band."""
    banded = copy.deepcopy(body.get("bandedRange") or {})
    sheet, box = ss.grid_range(banded.get("range") or {}, prefix)
    sheet.check_start(box, prefix)
    banded.setdefault("bandedRangeId", ss.new_id())
    sheet.banded_ranges.append(banded)
    return {"bandedRange": copy.deepcopy(banded)}


def _find_chart(ss: Spreadsheet, chart_id: Any) -> tuple[Sheet, dict[str, Any]] | None:
    for sheet in ss.sheets:
        for chart in sheet.charts:
            if chart["chartId"] == chart_id:
                return sheet, chart
    return None


def add_chart(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """addChart: a fresh chartId, an overlay defaulting to 600 × 371 px, or a sheet of its own
    (newSheet); the reply carries the chart.
    """
    chart = copy.deepcopy(body.get("chart") or {})
    if "chartId" in chart and _find_chart(ss, chart["chartId"]):
        raise SheetsError(400, f"{prefix}An object with id {chart['chartId']} already exists.")
    chart.setdefault("chartId", ss.new_id())
    position = chart.setdefault("position", {"newSheet": True})
    if position.get("newSheet"):
        sheet = ss.add_sheet({"title": ss.free_title("Chart"), "sheetType": "OBJECT"})
        chart["position"] = {"sheetId": sheet.sheet_id}
    elif "sheetId" in position:
        sheet = ss.by_id(position["sheetId"], prefix)
    else:
        overlay = position.setdefault("overlayPosition", {})
        anchor = overlay.setdefault("anchorCell", {})
        sheet = ss.by_id(anchor.get("sheetId", 0), prefix)
        row, col = int(anchor.get("rowIndex", 0)), int(anchor.get("columnIndex", 0))
        if row >= sheet.row_count or col >= sheet.col_count:
            raise sheet.grid_error(Box(row, col, row + 1, col + 1), prefix)
        overlay.setdefault("widthPixels", 600)  # Google's default chart size
        overlay.setdefault("heightPixels", 371)
    sheet.charts.append(chart)
    return {"chart": copy.deepcopy(chart)}


def update_chart_spec(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """updateChartSpec: the chart's spec replaced."""
    found = _find_chart(ss, body.get("chartId"))
    if found is None:
        raise SheetsError(400, f"{prefix}No chart with id: {body.get('chartId')}")
    found[1]["spec"] = copy.deepcopy(body.get("spec") or {})
    return None


def delete_embedded_object(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """deleteEmbeddedObject: a chart by id (its own sheet goes with it)."""
    found = _find_chart(ss, body.get("objectId"))
    if found is None:
        raise SheetsError(400, f"{prefix}No object with id: {body.get('objectId')}")
    sheet, chart = found
    sheet.charts.remove(chart)
    if sheet.properties.get("sheetType") == "OBJECT" and not sheet.charts:
        ss.sheets.remove(sheet)  # a chart sheet goes with its chart
        ss.reindex()
    return None


def update_embedded_object_position(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """updateEmbeddedObjectPosition of a chart to another overlay position on a grid: the
    `fields` of OverlayPosition named change (the root `overlayPosition` is implied); the reply
    carries the new position. Moving a chart to a sheet of its own is not emulated."""
    found = _find_chart(ss, body.get("objectId"))
    if found is None:
        raise SheetsError(400, f"{prefix}No object with id: {body.get('objectId')}")
    new = (body.get("newPosition") or {}).get("overlayPosition")
    if not isinstance(new, dict):
        raise SheetsError(400, f"{prefix}The emulator moves charts to overlay positions only.")
    sheet, chart = found
    old = chart.get("position", {}).get("overlayPosition")
    if old is None:
        raise SheetsError(400, f"{prefix}The emulator moves charts that overlay a grid only.")
    moved = apply_mask(old, new, request_mask(body, prefix))
    anchor = moved.get("anchorCell") or {}
    target = ss.by_id(anchor.get("sheetId", sheet.sheet_id), prefix)
    row, col = int(anchor.get("rowIndex", 0)), int(anchor.get("columnIndex", 0))
    if row >= target.row_count or col >= target.col_count:
        raise target.grid_error(Box(row, col, row + 1, col + 1), prefix)
    if target is not sheet:
        sheet.charts.remove(chart)
        target.charts.append(chart)
    chart["position"] = {"overlayPosition": moved}
    return {"position": copy.deepcopy(chart["position"])}
