"""Field masks, as Google APIs take them in `fields` (reads) and in update requests (writes).

Syntax (Google "Partial response" / FieldMask docs): comma-separated paths whose segments are
joined by `.` or `/`, with `a(b,c)` grouping sub-fields and `*` meaning every field. The same
parsed tree filters a response and says which parts of a stored object an update replaces.

Stored objects are treated as immutable: `apply_mask` copies along the paths it changes and
shares everything else, which lets a repeatCell over 200,000 cells stay fast.
"""

from __future__ import annotations

from typing import Any

from syncd.sandbox.sheets_cells import SheetsError

Mask = dict[str, "Mask"]  # {} at a leaf means "this whole field"


def parse_mask(text: str) -> Mask:
    """Parse `sheets(properties(title,sheetId)),spreadsheetId` into a nested dict."""
    tree: Mask = {}
    pos = _parse_list(text.replace(" ", ""), 0, tree)
    if pos != len(text.replace(" ", "")):
        raise ValueError(f"Invalid field mask: {text}")
    return tree


def _parse_list(text: str, pos: int, into: Mask) -> int:
    while pos < len(text):
        pos = _parse_path(text, pos, into)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        break
    return pos


def _parse_path(text: str, pos: int, into: Mask) -> int:
    node = into
    while True:
        start = pos
        while pos < len(text) and text[pos] not in ".,/()":
            pos += 1
        name = text[start:pos]
        if not name:
            raise ValueError(f"Invalid field mask: {text}")
        node = node.setdefault(name, {})
        if pos < len(text) and text[pos] in "./":
            pos += 1
            continue
        if pos < len(text) and text[pos] == "(":
            pos = _parse_list(text, pos + 1, node)
            if pos >= len(text) or text[pos] != ")":
                raise ValueError(f"Invalid field mask: {text}")
            pos += 1
        return pos


def filter_fields(value: Any, mask: Mask) -> Any:
    """Keep only the masked parts of a response (lists are filtered element by element)."""
    if not mask or "*" in mask:
        return value
    if isinstance(value, list):
        return [filter_fields(item, mask) for item in value]
    if not isinstance(value, dict):
        return value
    return {key: filter_fields(value[key], sub) for key, sub in mask.items() if key in value}


def apply_mask(target: dict[str, Any], source: dict[str, Any], mask: Mask) -> dict[str, Any]:
    """A copy of target whose masked fields are taken from source (absent there = cleared)."""
    if "*" in mask:
        return dict(source)
    result = dict(target)
    for key, sub in mask.items():
        if not sub:
            if key in source:
                result[key] = source[key]
            else:
                result.pop(key, None)
            continue
        inner_source = source.get(key)
        inner = apply_mask(
            result.get(key) or {}, inner_source if isinstance(inner_source, dict) else {}, sub
        )
        if inner:
            result[key] = inner
        else:
            result.pop(key, None)
    return result


def request_mask(body: dict[str, Any], prefix: str) -> Mask:
    """The parsed `fields` of an update request, which Google requires."""
    fields = body.get("fields")
    if not fields:
        raise SheetsError(400, f"{prefix}At least one field must be specified in 'fields'.")
    try:
        return parse_mask(fields)
    except ValueError as err:
        raise SheetsError(400, f"{prefix}{err}") from None
