"""Incremental reads by a time cursor: the logic any helpdesk listing "changed since T, oldest
first, in whole seconds" needs, as pure functions of explicit inputs (no I/O, no clock).

A source keeps one `Mark` per listing and, after each page it fetched, calls `step` with the
page's records (as `Item`s: id, time, version tag); `step` returns the next mark, which
records to emit and whether the listing is exhausted. Two ideas make it exact:

- Boundary-second memory. The cursor is inclusive and whole seconds wide, so the next request
  lists the boundary second again. The versions already emitted at that second (id -> tag)
  are kept in the mark and dropped when they come again; a new version in the same second
  has another tag and goes out. A page entirely inside the boundary second pages on; pages
  past the first can shift while read, so such a second is read again from page 1 until a
  pass meets nothing new (unless the records never move: `settled`).
- The signpost. A listing may lag writes, and a response's time is stamped after the query
  ran: a change made during the sync can still appear in a recent second. Only a second older
  than the signpost (`signpost(server_now)`: the response's own time less `settle` seconds) is
  closed: once the listing is exhausted the cursor moves past it and forgets its ids. Any
  later second stays the boundary, so what changed during this sync is read next time.

`resume_point` serves exports that resume from a plain start time (Zendesk's start_time):
where a page may be cut so that resuming from a time reads nothing twice and loses nothing.

singer-sdk keeps the same ideas behind its state manager (progress markers capped by a
signpost); dlt dedupes at the boundary by primary key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any, NamedTuple

from syncd.model import parse_timestamp

SETTLE = 300  # seconds before a response's time after which no new version can appear


@dataclass(frozen=True, slots=True)
class Mark:
    """Where one listing stands: everything before `since` (epoch seconds) was emitted, and
    at `since` the `seen` versions (id -> tag); `page` > 1 only inside a crowded second."""

    since: int
    seen: Mapping[str, str] = field(default_factory=dict)
    page: int = 1
    recheck: bool = False  # re-reading a crowded second from page 1
    found: bool = False  # this re-read met versions not emitted before

    def to_json(self) -> dict[str, Any]:
        """The mark as JSON-ready data; defaults (page 1, no recheck, nothing seen) left out."""
        data: dict[str, Any] = {"since": iso(self.since)}
        if self.seen:
            data["seen"] = dict(self.seen)
        if self.page != 1:
            data["page"] = self.page
        if self.recheck:
            data["recheck"] = 1
        if self.found:
            data["found"] = 1
        return data

    @classmethod
    def from_json(cls, data: Any, start: int) -> Mark:
        """The mark `to_json` wrote (None: a listing not started, at `start`); raises
        ValueError, TypeError or KeyError for data it cannot read."""
        if data is None:
            return cls(start)
        page = int(data.get("page", 1))
        if page < 1:
            raise ValueError(f"page {page}")
        seen = {str(k): str(v) for k, v in (data.get("seen") or {}).items()}
        since = epoch(data["since"])
        return cls(since, seen, page, bool(data.get("recheck")), bool(data.get("found")))


@dataclass(frozen=True, slots=True)
class Item:
    """A listed record as the cursor sees it: id, time (None: unreadable) and version tag."""

    key: str
    at: int | None
    tag: str = ""


class Step(NamedTuple):
    """What one page did to a listing: the next mark, the indexes of the page's items to
    emit (in order), and whether the listing is exhausted."""

    mark: Mark
    emit: list[int]
    done: bool


class CrowdedSecond(Exception):
    """More pages changed in one second than the listing serves (`max_page`)."""

    def __init__(self, since: int, max_page: int) -> None:
        self.since = since
        self.max_page = max_page
        super().__init__(f"more than {max_page} pages changed in the second {iso(since)}")


def signpost(server_now: int | None, settle: int = SETTLE) -> int | None:
    """The second before which no new version can appear: `settle` seconds before the
    response's time (None: the response said no time, nothing is closed)."""
    return None if server_now is None else server_now - settle


def step(
    mark: Mark,
    items: Sequence[Item],
    more: bool,
    *,
    settled: bool = False,
    server_now: int | None = None,
    settle: int = SETTLE,
    max_page: int | None = None,
) -> Step:
    """The next mark after one page listed from `mark`, which items on it to emit, and
    whether the listing is exhausted. Items come oldest first; an item without a time counts
    as at the boundary (it does not move the cursor).

    `more`: the listing has a page after this one. `settled`: records never move between
    pages (e.g. ratings by creation time), so a crowded second is not read twice.
    `server_now` (the response's time) and `settle` give the signpost (see the module
    docstring). `max_page`: the last page the listing serves; CrowdedSecond past it.
    """
    since = mark.since

    def at(item: Item) -> int:
        return since if item.at is None else item.at

    fresh = [
        i
        for i, item in enumerate(items)
        if at(item) > since or (at(item) == since and mark.seen.get(item.key) != item.tag)
    ]
    here = {item.key: item.tag for item in items if at(item) == since}
    latest = max([since, *(at(item) for item in items)])
    found = mark.found or any(at(items[i]) == since for i in fresh)
    if items and latest == since and more:
        if max_page is not None and mark.page >= max_page:
            raise CrowdedSecond(since, max_page)
        seen = {**mark.seen, **here}
        return Step(replace(mark, seen=seen, page=mark.page + 1, found=found), fresh, False)
    if not settled and (mark.page > 1 or mark.recheck) and (not mark.recheck or found):
        # Later items on this page come again at the end of the re-read: hold them back.
        now = [i for i in fresh if at(items[i]) == since]
        return Step(Mark(since, {**mark.seen, **here}, 1, recheck=True), now, False)
    newest = {item.key: item.tag for item in items if at(item) == latest}
    if more and latest > since:
        return Step(Mark(latest, newest), fresh, False)
    # The listing is exhausted: nothing is left after `latest`.
    post = signpost(server_now, settle)
    if post is not None and latest < post:
        return Step(Mark(latest + 1), fresh, True)  # no new version can carry a past second
    if latest == since:
        return Step(Mark(since, {**mark.seen, **here}), fresh, True)
    return Step(Mark(latest, newest), fresh, True)


def handled(done: Mark, item: Item) -> bool:
    """Whether `done` has already moved past this item (a record read again by a re-read or
    a look back): older than its boundary, or at it and seen in that version's id."""
    at = done.since if item.at is None else item.at
    return at < done.since or (at == done.since and item.key in done.seen)


def resume_point(times: Sequence[int], earliest: int) -> tuple[int, int] | None:
    """Where a page (items oldest first by `times`, not strictly) may be cut at or after
    index `earliest` so that an export resuming from a start time (inclusive) reads nothing
    twice and loses nothing: the first index whose items are all newer than every item
    before it, with that start time. None when no such cut exists."""
    oldest_from = list(accumulate(reversed(times), min))[::-1]  # oldest of times[i:]
    if earliest <= 0 or earliest >= len(times):
        return None
    newest = max(times[:earliest])
    for i in range(earliest, len(times)):
        if newest < oldest_from[i]:
            return i, oldest_from[i]
        newest = max(newest, times[i])
    return None


def epoch(value: str) -> int:
    """An ISO time as whole epoch seconds."""
    return int(parse_timestamp(value, "time").timestamp())


def iso(seconds: int) -> str:
    """Whole epoch seconds as the ISO time listings take (`2026-11-02T10:00:05Z`)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
