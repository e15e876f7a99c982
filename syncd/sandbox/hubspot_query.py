"""Reading records back: list paging and the CRM search endpoint.

Search follows the search guide (developers.hubspot.com/docs/api-reference/latest/crm/
search-the-crm): filters within a ``filterGroup`` are ANDed, groups are ORed, at most 5
groups of 6 filters (18 in all), ``limit`` up to 200, an integer ``after`` offset, at most
10,000 results per query, archived records never match. String comparisons ignore case.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any, Protocol, TypeVar

from syncd.sandbox.hubspot_rules import as_string, parse_datetime, validation
from syncd.sandbox.hubspot_schema import PropertyDef

SEARCH_MAX_LIMIT = 200
SEARCH_MAX_RESULTS = 10_000


class Row(Protocol):
    """What the queries need of a record."""

    id: str
    properties: dict[str, str]
    archived: bool


R = TypeVar("R", bound=Row)


def page(
    records: Iterable[R], limit: int, after: str | None, archived: bool
) -> tuple[list[R], str | None]:
    """A page of records ordered by id; the cursor is the id of the next record."""
    rows = sorted((r for r in records if r.archived == archived), key=lambda r: int(r.id))
    if after is not None:
        if not after.isdigit():
            raise validation(f"Invalid after value: {after}")
        rows = [r for r in rows if int(r.id) >= int(after)]
    nxt = rows[limit].id if len(rows) > limit else None
    return rows[:limit], nxt


def search(
    records: Iterable[R], defs: dict[str, PropertyDef], body: dict[str, Any]
) -> tuple[int, list[R], int | None]:
    """The search endpoint: (total, this page, next offset or None)."""
    groups = body.get("filterGroups") or []
    counts = [len(g.get("filters") or []) for g in groups]
    if len(groups) > 5 or any(c > 6 for c in counts) or sum(counts) > 18:
        raise validation("Too many filters: at most 5 filterGroups of 6 filters, 18 in total.")
    limit = int(body.get("limit") or 10)
    if not 1 <= limit <= SEARCH_MAX_LIMIT:
        raise validation(f"limit must be between 1 and {SEARCH_MAX_LIMIT} (got {limit})")
    offset = int(body.get("after") or 0)
    rows = [
        r
        for r in records
        if not r.archived
        and (
            not groups
            or any(all(_matches(r, f, defs) for f in g.get("filters") or []) for g in groups)
        )
        and _query_matches(r, body.get("query"))
    ]
    rows.sort(key=lambda r: int(r.id))
    for sort in reversed(body.get("sorts") or []):
        name = sort if isinstance(sort, str) else str(sort.get("propertyName", ""))
        descending = not isinstance(sort, str) and sort.get("direction") == "DESCENDING"
        rows.sort(key=partial(_record_key, name, defs), reverse=descending)
    end = offset + limit
    nxt = end if end < len(rows) and end < SEARCH_MAX_RESULTS else None
    return len(rows), rows[offset:end], nxt


def _comparable(value: str | None, definition: PropertyDef | None) -> float | str | None:
    # Numbers and dates compare as numbers (dates as epoch ms), everything else as folded text.
    if value is None:
        return None
    if definition and definition.type in ("datetime", "date"):
        moment = parse_datetime(value)
        return moment.timestamp() * 1000 if moment else None
    if definition and definition.type == "number":
        try:
            return float(value)
        except ValueError:
            return None
    return value.casefold()


def _record_key(name: str, defs: dict[str, PropertyDef], record: Any) -> tuple[int, Any]:
    """A record's sort key by one property (for `list.sort`)."""
    return _sort_key(record.properties.get(name), defs.get(name))


def _sort_key(value: str | None, definition: PropertyDef | None) -> tuple[int, Any]:
    key = _comparable(value, definition)
    return (1, "") if key is None else (0, key)  # records without a value sort last


def _matches(rec: Row, flt: dict[str, Any], defs: dict[str, PropertyDef]) -> bool:
    name = str(flt.get("propertyName", ""))
    op = flt.get("operator", "EQ")
    definition = defs.get(name)
    have = _comparable(rec.properties.get(name), definition)
    if op == "HAS_PROPERTY":
        return have is not None
    if op == "NOT_HAS_PROPERTY":
        return have is None
    value = _comparable(as_string(flt.get("value")), definition)
    values = [_comparable(as_string(v), definition) for v in flt.get("values") or []]
    if op in ("EQ", "NEQ", "IN", "NOT_IN"):
        hit = have in values if op in ("IN", "NOT_IN") else have == value
        return hit if op in ("EQ", "IN") else not hit
    if op == "CONTAINS_TOKEN":
        return isinstance(have, str) and str(value).strip("*") in have
    if have is None or value is None:
        return False
    try:
        if op == "BETWEEN":
            high = _comparable(as_string(flt.get("highValue")), definition)
            return high is not None and value <= have <= high  # type: ignore[operator]
        compare = {
            "GT": lambda: have > value,  # type: ignore[operator]
            "GTE": lambda: have >= value,  # type: ignore[operator]
            "LT": lambda: have < value,  # type: ignore[operator]
            "LTE": lambda: have <= value,  # type: ignore[operator]
        }
        return op in compare and compare[op]()
    except TypeError:  # a number against text never matches
        return False


def _query_matches(rec: Row, query: str | None) -> bool:
    # The free-text ``query``: a substring of any property value.
    if not query:
        return True
    needle = query.casefold()
    return any(needle in value.casefold() for value in rec.properties.values())
