"""Developer metadata for the Sheets emulator: createDeveloperMetadata, updateDeveloperMetadata
and deleteDeveloperMetadata (spreadsheets.batchUpdate), as the reference describes them.

A DeveloperMetadata is `{metadataId, metadataKey, metadataValue, location, visibility}`; the
key and the visibility (DOCUMENT or PROJECT) must be given, the id is picked when not given
and must be positive and unused. The emulator keeps metadata on a whole sheet
(`location.sheetId`, stored with the sheet, so it goes when the sheet is deleted) or on the
spreadsheet (`location.spreadsheet: true`); the location comes back with its read-only
`locationType` (SHEET, SPREADSHEET). Row and column locations are refused with a 400 rather
than emulated half-way. Updates and deletions select metadata with DataFilters of the
`developerMetadataLookup` kind, every given field having to match.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from syncd.sandbox.sheets_cells import SheetsError
from syncd.sandbox.sheets_fields import apply_mask, request_mask
from syncd.sandbox.sheets_grid import Spreadsheet

Body = dict[str, Any]
Reply = dict[str, Any] | None
VISIBILITIES = ("DOCUMENT", "PROJECT")


def _entries(ss: Spreadsheet) -> list[tuple[list[dict[str, Any]], dict[str, Any]]]:
    """Every stored metadata with the list that holds it."""
    found = [(ss.developer_metadata, m) for m in ss.developer_metadata]
    for sheet in ss.sheets:
        found.extend((sheet.developer_metadata, m) for m in sheet.developer_metadata)
    return found


def _location(ss: Spreadsheet, location: Any, prefix: str) -> tuple[list[dict[str, Any]], Body]:
    """The list a location stores into, and the location as Google returns it."""
    if not isinstance(location, dict) or not location:
        raise SheetsError(400, f"{prefix}Developer metadata must have a location specified.")
    if "dimensionRange" in location:
        raise SheetsError(
            400, f"{prefix}The emulator keeps developer metadata on sheets and spreadsheets only."
        )
    if location.get("spreadsheet"):
        return ss.developer_metadata, {"locationType": "SPREADSHEET", "spreadsheet": True}
    if "sheetId" in location:
        sheet = ss.by_id(location["sheetId"], prefix)
        return sheet.developer_metadata, {"locationType": "SHEET", "sheetId": sheet.sheet_id}
    raise SheetsError(400, f"{prefix}Developer metadata must have a location specified.")


def create_developer_metadata(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """createDeveloperMetadata: the reply carries the stored metadata."""
    metadata = copy.deepcopy(body.get("developerMetadata") or {})
    if not metadata.get("metadataKey"):
        raise SheetsError(400, f"{prefix}Developer metadata must always have a key specified.")
    if metadata.get("visibility") not in VISIBILITIES:
        raise SheetsError(
            400, f"{prefix}Developer metadata must always have a visibility specified."
        )
    holder, metadata["location"] = _location(ss, metadata.get("location"), prefix)
    taken = {m["metadataId"] for _, m in _entries(ss)}
    if "metadataId" in metadata:
        wanted = int(metadata["metadataId"])
        if wanted < 1:
            raise SheetsError(400, f"{prefix}Developer metadata IDs must be positive.")
        if wanted in taken:
            raise SheetsError(400, f"{prefix}Developer metadata ID {wanted} is already in use.")
        metadata["metadataId"] = wanted
    else:
        metadata["metadataId"] = next(
            n for n in iter(lambda: ss.rng.randrange(1, 2**31 - 1), None) if n not in taken
        )
    holder.append(metadata)
    return {"developerMetadata": copy.deepcopy(metadata)}


def _matches(metadata: dict[str, Any], data_filter: Any, prefix: str) -> bool:
    if not isinstance(data_filter, dict) or "developerMetadataLookup" not in data_filter:
        raise SheetsError(
            400, f"{prefix}The emulator selects developer metadata by developerMetadataLookup."
        )
    lookup = data_filter["developerMetadataLookup"] or {}
    location = metadata["location"]
    checks: dict[str, Callable[[Any], bool]] = {
        "metadataId": lambda v: int(v) == metadata["metadataId"],
        "metadataKey": lambda v: v == metadata.get("metadataKey"),
        "metadataValue": lambda v: v == metadata.get("metadataValue"),
        "visibility": lambda v: v == metadata.get("visibility"),
        "locationType": lambda v: v == location["locationType"],
        "metadataLocation": lambda v: (
            bool(v.get("spreadsheet")) == bool(location.get("spreadsheet"))
            and v.get("sheetId", location.get("sheetId")) == location.get("sheetId")
        ),
    }
    return all(check(lookup[name]) for name, check in checks.items() if name in lookup)


def _selected(ss: Spreadsheet, filters: Any, prefix: str) -> list[tuple[list[Any], Body]]:
    if not isinstance(filters, list) or not filters:
        raise SheetsError(400, f"{prefix}At least one data filter must be specified.")
    return [
        (holder, m) for holder, m in _entries(ss) if any(_matches(m, f, prefix) for f in filters)
    ]


def update_developer_metadata(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """updateDeveloperMetadata: the masked fields of every matching metadata replaced."""
    mask = request_mask(body, prefix)
    new = body.get("developerMetadata") or {}
    updated = []
    for holder, metadata in _selected(ss, body.get("dataFilters"), prefix):
        changed = apply_mask(metadata, new, {k: v for k, v in mask.items() if k != "location"})
        if "location" in mask:
            target, changed["location"] = _location(ss, new.get("location"), prefix)
            holder.remove(metadata)
            target.append(changed)
        else:
            holder[holder.index(metadata)] = changed
        updated.append(copy.deepcopy(changed))
    return {"developerMetadata": updated}


def delete_developer_metadata(ss: Spreadsheet, body: Body, prefix: str) -> Reply:
    """deleteDeveloperMetadata: the reply lists what went."""
    deleted = []
    for holder, metadata in _selected(ss, [body.get("dataFilter")], prefix):
        holder.remove(metadata)
        deleted.append(metadata)
    return {"deletedDeveloperMetadata": deleted}
