"""What tests and the demo use to look inside the Sheets emulator without going through the
API: a Python API (create spreadsheets, type values as a person would, read back values,
formats, charts, rules and filters) and the admin routes under /_sandbox/sheets.

None of it needs a token or counts against quotas or the server's request counters.
"""

from __future__ import annotations

import copy
import json
import threading
from typing import Any, cast
from urllib.parse import unquote

from syncd.sandbox.a1 import Box, format_box
from syncd.sandbox.server import Handler, Request, Response
from syncd.sandbox.sheets_grid import Sheet, Spreadsheet
from syncd.sandbox.sheets_values import read_matrix, write_cells
from syncd.sandbox.sheets_views import cell_data, spreadsheet_json


class SheetsInspection:
    """Mixed into SheetsApp: direct access to its spreadsheets, under its lock."""

    spreadsheets: dict[str, Spreadsheet]
    received_batches: list[tuple[str, list[str]]]
    _lock: threading.RLock

    def admin_routes(self) -> list[tuple[str, str, Handler]]:
        """Read back or create spreadsheets without auth, quotas or faults."""

        def snapshot(req: Request) -> Response:
            if req.params["id"] not in self.spreadsheets:
                return Response(404, {"error": f"no spreadsheet {req.params['id']}"})
            return Response(200, self.snapshot(req.params["id"]))

        def values(req: Request) -> Response:
            try:
                return Response(200, self.values(req.params["id"], unquote(req.params["title"])))
            except KeyError as err:
                return Response(404, {"error": str(err)})

        def create(req: Request) -> Response:
            body = req.json() or {}
            if not body.get("id"):
                return Response(400, {"error": "body needs an id"})
            # an existing id is replaced by a fresh spreadsheet: a reset, for tests
            self.create_spreadsheet(body["id"], body.get("title", "Sandbox spreadsheet"))
            return Response(200, {"spreadsheetId": body["id"]})

        return [
            ("GET", r"/spreadsheets/(?P<id>[^/]+)", snapshot),
            ("GET", r"/spreadsheets/(?P<id>[^/]+)/values/(?P<title>.+)", values),
            ("POST", r"/spreadsheets", create),
        ]

    def create_spreadsheet(
        self, spreadsheet_id: str, title: str = "Sandbox spreadsheet", shared: bool = True
    ) -> None:
        """A spreadsheet as Sheets creates one: a single "Sheet1" (id 0), 1000 × 26.

        shared=False models a spreadsheet the service account was not given access to (403).
        """
        with self._lock:
            ss = Spreadsheet(spreadsheet_id, title)
            ss.add_sheet({"sheetId": 0, "title": "Sheet1"})
            ss.shared = shared
            self.spreadsheets[spreadsheet_id] = ss

    def add_sheet(self, spreadsheet_id: str, title: str, rows: int = 1000, cols: int = 26) -> int:
        """Add a tab by hand; returns its sheetId."""
        with self._lock:
            grid = {"rowCount": rows, "columnCount": cols}
            return (
                self.spreadsheets[spreadsheet_id]
                .add_sheet({"title": title, "gridProperties": grid})
                .sheet_id
            )

    def sheet_titles(self, spreadsheet_id: str) -> list[str]:
        """Tab titles in order."""
        with self._lock:
            return [s.title for s in self.spreadsheets[spreadsheet_id].sheets]

    def values(self, spreadsheet_id: str, title: str) -> list[list[str]]:
        """Formatted values of a tab, trimmed as the values API trims them."""
        with self._lock:
            sheet = self._sheet(spreadsheet_id, title)
            box = Box().clip(sheet.row_count, sheet.col_count)
            return read_matrix(sheet, box, "FORMATTED_VALUE", "SERIAL_NUMBER")

    def set_values(
        self,
        spreadsheet_id: str,
        title: str,
        rows: list[list[Any]],
        start: tuple[int, int] = (0, 0),
    ) -> None:
        """Type values into a tab as a person would (USER_ENTERED), growing it if needed."""
        with self._lock:
            sheet = self._sheet(spreadsheet_id, title)
            need_rows = start[0] + len(rows)
            need_cols = start[1] + max((len(r) for r in rows), default=0)
            sheet.set_size(max(sheet.row_count, need_rows), max(sheet.col_count, need_cols))
            write_cells(sheet, start[0], start[1], rows, "USER_ENTERED")

    def cell(self, spreadsheet_id: str, title: str, row: int, column: int) -> dict[str, Any]:
        """CellData of one cell (0-based row and column), as spreadsheets.get shows it."""
        with self._lock:
            ss = self.spreadsheets[spreadsheet_id]
            stored = self._sheet(spreadsheet_id, title).get(row, column)
            return cell_data(stored, ss.properties["defaultFormat"])

    def sheet(self, spreadsheet_id: str, title: str) -> dict[str, Any]:
        """Everything stored for a tab: properties, cell formats by A1, charts, rules, filter."""
        with self._lock:
            sheet = self._sheet(spreadsheet_id, title)
            formats = {
                format_box(Box(r, c, r + 1, c + 1)): cell["userEnteredFormat"]
                for r, cols in sorted(sheet.rows.items())
                for c, cell in sorted(cols.items())
                if "userEnteredFormat" in cell
            }
            notes = {
                format_box(Box(r, c, r + 1, c + 1)): cell["note"]
                for r, cols in sorted(sheet.rows.items())
                for c, cell in sorted(cols.items())
                if "note" in cell
            }
            return cast(
                dict[str, Any],
                json.loads(
                    json.dumps(
                        {
                            "properties": sheet.properties,
                            "formats": formats,
                            "notes": notes,
                            "charts": sheet.charts,
                            "conditionalFormats": sheet.conditional_formats,
                            "basicFilter": sheet.basic_filter,
                            "merges": sheet.merges,
                            "protectedRanges": sheet.protected_ranges,
                            "bandedRanges": sheet.banded_ranges,
                            "developerMetadata": sheet.developer_metadata,
                            "rowMetadata": {str(k): v for k, v in sorted(sheet.row_meta.items())},
                            "columnMetadata": {
                                str(k): v for k, v in sorted(sheet.col_meta.items())
                            },
                        }
                    )
                ),
            )

    def snapshot(self, spreadsheet_id: str) -> dict[str, Any]:
        """The whole spreadsheet for the admin API: properties and every tab with its values."""
        with self._lock:
            ss = self.spreadsheets[spreadsheet_id]
            sheets = []
            for s in ss.sheets:
                sheets.append(
                    self.sheet(spreadsheet_id, s.title)
                    | {"values": self.values(spreadsheet_id, s.title)}
                )
            return {
                "spreadsheetId": ss.spreadsheet_id,
                "properties": copy.deepcopy(ss.properties),
                "sheets": sheets,
            }

    def resource(self, spreadsheet_id: str) -> dict[str, Any]:
        """The Spreadsheet resource with every cell, as spreadsheets.get with includeGridData
        returns it (what an export of the whole spreadsheet reads)."""
        with self._lock:
            return spreadsheet_json(self.spreadsheets[spreadsheet_id], None, True)

    def batches(self, spreadsheet_id: str) -> list[list[str]]:
        """The request kinds of each spreadsheets.batchUpdate received, oldest first
        (refused ones too)."""
        with self._lock:
            return [kinds for sid, kinds in self.received_batches if sid == spreadsheet_id]

    def _sheet(self, spreadsheet_id: str, title: str) -> Sheet:
        sheet = self.spreadsheets[spreadsheet_id].find(title)
        if sheet is None:
            raise KeyError(f"no sheet {title!r} in {spreadsheet_id}")
        return sheet
