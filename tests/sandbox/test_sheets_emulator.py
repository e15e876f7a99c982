"""The Sheets and OAuth emulators, driven by the real google-auth and gspread libraries.

One server (oauth + sheets only) serves the whole module; each test works in a spreadsheet
of its own so tests do not see each other's writes.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import gspread
import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from google.auth.transport.requests import AuthorizedSession
from google.auth.transport.requests import Request as AuthRequest
from google.oauth2.service_account import Credentials
from gspread.http_client import HTTPClient

from syncd.sandbox.a1 import Box, format_box, parse_cells, quote_title, split_title
from syncd.sandbox.oauth import GoogleOAuthApp
from syncd.sandbox.server import Faults, SandboxServer
from syncd.sandbox.sheets import SheetsApp

GOOGLE = "https://sheets.googleapis.com"
SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]


class Emulator:
    """The running server and its two apps."""

    def __init__(self) -> None:
        self.oauth = GoogleOAuthApp()
        self.sheets = SheetsApp(oauth=self.oauth, spreadsheet_ids=["fixed-id"])
        self.server = SandboxServer("127.0.0.1", 0, [self.oauth, self.sheets], Faults())
        # Headers and body leave in two writes; without TCP_NODELAY each response waits
        # ~40 ms on the client's delayed ACK. Only this test's server instance is changed.
        handler = self.server.RequestHandlerClass
        self.server.RequestHandlerClass = type(
            "NoDelay", (handler,), {"disable_nagle_algorithm": True}
        )
        self.url = self.server.base_url

    def credentials(self) -> Credentials:
        info = self.oauth.service_account_info(token_uri=f"{self.url}/token")
        return Credentials.from_service_account_info(info, scopes=SCOPES)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    emu = Emulator()
    thread = threading.Thread(target=emu.server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield emu
    emu.server.shutdown()
    emu.server.server_close()


@pytest.fixture(scope="module")
def client(emulator: Emulator) -> gspread.Client:
    class SandboxHTTPClient(HTTPClient):
        """gspread's client with Google's base URL swapped for the sandbox's."""

        def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> Any:
            if endpoint.startswith(GOOGLE):
                endpoint = emulator.url + endpoint[len(GOOGLE) :]
            return super().request(method, endpoint, *args, **kwargs)

    # google-auth looks up the account's Regional Access Boundary on iamcredentials after a
    # token refresh, through the session's auth transport: send that to the sandbox too.
    auth_transport = requests.Session()
    auth_transport.mount("https://iamcredentials.googleapis.com/", _ToSandbox(emulator.url))
    creds = emulator.credentials()
    session = AuthorizedSession(creds, auth_request=AuthRequest(auth_transport))
    return gspread.Client(auth=creds, session=session, http_client=SandboxHTTPClient)


