"""Google Sheets sink: the "Tickets" worksheet, one row per helpdesk ticket, updated in place.

A write costs one read and one write request, however many tickets changed:
- read: `spreadsheets.get` with the header row and the ticket-id column (grid data), which
  also gives the grid's size and the tab's id. Rows are found by id on every write, so a
  manager may sort or filter the tab freely.
- write: `values:batchUpdate` with valueInputOption RAW (text stays text: a subject starting
  with `=`, `+`, `-` or `@` never becomes a formula). When the tab is missing or the grid is
  too small, `values:batchUpdate` would fail with "exceeds grid limits", so that write is one
  `:batchUpdate` instead, carrying addSheet/appendDimension and the cells (updateCells, whose
  string values are stored as typed: equally RAW).

Gone tickets (merged, spam or deleted in the helpdesk) are never shown as open: their Status
cell says so ("merged into #123" when the target is known) and their SLA and escalation cells
are empty. With `sheets.gone_tickets: remove` their rows are deleted instead, still within the
one write: a `:batchUpdate` with updateCells for the changed rows first, then deleteDimension
for the gone rows from the bottom up (each deletion shifts only the rows below it). A gone
ticket without a row is not appended; a restored one is, as its record changes.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import google.auth.exceptions
import gspread
import requests
from google.auth.transport.requests import AuthorizedSession, Request
from google.oauth2 import service_account

from syncd.config import SheetsConfig
from syncd.errors import ConfigError, CredentialsError, TerminalError, TransientError
from syncd.logs import register_secret
from syncd.model import Decision, Status, Ticket
from syncd.ports import SinkRecord, SinkResult
from syncd.retry import retry_after_seconds, with_retry

SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
GOOGLE_APIS = ".googleapis.com"
MAX_CELL = 50_000  # characters a cell holds
TRUNCATED = "… [truncated by syncd]"
HEADROOM = 500  # rows added beyond need when the grid grows, so growth is rare
# Tickets the helpdesk no longer works on: never shown as open, maybe removed.
REMOVE = "remove"  # payload key of a record whose row is to be deleted

COLUMNS = (
    "Ticket",
    "Subject",
    "Requester",
    "Requester email",
    "Organization",
    "Channel",
    "Status",
    "Category",
    "Priority",
    "SLA",
    "First response due (UTC)",
    "Resolution due (UTC)",
    "Escalation",
    "Helpdesk priority",
    "Tags",
    "Created (UTC)",
    "Updated (UTC)",
    "Link",
)


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def quote_sheet(title: str) -> str:
    """A sheet title as A1 notation wants it: 'My Tab' with quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


@dataclass
class Layout:
    """What the read request learnt about the tab."""

    exists: bool
    sheet_id: int | None = None
    row_count: int = 0
    column_count: int = 0
    header: list[str] = field(default_factory=list)
    rows_by_id: dict[str, int] = field(default_factory=dict)  # ticket id -> 0-based row
    last_row: int = 0  # 0-based index of the last non-empty id cell (0 = header only)


