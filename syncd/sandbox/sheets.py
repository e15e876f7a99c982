"""Google Sheets API v4 emulator: the HTTP surface, auth and quotas.

Every vendor route needs `Authorization: Bearer <token>` from the sandbox's OAuth endpoint
(401 UNAUTHENTICATED otherwise) with a Sheets or Drive scope (403 PERMISSION_DENIED
"Request had insufficient authentication scopes."). Errors use Google's JSON error shape
`{"error": {"code", "message", "status"}}`. Optional per-user quotas follow the usage-limits
page (read and write requests per minute per user, 60 each by default in Google's console):
over the limit answers 429 RESOURCE_EXHAUSTED. The window is a sliding 60 seconds.

The behaviour of each method lives elsewhere: `sheets_values` (spreadsheets.values),
`sheets_batch*` (spreadsheets.batchUpdate), `sheets_views` (spreadsheets.get), `sheets_grid`
(storage), `a1` (A1 notation); the Python API for tests is in `sheets_admin`. Writes work on
a clone of the spreadsheet that replaces it only on success, so a failed request changes
nothing. The kinds of requests in each batchUpdate received are logged (`batches()`), so tests
can tell what a client sent, e.g. formatting only when it was needed.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from syncd.sandbox.a1 import Box
from syncd.sandbox.oauth import GoogleOAuthApp
from syncd.sandbox.server import Handler, Request, Response
from syncd.sandbox.sheets_admin import SheetsInspection
from syncd.sandbox.sheets_batch import apply_batch
from syncd.sandbox.sheets_cells import SheetsError
from syncd.sandbox.sheets_fields import Mask, filter_fields, parse_mask
from syncd.sandbox.sheets_grid import Spreadsheet
from syncd.sandbox.sheets_values import (
    DATE_OPTIONS,
    DIMENSIONS,
    INSERT_OPTIONS,
    RENDER_OPTIONS,
    append,
    clear,
    enum,
    input_option,
    read_range,
    write_range,
)
from syncd.sandbox.sheets_views import spreadsheet_json

STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
AUTH_HELP = (
    "Expected OAuth 2 access token, login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
SCOPE = "https://www.googleapis.com/auth/"
READ_SCOPES = {SCOPE + s for s in ("spreadsheets", "spreadsheets.readonly", "drive")} | {
    SCOPE + "drive.readonly",
    SCOPE + "drive.file",
}
WRITE_SCOPES = {SCOPE + s for s in ("spreadsheets", "drive", "drive.file")}
SPREADSHEET = r"/v4/spreadsheets/(?P<id>[^/:]+)"

Endpoint = Callable[[Request], dict[str, Any]]
# Google's front end answers some 502/503 with its own HTML page, not the API's JSON error
# (seen in gspread issues #1504 and PR #1564: "<title>Error 502 (Server Error)!!1</title>");
# gspread's APIError then falls back to code -1 (gspread/exceptions.py, APIError.__init__).
FRONT_END_PAGE = """<!DOCTYPE html>
<html lang=en>
  <meta charset=utf-8>
  <title>Error {status} (Server Error)!!1</title>
  <p><b>{status}.</b> <ins>That\u2019s an error.</ins>
  <p>The server encountered a temporary error and could not complete your request.
  <p>Please try again in 30 seconds.  <ins>That\u2019s all we know.</ins>
