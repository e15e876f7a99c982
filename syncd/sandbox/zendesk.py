"""Zendesk Support API emulator: the part of the Ticketing API a ticket-sync tool uses.

Vendor endpoints (".json" suffix optional, as on Zendesk):

    GET /api/v2/incremental/tickets/cursor   cursor-based incremental ticket export
                                             (include=users,organizations,metric_sets,slas;
                                             slas: zendesk_sla)
    GET /api/v2/incremental/ticket_metric_events?start_time=   time-based, or page[size]
    GET /api/v2/tickets/{id}                 GET /api/v2/tickets/show_many?ids=1,2
    PUT /api/v2/tickets/{id}                 -> {"ticket": ..., "audit": ...}; a `comment`
                                             {body, public} adds a comment ([T] Update Ticket)
    GET /api/v2/tickets/{id}/comments        List Comments ([LC]), oldest first, one page
    GET /api/v2/tickets/{id}/metrics         GET /api/v2/ticket_metrics[/{id}]
    GET /api/v2/tickets/{id}/related         POST /api/v2/tickets/{id}/merge -> job_status
    PUT /api/v2/tickets/{id}/mark_as_spam    PUT /api/v2/tickets/mark_many_as_spam?ids=
    GET /api/v2/job_statuses/{id}            GET /api/v2/deleted_tickets
    GET /api/v2/satisfaction_ratings[/{id}]
    GET /api/v2/guide/survey_responses       updated CSAT's survey responses (zendesk_surveys)
    GET /api/v2/users/{id}                   GET /api/v2/users/show_many?ids=   GET /api/v2/users/me
    GET /api/v2/organizations/{id}           GET /api/v2/groups

The lifecycle endpoints and their Python API (`reply`, `rate`, `merge`, `mark_spam`,
`archive_closed`, `metrics`, ...) live in `zendesk_lifecycle`; ticket metrics and metric
events are computed from each ticket's history by `zendesk_metrics`.

Behaviour follows Zendesk's public docs, cited where it matters:

- [IE] Incremental Exports reference,
  https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/
- [UIE] Using the Incremental Export API,
  https://developer.zendesk.com/documentation/ticketing/managing-tickets/using-the-incremental-export-api/
- [RL] Rate limits, https://developer.zendesk.com/api-reference/introduction/rate-limits/ and
  Best practices for avoiding rate limiting,
  https://developer.zendesk.com/documentation/api-basics/best-practices/best-practices-for-avoiding-rate-limiting
- [T] Tickets, https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/
- [G] Groups, https://developer.zendesk.com/api-reference/ticketing/groups/groups/
- [LC] Ticket Comments, https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/
- [NSR] About native system ticket rules,
  https://support.zendesk.com/hc/en-us/articles/4408894213018

The export is a change log: every create, update or delete gives the ticket a new sequence
number, so the ticket moves to the end of the stream. A cursor is an opaque string holding a
position in that log; a page holds the tickets whose latest change comes after it, in change
order. A start_time export keeps its start_time as a floor: later pages and exports from its
cursors skip tickets whose generated_timestamp (here always equal to updated_at) is older.
Tests and the demo drive the data through the Python API (`add_ticket`, `update_ticket`,
`generate`, `reply`, ...) or the admin routes under /_sandbox/zendesk.

Updates follow [NSR]: a new ticket that gets an assignee becomes open; a ticket that has left
"new" cannot go back to it; an end user's comment on a pending, on-hold or solved ticket
reopens it; closed tickets cannot be updated. A comment's `author_id` decides whether it is an
agent's reply or the requester's; without one the API user (an admin) writes it.

Inferred rather than documented, so worth re-checking against a live account: the bodies of
422 parameter errors ({"error": "InvalidValue", "description": "Too recent start_time. ..."}),
of 429s, and of show_many with over 100 ids; the ticket export's own rate-limit header name
(`Zendesk-RateLimit-incremental-exports`, [IE] documents `...-incremental-exports-cursor` for
the user export); that a no-op PUT does not touch updated_at; and that `include=metric_sets`
adds a top-level `metric_sets` list (one Ticket Metric per non-deleted ticket on the page),
which is how Zendesk support staff describe it and how public client code reads it.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlencode

from syncd.sandbox import zendesk_data as data
from syncd.sandbox.server import Handler, MinuteBudget, Request, Response, clone
from syncd.sandbox.zendesk_common import (
    TICKET_STATUSES,
    InvalidRecord,
    admin_error,
    bulk,
    int_arg,
    iso,
    json_object,
    to_epoch,
)
from syncd.sandbox.zendesk_lifecycle import RATING_SCORES, Lifecycle
from syncd.sandbox.zendesk_metrics import History
from syncd.sandbox.zendesk_sla import add_slas
from syncd.sandbox.zendesk_surveys import Surveys

_J = TypeVar("_J")  # the JSON value `_public` hands back, copied

PRIORITIES = ("urgent", "high", "normal", "low")
TICKET_TYPES = ("problem", "incident", "question", "task")
CHANNELS = ("web", "email", "chat", "api")

MAX_PER_PAGE = 1000  # [IE] per_page: "up to a maximum of 1,000 ... The default is 1,000"
SHOW_MANY_MAX = 100  # show_many endpoints accept up to 100 ids
# Limits the headers report when a limit is off: [RL] shows 700/min for the account (its
# example plan) and [IE] "up to 10 requests per minute" for incremental exports.
NOMINAL_ACCOUNT_LIMIT = 700
NOMINAL_INCREMENTAL_LIMIT = 10

DEFAULT_TIME_ZONE = "Eastern Time (US & Canada)"
BRAND_ID = 360_000_000_101
TICKET_FORM_ID = 360_000_000_201
JSON_SUFFIX = r"(?:\.json)?"

# Ticket fields a PUT may change; everything else in the body is read-only and ignored.
WRITABLE = {
    "subject", "priority", "status", "type", "tags", "additional_tags", "remove_tags",
    "custom_fields", "assignee_id", "group_id", "organization_id", "requester_id",
    "external_id", "due_at", "problem_id", "collaborator_ids", "follower_ids", "comment",
}  # fmt: skip
# Extra fields `add_ticket` accepts besides the writable ones.
CREATE_ONLY = {
    "channel", "via", "created_at", "updated_at", "submitter_id", "satisfaction_rating",
    "is_public", "recipient", "brand_id", "ticket_form_id",
}  # fmt: skip


def encode_cursor(direction: str, position: int, floor: int) -> str:
    """An opaque cursor: direction ("a" after / "b" before), log position, start_time floor."""
    raw = f"{direction}|{position}|{floor}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int, int] | None:
    """The (direction, position, floor) in a cursor, or None if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        direction, position, floor = raw.split("|")
        if direction not in ("a", "b"):
            return None
        return direction, int(position), int(floor)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