class _ToSandbox(requests.adapters.HTTPAdapter):
    """Send requests for a Google host to the sandbox instead."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url or "")
        request.url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, *args, **kwargs)


@pytest.fixture
def book(emulator: Emulator, client: gspread.Client) -> gspread.Spreadsheet:
    key = f"sheet-{uuid.uuid4().hex[:12]}"
    emulator.sheets.create_spreadsheet(key, "Test book")
    return client.open_by_key(key)


def api_error(exc: pytest.ExceptionInfo[gspread.exceptions.APIError]) -> dict[str, Any]:
    return exc.value.response.json()["error"]


# --- A1 notation --------------------------------------------------------------------------


def test_a1_notation_forms() -> None:
    assert split_title("'My ''Tab'''!A:A") == ("My 'Tab'", "A:A")
    assert split_title("Tickets") == (None, "Tickets")
    assert split_title("'Tickets'") == ("Tickets", None)
    assert parse_cells("A1:C5") == (Box(0, 0, 5, 3), False)
    assert parse_cells("$B$2") == (Box(1, 1, 2, 2), True)
    assert parse_cells("A:C") == (Box(0, 0, None, 3), False)
    assert parse_cells("1:1") == (Box(0, 0, 1, None), False)
    assert parse_cells("A2:F") == (Box(1, 0, None, 6), False)
    assert parse_cells("C5:A1") == (Box(0, 0, 5, 3), False)
    assert parse_cells("Tickets") is None
    assert format_box(Box(1000, 0, None, 2)) == "A1001:B"
    assert format_box(Box(0, 26, 2, None)) == "AA1:2"
    assert quote_title("Sheet1") == "Sheet1"
    assert quote_title("My Tab") == "'My Tab'"
    assert quote_title("A1") == "'A1'"


# --- OAuth ----------------------------------------------------------------------------------


def test_service_account_key_and_token(emulator: Emulator) -> None:
    info = emulator.oauth.service_account_info(token_uri=f"{emulator.url}/token")
    assert info["type"] == "service_account"
    assert info["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    creds = emulator.credentials()
    creds.refresh(AuthRequest())
    assert creds.token.startswith("ya29.")
    assert emulator.oauth.token_valid(creds.token)


def _jwt(key: rsa.RSAPrivateKey, claims: dict[str, Any]) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    signature = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{b64(signature)}"


def test_token_endpoint_rejects_bad_assertions(emulator: Emulator) -> None:
    now = int(time.time())
    claims = {
        "iss": emulator.oauth.client_email,
        "aud": "https://oauth2.googleapis.com/token",
        "scope": SCOPES[0],
        "iat": now,
        "exp": now + 3600,
    }
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases = [
        (_jwt(stranger, claims), "invalid_grant"),  # not signed by the account's key
        (_jwt(emulator.oauth._key, claims | {"exp": now + 7200}), "invalid_grant"),
        (_jwt(emulator.oauth._key, claims | {"scope": ""}), "invalid_scope"),
    ]
    for assertion, code in cases:
        resp = requests.post(
            f"{emulator.url}/token", data={"grant_type": grant, "assertion": assertion}, timeout=5
        )
        assert resp.status_code == 400
        assert resp.json()["error"] == code
    resp = requests.post(
        f"{emulator.url}/token",
        data={"grant_type": grant, "assertion": _jwt(emulator.oauth._key, claims)},
        timeout=5,
    )
    assert resp.json()["token_type"] == "Bearer" and resp.json()["expires_in"] == 3600


def test_bad_token_is_401_and_revoked_tokens_are_refreshed(
    emulator: Emulator, book: gspread.Spreadsheet
) -> None:
    url = f"{emulator.url}/v4/spreadsheets/{book.id}"
    resp = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5)
    assert resp.status_code == 401
    assert resp.json()["error"]["status"] == "UNAUTHENTICATED"
    assert requests.get(url, timeout=5).status_code == 401
    emulator.oauth.revoke_all()
    # google-auth's session answers a 401 by fetching a new token and retrying.
    assert book.fetch_sheet_metadata()["properties"]["title"] == "Test book"


def test_scopes_and_sharing_are_enforced(emulator: Emulator) -> None:
    info = emulator.oauth.service_account_info(token_uri=f"{emulator.url}/token")
    readonly = Credentials.from_service_account_info(
        info, scopes=["https://www.googleapis.com/auth/spreadsheets.readonly"]
    )
    readonly.refresh(AuthRequest())
    headers = {"Authorization": f"Bearer {readonly.token}"}
    base = f"{emulator.url}/v4/spreadsheets/fixed-id"
    assert requests.get(f"{base}/values/A1", headers=headers, timeout=5).status_code == 200
    resp = requests.put(
        f"{base}/values/A1?valueInputOption=RAW",
        json={"values": [["x"]]},
        headers=headers,
        timeout=5,
    )
    assert (resp.status_code, resp.json()["error"]["status"]) == (403, "PERMISSION_DENIED")
    emulator.sheets.create_spreadsheet("private", shared=False)
    resp = requests.get(f"{emulator.url}/v4/spreadsheets/private", headers=headers, timeout=5)
    assert resp.json()["error"] == {
        "code": 403,
        "message": "The caller does not have permission",
        "status": "PERMISSION_DENIED",
    }


# --- spreadsheets and values ------------------------------------------------------------------


def test_open_by_key_and_add_worksheet(
    emulator: Emulator, client: gspread.Client, book: gspread.Spreadsheet
) -> None:
    first = book.sheet1
    assert (first.id, first.title, first.row_count, first.col_count) == (0, "Sheet1", 1000, 26)
    tab = book.add_worksheet("Tickets", rows=10, cols=5)
    assert emulator.sheets.sheet_titles(book.id) == ["Sheet1", "Tickets"]
    assert (tab.row_count, tab.col_count, tab.index) == (10, 5, 1)
    with pytest.raises(gspread.exceptions.APIError) as exc:
        book.add_worksheet("Tickets", rows=10, cols=5)
    assert "already exists" in api_error(exc)["message"]
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        client.open_by_key("no-such-spreadsheet")


def test_raw_keeps_text_and_user_entered_parses(
    emulator: Emulator, book: gspread.Spreadsheet
) -> None:
    ws = book.sheet1
    raw = ["=1+1", "+1 555", "@x", "-5", "TRUE"]
    ws.update([raw], "A1", value_input_option="RAW")
    ws.update([["=1+1", "1,234", "TRUE", "'007", "=A9"]], "A2", value_input_option="USER_ENTERED")
    assert ws.get("A1:E1", value_render_option="UNFORMATTED_VALUE") == [raw]
    assert ws.get("A2:E2") == [["2", "1,234", "TRUE", "007", "=A9"]]
    assert ws.get("A2:E2", value_render_option="FORMULA") == [["=1+1", 1234, True, "007", "=A9"]]
    cell = emulator.sheets.cell(book.id, "Sheet1", 0, 0)
    assert cell["userEnteredValue"] == {"stringValue": "=1+1"}
    assert emulator.sheets.cell(book.id, "Sheet1", 1, 0)["userEnteredValue"] == {
        "formulaValue": "=1+1"
    }
    # JSON numbers stay numbers under RAW; null leaves a cell alone; "" clears it.
    ws.update([[7, None, ""]], "A1", value_input_option="RAW")
    assert emulator.sheets.values(book.id, "Sheet1")[0] == ["7", "+1 555", "", "-5", "TRUE"]


def test_write_past_the_grid_fails_until_resized(book: gspread.Spreadsheet) -> None:
    ws = book.add_worksheet("Small", rows=3, cols=2)
    with pytest.raises(gspread.exceptions.APIError) as exc:
        ws.update([["x"]], "A4")
    error = api_error(exc)
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert error["message"] == "Range (Small!A4) exceeds grid limits. Max rows: 3, max columns: 2"
    with pytest.raises(gspread.exceptions.APIError) as past:
        ws.update([["a"], ["b"]], "A3")
    assert "but tried writing to row [4]" in api_error(past)["message"]
    ws.resize(rows=5)
    ws.update([["x"], ["y"]], "A4")
    assert ws.get("A1:B5") == [[], [], [], ["x"], ["y"]]


def test_append_finds_the_table_and_grows_the_grid(
    emulator: Emulator, book: gspread.Spreadsheet
) -> None:
    ws = book.add_worksheet("Log", rows=2, cols=2)
    ws.update([["id", "subject"]], "A1")
    result = ws.append_rows([[str(i), f"s{i}", "extra"] for i in range(5)])
    assert result["tableRange"] == "Log!A1:B1"
    assert result["updates"]["updatedRange"] == "Log!A2:C6"
    props = emulator.sheets.sheet(book.id, "Log")["properties"]["gridProperties"]
    assert (props["rowCount"], props["columnCount"]) == (6, 3)
    assert emulator.sheets.values(book.id, "Log")[-1] == ["4", "s4", "extra"]


def test_values_batch_update_and_batch_get(book: gspread.Spreadsheet) -> None:
    result = book.values_batch_update(
        {
            "valueInputOption": "RAW",
            "data": [
                {"range": "Sheet1!A1", "values": [["a", "b"], ["c", "d"]]},
                {"range": "Sheet1!D1:D2", "majorDimension": "COLUMNS", "values": [["x", "y"]]},
            ],
        }
    )
    assert result["totalUpdatedCells"] == 6
    assert result["totalUpdatedSheets"] == 1
    assert [r["updatedRange"] for r in result["responses"]] == ["Sheet1!A1:B2", "Sheet1!D1:D2"]
    got = book.values_batch_get(["Sheet1!A1:D2", "Sheet1!Z1"])["valueRanges"]
    assert got[0]["values"] == [["a", "b", "", "x"], ["c", "d", "", "y"]]
    assert "values" not in got[1]
    with pytest.raises(gspread.exceptions.APIError) as exc:
        book.values_batch_update(
            {"valueInputOption": "RAW", "data": [{"range": "Sheet1!A1:A1", "values": [["1", "2"]]}]}
        )
    assert api_error(exc)["message"].startswith("Invalid data[0]: Requested writing within range")


def test_spreadsheets_get_with_ranges_and_grid_data(book: gspread.Spreadsheet) -> None:
    tab = book.add_worksheet("Tickets", rows=20, cols=4)
    tab.update([["id", "subject"], ["1", "Printer"]], "A1")
    meta = book.fetch_sheet_metadata(
        params={
            "includeGridData": "true",
            "ranges": ["Tickets!A1:B1", "'Tickets'!A:A"],
            "fields": "sheets(properties(title),data(startRow,rowData(values(formattedValue))))",
        }
    )
    assert [s["properties"] for s in meta["sheets"]] == [{"title": "Tickets"}]
    header, ids = meta["sheets"][0]["data"]
    assert [v["formattedValue"] for v in header["rowData"][0]["values"]] == ["id", "subject"]
    assert [row["values"][0]["formattedValue"] for row in ids["rowData"]] == ["id", "1"]
    plain = book.fetch_sheet_metadata()
    assert "data" not in plain["sheets"][0]
    with pytest.raises(gspread.exceptions.APIError) as exc:
        book.fetch_sheet_metadata(params={"ranges": "Nope!A1"})
    assert api_error(exc)["message"] == "Unable to parse range: Nope!A1"


def test_cell_over_50000_characters_is_rejected(
    emulator: Emulator, book: gspread.Spreadsheet
) -> None:
    book.sheet1.update([["x" * 50_000]], "A1")
    with pytest.raises(gspread.exceptions.APIError) as exc:
        book.sheet1.update([["ok", "y" * 50_001]], "A2")
    assert api_error(exc)["message"] == (
        "Your input contains more than the maximum of 50000 characters in a single cell."
    )
    assert len(emulator.sheets.values(book.id, "Sheet1")) == 1  # nothing of A2 was written


# --- batchUpdate --------------------------------------------------------------------------


def test_batch_update_structures_are_kept(emulator: Emulator, book: gspread.Spreadsheet) -> None:
    body = {
        "requests": [
            {
                "addSheet": {
                    "properties": {
                        "sheetId": 777,
                        "title": "Report",
                        "gridProperties": {"rowCount": 50, "columnCount": 6, "frozenRowCount": 1},
                    }
                }
            },
            {
                "updateCells": {
                    "start": {"sheetId": 777, "rowIndex": 0, "columnIndex": 0},
                    "rows": [
                        {"values": [{"userEnteredValue": {"stringValue": "=not a formula"}}]},
                        {"values": [{"userEnteredValue": {"numberValue": 3}}]},
                    ],
                    "fields": "userEnteredValue",
                }
            },
            {
                "repeatCell": {
                    "range": {"sheetId": 777, "startRowIndex": 0, "endRowIndex": 1},
                    "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                    "fields": "userEnteredFormat.textFormat.bold",
                }
            },
            {
                "addChart": {
                    "chart": {
                        "spec": {"title": "Tickets", "basicChart": {"chartType": "COLUMN"}},
                        "position": {"overlayPosition": {"anchorCell": {"sheetId": 777}}},
                    }
                }
            },
            {
                "setBasicFilter": {
                    "filter": {"range": {"sheetId": 777, "startRowIndex": 0, "endRowIndex": 2}}
                }
            },
        ]
    }
    replies = book.batch_update(body)["replies"]
    assert replies[0]["addSheet"]["properties"]["sheetId"] == 777
    assert replies[1] == replies[2] == replies[4] == {}
    chart = replies[3]["addChart"]["chart"]
    assert chart["chartId"] and chart["spec"]["title"] == "Tickets"
    stored = emulator.sheets.sheet(book.id, "Report")
    assert stored["formats"]["A1"] == {"textFormat": {"bold": True}}
    assert stored["charts"][0]["chartId"] == chart["chartId"]
    assert stored["basicFilter"]["range"]["endRowIndex"] == 2
    assert emulator.sheets.values(book.id, "Report") == [["=not a formula"], ["3"]]
    meta = book.fetch_sheet_metadata(params={"includeGridData": "true", "ranges": "Report!A1"})
    cell = meta["sheets"][0]["data"][0]["rowData"][0]["values"][0]
    assert cell["effectiveFormat"]["textFormat"]["bold"] is True
    assert meta["sheets"][0]["charts"][0]["chartId"] == chart["chartId"]


def test_batch_update_is_atomic(emulator: Emulator, book: gspread.Spreadsheet) -> None:
    with pytest.raises(gspread.exceptions.APIError) as exc:
        book.batch_update(
            {
                "requests": [
                    {"addSheet": {"properties": {"title": "Once"}}},
                    {"repeatCell": {"range": {"sheetId": 0, "startRowIndex": 1000}, "fields": "*"}},
                ]
            }
        )
    assert api_error(exc)["message"] == (
        "Invalid requests[1].repeatCell: Range (Sheet1!A1001:Z) exceeds grid limits. "
        "Max rows: 1000, max columns: 26"
    )
    assert emulator.sheets.sheet_titles(book.id) == ["Sheet1"]


def test_sort_rules_and_dimensions(emulator: Emulator, book: gspread.Spreadsheet) -> None:
    ws = book.sheet1
    ws.update(
        [["name", "n"], ["b", "2"], ["", ""], ["a", "10"], ["c", "1"]],
        "A1",
        value_input_option="USER_ENTERED",
    )
    book.batch_update(
        {
            "requests": [
                {
                    "sortRange": {
                        "range": {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 5},
                        "sortSpecs": [{"dimensionIndex": 1, "sortOrder": "DESCENDING"}],
                    }
                },
                {
                    "addConditionalFormatRule": {
                        "rule": {
                            "ranges": [{"sheetId": 0, "startColumnIndex": 1, "endColumnIndex": 2}],
                            "booleanRule": {
                                "condition": {
                                    "type": "NUMBER_GREATER",
                                    "values": [{"userEnteredValue": "5"}],
                                },
                                "format": {"backgroundColor": {"red": 1}},
                            },
                        }
                    }
                },
                {
                    "updateDimensionProperties": {
                        "range": {
                            "sheetId": 0,
                            "dimension": "COLUMNS",
                            "startIndex": 0,
                            "endIndex": 1,
                        },
                        "properties": {"pixelSize": 240},
                        "fields": "pixelSize",
                    }
                },
                {
                    "insertDimension": {
                        "range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 1, "endIndex": 2}
                    }
                },
            ]
        }
    )
    # numbers sort as numbers (10 > 2 > 1); the empty row goes last whatever the order
    assert emulator.sheets.values(book.id, "Sheet1") == [
        ["name", "n"],
        [],
        ["a", "10"],
        ["b", "2"],
        ["c", "1"],
    ]
    stored = emulator.sheets.sheet(book.id, "Sheet1")
    assert stored["columnMetadata"] == {"0": {"pixelSize": 240}}
    assert stored["conditionalFormats"][0]["booleanRule"]["format"] == {
        "backgroundColor": {"red": 1}
    }
    assert stored["properties"]["gridProperties"]["rowCount"] == 1001


@pytest.mark.slow
def test_large_write_is_fast(emulator: Emulator, book: gspread.Spreadsheet) -> None:
    ws = book.sheet1
    ws.resize(rows=10_001, cols=20)
    rows = [[f"r{r}c{c}" for c in range(20)] for r in range(10_000)]
    started = time.perf_counter()
    ws.update(rows, "A2", value_input_option="RAW")
    elapsed = time.perf_counter() - started
    values = emulator.sheets.values(book.id, "Sheet1")
    assert len(values) == 10_001 and values[-1][-1] == "r9999c19"
    assert elapsed < 3  # generous for slow CI; typically a few tenths of a second


def test_read_quota_answers_429(emulator: Emulator, book: gspread.Spreadsheet) -> None:
    ws = book.sheet1
    emulator.sheets.read_quota_per_minute = 2
    try:
        ws.get("A1")
        ws.get("A1")
        with pytest.raises(gspread.exceptions.APIError) as exc:
            ws.get("A1")
        assert api_error(exc)["status"] == "RESOURCE_EXHAUSTED"
        ws.update([["writes have their own quota"]], "A1")
    finally:
        emulator.sheets.read_quota_per_minute = None
        emulator.sheets._usage.clear()


def test_front_end_html_errors_reach_gspread_as_code_minus_one(
    emulator: Emulator, book: gspread.Spreadsheet
) -> None:
    # Google's front end serves an HTML page with some 502/503s; gspread cannot parse it and
    # reports code -1 (gspread/exceptions.py, APIError.__init__), the status on the response.
    emulator.sheets.front_end_errors(502, 503)
    for status in (502, 503):
        with pytest.raises(gspread.exceptions.APIError) as exc:
            book.sheet1.get("A1")
        assert exc.value.code == -1 and exc.value.response.status_code == status
        assert "Server Error" in exc.value.response.text
    assert book.sheet1.get("A1") is not None  # the next request is served again
