"""The Sheets emulator's developer metadata, copyPaste and chart moves, driven by gspread's
HTTP client as the API reference describes them (request shapes, replies and errors)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gspread
import pytest

from syncd.sandbox import SPREADSHEET_ID, Sandbox
from tests.sheets_support import sheets_sink

URL = gspread.urls.SPREADSHEET_URL % SPREADSHEET_ID


@pytest.fixture
def http(sandbox: Sandbox, tmp_path: Path) -> Any:
    return sheets_sink(sandbox, tmp_path).http


def batch(http: Any, *requests: dict[str, Any]) -> list[dict[str, Any]]:
    return http.batch_update(SPREADSHEET_ID, {"requests": list(requests)})["replies"]


def refused(http: Any, *requests: dict[str, Any]) -> str:
    with pytest.raises(gspread.exceptions.APIError) as exc:
        batch(http, *requests)
    assert exc.value.code == 400
    return str(exc.value.error["message"])


def test_developer_metadata_is_created_found_updated_and_deleted(http: Any, sandbox: Sandbox):
    sheet_id = sandbox.sheets.add_sheet(SPREADSHEET_ID, "Tickets")
    (created,) = batch(
        http,
        {
            "createDeveloperMetadata": {
                "developerMetadata": {
                    "metadataKey": "owner",
                    "metadataValue": "syncd",
                    "location": {"sheetId": sheet_id},
                    "visibility": "DOCUMENT",
                }
            }
        },
    )
    metadata = created["createDeveloperMetadata"]["developerMetadata"]
    assert metadata["location"] == {"locationType": "SHEET", "sheetId": sheet_id}
    assert metadata["metadataId"] > 0
    fields = "sheets(properties(title),developerMetadata(metadataKey,metadataValue))"
    got = json.loads(http.request("get", URL, params={"fields": fields}).content)
    tickets = next(s for s in got["sheets"] if s["properties"]["title"] == "Tickets")
    assert tickets["developerMetadata"] == [{"metadataKey": "owner", "metadataValue": "syncd"}]

    lookup = {"developerMetadataLookup": {"metadataId": metadata["metadataId"]}}
    (updated,) = batch(
        http,
        {
            "updateDeveloperMetadata": {
                "dataFilters": [lookup],
                "developerMetadata": {"metadataValue": "syncd v2", "metadataKey": "ignored"},
                "fields": "metadataValue",
            }
        },
    )
    (changed,) = updated["updateDeveloperMetadata"]["developerMetadata"]
    assert (changed["metadataKey"], changed["metadataValue"]) == ("owner", "syncd v2")
    (deleted,) = batch(http, {"deleteDeveloperMetadata": {"dataFilter": lookup}})
    assert (
        deleted["deleteDeveloperMetadata"]["deletedDeveloperMetadata"][0]["metadataId"]
        == (metadata["metadataId"])
    )
    assert sandbox.sheets.sheet(SPREADSHEET_ID, "Tickets")["developerMetadata"] == []


def test_developer_metadata_needs_a_key_a_visibility_and_a_free_id(http: Any):
    location = {"spreadsheet": True}
    assert "must always have a key" in refused(
        http,
        {"createDeveloperMetadata": {"developerMetadata": {"location": location}}},
    )
    assert "visibility" in refused(
        http,
        {
            "createDeveloperMetadata": {
                "developerMetadata": {"metadataKey": "k", "location": location}
            }
        },
    )
    body = {"metadataId": 7, "metadataKey": "k", "location": location, "visibility": "PROJECT"}
    batch(http, {"createDeveloperMetadata": {"developerMetadata": body}})
    assert "already in use" in refused(
        http, {"createDeveloperMetadata": {"developerMetadata": body}}
    )


def test_copy_paste_copies_whole_cells_and_repeats_to_fill(http: Any, sandbox: Sandbox):
    sandbox.sheets.set_values(SPREADSHEET_ID, "Sheet1", [["a", "=1+1"], ["b", "3"]])
    grid = {"sheetId": 0, "startColumnIndex": 0, "endColumnIndex": 2}
    batch(
        http,
        {
            "copyPaste": {
                "source": grid | {"startRowIndex": 0, "endRowIndex": 1},
                "destination": grid | {"startRowIndex": 4, "endRowIndex": 6},  # twice the height
                "pasteType": "PASTE_NORMAL",
            }
        },
        {
            "copyPaste": {
                "source": grid | {"startRowIndex": 0, "endRowIndex": 2},
                "destination": {"sheetId": 0, "startRowIndex": 8, "startColumnIndex": 3},
                "pasteType": "PASTE_VALUES",
            }
        },
    )
    shown = sandbox.sheets.values(SPREADSHEET_ID, "Sheet1")
    assert shown[4:6] == [["a", "2"], ["a", "2"]]
    assert shown[8:10] == [["", "", "", "a", "2"], ["", "", "", "b", "3"]]
    assert sandbox.sheets.cell(SPREADSHEET_ID, "Sheet1", 4, 1)["userEnteredValue"] == {
        "formulaValue": "=1+1"
    }
    assert sandbox.sheets.cell(SPREADSHEET_ID, "Sheet1", 8, 4)["userEnteredValue"] == {
        "numberValue": 2
    }
    past = {"sheetId": 0, "startRowIndex": 999, "startColumnIndex": 0}
    assert "exceeds grid limits" in refused(
        http,
        {
            "copyPaste": {
                "source": grid | {"startRowIndex": 0, "endRowIndex": 2},
                "destination": past,
            }
        },
    )


def test_a_chart_moves_to_another_anchor(http: Any, sandbox: Sandbox):
    (added,) = batch(
        http,
        {
            "addChart": {
                "chart": {
                    "spec": {"title": "Volume", "basicChart": {"chartType": "COLUMN"}},
                    "position": {"overlayPosition": {"anchorCell": {"sheetId": 0, "rowIndex": 1}}},
                }
            }
        },
    )
    chart_id = added["addChart"]["chart"]["chartId"]
    (moved,) = batch(
        http,
        {
            "updateEmbeddedObjectPosition": {
                "objectId": chart_id,
                "newPosition": {"overlayPosition": {"anchorCell": {"sheetId": 0, "rowIndex": 30}}},
                "fields": "anchorCell",
            }
        },
    )
    overlay = moved["updateEmbeddedObjectPosition"]["position"]["overlayPosition"]
    assert overlay["anchorCell"]["rowIndex"] == 30
    assert overlay["widthPixels"] == 600, "fields not named keep their values"
    assert "No object with id" in refused(
        http,
        {
            "updateEmbeddedObjectPosition": {
                "objectId": 1,
                "newPosition": {"overlayPosition": {}},
                "fields": "anchorCell",
            }
        },
    )
