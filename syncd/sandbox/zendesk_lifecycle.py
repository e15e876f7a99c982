"""The Zendesk emulator's ticket lifecycle: replies, satisfaction, merges, spam, deletion,
archiving, and the metrics endpoints. A mixin of `ZendeskApp` (split out for size): the
Python API that tests and the demo drive, the vendor endpoints that serve it, and their
admin routes under /_sandbox/zendesk.

References (besides those in `zendesk` and `zendesk_metrics`):

- [T] Tickets, https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/
  (Merge Tickets into Target Ticket, Mark Ticket as Spam and Suspend Requester, Bulk Mark
  Tickets as Spam, List Deleted Tickets, Ticket Related Information)
- [TM] Ticket Metrics, https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_metrics/
- [TME] Ticket Metric Events,
  https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_metric_events/
- [SR] Satisfaction Ratings,
  https://developer.zendesk.com/api-reference/ticketing/ticket-management/satisfaction_ratings/
- [JS] Job Statuses,
  https://developer.zendesk.com/api-reference/ticketing/ticket-management/job_statuses/
- [PG] Pagination, https://developer.zendesk.com/api-reference/introduction/pagination/
- [SPAM] Marking a ticket as spam and suspending the requester,
  https://support.zendesk.com/hc/en-us/articles/4408842999066
- [ARC] About ticket archiving, https://support.zendesk.com/hc/en-us/articles/4408887617050

Documented behaviour emulated:
- Merge [T]: POST {"ids", "target_comment", "source_comment", "target_comment_is_public",
  "source_comment_is_public"} answers a job_status; comments default to private. The Zendesk
  help on merging adds that the source tickets are closed, that only tickets below solved can
  be merged, and that a solved target is not reopened.
- Spam [SPAM]: the ticket is deleted (it shows in the deleted tickets list) and its requester
  suspended; the ticket must not be closed and its requester must be an end user. Zendesk
  reports that spam tickets can't be reported on and suggests tagging them: nothing on the
  ticket says "spam". In the export a spammed ticket is indistinguishable from a deleted one
  (status "deleted"); the only trace is the requester's `suspended: true` (users sideload).
  Mark as spam answers 200 with an empty body [T].
- Archiving [ARC]: tickets closed 120 days ago (by the injectable clock) are archived. They
  stay in the incremental export and every ticket endpoint except the listings: here List
  Ticket Metrics and List Deleted Tickets leave them out, and Ticket Related Information
  says `from_archive: true`. They are closed, so updates still answer 422.
- Ticket metrics [TM]: GET /tickets/{id}/metrics and /ticket_metrics/{id} (a metric id or a
  ticket id); List Ticket Metrics newest created first, archived tickets left out, at most
  100 per page. [TM]'s examples wrap the single metric in a list; the live API and zenpy use
  an object, which is the default (see ZendeskApp's `ticket_metric_as_list`).
- Metric events [TME]: "Cursor pagination returns a maximum of 100 records per page ... If
  the results are not paginated, events will be returned as a time-based incremental export"
  (ticket_metric_events, count, end_time, next_page, end_of_stream); exclude_deleted.
- Satisfaction ratings [SR]: score/start_time/end_time filters, cursor or offset pagination.
- Job statuses [JS]: readable for one day after the job was created.

Inferred, to re-check against a live account:
- A time-based metric events page holds up to 1,000 events (the time-based export page of
  [UIE]); [TME] only caps cursor pages (100). Events sharing the page's last second all
  stay on that page, and next_page restarts at end_time, so a client sees some events again
  (dedupe by id, as for other time-based exports).
- The merge job finishes at once; a merge that breaks the rules gives a "failed" job with
  the reason in `message` rather than an HTTP error. The job's results list each ticket as
  {"id", "action": "merge", "success", "status"}. The source tickets get the tag
  `closed_by_merge`: not in the developer docs, but it is how live accounts mark them
  (their tag reports and saved searches exclude `closed_by_merge`).
- start_time/end_time filter satisfaction ratings on created_at; ratings are listed oldest
  first (sort_order=desc reverses). A ticket shows {"score": "offered"} without an id until
  the requester rates it good or bad.
- Cursors point at the last record's id; a cursor whose record has left the list is refused.
- Ticket Related Information answers {"ticket_related": {...}}.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from syncd.sandbox.server import Request, Response, clone
from syncd.sandbox.zendesk_common import (
    UNSOLVED,
    InvalidRecord,
    admin_error,
    bulk,
    int_arg,
    iso,
    json_object,
    to_epoch,
)
from syncd.sandbox.zendesk_metrics import Event, History, metric_events, ticket_metric

_J = TypeVar("_J")  # the JSON value `_public` hands back, copied

RATING_SCORES = ("offered", "unoffered", "good", "bad")
RATED = ("good", "bad")
DAY = 86_400
ARCHIVE_AFTER_DAYS = 120  # [ARC]
LIST_MAX = 100  # [T][TM][SR][PG]: list endpoints return at most 100 records per page
EVENTS_CURSOR_MAX = 100  # [TME]
EVENTS_TIME_PAGE = 1000  # inferred, see the module notes
JOB_RETENTION = DAY  # [JS] "You can access the job status data for one day"
# Id ranges no other record uses, so mixing ids up gives a 404 rather than a wrong record.
METRIC_ID_BASE = 363_000_000
EVENT_ID_BASE = 900_000_000_000
EVENT_ID_STRIDE = 10_000  # metric events per ticket before ids would collide
J = r"(?:\.json)?"
DEFAULT_REPLY = "Thanks for getting in touch. We're looking into this and will update you soon."
SCORE_FILTERS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "offered": lambda r: r["score"] == "offered",
    "unoffered": lambda r: r["score"] == "unoffered",
    "received": lambda r: r["score"] in RATED,
    "received_with_comment": lambda r: r["score"] in RATED and bool(r["comment"]),
    "received_without_comment": lambda r: r["score"] in RATED and not r["comment"],
    "good": lambda r: r["score"] == "good",
    "good_with_comment": lambda r: r["score"] == "good" and bool(r["comment"]),
    "good_without_comment": lambda r: r["score"] == "good" and not r["comment"],
    "bad": lambda r: r["score"] == "bad",
    "bad_with_comment": lambda r: r["score"] == "bad" and bool(r["comment"]),
    "bad_without_comment": lambda r: r["score"] == "bad" and not r["comment"],
}

Route = tuple[str, str, Callable[[Request, float], Response], bool]
# The metric event index holds one int per event, (time << 40) | (ticket id * STRIDE +
# position): it sorts by time then id, and a million of them build and sort fast.
KEY_SHIFT = 40
KEY_MASK = (1 << KEY_SHIFT) - 1


class Lifecycle:
    """Lifecycle half of `ZendeskApp`; relies on its store, clock and HTTP helpers."""

    # Provided by ZendeskApp (its store, clock and HTTP helpers are used as they are).
    clock: Callable[[], float]
    me: dict[str, Any]
    export_lag_seconds: float
    _lock: threading.RLock
    _base_url: str
    _tickets: dict[int, dict[str, Any]]
    _users: dict[int, dict[str, Any]]

    if TYPE_CHECKING:  # implemented by ZendeskApp

        def error(self, status: int, message: str) -> Response: ...
        def _live_ticket(self, ticket_id: int) -> dict[str, Any] | None: ...
        def _update(
            self, current: dict[str, Any], changes: dict[str, Any], at: float | None = None
        ) -> dict[str, Any]: ...
        def _store(self, ticket: dict[str, Any], updated: float) -> dict[str, Any]: ...
        def _take_id(self, kind: str) -> int: ...
        def _public(self, value: _J) -> _J: ...
        def _render_ticket(self, ticket: dict[str, Any]) -> dict[str, Any]: ...
        def _invalid(self, message: str) -> Response: ...
        def _record_invalid(self, exc: InvalidRecord) -> Response: ...
        def _ids_arg(self, req: Request) -> list[int] | Response: ...

    def _init_lifecycle(self, metric_as_list: bool) -> None:
        self._metric_as_list = metric_as_list
        self._history: dict[int, History] = {}
        self._events_cache: dict[int, list[Event]] = {}
        self._event_index: list[int] | None = None
        self._index_dirty: set[int] = set()
        self._ratings: dict[int, dict[str, Any]] = {}  # by rating id
        self._rating_of: dict[int, int] = {}  # ticket id -> rating id
        self._rating_created: dict[int, float] = {}
        self._deleted: dict[int, dict[str, Any]] = {}  # ticket id -> who/when/what
        self._closed_at: dict[int, float] = {}
        self._archived: set[int] = set()
        self._jobs: dict[str, tuple[float, dict[str, Any]]] = {}

    # ------------------------------------------------------------------------ Python API

    def reply(
        self,
        ticket_id: int,
        body: str = DEFAULT_REPLY,
        at: float | str | datetime | None = None,
        public: bool = True,
        author: str | int = "agent",
        status: str | None = None,
    ) -> dict[str, Any]:
        """Comment on a ticket, as `PUT /api/v2/tickets/{id}` with a comment would.

        `author` is "agent" (the assignee, else the API user), "requester", or a user id. A
        public agent comment is a reply: it counts in the metrics' `replies` and the first one
        fixes reply_time. A requester's comment reopens a pending, on-hold or solved ticket.
        `status` sets a status in the same update (e.g. "pending" after asking a question);
        `at` backdates it (not before the ticket's last change, not after now). Returns the
        ticket. Raises KeyError (no live ticket) or ValueError (closed ticket, bad author,
        time or status).
        """
        with self._lock:
            ticket = self._require(ticket_id)
            when = self._when(ticket_id, at)
            comment = {"body": body, "public": public, "author_id": self._author(ticket, author)}
            changes: dict[str, Any] = {"comment": comment}
            if status is not None:
                changes["status"] = status
            self._update(ticket, changes, when)
            return self._public(self._render_ticket(self._tickets[ticket_id]))

    def rate(
        self,
        ticket_id: int,
        score: str,
        comment: str | None = None,
        at: float | str | datetime | None = None,
    ) -> dict[str, Any]:
        """Set the ticket's CSAT: "offered"/"unoffered" (the survey's state) or the
        requester's "good"/"bad" rating with an optional comment, which needs a solved ticket.

        The ticket changes (so it moves in the export) and GET /api/v2/satisfaction_ratings
        lists the rating. Returns the satisfaction rating. Raises KeyError or ValueError.
        """
        if score not in RATING_SCORES:
            raise ValueError(f"score must be one of {RATING_SCORES}")
        with self._lock:
            ticket = self._require(ticket_id)
            if ticket["status"] == "closed":
                raise ValueError("closed tickets can't be rated")
            if score in RATED and ticket["status"] != "solved":
                raise ValueError("only solved tickets can be rated good or bad")
            when = self._when(ticket_id, at)
            updated = dict(ticket)
            updated["satisfaction_rating"] = self._set_rating(updated, score, comment, when)
            actor = "end-user" if score in RATED else "system"
            self._history[ticket_id].add(when, "rating", score, actor)
            self._store(updated, when)
            return self._public(self._render_rating(self._rating_of[ticket_id]))

    def merge(
        self,
        target_id: int,
        source_ids: Iterable[int],
        target_comment: str | None = None,
        source_comment: str | None = None,
        *,
        target_comment_is_public: bool = False,
        source_comment_is_public: bool = False,
    ) -> dict[str, Any]:
        """Merge tickets into `target_id`, as POST /api/v2/tickets/{id}/merge does.

        Each source gets a (private by default) comment, the tag closed_by_merge and status
        closed; the target gets a comment, and other requesters become its CCs. All of them
        move in the export. Returns the completed job status. Raises KeyError (no live
        target) or ValueError (a rule is broken; nothing changes).
        """
        with self._lock:
            results = self._merge(
                target_id,
                list(source_ids),
                target_comment,
                source_comment,
                target_comment_is_public,
                source_comment_is_public,
            )
            return self._public(self._job("ticket_merge", results))

    def mark_spam(self, ticket_id: int) -> None:
        """Mark a ticket as spam: it is deleted and its requester suspended [SPAM].

        Raises KeyError (no live ticket) or ValueError (closed ticket, or a requester who
        is not an end user).
        """
        with self._lock:
            self._spam(ticket_id, self.clock())

    def archive_closed(self, older_than_days: float = ARCHIVE_AFTER_DAYS) -> list[int]:
        """Archive the tickets closed at least `older_than_days` ago by the clock; returns
        the ids newly archived. Zendesk archives on its own 120 days after closing, which the
        sandbox applies without being asked; this archives sooner (Zendesk's sandbox
        accounts archive after three days [ARC])."""
        with self._lock:
            now = self.clock()
            cutoff = now - older_than_days * DAY
            newly = sorted(
                tid
                for tid, closed in self._closed_at.items()
                if closed <= cutoff
                and self._tickets[tid]["status"] == "closed"
                and not self._is_archived(tid, now)
            )
            self._archived.update(newly)
            return newly

    def archived(self) -> list[int]:
        """Ids of the archived tickets, by the clock now."""
        with self._lock:
            now = self.clock()
            return sorted(tid for tid in self._closed_at if self._is_archived(tid, now))

    def metrics(self, ticket_id: int) -> dict[str, Any]:
        """The ticket's Ticket Metric object, as the API serves it. KeyError if none."""
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            if ticket is None or ticket["status"] == "deleted":
                raise KeyError(ticket_id)
            return self._public(self._metric_of(ticket_id))

    def metric_events(self, ticket_id: int | None = None) -> list[dict[str, Any]]:
        """Metric events that have happened by now (of one ticket, or all), oldest first."""
        with self._lock:
            now = self.clock()
            keys = self._keys(ticket_id) if ticket_id is not None else self._index()
            return [self._render_event(key) for key in keys if key >> KEY_SHIFT <= now]

    def satisfaction_ratings(self) -> list[dict[str, Any]]:
        """Every satisfaction rating, by id."""
        with self._lock:
            return [self._render_rating(rid) for rid in sorted(self._ratings)]

    # --------------------------------------------------------------------- lifecycle core

    def _require(self, ticket_id: int) -> dict[str, Any]:
        ticket = self._live_ticket(ticket_id)
        if ticket is None:
            raise KeyError(ticket_id)
        return ticket

    def _when(self, ticket_id: int, at: float | str | datetime | None) -> float:
        now = self.clock()
        if at is None:
            return max(now, self._history[ticket_id].last)
        when = to_epoch(at)
        if when > now:
            raise ValueError("at is in the future")
        if when < self._history[ticket_id].last:
            raise ValueError("at precedes the ticket's last change")
        return when

    def _author(self, ticket: dict[str, Any], author: str | int) -> int:
        if author == "agent":
            assignee = ticket["assignee_id"]
            return assignee if assignee in self._users else int(self.me["id"])
        if author == "requester":
            return int(ticket["requester_id"])
        if isinstance(author, int) and author in self._users:
            return author
        raise ValueError(f"author must be 'agent', 'requester' or a user id, not {author!r}")

    def _set_rating(
        self,
        ticket: dict[str, Any],
        score: str,
        comment: str | None,
        at: float,
        created: float | None = None,
    ) -> dict[str, Any]:
        """Create or update the ticket's rating record; returns its satisfaction_rating."""
        tid = ticket["id"]
        rid = self._rating_of.get(tid)
        if rid is None:
            rid = self._rating_of[tid] = self._take_id("rating")
            self._rating_created[rid] = at if created is None else created
        rated = score in RATED
        self._ratings[rid] = {
            "id": rid,
            "assignee_id": ticket["assignee_id"],
            "group_id": ticket["group_id"],
            "requester_id": ticket["requester_id"],
            "ticket_id": tid,
            "score": score,
            "comment": comment if rated else None,
            "created_at": iso(self._rating_created[rid]),
            "updated_at": iso(at),
        }
        return {"id": rid, "score": score, "comment": comment} if rated else {"score": score}

    def _render_rating(self, rid: int) -> dict[str, Any]:
        url = f"{self._base_url}/api/v2/satisfaction_ratings/{rid}.json"
        return {"url": url, **self._ratings[rid]}

    def _merge(
        self,
        target_id: int,
        source_ids: list[Any],
        target_comment: str | None,
        source_comment: str | None,
        target_public: bool,
        source_public: bool,
    ) -> list[dict[str, Any]]:
        now = self.clock()
        target = self._require(target_id)
        if target["status"] == "closed":
            raise ValueError(f"ticket {target_id} is closed: nothing can be merged into it")
        ids = list(dict.fromkeys(source_ids))
        if not ids:
            raise ValueError("ids: name at least one ticket to merge")
        sources = []
        for sid in ids:
            source = self._live_ticket(sid) if isinstance(sid, int) else None
            if sid == target_id:
                raise ValueError("a ticket can't be merged into itself")
            if source is None:
                raise ValueError(f"ticket {sid} not found")
            if source["status"] not in UNSOLVED:
                raise ValueError(f"ticket {sid} is {source['status']}: only unsolved tickets merge")
            sources.append(source)
        results = []
        ccs = list(target["collaborator_ids"])
        for source in sources:
            body = source_comment or (
                f'This request was closed and merged into request #{target_id} "'
                f'{target["subject"]}".'
            )
            self._update(
                source,
                {
                    "comment": {"body": body, "public": source_public},
                    "status": "closed",
                    "additional_tags": ["closed_by_merge"],
                },
                now,
            )
            requester = source["requester_id"]
            if requester != target["requester_id"] and requester not in ccs:
                ccs.append(requester)  # the merged requester is CC'd on the target
            results.append({"id": source["id"], "action": "merge", "success": True,
                            "status": "Closed"})  # fmt: skip
        listed = ", ".join(f"#{s['id']}" for s in sources)
        body = target_comment or f"Requests {listed} were closed and merged into this request."
        changes: dict[str, Any] = {"comment": {"body": body, "public": target_public}}
        if ccs != target["collaborator_ids"]:
            changes["collaborator_ids"] = ccs
        self._update(self._tickets[target_id], changes, now)
        results.append({"id": target_id, "action": "merge", "success": True, "status": "Updated"})
        return results

    def _spam(self, ticket_id: int, now: float) -> None:
        ticket = self._require(ticket_id)
        if ticket["status"] == "closed":
            raise ValueError("closed tickets can't be marked as spam")
        requester = self._users.get(ticket["requester_id"])
        if requester is None or requester["role"] != "end-user":
            raise ValueError("only tickets requested by an end user can be marked as spam")
        self._suspend(requester["id"], now)
        self._delete(ticket, now)

    def _suspend(self, user_id: int, at: float) -> None:
        user = self._users[user_id]
        self._users[user_id] = {**user, "suspended": True, "updated_at": iso(at)}

    def _delete(self, ticket: dict[str, Any], at: float) -> None:
        self._deleted[ticket["id"]] = self._deletion(ticket, at)
        self._store({**ticket, "status": "deleted"}, at)

    def _deletion(self, ticket: dict[str, Any], at: float) -> dict[str, Any]:
        return {"at": at, "previous_state": ticket["status"], "actor": self.me["id"]}

    def _is_archived(self, ticket_id: int, now: float) -> bool:
        if self._tickets[ticket_id]["status"] != "closed":
            return False
        if ticket_id in self._archived:
            return True
        closed = self._closed_at.get(ticket_id)
        return closed is not None and closed <= now - ARCHIVE_AFTER_DAYS * DAY

    def _job(
        self, job_type: str, results: list[dict[str, Any]], failed: str | None = None
    ) -> dict[str, Any]:
        now = self.clock()
        number = self._take_id("job")
        job_id = hashlib.md5(f"sandbox-job-{number}".encode()).hexdigest()
        stamp = datetime.fromtimestamp(int(now), UTC).strftime("%Y-%m-%d %H:%M:%S +0000")
        job = {
            "id": job_id,
            "url": f"{self._base_url}/api/v2/job_statuses/{job_id}.json",
            "job_type": job_type,
            "total": len(results),
            "progress": 0 if failed else len(results),
            "status": "failed" if failed else "completed",
            "message": failed or f"Completed at {stamp}",
            "results": results,
        }
        self._jobs[job_id] = (now, job)
        return job

    # ----------------------------------------------------------------- metrics and events

    def _metric_of(self, ticket_id: int) -> dict[str, Any]:
        metric_id = METRIC_ID_BASE + ticket_id
        return ticket_metric(
            self._history[ticket_id],
            ticket_id=ticket_id,
            metric_id=metric_id,
            url=f"{self._base_url}/api/v2/ticket_metrics/{metric_id}",
        )

    def _forget_events(self, ticket_id: int) -> None:
        """Called on every stored change: the ticket's events are recomputed when asked."""
        self._events_cache.pop(ticket_id, None)
        if self._event_index is not None:
            self._index_dirty.add(ticket_id)

    def _events_of(self, ticket_id: int) -> list[Event]:
        events = self._events_cache.get(ticket_id)
        if events is None:
            events = self._events_cache[ticket_id] = metric_events(self._history[ticket_id])
        return events

    def _keys(self, ticket_id: int) -> list[int]:
        base = ticket_id * EVENT_ID_STRIDE
        return [
            (int(event[0]) << KEY_SHIFT) | (base + n)
            for n, event in enumerate(self._events_of(ticket_id))
        ]

    def _index(self) -> list[int]:
        """Every ticket's metric events as sorted keys, kept up to date lazily."""
        if self._event_index is not None and not self._index_dirty:
            return self._event_index
        with bulk():
            if self._event_index is None:
                index = [key for tid in self._history for key in self._keys(tid)]
            else:
                dirty = self._index_dirty
                index = [
                    key
                    for key in self._event_index
                    if (key & KEY_MASK) // EVENT_ID_STRIDE not in dirty
                ]
                index.extend(key for tid in dirty for key in self._keys(tid))
            index.sort()  # timsort: cheap when only a few tickets changed
        self._event_index, self._index_dirty = index, set()
        return index

    def _render_event(self, key: int) -> dict[str, Any]:
        ticket_id, position = divmod(key & KEY_MASK, EVENT_ID_STRIDE)
        at, metric, instance, kind, extra = self._events_of(ticket_id)[position]
        event = {
            "id": EVENT_ID_BASE + (key & KEY_MASK),
            "ticket_id": ticket_id,
            "metric": metric,
            "instance_id": instance,
            "type": kind,
            "time": iso(at),
        }
        if extra:
            event.update(clone(extra))
        return event

    # ------------------------------------------------------------------- vendor endpoints

    def _lifecycle_routes(self) -> list[Route]:
        """(method, path, handler, counts as an incremental export) for ZendeskApp.routes."""
        return [
            ("GET", rf"/api/v2/incremental/ticket_metric_events{J}", self._metric_export, True),
            ("GET", rf"/api/v2/tickets/(?P<id>\d+)/metrics{J}", self._show_ticket_metric, False),
            ("GET", rf"/api/v2/ticket_metrics{J}", self._list_metrics, False),
            ("GET", rf"/api/v2/ticket_metrics/(?P<id>\d+){J}", self._show_metric, False),
            ("GET", rf"/api/v2/tickets/(?P<id>\d+)/related{J}", self._related, False),
            ("POST", rf"/api/v2/tickets/(?P<id>\d+)/merge{J}", self._merge_tickets, False),
            ("PUT", rf"/api/v2/tickets/(?P<id>\d+)/mark_as_spam{J}", self._mark_as_spam, False),
            ("PUT", rf"/api/v2/tickets/mark_many_as_spam{J}", self._mark_many_as_spam, False),
            ("GET", rf"/api/v2/job_statuses/(?P<id>[0-9a-f]+){J}", self._show_job, False),
            ("GET", rf"/api/v2/deleted_tickets{J}", self._list_deleted, False),
            ("GET", rf"/api/v2/satisfaction_ratings{J}", self._list_ratings, False),
            ("GET", rf"/api/v2/satisfaction_ratings/(?P<id>\d+){J}", self._show_rating, False),
        ]

    def _show_ticket_metric(self, req: Request, _now: float) -> Response:
        return self._metric_response(int(req.params["id"]))

    def _show_metric(self, req: Request, _now: float) -> Response:
        # [TM] "Returns a specific metric, or the metrics of a specific ticket."
        number = int(req.params["id"])
        return self._metric_response(number - METRIC_ID_BASE if number > METRIC_ID_BASE else number)

    def _metric_response(self, ticket_id: int) -> Response:
        if self._live_ticket(ticket_id) is None:
            return self.error(404, "")
        metric = self._metric_of(ticket_id)
        return Response(200, {"ticket_metric": [metric] if self._metric_as_list else metric})

    def _list_metrics(self, req: Request, now: float) -> Response:
        # [TM] newest created first; archived tickets are not included.
        ids = [
            tid
            for tid, ticket in self._tickets.items()
            if ticket["status"] != "deleted" and not self._is_archived(tid, now)
        ]
        ids.sort(key=lambda tid: (self._history[tid].created, tid), reverse=True)
        return self._paginate(req, ids, "ticket_metrics", self._metric_of)

    def _metric_export(self, req: Request, now: float) -> Response:
        start = int_arg((req.arg("start_time") or "").split(".")[0], None)
        if start is None or start < 0:
            return self._invalid("start_time must be a Unix epoch time in seconds")
        cutoff = now - self.export_lag_seconds  # recent changes are held back, as for tickets
        if start > cutoff:
            lag = f"{self.export_lag_seconds:g}"
            return self._invalid(
                f"Too recent start_time. Use a start_time older than {lag} seconds"
            )
        exclude_deleted = (req.arg("exclude_deleted") or "").lower() == "true"
        index = self._index()
        visible = Window(
            index,
            start << KEY_SHIFT,
            (int(cutoff) + 1) << KEY_SHIFT,
            lambda key: (
                not (
                    exclude_deleted
                    and self._tickets[(key & KEY_MASK) // EVENT_ID_STRIDE]["status"] == "deleted"
                )
            ),
        )
        if any(req.arg(k) is not None for k in ("page[size]", "page[after]", "page[before]")):
            return self._metric_export_cursor(req, visible)
        page, position = visible.forward(bisect_left(index, visible.low), EVENTS_TIME_PAGE, True)
        end_time = page[-1] >> KEY_SHIFT if page else start
        body = {
            "ticket_metric_events": [self._render_event(key) for key in page],
            "count": len(page),
            "end_time": end_time,
            "next_page": self._list_url(req, {"start_time": str(end_time)}, drop=("start_time",)),
            "end_of_stream": not visible.any_from(position),
        }
        return Response(200, body)

    def _metric_export_cursor(self, req: Request, visible: Window) -> Response:
        size = int_arg(req.arg("page[size]"), EVENTS_CURSOR_MAX)
        if size is None or size < 1:
            return self._invalid("page[size] must be a positive integer")
        size = min(size, EVENTS_CURSOR_MAX)
        after, before = req.arg("page[after]") or None, req.arg("page[before]") or None
        mark = _decode_cursor(after or before or "") if (after or before) else None
        if (after or before) and not isinstance(mark, int):
            return self._invalid("Invalid cursor")
        index = visible.index
        if before and mark is not None:
            tail = bisect_left(index, mark)
            page, first = visible.backward(tail, size)
            has_more = visible.any_before(first)
        else:
            start = bisect_left(index, visible.low)
            if mark is not None:
                start = max(start, bisect_right(index, mark))
            page, tail = visible.forward(start, size, False)
            has_more = visible.any_from(tail)
        after_cursor = _encode_cursor(page[-1]) if page else after
        before_cursor = _encode_cursor(page[0]) if page else None
        drop = ("page[after]", "page[before]")
        links = {
            "prev": self._list_url(req, {"page[before]": before_cursor}, drop)
            if before_cursor
            else None,
            "next": self._list_url(req, {"page[after]": after_cursor}, drop)
            if after_cursor
            else None,
        }
        body = {
            "ticket_metric_events": [self._render_event(key) for key in page],
            "meta": {
                "has_more": has_more,
                "after_cursor": after_cursor,
                "before_cursor": before_cursor,
            },
            "links": links,
            "end_of_stream": not visible.any_from(tail),
        }
        return Response(200, body)

    def _related(self, req: Request, now: float) -> Response:
        ticket_id = int(req.params["id"])
        if self._live_ticket(ticket_id) is None:
            return self.error(404, "")
        related: dict[str, Any] = {
            "topic_id": None,
            "jira_issue_ids": [],
            "followup_source_ids": [],
            "from_archive": self._is_archived(ticket_id, now),
            "incidents": 0,
        }
        return Response(200, {"ticket_related": related})

    def _merge_tickets(self, req: Request, _now: float) -> Response:
        target_id = int(req.params["id"])
        if self._live_ticket(target_id) is None:
            return self.error(404, "")
        body = json_object(req) or {}
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids:
            return self.error(400, "ids must be a non-empty array of ticket ids")
        ids = [int(i) if isinstance(i, str) and i.isdigit() else i for i in ids]
        try:
            results = self._merge(
                target_id,
                ids,
                body.get("target_comment") or None,  # zenpy sends null for "no comment"
                body.get("source_comment") or None,
                bool(body.get("target_comment_is_public", False)),
                bool(body.get("source_comment_is_public", False)),
            )
            job = self._job("ticket_merge", results)
        except ValueError as exc:  # the job runs, and fails without changing anything
            results = [{"id": i, "action": "merge", "success": False} for i in ids]
            job = self._job("ticket_merge", results, failed=str(exc))
        return Response(200, {"job_status": job})

    def _show_job(self, req: Request, now: float) -> Response:
        found = self._jobs.get(req.params["id"])
        if found is None or found[0] < now - JOB_RETENTION:
            return self.error(404, "")
        return Response(200, {"job_status": found[1]})

    def _mark_as_spam(self, req: Request, now: float) -> Response:
        try:
            self._spam(int(req.params["id"]), now)
        except KeyError:
            return self.error(404, "")
        except ValueError as exc:
            return self._record_invalid(InvalidRecord("base", str(exc)))
        # [T]: 200 with an empty body.
        return Response(200, b"", {"Content-Type": "application/json; charset=utf-8"})

    def _mark_many_as_spam(self, req: Request, now: float) -> Response:
        ids = self._ids_arg(req)  # [T] "up to 100 ticket ids", as show_many takes
        if isinstance(ids, Response):
            return ids
        results = []
        for ticket_id in ids:
            try:
                self._spam(ticket_id, now)
                results.append({"id": ticket_id, "action": "mark_as_spam", "success": True,
                                "status": "Deleted"})  # fmt: skip
            except (KeyError, ValueError) as exc:
                reason = "not found" if isinstance(exc, KeyError) else str(exc)
                results.append({"id": ticket_id, "action": "mark_as_spam", "success": False,
                                "error": reason})  # fmt: skip
        return Response(200, {"job_status": self._job("mark_as_spam", results)})

    def _list_deleted(self, req: Request, now: float) -> Response:
        sort_by, order = req.arg("sort_by") or "id", req.arg("sort_order") or "asc"
        if sort_by not in ("id", "subject", "deleted_at") or order not in ("asc", "desc"):
            return self.error(
                400, "sort_by must be id, subject or deleted_at; sort_order asc or desc"
            )
        ids = [
            tid
            for tid, ticket in self._tickets.items()
            if ticket["status"] == "deleted" and tid in self._deleted
        ]
        keys: dict[str, Callable[[int], Any]] = {
            "id": lambda tid: tid,
            "subject": lambda tid: (self._tickets[tid]["subject"], tid),
            "deleted_at": lambda tid: (self._deleted[tid]["at"], tid),
        }
        ids.sort(key=keys[sort_by], reverse=order == "desc")
        return self._paginate(req, ids, "deleted_tickets", self._render_deleted)

    def _render_deleted(self, ticket_id: int) -> dict[str, Any]:
        ticket, deletion = self._tickets[ticket_id], self._deleted[ticket_id]
        actor = self._users.get(deletion["actor"], {})
        return {
            "id": ticket_id,
            "subject": ticket["subject"],
            "description": ticket["description"],
            "actor": {"id": deletion["actor"], "name": actor.get("name")},
            "deleted_at": iso(deletion["at"]),
            "previous_state": deletion["previous_state"],
        }

    def _list_ratings(self, req: Request, _now: float) -> Response:
        score = req.arg("score")
        if score is not None and score not in SCORE_FILTERS:
            return self.error(400, f"score must be one of {', '.join(SCORE_FILTERS)}")
        start, end = int_arg(req.arg("start_time"), None), int_arg(req.arg("end_time"), None)
        if (req.arg("start_time") and start is None) or (req.arg("end_time") and end is None):
            return self.error(400, "start_time and end_time must be Unix epoch times")
        order = req.arg("sort_order") or "asc"
        if order not in ("asc", "desc"):
            return self.error(400, "sort_order must be asc or desc")
        wanted: Callable[[dict[str, Any]], bool] = SCORE_FILTERS.get(score or "", lambda _r: True)
        ids = [
            rid
            for rid, rating in self._ratings.items()
            if wanted(rating)
            and (start is None or self._rating_created[rid] >= start)
            and (end is None or self._rating_created[rid] <= end)
        ]
        ids.sort(key=lambda rid: (self._rating_created[rid], rid), reverse=order == "desc")
        return self._paginate(req, ids, "satisfaction_ratings", self._render_rating)

    def _show_rating(self, req: Request, _now: float) -> Response:
        rid = int(req.params["id"])
        if rid not in self._ratings:
            return self.error(404, "")
        return Response(200, {"satisfaction_rating": self._render_rating(rid)})

    # --------------------------------------------------------------------- pagination

    def _paginate(
        self,
        req: Request,
        ids: Sequence[int],
        name: str,
        render: Callable[[int], dict[str, Any]],
    ) -> Response:
        """A page of `ids` (already in order) [PG]: cursor pagination when any page[...]
        parameter is given, else offset pagination (page, per_page); 100 records at most."""
        if any(req.arg(k) is not None for k in ("page[size]", "page[after]", "page[before]")):
            size = int_arg(req.arg("page[size]"), LIST_MAX)
            if size is None or size < 1:
                return self._invalid("page[size] must be a positive integer")
            size = min(size, LIST_MAX)
            after, before = req.arg("page[after]") or None, req.arg("page[before]") or None
            position = {item: n for n, item in enumerate(ids)}
            mark = _decode_cursor(after or before or "") if (after or before) else None
            if (after or before) and not (isinstance(mark, int) and mark in position):
                return self._invalid("Invalid cursor")
            at = position[mark] if isinstance(mark, int) else 0
            if after:
                first = at + 1
                last = min(first + size, len(ids))
                has_more = last < len(ids)
            elif before:
                last = at
                first = max(last - size, 0)
                has_more = first > 0
            else:
                first, last = 0, min(size, len(ids))
                has_more = last < len(ids)
            chunk = ids[first:last]
            after_cursor = _encode_cursor(chunk[-1]) if chunk else None
            before_cursor = _encode_cursor(chunk[0]) if chunk else None
            drop = ("page[after]", "page[before]")
            return Response(
                200,
                {
                    name: [render(item) for item in chunk],
                    "meta": {
                        "has_more": has_more,
                        "after_cursor": after_cursor,
                        "before_cursor": before_cursor,
                    },
                    "links": {
                        "prev": self._list_url(req, {"page[before]": before_cursor}, drop)
                        if before_cursor
                        else None,
                        "next": self._list_url(req, {"page[after]": after_cursor}, drop)
                        if after_cursor
                        else None,
                    },
                },
            )
        page, per_page = int_arg(req.arg("page"), 1), int_arg(req.arg("per_page"), LIST_MAX)
        if page is None or page < 1 or per_page is None or per_page < 1:
            return self._invalid("page and per_page must be positive integers")
        per_page = min(per_page, LIST_MAX)
        first = (page - 1) * per_page
        chunk = ids[first : first + per_page]
        more = first + per_page < len(ids)
        return Response(
            200,
            {
                name: [render(item) for item in chunk],
                "next_page": self._list_url(req, {"page": str(page + 1)}) if more else None,
                "previous_page": self._list_url(req, {"page": str(page - 1)}) if page > 1 else None,
                "count": len(ids),
            },
        )

    def _list_url(self, req: Request, replace: dict[str, str], drop: Iterable[str] = ()) -> str:
        # The next page keeps the rest of the query (filters, per_page, page[size], ...).
        skip = {*replace, *drop}
        params = [(k, v) for k, values in req.query.items() if k not in skip for v in values]
        params.extend(replace.items())
        return f"{self._base_url}{req.path}?{urlencode(params)}"

    # ---------------------------------------------------------------------- admin routes

    def _lifecycle_admin_routes(self) -> list[tuple[str, str, Callable[[Request], Response]]]:
        return [
            ("POST", r"/tickets/(?P<id>\d+)/reply", self._admin_reply),
            ("POST", r"/tickets/(?P<id>\d+)/rate", self._admin_rate),
            ("POST", r"/tickets/(?P<id>\d+)/merge", self._admin_merge),
            ("POST", r"/tickets/(?P<id>\d+)/spam", self._admin_spam),
            ("GET", r"/tickets/(?P<id>\d+)/metrics", self._admin_metrics),
            ("POST", r"/archive", self._admin_archive),
        ]

    def _admin_call(self, req: Request, call: Callable[[dict[str, Any]], Any]) -> Response:
        body = json_object(req) if req.body else {}
        if body is None:
            return admin_error(400, "expected a JSON object")
        try:
            result = call(body)
        except KeyError as exc:
            return admin_error(404, f"no live ticket {exc.args[0] if exc.args else ''}")
        except (TypeError, ValueError) as exc:
            return admin_error(400, str(exc))
        return Response(204, None) if result is None else Response(200, result)

    def _admin_reply(self, req: Request) -> Response:
        tid = int(req.params["id"])
        return self._admin_call(req, lambda body: self.reply(tid, **body))

    def _admin_rate(self, req: Request) -> Response:
        tid = int(req.params["id"])
        return self._admin_call(req, lambda body: self.rate(tid, **body))

    def _admin_merge(self, req: Request) -> Response:
        tid = int(req.params["id"])
        return self._admin_call(req, lambda body: self.merge(tid, body.pop("ids", []), **body))

    def _admin_spam(self, req: Request) -> Response:
        tid = int(req.params["id"])
        return self._admin_call(req, lambda _body: self.mark_spam(tid))

    def _admin_metrics(self, req: Request) -> Response:
        tid = int(req.params["id"])
        return self._admin_call(req, lambda _body: self.metrics(tid))

    def _admin_archive(self, req: Request) -> Response:
        return self._admin_call(req, lambda body: {"archived": self.archive_closed(**body)})


class Window:
    """The part of the metric event index an export may show: keys in [low, high) (from
    start_time to the lag cutoff) whose ticket passes `keep` (exclude_deleted)."""

    def __init__(self, index: list[int], low: int, high: int, keep: Callable[[int], bool]) -> None:
        self.index, self.low, self.high, self.keep = index, low, high, keep

    def forward(self, position: int, size: int, whole_seconds: bool) -> tuple[list[int], int]:
        """Up to `size` keys from `position` on, and the position after them. With
        `whole_seconds`, a full page still takes every event of its last second, so a
        time-based next_page (start_time=end_time) always moves on."""
        page: list[int] = []
        index = self.index
        while position < len(index) and index[position] < self.high:
            key = index[position]
            full = len(page) >= size
            if full and (not whole_seconds or key >> KEY_SHIFT != page[-1] >> KEY_SHIFT):
                break
            if self.keep(key):
                page.append(key)
            position += 1
        return page, position

    def backward(self, position: int, size: int) -> tuple[list[int], int]:
        """Up to `size` keys before `position`, oldest first, and the position of the first."""
        page: list[int] = []
        index = self.index
        while position > 0 and len(page) < size and index[position - 1] >= self.low:
            position -= 1
            if index[position] < self.high and self.keep(index[position]):
                page.append(index[position])
        return page[::-1], position

    def any_from(self, position: int) -> bool:
        """Whether a visible key follows `position`."""
        index = self.index
        while position < len(index) and index[position] < self.high:
            if self.keep(index[position]):
                return True
            position += 1
        return False

    def any_before(self, position: int) -> bool:
        """Whether a visible key precedes `position`."""
        return any(
            key >= self.low and key < self.high and self.keep(key) for key in self.index[:position]
        )


def _encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