class SheetsSink:
    """The managers' ticket list in a Google Sheet."""

    name = "sheets"

    def __init__(self, config: SheetsConfig, attempts: int = 5) -> None:
        self.config = config
        self.attempts = attempts
        self.tab = config.worksheet
        self.last = column_letter(len(COLUMNS) - 1)
        creds = _credentials(config)
        session = (
            _RedirectedSession(creds, config.base_url.rstrip("/"))
            if config.base_url
            else AuthorizedSession(creds)
        )
        self.client = gspread.Client(auth=creds, session=session)
        self.client.set_timeout(config.timeout)
        self.http = self.client.http_client

    def render(self, ticket: Ticket, decision: Decision) -> SinkRecord:
        """The ticket's row, one value per column; for a gone ticket with
        `gone_tickets: remove`, the request to delete its row."""
        gone = ticket.status.is_gone
        if gone and self.config.gone_tickets == "remove":
            # Only the intent is fingerprinted: later edits of a gone ticket cost no request,
            # and a restored ticket's row differs from this, so it is written (appended) again.
            return SinkRecord(key=ticket.id, payload={REMOVE: True})
        requester = ticket.requester
        org = ticket.organization
        status = ticket.status.value
        if ticket.status is Status.MERGED and ticket.merged_into:
            status = f"merged into #{ticket.merged_into}"
        # SLA clocks and escalations mean nothing for a ticket nobody will work on; the rules
        # may still measure one (a merged ticket may have a solve time), so it is blanked here.
        sla = None if gone else decision.sla
        escalation = decision.escalation_name if decision.escalation_level and not gone else ""
        row: list[Any] = [
            int(ticket.id) if ticket.id.isdigit() else ticket.id,
            ticket.subject,
            requester.name if requester else "",
            requester.email if requester else "",
            org.name if org else "",
            ticket.channel,
            status,
            decision.category,
            decision.priority,
            sla.state if sla else "",
            _time(sla.first_response.due) if sla and sla.first_response.due else "",
            _time(sla.resolution.due) if sla and sla.resolution.due else "",
            escalation,
            ticket.helpdesk_priority or "",
            ", ".join(ticket.tags),
            _time(ticket.created_at),
            _time(ticket.updated_at),
            ticket.url,
        ]
        return SinkRecord(key=ticket.id, payload={"row": [_fit(v) for v in row]})

    def describe(self, records: Sequence[SinkRecord]) -> str:
        """What write() would do."""
        gone = sum(1 for r in records if r.payload.get(REMOVE))
        text = f"write {len(records) - gone} row(s)"
        if gone:
            text += f", remove the rows of {gone} gone ticket(s) (those present)"
        return f"{text} of '{self.tab}' in 1 read + 1 write request"

    def write(self, records: Sequence[SinkRecord]) -> SinkResult:
        """Update existing rows in place, append new ones and delete the rows of gone tickets
        (`gone_tickets: remove`): one read and at most one write, however many records."""
        latest = {r.key: r for r in records}
        if any(r.payload.get(REMOVE) for r in latest.values()):
            # Deleting rows by index is not idempotent: replaying a deleteDimension whose
            # response was lost would delete the rows that moved up into its place. So a
            # failed attempt is retried from the read, whose fresh row numbers make it safe.
            with_retry(
                lambda: self._apply(latest, self._read_layout(), retry=False),
                api="sheets",
                attempts=self.attempts,
            )
        else:
            layout = with_retry(self._read_layout, api="sheets", attempts=self.attempts)
            self._apply(latest, layout, retry=True)
        # Every record is accepted, a gone ticket without a row too: the sheet is as wanted.
        return SinkResult(accepted=list(latest))

    def _apply(self, records: dict[str, SinkRecord], layout: Layout, retry: bool) -> None:
        """Plan the one write request against the layout read and send it (none when there
        is nothing to change); `retry`: retry the request itself on transient failures."""
        rows = {k: list(r.payload["row"]) for k, r in records.items() if not r.payload.get(REMOVE)}
        placed = self._place(layout, rows)
        # 0-based rows of the gone tickets that have one, found by id (the tab may be sorted).
        removed = sorted(
            layout.rows_by_id[k]
            for k, r in records.items()
            if r.payload.get(REMOVE) and k in layout.rows_by_id
        )
        header_ok = layout.header[: len(COLUMNS)] == list(COLUMNS)
        if not header_ok:
            placed[0] = list(COLUMNS)
        if not placed and not removed:
            return  # only gone tickets that have no row: nothing to write
        needed_rows = max(placed, default=0) + 1
        if (
            removed  # values:batchUpdate cannot delete rows
            or not layout.exists
            or needed_rows > layout.row_count
            or len(COLUMNS) > layout.column_count
        ):
            method = self.http.batch_update
            body = self._structural_update(layout, placed, needed_rows, removed)
        else:
            method = self.http.values_batch_update
            body = self._values_update(placed)
        if retry:
            with_retry(lambda: self._call(method, body), api="sheets", attempts=self.attempts)
        else:
            self._call(method, body)

    def _read_layout(self) -> Layout:
        q = quote_sheet(self.tab)
        params = {
            "includeGridData": "true",
            "ranges": [f"{q}!A1:{self.last}1", f"{q}!A:A"],
            "fields": "sheets(properties(sheetId,title,gridProperties(rowCount,columnCount)),"
            "data(startRow,startColumn,rowData(values(effectiveValue,formattedValue))))",
        }
        try:
            # spreadsheets.get as gspread sends it, parsed here so that each id cell becomes
            # its text as it is read: a 100,000-row tab then costs megabytes, not hundreds.
            url = gspread.urls.SPREADSHEET_URL % self.config.spreadsheet_id
            response = self.http.request("get", url, params=params)
            meta = json.loads(response.content, object_hook=_compact)
        except gspread.exceptions.APIError as exc:
            # Our ranges are well formed, so a 400 means the tab does not exist yet.
            if exc.code == 400 and "range" in str(exc).lower():
                return Layout(exists=False)
            raise _translate(exc) from None
        except Exception as exc:
            raise _translate(exc) from None
        sheet = next(
            (s for s in meta.get("sheets", []) if s["properties"].get("title") == self.tab), None
        )
        if sheet is None:
            return Layout(exists=False)
        props = sheet["properties"]
        grid = props.get("gridProperties", {})
        layout = Layout(
            exists=True,
            sheet_id=props.get("sheetId"),
            row_count=grid.get("rowCount", 0),
            column_count=grid.get("columnCount", 0),
        )
        # GridData come back in the order the ranges were asked: header row, then id column.
        grids = [_grid_values(d) for d in sheet.get("data", [])]
        if len(grids) >= 2:
            header_grid, id_grid = grids[0], grids[1]
            layout.header = header_grid[1][0] if header_grid[1] else []
        else:
            id_grid = grids[0] if grids else (0, [])
        start_row, cells = id_grid
        for offset, values in enumerate(cells):
            key = values[0] if values else ""
            if not key:
                continue
            index = start_row + offset
            layout.last_row = max(layout.last_row, index)
            if index > 0:
                layout.rows_by_id.setdefault(key, index)
        return layout

    def _place(self, layout: Layout, rows: dict[str, list[Any]]) -> dict[int, list[Any]]:
        """0-based row index -> values: existing tickets in place, new ones appended."""
        placed: dict[int, list[Any]] = {}
        next_row = layout.last_row + 1
        for key, values in rows.items():
            index = layout.rows_by_id.get(key)
            if index is None:
                index = next_row
                next_row += 1
            placed[index] = values
        return placed

    def _values_update(self, placed: dict[int, list[Any]]) -> dict[str, Any]:
        q = quote_sheet(self.tab)
        data = [
            {"range": f"{q}!A{first + 1}:{self.last}{first + len(run)}", "values": run}
            for first, run in _runs(placed)
        ]
        return {"valueInputOption": "RAW", "data": data}

    def _structural_update(
        self,
        layout: Layout,
        placed: dict[int, list[Any]],
        needed_rows: int,
        removed: Sequence[int] = (),
    ) -> dict[str, Any]:
        """One `:batchUpdate`: create or grow the tab, write the rows (`placed`, indices as
        read), then delete the `removed` rows. Requests apply in order, so the deletions come
        last and bottom-up: each one shifts only rows below it, which are already handled."""
        requests_: list[dict[str, Any]] = []
        sheet_id = layout.sheet_id
        rows_wanted = needed_rows + HEADROOM
        if not layout.exists:
            sheet_id = _new_sheet_id(self.tab)
            requests_.append(
                {
                    "addSheet": {
                        "properties": {
                            "sheetId": sheet_id,
                            "title": self.tab,
                            "gridProperties": {
                                "rowCount": rows_wanted,
                                "columnCount": max(26, len(COLUMNS)),
                                "frozenRowCount": 1,
                            },
                        }
                    }
                }
            )
        else:
            if needed_rows > layout.row_count:
                requests_.append(
                    {
                        "appendDimension": {
                            "sheetId": sheet_id,
                            "dimension": "ROWS",
                            "length": rows_wanted - layout.row_count,
                        }
                    }
                )
            if len(COLUMNS) > layout.column_count:
                requests_.append(
                    {
                        "appendDimension": {
                            "sheetId": sheet_id,
                            "dimension": "COLUMNS",
                            "length": len(COLUMNS) - layout.column_count,
                        }
                    }
                )
        for first, run in _runs(placed):
            requests_.append(
                {
                    "updateCells": {
                        "start": {"sheetId": sheet_id, "rowIndex": first, "columnIndex": 0},
                        "rows": [{"values": [_cell(v) for v in row]} for row in run],
                        "fields": "userEnteredValue",
                    }
                }
            )
        if 0 in placed:
            requests_.append(
                {
                    "repeatCell": {
                        "range": {"sheetId": sheet_id, "startRowIndex": 0, "endRowIndex": 1},
                        "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                        "fields": "userEnteredFormat.textFormat.bold",
                    }
                }
            )
        for first, count in reversed(_spans(removed)):
            requests_.append(
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
        return {"requests": requests_}

    def _call(self, method: Any, body: dict[str, Any]) -> Any:
        try:
            return method(self.config.spreadsheet_id, body)
        except Exception as exc:
            raise _translate(exc) from None


def _redirect(base: str, url: str) -> str:
    """https://sheets.googleapis.com/v4/x -> {base}/v4/x; other hosts untouched."""
    parts = urlsplit(url)
    if parts.scheme == "https" and (parts.hostname or "").endswith(GOOGLE_APIS):
        return base + url[len(f"https://{parts.netloc}") :]
    return url


class _RedirectingSession(requests.Session):
    """Plain session for google-auth's own calls (token refresh, IAM look-ups)."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        return super().request(method, _redirect(self.base, str(url)), *args, **kwargs)


class _RedirectedSession(AuthorizedSession):
    """An authorized session where a sandbox or proxy stands in for every Google API host:
    Sheets, and the IAM endpoint google-auth consults about a service-account key."""

    def __init__(self, credentials: Any, base: str) -> None:
        super().__init__(credentials, auth_request=Request(session=_RedirectingSession(base)))
        self.base = base

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        return super().request(method, _redirect(self.base, str(url)), *args, **kwargs)


def _compact(node: dict[str, Any]) -> Any:
    """JSON object hook for the layout read: a CellData becomes its text, a RowData the list
    of its cells' texts (other objects stay as they are)."""
    if "effectiveValue" in node or "formattedValue" in node:
        return _cell_text(node)
    if set(node) == {"values"} and isinstance(node["values"], list):
        return node["values"]
    return node


def _grid_values(data: dict[str, Any]) -> tuple[int, list[list[str]]]:
    """(first row index, cell texts) of one GridData read through `_compact`."""
    cells = [[c if isinstance(c, str) else "" for c in row] for row in data.get("rowData", [])]
    return data.get("startRow", 0), cells


def _cell_text(cell: dict[str, Any]) -> str:
    # The underlying value, not the displayed one: a manager may format the id column
    # (1234 shown as "1,234") and the row must still be found.
    value = cell.get("effectiveValue") or {}
    if "numberValue" in value:
        number = value["numberValue"]
        return str(int(number)) if float(number).is_integer() else str(number)
    if "stringValue" in value:
        return str(value["stringValue"])
    return str(cell.get("formattedValue", ""))


def _runs(placed: dict[int, list[Any]]) -> list[tuple[int, list[list[Any]]]]:
    """Consecutive rows grouped, so a write names few ranges."""
    runs: list[tuple[int, list[list[Any]]]] = []
    for index in sorted(placed):
        if runs and runs[-1][0] + len(runs[-1][1]) == index:
            runs[-1][1].append(placed[index])
        else:
            runs.append((index, [placed[index]]))
    return runs


def _spans(indices: Sequence[int]) -> list[tuple[int, int]]:
    """(first, count) of each run of consecutive indices, in ascending order: one
    deleteDimension per run rather than per row."""
    spans: list[tuple[int, int]] = []
    for index in sorted(set(indices)):
        if spans and spans[-1][0] + spans[-1][1] == index:
            spans[-1] = (spans[-1][0], spans[-1][1] + 1)
        else:
            spans.append((index, 1))
    return spans


def _cell(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
    return {"userEnteredValue": {"stringValue": str(value)}}


def _fit(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_CELL:
        return value[: MAX_CELL - len(TRUNCATED)] + TRUNCATED
    return value


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _new_sheet_id(title: str) -> int:
    # A stable id derived from the title, so a retried addSheet names the same tab.
    return zlib.crc32(title.encode()) & 0x7FFFFFFF


def _credentials(config: SheetsConfig) -> service_account.Credentials:
    path = config.credentials_file
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"service-account key {path} not found",
            where="sheets.credentials_file",
            hint="Download a JSON key for the service account and share the sheet with it",
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read the service-account key {path}: {exc}",
            where="sheets.credentials_file",
        ) from None
    for key in ("private_key", "private_key_id"):
        register_secret(str(info.get(key, "")))
    if config.token_url:
        info["token_uri"] = config.token_url
    try:
        return service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    except (ValueError, KeyError) as exc:
        raise ConfigError(
            f"{path} is not a service-account key: {exc}",
            where="sheets.credentials_file",
            hint="Use the JSON key file Google gives for a service account",
        ) from None


def _translate(exc: Exception) -> Exception:
    """A gspread/google-auth/requests failure -> syncd's error tree."""
    if isinstance(exc, gspread.exceptions.APIError):
        status = exc.code
        if status in (401, 403):
            return CredentialsError(
                f"Google Sheets refused access ({status}): {exc.error.get('message', '')}",
                where="sheets",
                hint="Share the spreadsheet with the service account's email as an editor",
            )
        if status == 404:
            return TerminalError(
                "spreadsheet not found: check sheets.spreadsheet_id and that it is shared "
                "with the service account"
            )
        if status == 429 or status >= 500:
            retry = retry_after_seconds(exc.response.headers.get("Retry-After"))
            return TransientError(f"Google Sheets answered {status}", retry_after=retry)
        return TerminalError(f"Google Sheets rejected the write ({status}): {exc}")
    if isinstance(exc, google.auth.exceptions.RefreshError):
        return CredentialsError(
            f"Google refused the service-account key: {exc}",
            where="sheets.credentials_file",
            hint="Create a new key for the service account",
        )
    if isinstance(exc, google.auth.exceptions.TransportError | requests.RequestException):
        return TransientError(f"cannot reach Google: {type(exc).__name__}")
    return exc