class ZendeskApp(Lifecycle, Surveys):
    """The Zendesk emulator: in-memory tickets, users and organizations behind the API."""

    name = "zendesk"

    def __init__(
        self,
        email: str,
        token: str,
        export_lag_seconds: float = 0.0,
        account_limit_per_minute: int | None = None,
        incremental_limit_per_minute: int | None = None,
        *,
        subdomain: str = "acme",
        clock: Callable[[], float] = time.time,
        ticket_metric_as_list: bool = False,
    ) -> None:
        """`export_lag_seconds` holds back recent changes from the export (Zendesk: 60).

        `ticket_metric_as_list` answers the show-metrics endpoints with
        {"ticket_metric": [metric]}, as the examples in Zendesk's Ticket Metrics reference
        show, instead of {"ticket_metric": metric} as zenpy and the live API expect.
        """
        self.email = email
        self.token = token
        self.export_lag_seconds = export_lag_seconds
        self.subdomain = subdomain
        self.clock = clock
        # Handlers already run under the server's lock; this one guards the Python API too.
        self._lock = threading.RLock()
        self._base_url = f"https://{subdomain}.zendesk.com"  # replaced by the first request's
        self._account = MinuteBudget(account_limit_per_minute, NOMINAL_ACCOUNT_LIMIT)
        self._incremental = MinuteBudget(incremental_limit_per_minute, NOMINAL_INCREMENTAL_LIMIT)
        self._tickets: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._orgs: dict[int, dict[str, Any]] = {}
        self._user_by_email: dict[str, int] = {}
        self._org_by_name: dict[str, int] = {}
        # The change log: _log[seq - 1] is the ticket changed at seq, or None once that ticket
        # changed again. Stored records are copy-on-write, so handing out shallow copies is safe.
        self._log: list[int | None] = []
        self._seq_of: dict[int, int] = {}
        self._changed_at: dict[int, float] = {}  # wall-clock time of each ticket's last change
        self._last_change = 0.0
        # Distinct id ranges per kind, so a client mixing up ids gets a 404, not a wrong record.
        self._next_id = {
            "ticket": 1, "user": 361_000_001, "org": 362_000_001, "audit": 1,
            "rating": 364_000_001, "job": 1,
        }  # fmt: skip
        # Every comment per ticket, oldest first, as List Comments shows them ([LC]).
        self._comments: dict[int, list[dict[str, Any]]] = {}
        self._init_lifecycle(ticket_metric_as_list)
        self._init_surveys()
        self.me = self.add_user("Sandbox Admin", email, role="admin")

    # ----------------------------------------------------------------- VendorApp protocol

    def routes(self) -> list[tuple[str, str, Handler]]:
        """Vendor endpoints, each wrapped with auth, rate limits and rate-limit headers."""
        j = JSON_SUFFIX
        return [
            ("GET", rf"/api/v2/incremental/tickets/cursor{j}", self._serve(self._export, True)),
            ("GET", rf"/api/v2/tickets/show_many{j}", self._serve(self._show_many_tickets)),
            ("GET", rf"/api/v2/tickets/(?P<id>\d+){j}", self._serve(self._show_ticket)),
            ("PUT", rf"/api/v2/tickets/(?P<id>\d+){j}", self._serve(self._put_ticket)),
            ("GET", rf"/api/v2/tickets/(?P<id>\d+)/comments{j}", self._serve(self._comments_of)),
            ("GET", rf"/api/v2/users/me{j}", self._serve(self._show_me)),
            ("GET", rf"/api/v2/users/show_many{j}", self._serve(self._show_many_users)),
            ("GET", rf"/api/v2/users/(?P<id>\d+){j}", self._serve(self._show_user)),
            ("GET", rf"/api/v2/organizations/(?P<id>\d+){j}", self._serve(self._show_org)),
            ("GET", rf"/api/v2/groups{j}", self._serve(self._list_groups)),
            *(
                (method, pattern, self._serve(handler, incremental))
                for method, pattern, handler, incremental in (
                    *self._lifecycle_routes(),
                    *self._survey_routes(),
                )
            ),
        ]

    def admin_routes(self) -> list[tuple[str, str, Handler]]:
        """Routes under /_sandbox/zendesk for the demo and subprocess tests."""
        return [
            ("GET", r"/tickets", self._admin_list),
            ("POST", r"/tickets", self._admin_create),
            ("PUT", r"/tickets/(?P<id>\d+)", self._admin_update),
            ("DELETE", r"/tickets/(?P<id>\d+)", self._admin_delete),
            ("POST", r"/generate", self._admin_generate),
            *self._lifecycle_admin_routes(),
        ]

    def error(self, status: int, message: str) -> Response:
        """An error in Zendesk's shape: {"error": ..., "description": ...}."""
        if status == 401:
            body: dict[str, Any] = {"error": "Couldn't authenticate you"}
        elif status == 404:
            body = {"error": "RecordNotFound", "description": "Not found"}
        else:
            body = {"error": _ERROR_NAMES.get(status, "Error"), "description": message}
        with self._lock:
            headers = self._rate_headers(self.clock(), incremental=False)
        return Response(status, body, headers)

    # ------------------------------------------------------------------------ Python API

    def add_organization(
        self,
        name: str,
        domain: str | None = None,
        *,
        tags: Iterable[str] = (),
        organization_fields: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create an organization; its domain lands in `domain_names`."""
        with self._lock:
            oid = self._create_org(name, domain, list(tags), dict(organization_fields or {}))
            return self._public(self._render_org(self._orgs[oid]))

    def add_user(
        self,
        name: str,
        email: str,
        organization_id: int | None = None,
        *,
        role: str = "end-user",
        phone: str | None = None,
        time_zone: str = DEFAULT_TIME_ZONE,
    ) -> dict[str, Any]:
        """Create a user (role "end-user", "agent" or "admin"); emails are unique."""
        with self._lock:
            uid = self._create_user(name, email, organization_id, role, phone, time_zone)
            return self._public(self._render_user(self._users[uid]))

    def add_ticket(
        self,
        subject: str,
        description: str = "",
        requester_email: str | None = None,
        requester_name: str | None = None,
        organization: str | int | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Create a ticket, creating its requester and organization when new.

        `organization` is an organization name (created on the fly, its domain taken from the
        requester's email) or id. Without a requester the ticket is the API user's own, as when
        an agent files one. `fields` takes the writable ticket fields (status, priority, type,
        tags, custom_fields, assignee_id, ...) plus `channel` (web/email/chat/api),
        `created_at`/`updated_at` (epoch, ISO string or datetime; default now) and a few more.
        """
        unknown = set(fields) - WRITABLE - CREATE_ONLY
        if unknown:
            raise TypeError(f"unknown ticket fields: {sorted(unknown)}")
        with self._lock:
            now = self.clock()
            org_id = self._ensure_org(organization, requester_email)
            requester = self._ensure_requester(requester_email, requester_name, org_id)
            ticket = self._new_ticket(subject, description, requester, org_id, fields, now)
            return self._public(self._render_ticket(ticket))

    def update_ticket(self, ticket_id: int, **changes: Any) -> dict[str, Any]:
        """Change writable fields; a real change bumps updated_at and moves it in the stream."""
        unknown = set(changes) - WRITABLE
        if unknown:
            raise TypeError(f"unknown ticket fields: {sorted(unknown)}")
        with self._lock:
            ticket = self._live_ticket(ticket_id)
            if ticket is None:
                raise KeyError(ticket_id)
            self._update(ticket, changes)
            return self._public(self._render_ticket(self._tickets[ticket_id]))

    def garble(self, ticket_id: int, **raw: Any) -> None:
        """Fault injection: store raw field values as they are (no validation, no new
        version, updated_at untouched), so the API serves the ticket as a client may one day
        meet it (an unknown status, a broken time); the same call with good values repairs
        it, again without a new version."""
        with self._lock:
            ticket = self._live_ticket(ticket_id)
            if ticket is None:
                raise KeyError(ticket_id)
            self._tickets[ticket_id] = {**ticket, **raw}

    def delete_ticket(self, ticket_id: int) -> None:
        """Soft-delete: the ticket reappears in the export with status "deleted" and is listed
        by GET /api/v2/deleted_tickets; other ticket endpoints answer 404."""
        with self._lock:
            ticket = self._live_ticket(ticket_id)
            if ticket is None:
                raise KeyError(ticket_id)
            self._delete(ticket, self.clock())

    def tickets(self) -> list[dict[str, Any]]:
        """Every ticket, deleted ones included, by id."""
        with self._lock:
            return self._public([self._render_ticket(t) for t in self._tickets.values()])

    def users(self) -> list[dict[str, Any]]:
        """Every user, by id."""
        with self._lock:
            return self._public([self._render_user(u) for u in self._users.values()])

    def organizations(self) -> list[dict[str, Any]]:
        """Every organization, by id."""
        with self._lock:
            return self._public([self._render_org(o) for o in self._orgs.values()])

    def generate(
        self, count: int, seed: int = 0, *, days: float = data.HISTORY_DAYS
    ) -> list[dict[str, Any]]:
        """Create `count` realistic tickets (deterministic per seed; see zendesk_data).

        Timestamps are spread over the past `days` days (30 by default); tickets enter the
        stream in updated_at order, so a start_time export sees them as Zendesk would. Each
        ticket comes with a history that agrees with its status (assignment, agent replies,
        pending and on-hold spells, solves, reopens, CSAT offered or rated good/bad), so its
        metrics and metric events are meaningful. A few unsolved tickets are merged into the
        requester's earlier ticket (closed, tagged closed_by_merge), deleted, or marked as
        spam. With `days` over 120, tickets closed long enough ago come out archived.
        """
        with self._lock, bulk():
            now = self.clock()
            agent_domain = self.email.rpartition("@")[2] or "example.com"
            batch = data.plan_batch(count, seed, now, agent_domain, days=days)
            orgs = [self._generated_org(spec) for spec in batch.organizations]
            requesters = [self._generated_user(spec, orgs) for spec in batch.requesters]
            agents = [
                self._generated_user({**spec, "role": "agent"}, orgs) for spec in batch.agents
            ]
            # Ids follow creation order, the stream follows update order.
            specs = sorted(batch.tickets, key=lambda s: s["created_at"])
            ids = [self._take_id("ticket") for _ in specs]
            created = []
            for tid, spec in sorted(zip(ids, specs, strict=True), key=lambda p: p[1]["updated_at"]):
                created.append(self._generated_ticket(tid, spec, requesters, agents))
            created.sort(key=lambda t: t["id"])
            return self._public([self._render_ticket(t) for t in created])

    # --------------------------------------------------------------------- HTTP plumbing

    def _serve(
        self, handler: Callable[[Request, float], Response], incremental: bool = False
    ) -> Handler:
        def serve(req: Request) -> Response:
            with self._lock:
                if req.base_url:
                    self._base_url = req.base_url
                now = self.clock()
                if not self._authenticated(req):
                    resp = self.error(401, "")
                elif not self._account.take(now):
                    resp = self._too_many(now, self._account)
                elif incremental and not self._incremental.take(now):
                    resp = self._too_many(now, self._incremental)
                else:
                    resp = handler(req, now)
                resp.headers.update(self._rate_headers(now, incremental))
                return resp

        return serve

    def _authenticated(self, req: Request) -> bool:
        # API token auth: Basic base64("{email}/token:{token}"). Anything else is refused.
        scheme, _, value = (req.header("authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user.lower() == f"{self.email}/token".lower() and password == self.token

    def _too_many(self, now: float, window: MinuteBudget) -> Response:
        resp = self.error(429, "Rate limit exceeded")
        resp.headers["Retry-After"] = str(window.resets(now))
        return resp

    def _rate_headers(self, now: float, incremental: bool) -> dict[str, str]:
        # [RL]: X-Rate-Limit / X-Rate-Limit-Remaining on every response; Ticketing endpoints
        # add ratelimit-limit / -remaining / -reset. [IE] gives endpoint budgets their own
        # "Zendesk-RateLimit-<name>: total=..; remaining=..; resets=.." header.
        acct = self._account
        headers = {
            "X-Rate-Limit": str(acct.total),
            "X-Rate-Limit-Remaining": str(acct.remaining(now)),
            "ratelimit-limit": str(acct.total),
            "ratelimit-remaining": str(acct.remaining(now)),
            "ratelimit-reset": str(acct.resets(now)),
        }
        if incremental:
            inc = self._incremental
            headers["Zendesk-RateLimit-incremental-exports"] = (
                f"total={inc.total}; remaining={inc.remaining(now)}; resets={inc.resets(now)}"
            )
        return headers

    def _invalid(self, message: str) -> Response:
        return self.error(422, message)

    def _record_invalid(self, exc: InvalidRecord) -> Response:
        resp = self.error(422, "Record validation errors")
        resp.body = {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {
                exc.field: [
                    {
                        "description": f"{exc.field.capitalize()}: {exc.message}",
                        "error": "InvalidValue",
                    }
                ]
            },
        }
        return resp

    # ------------------------------------------------------------------ incremental export

    def _export(self, req: Request, now: float) -> Response:
        # [IE]: start_time for the initial request, cursor for every later page and export.
        # An empty value counts as absent: Zendesk's own code samples send `cursor=&start_time=`.
        start_arg, cursor_arg = req.arg("start_time") or None, req.arg("cursor") or None
        if (start_arg is None) == (cursor_arg is None):
            return self._invalid("Provide exactly one of start_time (first request) or cursor")
        per_page = int_arg(req.arg("per_page"), default=MAX_PER_PAGE)
        if per_page is None or per_page < 1:
            return self._invalid("per_page must be a positive integer")
        per_page = min(per_page, MAX_PER_PAGE)
        exclude_deleted = (req.arg("exclude_deleted") or "").lower() == "true"
        # [UIE]: "any items that were created or changed within the minute prior to your
        # request are excluded. This ensures the accuracy of the data." [IE]: start_time "Must
        # be at least one minute in the past. Data isn't provided for the most recent minute."
        # The window is export_lag_seconds here (0 by default so tests run fast).
        cutoff = now - self.export_lag_seconds

        if start_arg is not None:
            start = int_arg(start_arg.split(".")[0], default=None)
            if start is None or start < 0:
                return self._invalid("start_time must be a Unix epoch time in seconds")
            if start > cutoff:
                return self._invalid(
                    "Too recent start_time. Use a start_time older than "
                    f"{self.export_lag_seconds:g} seconds"
                )
            direction, position, floor = "a", 0, start
        else:
            decoded = decode_cursor(cursor_arg or "")
            # A before-cursor may point just past the end of the log (an empty last page).
            if decoded is None or decoded[1] > len(self._log) + (decoded[0] == "b"):
                return self._invalid("Invalid cursor")
            direction, position, floor = decoded

        if direction == "a":
            ids, last, end = self._scan_after(position, floor, per_page, cutoff, exclude_deleted)
            first = self._seq_of[ids[0]] if ids else last + 1
        else:
            ids = self._scan_before(position, floor, per_page, exclude_deleted)
            first = self._seq_of[ids[0]] if ids else position
            last = self._seq_of[ids[-1]] if ids else position - 1
            end = self._scan_after(last, floor, 0, cutoff, exclude_deleted)[2]

        # [IE]: before_url/before_cursor are null when there is no previous page; the initial
        # request has none. after_cursor is always given: "each page of results includes a
        # cursor pointer to use as the starting point for the next page or the next export"
        # [UIE], so a client stores it at end_of_stream and resumes from it later.
        # end_of_stream: "true if the current request has returned all the results up to the
        # current time" [IE]; changes held back by the lag do not count as results yet.
        has_before = start_arg is None and bool(self._scan_before(first, floor, 1, exclude_deleted))
        after = encode_cursor("a", last, floor)
        before = encode_cursor("b", first, floor) if has_before else None
        tickets = [self._tickets[tid] for tid in ids]
        body: dict[str, Any] = {
            "tickets": [self._render_ticket(t) for t in tickets],
            "after_url": self._page_url(req, after),
            "after_cursor": after,
            "before_url": self._page_url(req, before) if before else None,
            "before_cursor": before,
            "end_of_stream": end,
        }
        body.update(self._sideloads(req, tickets))
        add_slas(req.query.get("include", []), body["tickets"], self._history)
        return Response(200, body)

    def _eligible(self, ticket_id: int, floor: int, exclude_deleted: bool) -> bool:
        ticket = self._tickets[ticket_id]
        if exclude_deleted and ticket["status"] == "deleted":
            return False
        # [IE] time-based export: "the API compares the start_time with the ticket's
        # generated_timestamp"; here generated_timestamp always equals updated_at.
        return bool(ticket["generated_timestamp"] >= floor)

    def _scan_after(
        self, position: int, floor: int, limit: int, cutoff: float, exclude_deleted: bool
    ) -> tuple[list[int], int, bool]:
        """Up to `limit` tickets changed after `position`: (ids, new position, end of stream)."""
        out: list[int] = []
        new_position = position
        for index in range(position, len(self._log)):
            ticket_id = self._log[index]
            if ticket_id is not None:
                # Change times only grow along the log, so the first held-back change ends
                # the visible stream.
                if self._changed_at[ticket_id] > cutoff:
                    break
                if self._eligible(ticket_id, floor, exclude_deleted):
                    if len(out) == limit:
                        return out, new_position, False
                    out.append(ticket_id)
            new_position = index + 1
        return out, new_position, True

    def _scan_before(
        self, position: int, floor: int, limit: int, exclude_deleted: bool
    ) -> list[int]:
        """Up to `limit` tickets whose latest change comes before `position`, oldest first."""
        out: list[int] = []
        for index in range(min(position, len(self._log) + 1) - 2, -1, -1):
            ticket_id = self._log[index]
            if ticket_id is not None and self._eligible(ticket_id, floor, exclude_deleted):
                out.append(ticket_id)
                if len(out) == limit:
                    break
        return out[::-1]

    def _page_url(self, req: Request, cursor: str) -> str:
        # The next page keeps the whole query (per_page, include, ...) with the new cursor.
        params = [
            (key, value)
            for key, values in req.query.items()
            if key not in ("cursor", "start_time")
            for value in values
        ]
        params.append(("cursor", cursor))
        return f"{self._base_url}{req.path}?{urlencode(params, safe=',')}"

    def _sideloads(self, req: Request, tickets: list[dict[str, Any]]) -> dict[str, Any]:
        # include=users,organizations side-loads the people (requesters, submitters,
        # assignees, collaborators) and organizations the tickets reference, groups their
        # groups, metric_sets their Ticket Metrics; other sideloads are not emulated and
        # ignored. Each comes as a top-level array under its resource key, beside "tickets"
        # (developer.zendesk.com/api-reference/ticketing/introduction/#side-loading; the
        # export's own keys after_cursor and end_of_stream: .../ticket-management/
        # incremental_exports/#json-format): syncd's source reads them there, not via zenpy.
        wanted = {
            part.strip() for value in req.query.get("include", []) for part in value.split(",")
        }
        out: dict[str, Any] = {}
        if "users" in wanted:
            user_ids = dict.fromkeys(
                uid
                for t in tickets
                for uid in (
                    t["requester_id"],
                    t["submitter_id"],
                    t["assignee_id"],
                    *t["collaborator_ids"],
                )
                if uid in self._users
            )
            out["users"] = [self._render_user(self._users[uid]) for uid in user_ids]
        if "organizations" in wanted:
            org_ids = dict.fromkeys(
                t["organization_id"] for t in tickets if t["organization_id"] in self._orgs
            )
            out["organizations"] = [self._render_org(self._orgs[oid]) for oid in org_ids]
        if "groups" in wanted:
            names = {gid: name for name, gid in data.GROUPS.items()}
            group_ids = dict.fromkeys(t["group_id"] for t in tickets if t.get("group_id") in names)
            out["groups"] = [self._render_group(gid, names[gid]) for gid in group_ids]
        if "metric_sets" in wanted:
            # Deleted tickets have no metrics record any more (their metrics endpoint is 404).
            out["metric_sets"] = [
                self._metric_of(t["id"]) for t in tickets if t["status"] != "deleted"
            ]
        return out

    # ------------------------------------------------------------- other vendor endpoints

    def _show_ticket(self, req: Request, _now: float) -> Response:
        ticket = self._live_ticket(int(req.params["id"]))
        if ticket is None:  # deleted tickets are gone from the Tickets API
            return self.error(404, "")
        return Response(
            200, {"ticket": self._render_ticket(ticket), **self._sideloads(req, [ticket])}
        )

    def _show_many_tickets(self, req: Request, _now: float) -> Response:
        ids = self._ids_arg(req)
        if isinstance(ids, Response):
            return ids
        tickets = [t for t in map(self._live_ticket, ids) if t is not None]
        body: dict[str, Any] = {"tickets": [self._render_ticket(t) for t in tickets]}
        body.update({"next_page": None, "previous_page": None, "count": len(tickets)})
        body.update(self._sideloads(req, tickets))
        add_slas(req.query.get("include", []), body["tickets"], self._history)
        return Response(200, body)

    def _put_ticket(self, req: Request, _now: float) -> Response:
        ticket = self._live_ticket(int(req.params["id"]))
        if ticket is None:
            return self.error(404, "")
        try:
            payload = req.json()
        except ValueError:
            return self.error(400, "The request body is not valid JSON")
        if not isinstance(payload, dict) or not isinstance(payload.get("ticket"), dict):
            return self.error(400, "Parameter missing: ticket")
        changes = {k: v for k, v in payload["ticket"].items() if k in WRITABLE}
        try:
            audit = self._update(ticket, changes)
        except InvalidRecord as exc:
            return self._record_invalid(exc)
        return Response(
            200, {"ticket": self._render_ticket(self._tickets[ticket["id"]]), "audit": audit}
        )

    def _comments_of(self, req: Request, _now: float) -> Response:
        """List Comments ([LC]): the ticket's comments, oldest first (one page here)."""
        ticket_id = int(req.params["id"])
        if self._live_ticket(ticket_id) is None:
            return self.error(404, "")
        found = [dict(c) for c in self._comments.get(ticket_id, [])]
        return Response(
            200, {"comments": found, "next_page": None, "previous_page": None, "count": len(found)}
        )

    def comments(self, ticket_id: int) -> list[dict[str, Any]]:
        """The ticket's comments, oldest first (body, public, author_id, created_at)."""
        with self._lock:
            return [dict(c) for c in self._comments.get(ticket_id, [])]

    def _show_me(self, _req: Request, _now: float) -> Response:
        return Response(200, {"user": self._render_user(self._users[self.me["id"]])})

    def _show_user(self, req: Request, _now: float) -> Response:
        user = self._users.get(int(req.params["id"]))
        if user is None:
            return self.error(404, "")
        return Response(200, {"user": self._render_user(user)})

    def _show_many_users(self, req: Request, _now: float) -> Response:
        ids = self._ids_arg(req)
        if isinstance(ids, Response):
            return ids
        users = [self._render_user(self._users[uid]) for uid in ids if uid in self._users]
        return Response(
            200, {"users": users, "next_page": None, "previous_page": None, "count": len(users)}
        )

    def _show_org(self, req: Request, _now: float) -> Response:
        org = self._orgs.get(int(req.params["id"]))
        if org is None:
            return self.error(404, "")
        return Response(200, {"organization": self._render_org(org)})

    def _render_group(self, gid: int, name: str) -> dict[str, Any]:
        """A group as Zendesk shows it ([G])."""
        return {
            "id": gid,
            "name": name.title(),
            "description": "",
            "default": name == "support",
            "deleted": False,
            "is_public": True,
            "url": f"{self._base_url}/api/v2/groups/{gid}.json",
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
        }

    def _list_groups(self, req: Request, _now: float) -> Response:
        """List Groups: offset pagination, 100 per page by default ([G])."""
        groups = [self._render_group(gid, name) for name, gid in data.GROUPS.items()]
        per_page = max(1, min(int(req.arg("per_page", "100") or 100), 100))
        page = max(1, int(req.arg("page", "1") or 1))
        chunk = groups[(page - 1) * per_page : page * per_page]
        more = page * per_page < len(groups)
        base = f"{self._base_url}/api/v2/groups.json?per_page={per_page}&page="
        return Response(
            200,
            {
                "groups": chunk,
                "next_page": f"{base}{page + 1}" if more else None,
                "previous_page": f"{base}{page - 1}" if page > 1 else None,
                "count": len(groups),
            },
        )

    def _ids_arg(self, req: Request) -> list[int] | Response:
        raw = [part.strip() for part in (req.arg("ids") or "").split(",") if part.strip()]
        if not raw or not all(part.isdigit() for part in raw):
            return self.error(400, "ids must be a comma-separated list of ids")
        if len(raw) > SHOW_MANY_MAX:
            resp = self.error(400, f"Too many values: at most {SHOW_MANY_MAX} ids")
            resp.body["error"] = "TooManyValues"
            return resp
        return [int(part) for part in raw]

    # ---------------------------------------------------------------------- admin routes

    def _admin_list(self, _req: Request) -> Response:
        return Response(200, self.tickets())

    def _admin_create(self, req: Request) -> Response:
        body = json_object(req)
        if body is None or "subject" not in body:
            return admin_error(400, "expected a JSON object with at least a subject")
        try:
            return Response(201, self.add_ticket(**body))
        except (TypeError, ValueError) as exc:
            return admin_error(400, str(exc))

    def _admin_update(self, req: Request) -> Response:
        body = json_object(req)
        if body is None:
            return admin_error(400, "expected a JSON object of changes")
        ticket_id = int(req.params["id"])
        if self._live_ticket(ticket_id) is None:
            return admin_error(404, f"no live ticket {ticket_id}")
        try:
            return Response(200, self.update_ticket(ticket_id, **body))
        except (TypeError, ValueError) as exc:
            return admin_error(400, str(exc))

    def _admin_delete(self, req: Request) -> Response:
        try:
            self.delete_ticket(int(req.params["id"]))
        except KeyError:
            return admin_error(404, f"no live ticket {req.params['id']}")
        return Response(204, None)

    def _admin_generate(self, req: Request) -> Response:
        body = json_object(req) or {}
        count, seed = body.get("count", 100), body.get("seed", 0)
        if not isinstance(count, int) or not isinstance(seed, int) or count < 0:
            return admin_error(400, "count and seed must be integers")
        return Response(200, {"created": len(self.generate(count, seed))})

    # ------------------------------------------------------------------------ internals

    def _create_org(
        self, name: str, domain: str | None, tags: list[str], fields: dict[str, Any]
    ) -> int:
        with self._lock:
            if name in self._org_by_name:
                raise ValueError(f"organization {name!r} exists")
            oid = self._take_id("org")
            now = iso(self.clock())
            self._orgs[oid] = {
                "id": oid,
                "name": name,
                "domain_names": [domain] if domain else [],
                "tags": tags,
                "organization_fields": fields,
                "details": "",
                "notes": "",
                "group_id": None,
                "shared_tickets": False,
                "shared_comments": False,
                "external_id": None,
                "created_at": now,
                "updated_at": now,
            }
            self._org_by_name[name] = oid
            return oid

    def _create_user(
        self,
        name: str,
        email: str,
        organization_id: int | None,
        role: str,
        phone: str | None,
        time_zone: str,
    ) -> int:
        with self._lock:
            key = email.lower()
            if key in self._user_by_email:
                raise ValueError(f"user {email!r} exists")
            if organization_id is not None and organization_id not in self._orgs:
                raise ValueError(f"no organization {organization_id}")
            uid = self._take_id("user")
            now = iso(self.clock())
            end_user = role == "end-user"
            self._users[uid] = {
                "id": uid,
                "name": name,
                "email": email,
                "role": role,
                "role_type": None,
                "custom_role_id": None,
                "organization_id": organization_id,
                "default_group_id": None if end_user else data.GROUPS["support"],
                "time_zone": time_zone,
                "iana_time_zone": data.TIME_ZONES.get(time_zone, "America/New_York"),
                "phone": phone,
                "shared_phone_number": None,
                "locale": "en-US",
                "locale_id": 1,
                "active": True,
                "verified": True,
                "suspended": False,
                "shared": False,
                "shared_agent": False,
                "moderator": not end_user,
                "restricted_agent": end_user,
                "only_private_comments": False,
                "ticket_restriction": "requested" if end_user else None,
                "tags": [],
                "external_id": None,
                "alias": "",
                "details": "",
                "notes": "",
                "signature": None if end_user else "",
                "photo": None,
                "user_fields": {},
                "last_login_at": None if end_user else now,
                "created_at": now,
                "updated_at": now,
            }
            self._user_by_email[key] = uid
            return uid

    def _take_id(self, kind: str) -> int:
        value = self._next_id[kind]
        self._next_id[kind] = value + 1
        return value

    def _public(self, value: _J) -> _J:
        # Callers may mutate what they get back; the store must not change with it.
        return clone(value)

    def _live_ticket(self, ticket_id: int) -> dict[str, Any] | None:
        ticket = self._tickets.get(ticket_id)
        return ticket if ticket is not None and ticket["status"] != "deleted" else None

    def _render_ticket(self, ticket: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"{self._base_url}/api/v2/tickets/{ticket['id']}.json", **ticket}

    def _render_user(self, user: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"{self._base_url}/api/v2/users/{user['id']}.json", **user}

    def _render_org(self, org: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"{self._base_url}/api/v2/organizations/{org['id']}.json", **org}

    def _store(self, ticket: dict[str, Any], updated: float) -> dict[str, Any]:
        """Save a new version of a ticket and append the change to the log."""
        ticket["updated_at"] = iso(updated)
        ticket["generated_timestamp"] = int(updated)
        tid = ticket["id"]
        old = self._seq_of.get(tid)
        if old is not None:
            self._log[old - 1] = None
        self._log.append(tid)
        self._seq_of[tid] = len(self._log)
        # Wall-clock change time drives export_lag_seconds; kept monotonic along the log.
        self._last_change = max(self._last_change, self.clock())
        self._changed_at[tid] = self._last_change
        self._tickets[tid] = ticket
        self._forget_events(tid)  # its metric events are recomputed on demand
        return ticket

    def _ensure_org(self, organization: str | int | None, email: str | None) -> int | None:
        if organization is None:
            return None
        if isinstance(organization, int):
            if organization not in self._orgs:
                raise ValueError(f"no organization {organization}")
            return organization
        if organization in self._org_by_name:
            return self._org_by_name[organization]
        domain = email.rpartition("@")[2] if email else f"{data.slug(organization)}.example.com"
        return self._create_org(organization, domain, [], {})

    def _ensure_requester(self, email: str | None, name: str | None, org_id: int | None) -> int:
        if email is None and name is None:
            return int(self.me["id"])  # an agent filing a ticket for themselves
        if email is None:
            domains = self._orgs[org_id]["domain_names"] if org_id is not None else []
            domain = domains[0] if domains else "example.com"
            email = f"{data.slug(name or 'customer').replace('-', '.')}@{domain}"
        uid = self._user_by_email.get(email.lower())
        if uid is not None:
            return uid
        name = name or email.partition("@")[0].replace(".", " ").title()
        return self._create_user(name, email, org_id, "end-user", None, DEFAULT_TIME_ZONE)

    def _new_ticket(
        self,
        subject: str,
        description: str,
        requester_id: int,
        org_id: int | None,
        fields: dict[str, Any],
        now: float,
    ) -> dict[str, Any]:
        requester = self._users[requester_id]
        created = to_epoch(fields["created_at"]) if "created_at" in fields else now
        updated = to_epoch(fields["updated_at"]) if "updated_at" in fields else max(created, now)
        if created > now or updated > now or updated < created:
            raise ValueError("timestamps must satisfy created_at <= updated_at <= now")
        ticket = _blank_ticket(0, subject, description, self.subdomain)
        for key in ("satisfaction_rating", "is_public", "recipient", "brand_id", "ticket_form_id"):
            if key in fields:
                ticket[key] = fields[key]
        ticket.update(
            requester_id=requester_id,
            submitter_id=fields.get("submitter_id", requester_id),
            organization_id=org_id if org_id is not None else requester["organization_id"],
            created_at=iso(created),
            via=fields.get("via") or _via(fields.get("channel", "api"), requester, ticket),
        )
        if fields.get("assignee_id") is not None and "status" not in fields:
            ticket["status"] = "open"  # Zendesk opens a new ticket once it has an assignee
        for field, value in fields.items():
            if field in WRITABLE and field != "comment":
                self._apply(ticket, field, value)
        ticket["id"] = tid = self._take_id("ticket")  # only once the fields are valid
        # The history starts as Zendesk would have created the ticket; a later status (say
        # solved) is dated updated_at, so its metrics measure created_at -> updated_at.
        submitter = self._users.get(ticket["submitter_id"])
        if ticket["status"] in ("new", "open"):
            first = ticket["status"]
        else:  # created pending, solved, ...: it was new (or open, once assigned) before
            first = "open" if ticket["assignee_id"] is not None else "new"
        history = History(
            created,
            first,
            ticket["priority"],
            by_agent=submitter is not None and submitter["role"] != "end-user",
            assignee=ticket["assignee_id"],
            group=ticket["group_id"],
        )
        if ticket["status"] != first:
            history.add(updated, "status", ticket["status"], "agent")
        if ticket["status"] == "closed":
            self._closed_at[tid] = updated
        self._history[tid] = history
        rating = ticket["satisfaction_rating"]
        if isinstance(rating, dict) and rating.get("score") in RATING_SCORES:
            ticket["satisfaction_rating"] = self._set_rating(
                ticket, rating["score"], rating.get("comment"), updated
            )
        return self._store(ticket, updated)

    def _update(
        self, current: dict[str, Any], changes: dict[str, Any], at: float | None = None
    ) -> dict[str, Any]:
        """Apply changes as Zendesk would ([NSR]); returns the audit. Raises InvalidRecord.

        `at` dates the change (default now). What the metrics need (status changes,
        comments and their authors, assignments) is appended to the ticket's history.
        """
        if current["status"] == "closed":
            raise InvalidRecord("status", "closed prevents ticket update")
        # A change never predates the ticket's last one (a clock set back in a test).
        now = max(self.clock() if at is None else at, self._history[current["id"]].last)
        ticket = dict(current)  # copy-on-write: readers holding the old version are unaffected
        events: list[dict[str, Any]] = []
        comment: dict[str, Any] | None = None
        for field, value in changes.items():
            if field == "comment":
                comment = self._comment_event(value)
                continue
            name = "tags" if field in ("additional_tags", "remove_tags") else field
            before = ticket.get(name)
            self._apply(ticket, field, value)
            if ticket.get(name) != before:
                events.append(self._change_event(name, ticket[name], before))
        if ticket["status"] == "new" and current["status"] != "new":
            raise InvalidRecord("status", "a ticket that left New cannot be set back to New")
        by_agent = comment is None or self._users[comment["author_id"]]["role"] != "end-user"
        if "status" not in changes:
            native = None
            if not by_agent and ticket["status"] in ("pending", "hold", "solved"):
                native = "open"  # [NSR] an end user's comment reopens the ticket
            elif ticket["status"] == "new" and ticket["assignee_id"] not in (
                None,
                current["assignee_id"],
            ):
                native = "open"  # [NSR] a new ticket that gets an assignee opens
            if native is not None:
                events.append(self._change_event("status", native, ticket["status"]))
                ticket["status"] = native
        if comment is not None:
            events.append(comment)
            self._comments.setdefault(ticket["id"], []).append(
                {
                    "id": comment["id"],
                    "type": "Comment",
                    "author_id": comment["author_id"],
                    "body": comment["body"],
                    "plain_body": comment["body"],
                    "public": comment["public"],
                    "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
                    "created_at": iso(now),
                }
            )
        if events:  # a no-op update leaves the ticket (and its place in the stream) alone
            self._record(current, ticket, comment, by_agent, now)
            self._store(ticket, now)
        return {
            "id": self._take_id("audit"),
            "ticket_id": ticket["id"],
            "created_at": iso(now),
            "author_id": comment["author_id"] if comment else self.me["id"],
            "metadata": {"system": {}, "custom": {}},
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "events": events,
        }

    def _change_event(self, field: str, value: Any, previous: Any) -> dict[str, Any]:
        return {
            "id": self._take_id("audit"),
            "type": "Change",
            "field_name": field,
            "value": value,
            "previous_value": previous,
        }

    def _comment_event(self, comment: Any) -> dict[str, Any]:
        body = comment.get("body", "") if isinstance(comment, dict) else str(comment)
        public = comment.get("public", True) if isinstance(comment, dict) else True
        author = comment.get("author_id") if isinstance(comment, dict) else None
        if author is None:
            author = self.me["id"]  # the API user writes comments that name no author
        elif author not in self._users:
            raise InvalidRecord("author_id", f"no user {author}")
        return {
            "id": self._take_id("audit"),
            "type": "Comment",
            "body": body,
            "public": bool(public),
            "author_id": author,
        }

    def _record(
        self,
        before: dict[str, Any],
        after: dict[str, Any],
        comment: dict[str, Any] | None,
        by_agent: bool,
        at: float,
    ) -> None:
        """Append an update to the ticket's history, in the order the metrics see it."""
        history = self._history[after["id"]]
        actor = "agent" if by_agent else "end-user"
        for field, kind in (
            ("assignee_id", "assign"),
            ("group_id", "group"),
            ("priority", "priority"),
        ):
            if after[field] != before[field]:
                history.add(at, kind, after[field], actor)
        status_changed = after["status"] != before["status"]
        # A requester's comment reopens before it is read; an agent answers, then sets a
        # status (a reply with "pending" first fulfils the reply, then pauses the clocks).
        if status_changed and not by_agent:
            history.add(at, "status", after["status"], actor)
        if comment is not None:
            history.add(at, "comment", comment["public"], actor)
        if status_changed and by_agent:
            history.add(at, "status", after["status"], actor)
        if after["status"] == "closed":
            self._closed_at[after["id"]] = at

    def _apply(self, ticket: dict[str, Any], field: str, value: Any) -> None:
        """Validate and set one writable field, building new containers (copy-on-write)."""
        if field == "status":
            if value not in TICKET_STATUSES:
                raise InvalidRecord("status", f"{value!r} is not a valid status")
            ticket["status"] = value
        elif field == "priority":
            if value is not None and value not in PRIORITIES:
                raise InvalidRecord("priority", f"{value!r} is not a valid priority")
            ticket["priority"] = value
        elif field == "type":
            if value is not None and value not in TICKET_TYPES:
                raise InvalidRecord("type", f"{value!r} is not a valid type")
            ticket["type"] = value
        elif field == "subject":
            ticket["subject"] = ticket["raw_subject"] = str(value)
        elif field == "tags":
            ticket["tags"] = _tags(value)
        elif field == "additional_tags":
            ticket["tags"] = _tags([*ticket["tags"], *_tags(value)])
        elif field == "remove_tags":
            drop = set(_tags(value))
            ticket["tags"] = [tag for tag in ticket["tags"] if tag not in drop]
        elif field == "custom_fields":
            ticket["custom_fields"] = _merge_custom_fields(ticket["custom_fields"], value)
            ticket["fields"] = [dict(f) for f in ticket["custom_fields"]]
        elif field in ("assignee_id", "requester_id"):
            if value is not None and value not in self._users:
                raise InvalidRecord(field, f"no user {value}")
            if field == "requester_id" and value is None:
                raise InvalidRecord(field, "cannot be blank")
            ticket[field] = value
        elif field == "organization_id":
            if value is not None and value not in self._orgs:
                raise InvalidRecord(field, f"no organization {value}")
            ticket[field] = value
        elif field in ("collaborator_ids", "follower_ids"):
            if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
                raise InvalidRecord(field, "must be a list of user ids")
            ticket[field] = list(value)
        elif field == "group_id":
            if value is not None and value not in data.GROUPS.values():
                raise InvalidRecord(field, f"no group {value}")
            ticket[field] = value
        else:  # external_id, due_at, problem_id
            ticket[field] = value

    def _generated_org(self, spec: dict[str, Any]) -> int:
        oid = self._org_by_name.get(spec["name"])
        if oid is None:
            oid = self._create_org(
                spec["name"], spec["domain"], list(spec["tags"]), {"plan": spec["plan"]}
            )
        return oid

    def _generated_user(self, spec: dict[str, Any], orgs: list[int]) -> int:
        uid = self._user_by_email.get(spec["email"].lower())
        if uid is None:
            org_index = spec.get("organization")
            uid = self._create_user(
                spec["name"],
                spec["email"],
                orgs[org_index] if org_index is not None else None,
                spec.get("role", "end-user"),
                spec.get("phone"),
                spec.get("time_zone", DEFAULT_TIME_ZONE),
            )
        return uid

    def _generated_ticket(
        self,
        ticket_id: int,
        spec: dict[str, Any],
        requesters: list[int],
        agents: list[int],
    ) -> dict[str, Any]:
        requester = self._users[requesters[spec["requester"]]]
        assignee = agents[spec["assignee"]] if spec["assignee"] is not None else None
        ticket = _blank_ticket(ticket_id, spec["subject"], spec["description"], self.subdomain)
        ticket.update(
            requester_id=requester["id"],
            submitter_id=requester["id"],
            organization_id=requester["organization_id"],
            assignee_id=assignee,
            group_id=spec["group_id"],
            status=spec["status"],
            priority=spec["priority"],
            type=spec["type"],
            tags=list(spec["tags"]),
            custom_fields=[dict(f) for f in spec["custom_fields"]],
            fields=[dict(f) for f in spec["custom_fields"]],
            created_at=iso(spec["created_at"]),
        )
        ticket["via"] = _via(spec["channel"], requester, ticket)
        # The planned steps are already in time order; "assign" names the spec's agent.
        history = History(spec["created_at"], "new", spec["priority"], group=spec["group_id"])
        ratings: list[tuple[float, str]] = []
        for at, kind, value, actor in spec["steps"]:
            if kind == "assign":
                value = assignee
            elif kind == "rating":
                ratings.append((at, value))
            elif kind == "status" and value == "closed":
                self._closed_at[ticket_id] = at
            history.events.append((at, kind, value, actor))
        self._history[ticket_id] = history
        if ratings:
            satisfaction = spec["satisfaction"] or {}
            ticket["satisfaction_rating"] = self._set_rating(
                ticket, ratings[-1][1], satisfaction.get("comment"), ratings[-1][0], ratings[0][0]
            )
        if spec["fate"] in ("spam", "deleted"):
            self._deleted[ticket_id] = self._deletion(ticket, spec["updated_at"])
            ticket["status"] = "deleted"
            if spec["fate"] == "spam":
                self._suspend(requester["id"], spec["updated_at"])
        return self._store(ticket, spec["updated_at"])


_ERROR_NAMES = {
    400: "InvalidValue",
    403: "Forbidden",
    409: "Conflict",
    422: "InvalidValue",
    429: "TooManyRequests",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
}


def _blank_ticket(ticket_id: int, subject: str, description: str, subdomain: str) -> dict[str, Any]:
    """A ticket with every documented field at its default (shape of the [IE] example)."""
    return {
        "id": ticket_id,
        "external_id": None,
        "type": None,
        "subject": subject,
        "raw_subject": subject,
        "description": description,
        "priority": None,
        "status": "new",
        "recipient": f"support@{subdomain}.zendesk.com",
        "requester_id": None,
        "submitter_id": None,
        "assignee_id": None,
        "organization_id": None,
        "group_id": None,
        "collaborator_ids": [],
        "follower_ids": [],
        "email_cc_ids": [],
        "forum_topic_id": None,
        "problem_id": None,
        "has_incidents": False,
        "is_public": True,
        "due_at": None,
        "tags": [],
        "custom_fields": [],
        "fields": [],
        "satisfaction_rating": None,
        "sharing_agreement_ids": [],
        "followup_ids": [],
        "ticket_form_id": TICKET_FORM_ID,
        "brand_id": BRAND_ID,
        "allow_channelback": False,
        "allow_attachments": True,
        "from_messaging_channel": False,
        "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
        "generated_timestamp": 0,
        "created_at": "",
        "updated_at": "",
    }


def _via(channel: str, requester: dict[str, Any], ticket: dict[str, Any]) -> dict[str, Any]:
    """The `via` object: how the ticket arrived. Email carries sender and recipient."""
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}")
    source: dict[str, Any] = {"from": {}, "to": {}, "rel": None}
    if channel == "email":
        source["from"] = {"address": requester["email"], "name": requester["name"]}
        source["to"] = {"address": ticket["recipient"], "name": "Support"}
    return {"channel": channel, "source": source}


def _tags(value: Any) -> list[str]:
    # Zendesk tags are single words: a string with spaces holds several tags.
    if value is not None and not isinstance(value, str | list):
        raise InvalidRecord("tags", "must be a list of strings")
    words = (
        value.split()
        if isinstance(value, str)
        else [w for v in value or [] for w in str(v).split()]
    )
    return list(dict.fromkeys(words))


def _merge_custom_fields(current: list[dict[str, Any]], changes: Any) -> list[dict[str, Any]]:
    # A PUT names only the fields it changes; the others keep their values.
    merged = {f["id"]: f["value"] for f in current}
    for item in changes or []:
        if not isinstance(item, dict) or not isinstance(item.get("id"), int):
            raise InvalidRecord("custom_fields", "items must look like {id, value}")
        merged[item["id"]] = item.get("value")
    return [{"id": fid, "value": value} for fid, value in merged.items()]