"""


class SheetsApp(SheetsInspection):
    """Spreadsheets in memory behind the Sheets API v4 routes."""

    name = "sheets"

    def __init__(
        self,
        oauth: GoogleOAuthApp,
        spreadsheet_ids: Iterable[str] = (),
        read_quota_per_minute: int | None = None,
        write_quota_per_minute: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.oauth = oauth
        self.read_quota_per_minute = read_quota_per_minute
        self.write_quota_per_minute = write_quota_per_minute
        self.clock = clock
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self._lock = threading.RLock()  # the Python API runs outside the server's lock
        self._usage: dict[tuple[str, str], deque[float]] = {}
        # (spreadsheet id, request kinds) of every batchUpdate received, for tests to check
        # what was sent (e.g. formatting only when needed); bodies are not kept.
        self.received_batches: list[tuple[str, list[str]]] = []
        self._front_end_errors: deque[int] = deque()  # statuses of the next HTML error pages
        for spreadsheet_id in spreadsheet_ids:
            self.create_spreadsheet(spreadsheet_id)

    # --- VendorApp ---------------------------------------------------------------------

    def routes(self) -> list[tuple[str, str, Handler]]:
        """The spreadsheets and spreadsheets.values methods."""
        values = SPREADSHEET + r"/values"
        return [
            ("POST", r"/v4/spreadsheets", self._endpoint("write", self._create)),
            ("GET", SPREADSHEET, self._endpoint("read", self._get)),
            ("POST", SPREADSHEET + r":batchUpdate", self._endpoint("write", self._batch_update)),
            (
                "POST",
                SPREADSHEET + r"/sheets/(?P<sheet>[0-9]+):copyTo",
                self._endpoint("write", self._copy_to),
            ),
            ("GET", values + r":batchGet", self._endpoint("read", self._values_batch_get)),
            ("POST", values + r":batchUpdate", self._endpoint("write", self._values_batch_update)),
            ("POST", values + r":batchClear", self._endpoint("write", self._values_batch_clear)),
            ("POST", values + r"/(?P<range>.+):append", self._endpoint("write", self._append)),
            ("POST", values + r"/(?P<range>.+):clear", self._endpoint("write", self._clear)),
            ("GET", values + r"/(?P<range>.+)", self._endpoint("read", self._values_get)),
            ("PUT", values + r"/(?P<range>.+)", self._endpoint("write", self._values_update)),
        ]

    def error(self, status: int, message: str) -> Response:
        """Google's JSON error body."""
        body = {
            "error": {"code": status, "message": message, "status": STATUS.get(status, "UNKNOWN")}
        }
        return Response(status, body)

    def front_end_errors(self, *statuses: int) -> None:
        """Answer the next requests (one per status, in order) with Google's front-end HTML
        error page, as a 502 or 503 from the load balancer comes, instead of a JSON error."""
        with self._lock:
            self._front_end_errors.extend(statuses)

    def _front_end_error(self) -> Response | None:
        if not self._front_end_errors:
            return None
        status = self._front_end_errors.popleft()
        page = FRONT_END_PAGE.format(status=status).encode()
        return Response(status, page, {"Content-Type": "text/html; charset=UTF-8"})

    # --- request plumbing --------------------------------------------------------------

    def _endpoint(self, kind: str, fn: Endpoint) -> Handler:
        """Auth, quota, error mapping and the `fields` system parameter around a method."""

        def handle(req: Request) -> Response:
            with self._lock:
                page = self._front_end_error()
                if page is not None:
                    return page
                try:
                    self._charge(self._authenticate(req, kind), kind)
                    return Response(200, _masked(fn(req), req.arg("fields")))
                except SheetsError as err:
                    resp = self.error(err.status, err.message)
                    if err.status == 401:
                        resp.headers["WWW-Authenticate"] = (
                            'Bearer realm="https://accounts.google.com/"'
                        )
                    return resp

        return handle

    def _spreadsheet(self, req: Request) -> Spreadsheet:
        """The spreadsheet the path names: 404 if unknown, 403 if not shared with the caller."""
        ss = self.spreadsheets.get(req.params["id"])
        if ss is None:
            raise SheetsError(404, "Requested entity was not found.")
        if not ss.shared:
            raise SheetsError(403, "The caller does not have permission")
        return ss

    def _authenticate(self, req: Request, kind: str) -> str:
        header = req.header("authorization") or ""
        token = (
            header[7:].strip() if header.lower().startswith("bearer ") else req.arg("access_token")
        )
        if not token:
            raise SheetsError(
                401, f"Request is missing required authentication credential. {AUTH_HELP}"
            )
        info = self.oauth.token_info(token)
        if info is None:
            raise SheetsError(401, f"Request had invalid authentication credentials. {AUTH_HELP}")
        if not info.scopes & (READ_SCOPES if kind == "read" else WRITE_SCOPES):
            raise SheetsError(403, "Request had insufficient authentication scopes.")
        return info.email

    def _charge(self, user: str, kind: str) -> None:
        limit = self.read_quota_per_minute if kind == "read" else self.write_quota_per_minute
        if limit is None:
            return
        now = self.clock()
        window = self._usage.setdefault((user, kind), deque())
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= limit:
            metric = "Read requests" if kind == "read" else "Write requests"
            raise SheetsError(
                429,
                f"Quota exceeded for quota metric '{metric}' and limit '{metric} per minute per "
                f"user' of service 'sheets.googleapis.com' for consumer "
                f"'project_number:{self.oauth.client_id[:12]}'.",
            )
        window.append(now)

    def _create(self, req: Request) -> dict[str, Any]:
        """spreadsheets.create: a new spreadsheet from the Spreadsheet body."""
        body = _json(req)
        spreadsheet_id = secrets.token_urlsafe(33)[:44]  # Google's ids are 44 url-safe chars
        title = (body.get("properties") or {}).get("title", "Untitled spreadsheet")
        ss = Spreadsheet(spreadsheet_id, title)
        ss.properties.update(body.get("properties") or {})
        for i, sheet in enumerate(body.get("sheets") or [{}]):
            props = dict(sheet.get("properties") or {})
            if i == 0:
                props.setdefault("sheetId", 0)  # a new spreadsheet's first sheet is id 0
            ss.add_sheet(props)
        self.spreadsheets[spreadsheet_id] = ss
        return spreadsheet_json(ss)

    # --- spreadsheets ------------------------------------------------------------------

    def _get(self, req: Request) -> dict[str, Any]:
        ss = self._spreadsheet(req)
        fields = req.arg("fields")
        if fields:
            # "includeGridData ... is ignored if a field mask was set": the mask decides.
            mask = _mask(fields)
            sheets = mask.get("sheets")
            include = "*" in mask or (
                sheets is not None and (not sheets or bool({"*", "data"} & set(sheets)))
            )
        else:
            include = _true(req.arg("includeGridData"))
        return spreadsheet_json(ss, req.query.get("ranges"), include)

    def _copy_to(self, req: Request) -> dict[str, Any]:
        """spreadsheets.sheets.copyTo: a copy named "Copy of <title>" at the destination's end."""
        ss = self._spreadsheet(req)
        sheet = ss.by_id(int(req.params["sheet"]))
        dest = self.spreadsheets.get(str(_json(req).get("destinationSpreadsheetId")))
        if dest is None or not dest.shared:
            raise SheetsError(404, "Requested entity was not found.")
        copy = sheet.clone()
        title, n = f"Copy of {sheet.title}", 1
        while dest.find(title if n == 1 else f"{title} {n}"):
            n += 1
        copy.properties["title"] = title if n == 1 else f"{title} {n}"
        copy.properties["sheetId"] = new_id = dest.new_id()
        for grid_range in copy.attached_ranges():  # ranges point at the copy, ids are fresh
            grid_range["sheetId"] = new_id
        for chart in copy.charts:
            chart["chartId"] = dest.new_id()
            anchor = chart.get("position", {}).get("overlayPosition", {}).get("anchorCell", {})
            anchor["sheetId"] = new_id
        for protected in copy.protected_ranges:
            protected["protectedRangeId"] = dest.new_id()
        for banded in copy.banded_ranges:
            banded["bandedRangeId"] = dest.new_id()
        copy.developer_metadata = []  # metadata ids are unique per spreadsheet: not copied
        work = dest.clone()
        work.sheets.append(copy)
        work.reindex()
        work.check_limits()
        dest.adopt(work)
        return dict(copy.properties)

    def _batch_update(self, req: Request) -> dict[str, Any]:
        ss = self._spreadsheet(req)
        body = _json(req)
        if not body.get("requests"):
            raise SheetsError(400, "Must specify at least one request.")
        kinds = [next(iter(r), "") if isinstance(r, dict) else "" for r in body["requests"]]
        self.received_batches.append((ss.spreadsheet_id, kinds))
        work = ss.clone()
        replies = apply_batch(work, body["requests"])
        ss.adopt(work)
        out: dict[str, Any] = {"spreadsheetId": ss.spreadsheet_id, "replies": replies}
        if body.get("includeSpreadsheetInResponse"):
            out["updatedSpreadsheet"] = spreadsheet_json(
                ss, body.get("responseRanges"), bool(body.get("responseIncludeGridData"))
            )
        return out

    # --- spreadsheets.values -----------------------------------------------------------

    def _read_options(self, source: Callable[[str], Any]) -> tuple[str, str, str]:
        """majorDimension, valueRenderOption and dateTimeRenderOption, validated."""
        return (
            enum(source("majorDimension"), DIMENSIONS, "major_dimension", "Dimension"),
            enum(
                source("valueRenderOption"),
                RENDER_OPTIONS,
                "value_render_option",
                "ValueRenderOption",
            ),
            enum(
                source("dateTimeRenderOption"),
                DATE_OPTIONS,
                "date_time_render_option",
                "DateTimeRenderOption",
            ),
        )

    def _values_get(self, req: Request) -> dict[str, Any]:
        ss = self._spreadsheet(req)
        major, option, dates = self._read_options(req.arg)
        return read_range(ss, unquote(req.params["range"]), major, option, dates)

    def _values_batch_get(self, req: Request) -> dict[str, Any]:
        ss = self._spreadsheet(req)
        major, option, dates = self._read_options(req.arg)
        ranges = req.query.get("ranges", [])
        out: dict[str, Any] = {"spreadsheetId": ss.spreadsheet_id}
        if ranges:
            out["valueRanges"] = [read_range(ss, r, major, option, dates) for r in ranges]
        return out

    def _updated_data(
        self, ss: Spreadsheet, rng: str, source: Callable[[str], Any]
    ) -> dict[str, Any]:
        """updatedData for includeValuesInResponse, rendered as the response options say."""
        render = enum(
            source("responseValueRenderOption"),
            RENDER_OPTIONS,
            "response_value_render_option",
            "ValueRenderOption",
        )
        dates = enum(
            source("responseDateTimeRenderOption"),
            DATE_OPTIONS,
            "response_date_time_render_option",
            "DateTimeRenderOption",
        )
        return read_range(ss, rng, "ROWS", render, dates)

    def _values_update(self, req: Request) -> dict[str, Any]:
        ss = self._spreadsheet(req)
        text = unquote(req.params["range"])
        option = input_option(req.arg("valueInputOption"))
        body = _json(req)
        major = enum(body.get("majorDimension"), DIMENSIONS, "data.major_dimension", "Dimension")
        if body.get("range") and _normal(ss, body["range"]) != _normal(ss, text):
            raise SheetsError(
                400,
                f"Requested range [{body['range']}] does not match the range in the URL [{text}].",
            )
        work = ss.clone()
        result, _ = write_range(work, text, body.get("values"), major, option)
        ss.adopt(work)
        out = {"spreadsheetId": ss.spreadsheet_id} | result
        if _true(req.arg("includeValuesInResponse")):
            out["updatedData"] = self._updated_data(ss, result["updatedRange"], req.arg)
        return out

    def _values_batch_update(self, req: Request) -> dict[str, Any]:
        ss = self._spreadsheet(req)
        body = _json(req)
        option = input_option(body.get("valueInputOption"), where="body")
        work, responses, sheets = ss.clone(), [], set()
        for i, value_range in enumerate(body.get("data") or []):
            prefix = f"Invalid data[{i}]: "
            if not isinstance(value_range, dict) or not value_range.get("range"):
                raise SheetsError(400, f"{prefix}A range is required.")
            major = enum(
                value_range.get("majorDimension"), DIMENSIONS, "major_dimension", "Dimension"
            )
            result, sheet = write_range(
                work, value_range["range"], value_range.get("values"), major, option, prefix
            )
            if result.get("updatedCells"):
                sheets.add(sheet.sheet_id)
            responses.append({"spreadsheetId": ss.spreadsheet_id} | result)
        ss.adopt(work)
        if _true(body.get("includeValuesInResponse")):
            for response in responses:
                response["updatedData"] = self._updated_data(ss, response["updatedRange"], body.get)
        out: dict[str, Any] = {"spreadsheetId": ss.spreadsheet_id}
        for total, key in (
            ("totalUpdatedRows", "updatedRows"),
            ("totalUpdatedColumns", "updatedColumns"),
            ("totalUpdatedCells", "updatedCells"),
        ):
            if count := sum(r.get(key, 0) for r in responses):
                out[total] = count
        if sheets:
            out["totalUpdatedSheets"] = len(sheets)
        if responses:
            out["responses"] = responses
        return out

    def _append(self, req: Request) -> dict[str, Any]:
        ss = self._spreadsheet(req)
        option = input_option(req.arg("valueInputOption"))
        insert = enum(
            req.arg("insertDataOption"), INSERT_OPTIONS, "insert_data_option", "InsertDataOption"
        )
        body = _json(req)
        major = enum(body.get("majorDimension"), DIMENSIONS, "data.major_dimension", "Dimension")
        work = ss.clone()
        result, _ = append(
            work, unquote(req.params["range"]), body.get("values"), major, option, insert
        )
        ss.adopt(work)
        if _true(req.arg("includeValuesInResponse")):
            rng = result["updates"]["updatedRange"]
            result["updates"]["updatedData"] = self._updated_data(ss, rng, req.arg)
        return {"spreadsheetId": ss.spreadsheet_id} | result

    def _clear(self, req: Request) -> dict[str, Any]:
        ss = self._spreadsheet(req)
        work = ss.clone()
        cleared = clear(work, unquote(req.params["range"]))
        ss.adopt(work)
        return {"spreadsheetId": ss.spreadsheet_id, "clearedRange": cleared}

    def _values_batch_clear(self, req: Request) -> dict[str, Any]:
        ss = self._spreadsheet(req)
        ranges = _json(req).get("ranges") or []
        work = ss.clone()
        cleared = [clear(work, text, f"Invalid range[{i}]: ") for i, text in enumerate(ranges)]
        ss.adopt(work)
        out: dict[str, Any] = {"spreadsheetId": ss.spreadsheet_id}
        if cleared:
            out["clearedRanges"] = cleared
        return out


def _json(req: Request) -> dict[str, Any]:
    try:
        body = req.json()
    except ValueError:
        raise SheetsError(400, "Invalid JSON payload received.") from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise SheetsError(400, "Invalid JSON payload received. Expected an object.")
    return body


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _normal(ss: Spreadsheet, text: str) -> tuple[int, Box]:
    sheet, parsed = ss.resolve(text)
    return sheet.sheet_id, parsed.box


def _mask(fields: str) -> Mask:
    try:
        return parse_mask(fields)
    except ValueError:
        raise SheetsError(400, f"Invalid field selection {fields}") from None


def _masked(body: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """The response cut down to the `fields` system parameter, when one is given."""
    return filter_fields(body, _mask(fields)) if fields else body
