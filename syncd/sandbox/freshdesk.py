"""Freshdesk API v2 emulator: the part of the Tickets API a ticket-sync tool uses.

Vendor endpoints (Basic auth: API key as user name, "X" or any dummy password [Auth]):

    GET    /api/v2/tickets                   list: filter, updated_since, order_by/_type, include
    GET    /api/v2/tickets/{id}              include=requester,stats,company,conversations
    PUT    /api/v2/tickets/{id}              -> the ticket        DELETE -> 204 (soft delete)
    PUT    /api/v2/tickets/{id}/restore      -> 204               PUT /api/v2/tickets/merge -> 204
    GET    /api/v2/tickets/{id}/conversations
    POST   /api/v2/tickets/{id}/reply        {"body": html} -> 201, the conversation
    GET    /api/v2/agents                    plain array, page/per_page
    GET    /api/v2/contacts/{id}   GET /api/v2/companies   GET /api/v2/companies/{id}
    GET    /api/v2/surveys/satisfaction_ratings?created_since=   GET /api/v2/ticket_fields
    GET    /api/v2/admin/ticket_fields/{id}  one field, choices as objects (admins only)

`FreshdeskApp` serves a `FreshdeskStore` (freshdesk_store: records, validation, stats, merge);
freshdesk_data holds the account setup and the sample-data planner behind `generate`;
freshdesk_sla computes Freshdesk's own SLA (fr_due_by, due_by, nr_due_by, the escalation flags)
from the policy `configure_sla` sets (default: freshdesk_data.SLA_HOURS in calendar hours).

Sections of https://developers.freshdesk.com/api/ followed here:
[Auth] #authentication; [RL] #ratelimit; [Pg] #pagination; [Err] #error;
[List] #list_all_tickets; [View] #view_a_ticket; [Upd] #update_ticket; [Merge] #merge_tickets;
[Del] #delete_a_ticket and #restore_a_ticket; [Conv] #list_all_ticket_notes;
[Contacts] #view_contact; [Companies] #view_company, #list_all_companies;
[CSAT] #view_all_satisfaction_ratings; [Fields] #list_all_ticket_fields;
[AdminFields] #view_a_ticket_field (GET /api/v2/admin/ticket_fields/{id});
[Reply] #reply_ticket (POST /api/v2/tickets/{id}/reply, body HTML, 201 Created);
[Agents] #list_all_agents (GET /api/v2/agents, the agent's name and email under `contact`).
[Statuses] https://support.freshdesk.com/support/solutions/articles/37600 (understanding
ticket statuses) and .../229718 (the SLA timer is switched off per status, under Admin >
Workflows > Ticket fields > Status).

Documented, and emulated as documented: the list defaults (order_by=created_at,
order_type=desc, 30 per page; per_page over 100 is an error); without updated_since only
tickets created in the past 30 days; deleted and spam tickets only under filter=deleted /
filter=spam; "a maximum of 300 pages"; description only with include=description (accounts
created after 2018-11-30); include costs (list: "an additional 2 credits" each, so stats costs
3 and requester,stats,company 7; view: one more credit each) and plan limits counted in
credits ([RL]); the `link: <url>; rel="next"` header only when a next page exists;
X-RateLimit-Total/-Remaining/-Used-CurrentRequest (the credits the request cost) and 429 with
Retry-After; the status field's choices {code: [agent label, customer label]} ([Fields]),
custom statuses 6 "Waiting on Customer" and 7 "Waiting on Third Party" as a new account has
them, and whether each stops the SLA timer ([Statuses], [AdminFields]); the 401
body; {"description": "Validation failed", "errors": [{field, message, code}]} for 400s;
merge's body (primary_id, ticket_ids (the samples list the primary too), note_in_primary,
note_in_secondary, convert_recepients_to_cc), that notes are added by default and that it
answers 204; soft delete and restore (204); the status, priority, source codes and the
satisfaction scale 103..-103; "deleted": true on deleted tickets.

Inferred, so worth re-checking against a live account:
- Page cap: a page past 300 gets 400 {"field": "page", "message": "You cannot access tickets
  beyond the 300th page. Please provide a smaller page number.", "code": "invalid_value"},
  the response users report (airbytehq/airbyte#3858); page 300 still links to page 301.
- Merges: the docs define no ticket field for them (`association_type` is documented for
  parent/child/tracker links, so it stays null). Secondaries are closed (status 5, stats as
  for any close) and get a private note "This ticket is closed and merged into ticket #N";
  their conversations move to the primary, which gets a private note per secondary. A client
  recognises a merged ticket by status 5 plus that note (include=conversations or
  /conversations). Note wording is inferred; custom notes replace it.
- Stats follow Freshdesk's ticket states: closing sets resolved_at if unset, reopening (a
  status change or a customer reply to a non-open ticket) clears resolved_at and closed_at and
  sets reopened_at, pending_since is set only while pending.
- Error details: 404 has an empty body; 429's body is {"code": "rate_limit_exceeded", ...};
  messages other than the page cap's; unknown query parameters give invalid_field; PUT,
  DELETE on a deleted ticket and restore of a live one give 404.
- Credits: a request costing more than remains is refused whole (so a minute never exceeds
  the limit); 401s and 429s spend nothing, other errors cost their credits;
  X-Freshdesk-API-Version is what clients read, not in the docs. Header values are integers
  unless `decimal_headers` is set: some of Freshdesk's examples show them as `700.0`.
- Hourly limits (`set_credits_per_hour`): current plans also cap credits per hour; a request
  over it gets 429 with a Retry-After up to the end of the hour (many minutes), while the
  X-RateLimit-* headers keep describing the minute. Not in the public API docs: modelled
  on what accounts report, worth checking.
- The admin view of the status field needs an admin's API key (`admin_key` False: 403).
- Ordering: updated_since/created_since are inclusive; ties sort by id (in the requested
  direction); no-op updates keep updated_at; ratings are listed oldest first with no default
  date window; companies by id. Generated tickets carry stats but no conversations.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from syncd.sandbox import freshdesk_data as data
from syncd.sandbox.freshdesk_data import OPEN
from syncd.sandbox.freshdesk_store import (
    FreshdeskError,
    FreshdeskStore,
    field_error,
    iso,
    to_epoch,
    to_html,
)
from syncd.sandbox.server import Handler, MinuteBudget, Request, Response, clone

__all__ = ["FreshdeskApp", "FreshdeskError", "FreshdeskStore"]

DAY = 86_400
DEFAULT_WINDOW_DAYS = 30  # [List]: without updated_since, tickets created in the past 30 days
MAX_PAGE = 300  # [List]: "A maximum of 300 pages ... will be returned"
PAGE_CAP_MESSAGE = (  # what users report Freshdesk answers past the cap (inferred, see above)
    "You cannot access tickets beyond the 300th page. Please provide a smaller page number."
)
PER_PAGE, MAX_PER_PAGE = 30, 100  # [Pg]
NOMINAL_PER_MINUTE = 700  # reported when unlimited: the Enterprise plan's per-minute limit
LIST_INCLUDES = ("requester", "stats", "description", "company")  # [List], 2 credits each
VIEW_INCLUDES = ("conversations", "requester", "company", "stats")  # [View], 1 credit each
FILTERS = ("new_and_my_open", "watching", "spam", "deleted")
ORDER_BY = ("created_at", "due_by", "updated_at", "status")
LIST_PARAMS = {
    "filter", "requester_id", "email", "unique_external_id", "company_id", "updated_since",
    "order_by", "order_type", "include", "per_page", "page",
}  # fmt: skip
# [Reply] the fields a reply takes (body mandatory, HTML).
REPLY_FIELDS = {"body", "attachments", "from_email", "user_id", "cc_emails", "bcc_emails"}
# Sort keys for order_by values the index does not hold in order.
ORDER_VALUE: dict[str, Callable[[dict[str, Any]], int]] = {
    "created_at": lambda t: t["_c"],
    "updated_at": lambda t: t["_u"],
    "due_by": lambda t: t["_d"],
    "status": lambda t: t["status"],
}


class FreshdeskApp(FreshdeskStore):
    """The Freshdesk emulator: a `FreshdeskStore` served as the v2 REST API."""

    name = "freshdesk"

    def __init__(
        self,
        api_key: str,
        domain: str = "acme",
        requests_per_minute: int | None = None,
        *,
        nominal_per_minute: int = NOMINAL_PER_MINUTE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`requests_per_minute` is the account's credit budget (None: unlimited)."""
        super().__init__(domain, clock)
        self.api_key = api_key
        self._base_url = f"https://{domain}.freshdesk.com"  # replaced by the first request's
        self._window = MinuteBudget(requests_per_minute, nominal_per_minute)
        self._hour: tuple[int, int | None, int] = (-1, None, 0)  # (hour, limit, credits used)
        self.decimal_headers = False  # X-RateLimit-* as "700.0", as some of the docs show them
        self.admin_key = True  # the API key is an admin's: the admin endpoints answer
        self._served: list[tuple[float, int]] = []  # (clock, credits) of served requests
        self._orderings: dict[tuple[Any, ...], list[int]] = {}  # cached non-index orders
        self._orderings_version = -1
        self._created = iso(clock())

    # --------------------------------------------------------------- VendorApp protocol

    def routes(self) -> list[tuple[str, str, Handler]]:
        """Vendor endpoints, each wrapped with auth, credits and rate-limit headers."""
        t, s = r"/api/v2/tickets", self._serve
        return [
            ("GET", t, s(self._list_tickets, self._list_cost)),
            ("PUT", rf"{t}/merge", s(self._merge)),
            ("GET", rf"{t}/(?P<id>\d+)", s(self._view_ticket, self._view_cost)),
            ("PUT", rf"{t}/(?P<id>\d+)", s(self._put_ticket)),
            ("DELETE", rf"{t}/(?P<id>\d+)", s(self._delete)),
            ("PUT", rf"{t}/(?P<id>\d+)/restore", s(self._restore)),
            ("GET", rf"{t}/(?P<id>\d+)/conversations", s(self._list_conversations)),
            ("POST", rf"{t}/(?P<id>\d+)/reply", s(self._reply_ticket)),
            ("GET", r"/api/v2/agents", s(self._list_agents)),
            ("GET", r"/api/v2/contacts/(?P<id>\d+)", s(self._view_contact)),
            ("GET", r"/api/v2/companies", s(self._list_companies)),
            ("GET", r"/api/v2/companies/(?P<id>\d+)", s(self._view_company)),
            ("GET", r"/api/v2/surveys/satisfaction_ratings", s(self._list_ratings)),
            ("GET", r"/api/v2/ticket_fields", s(self._ticket_fields)),
            ("GET", r"/api/v2/admin/ticket_fields/(?P<id>\d+)", s(self._ticket_field)),
            ("GET", r"/api/v2/groups", s(self._list_groups)),
        ]

    def admin_routes(self) -> list[tuple[str, str, Handler]]:
        """Routes under /_sandbox/freshdesk for the demo and subprocess tests."""
        return [
            ("GET", r"/tickets", lambda _req: Response(200, self.tickets())),
            ("POST", r"/tickets", self._admin_create),
            ("PUT", r"/tickets/(?P<id>\d+)", self._admin_update),
            ("DELETE", r"/tickets/(?P<id>\d+)", self._admin_delete),
            ("POST", r"/tickets/(?P<id>\d+)/(?P<action>[a-z_]+)", self._admin_action),
            ("POST", r"/merge", self._admin_merge),
            ("POST", r"/ratings", self._admin_rating),
            ("POST", r"/generate", self._admin_generate),
            ("GET", r"/requests", lambda _req: Response(200, self._admin_requests())),
        ]

    def error(self, status: int, message: str) -> Response:
        """An error in Freshdesk's shape ([Err]); 404 has an empty body."""
        if status == 401:
            body: Any = {
                "code": "invalid_credentials",
                "message": "You have to be logged in to perform this action.",
            }
        elif status == 404:
            body = b""
        elif status == 400:
            body = {"description": "Validation failed", "errors": [field_error("", message)]}
        else:
            body = {"code": _ERROR_CODES.get(status, "error"), "message": message}
        with self._lock:
            headers = self._rate_headers(self.clock(), 0)
        headers["Content-Type"] = "application/json; charset=utf-8"
        return Response(status, body, headers)

    # ---------------------------------------------- Python API (more in FreshdeskStore)

    def set_requests_per_minute(self, limit: int | None) -> None:
        """Change the per-minute credit budget (None: unlimited), e.g. on `Sandbox().freshdesk`."""
        with self._lock:
            self._window = MinuteBudget(limit, self._window.total if limit is None else limit)

    def set_credits_per_hour(self, limit: int | None) -> None:
        """Cap the credits of each clock hour as well (None: no hourly cap)."""
        with self._lock:
            self._hour = (-1, limit, 0)

    def request_times(self) -> list[float]:
        """Clock values of served vendor requests (not 401s, 429s or fault injections)."""
        with self._lock:
            return [at for at, _ in self._served]

    def request_log(self) -> list[tuple[float, int]]:
        """(clock value, credits spent) of every served vendor request."""
        with self._lock:
            return list(self._served)

    def generate(self, count: int, seed: int = 0) -> list[dict[str, Any]]:
        """Create `count` realistic tickets (deterministic per seed; see freshdesk_data).

        created_at spans the past 60 days, so the 30-day default window matters; stats follow
        each ticket's status history; about 1% are spam and 1% deleted. Fast: records are
        built directly and indexed with one sort.
        """
        with self._lock:
            now = self.clock()
            batch = data.plan_batch(count, seed, now)
            companies = [self._generated_company(spec) for spec in batch.companies]
            contacts = [self._generated_contact(spec, companies) for spec in batch.contacts]
            created = []
            for spec in sorted(batch.tickets, key=lambda s: s["created_at"]):
                created.append(self._generated_ticket(spec, contacts))
            self._index.resort()
            self._rating_keys.sort()
            return [self._full(t) for t in created]

    # -------------------------------------------------------------------- HTTP plumbing

    def _serve(
        self,
        handler: Callable[[Request, int], Response],
        cost: Callable[[Request], int] = lambda _req: 1,
    ) -> Handler:
        def serve(req: Request) -> Response:
            with self._lock:
                if req.base_url:
                    self._base_url = req.base_url
                now, used = self.clock(), 0
                if not self._authenticated(req):  # refused before any credit is spent
                    resp = self.error(401, "")
                elif (wait := self._hour_wait(now, credits := cost(req))) is not None:
                    resp = self.error(429, "You have exceeded the limit of requests per hour")
                    resp.headers["Retry-After"] = str(wait)
                elif not self._window.take(now, credits):
                    resp = self.error(429, "You have exceeded the limit of requests per minute")
                    resp.headers["Retry-After"] = str(self._window.resets(now))
                else:
                    self._spend_hour(now, credits)
                    used = credits
                    self._served.append((now, used))
                    resp = handler(req, int(now))
                resp.headers.update(self._rate_headers(now, used))
                return resp

        return serve

    def _hour_wait(self, now: float, credits: int) -> int | None:
        """Seconds to the next hour when `credits` do not fit this hour's cap, else None."""
        hour, limit, used = self._hour
        if int(now // 3600) != hour:
            hour, used = int(now // 3600), 0
            self._hour = (hour, limit, used)
        if limit is None or used + credits <= limit:
            return None
        return max(1, int((hour + 1) * 3600 - now))

    def _spend_hour(self, now: float, credits: int) -> None:
        hour, limit, used = self._hour
        self._hour = (hour, limit, used + credits)

    def _authenticated(self, req: Request) -> bool:
        # [Auth]: Basic base64("{api_key}:X"); the password is a dummy, any value is accepted.
        scheme, _, value = (req.header("authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user = base64.b64decode(value.strip()).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == self.api_key

    def _rate_headers(self, now: float, used: int) -> dict[str, str]:
        # [RL]: Used-CurrentRequest is the credits this request cost (includes count).
        shown = (lambda n: f"{n}.0") if self.decimal_headers else str
        return {
            "X-RateLimit-Total": shown(self._window.total),
            "X-RateLimit-Remaining": shown(self._window.remaining(now)),
            "X-RateLimit-Used-CurrentRequest": shown(used),
            "X-Freshdesk-API-Version": "latest=v2; requested=v2",
        }

    @staticmethod
    def _list_cost(req: Request) -> int:
        return 1 + 2 * len(_includes(req) & set(LIST_INCLUDES))

    @staticmethod
    def _view_cost(req: Request) -> int:
        return 1 + len(_includes(req) & set(VIEW_INCLUDES))

    def _invalid(self, errors: list[dict[str, str]]) -> Response:
        resp = self.error(400, "")
        resp.body = {"description": "Validation failed", "errors": errors}
        return resp

    def _check_query(
        self, req: Request, allowed: Iterable[str], includes: Iterable[str] = ()
    ) -> list[dict[str, str]]:
        errors = [
            field_error(key, "Unexpected/invalid field in request", "invalid_field")
            for key in req.query
            if key not in allowed
        ]
        bad = sorted(_includes(req) - set(includes))
        if bad:
            errors.append(
                field_error("include", f"It should be one of these values: '{','.join(includes)}'")
            )
        return errors

    def _paging(self, req: Request, errors: list[dict[str, str]]) -> tuple[int, int]:
        per_page, page = _int_arg(req.arg("per_page"), PER_PAGE), _int_arg(req.arg("page"), 1)
        if per_page is None or not 1 <= per_page <= MAX_PER_PAGE:
            message = f"It should be a Positive Integer less than or equal to {MAX_PER_PAGE}"
            errors.append(field_error("per_page", message))
        if page is None or page < 1:
            errors.append(field_error("page", "It should be a Positive Integer"))
        return per_page or PER_PAGE, page or 1

    def _paged(self, req: Request, items: list[Any], total: int, page: int, per: int) -> Response:
        # [Pg]: "The 'link' header in the response will hold the next page url if exists".
        resp = Response(200, items)
        if total > page * per:
            params = [(k, v) for k, vs in req.query.items() if k != "page" for v in vs]
            query = urlencode([*params, ("page", str(page + 1))], safe=",:")
            resp.headers["Link"] = f'<{self._base_url}{req.path}?{query}>; rel="next"'
        return resp

    # ----------------------------------------------------------------- ticket endpoints

    def _list_tickets(self, req: Request, now: int) -> Response:
        errors = self._check_query(req, LIST_PARAMS, LIST_INCLUDES)
        per_page, page = self._paging(req, errors)
        filt = req.arg("filter")
        order_by, order_type = req.arg("order_by") or "created_at", req.arg("order_type") or "desc"
        for field, value, allowed in (
            ("filter", filt, FILTERS), ("order_by", order_by, ORDER_BY),
            ("order_type", order_type, ("asc", "desc")),
        ):  # fmt: skip
            if value is not None and value not in allowed:
                errors.append(
                    field_error(field, f"It should be one of these values: '{','.join(allowed)}'")
                )
        since = _time_arg(req, "updated_since", errors)
        narrow: dict[str, Any] = {}
        for field in ("requester_id", "company_id"):
            if req.arg(field) is not None:
                narrow[field] = _int_arg(req.arg(field), None)
                if narrow[field] is None:
                    errors.append(field_error(field, "It should be a Positive Integer"))
        if req.arg("email") is not None:
            narrow["requester_id"] = self._contact_by_email.get((req.arg("email") or "").lower())
        if req.arg("unique_external_id") is not None:
            narrow["requester_id"] = None  # no contact here has an external id
        if page > MAX_PAGE and not errors:
            errors.append(field_error("page", PAGE_CAP_MESSAGE))
        if errors:
            return self._invalid(errors)
        bucket = filt if filt in ("spam", "deleted") else "live"
        if filt in ("new_and_my_open", "watching"):
            narrow["filter"] = filt
        field, floor = ("u", since) if since is not None else ("c", now - DEFAULT_WINDOW_DAYS * DAY)
        start = (page - 1) * per_page
        ids, total = self._select(bucket, field, floor, order_by, order_type == "desc", narrow,
                                  start, start + per_page)  # fmt: skip
        includes = _includes(req)
        body = [
            self._render(
                self._tickets[tid], description="description" in includes, includes=includes
            )
            for tid in ids
        ]
        return self._paged(req, body, total, page, per_page)

    def _select(
        self, bucket: str, field: str, floor: int, order_by: str, desc: bool,
        narrow: dict[str, Any], start: int, stop: int,
    ) -> tuple[list[int], int]:  # fmt: skip
        """Ids on one page of a list query, and how many match in all."""
        keys = self._index.lists[bucket, field]
        low = bisect_left(keys, (floor, 0))
        if not narrow and order_by == {"c": "created_at", "u": "updated_at"}[field]:
            # The index is already in this order: slice it (reversed for desc).
            total = len(keys) - low
            if desc:
                stop_at = max(len(keys) - stop, low)
                return [keys[i][1] for i in range(len(keys) - 1 - start, stop_at - 1, -1)], total
            return [tid for _, tid in keys[low + start : low + stop]], total
        # Other orders: sort the matching ids once per data version, then page from that.
        cache_key = (bucket, field, floor, order_by, desc, tuple(sorted(narrow.items())))
        if self._orderings_version != self._index.version:
            self._orderings, self._orderings_version = {}, self._index.version
        ordered = self._orderings.get(cache_key)
        if ordered is None:
            tickets = [self._tickets[tid] for _, tid in keys[low:]]
            tickets = [t for t in tickets if _matches(t, narrow)]
            value = ORDER_VALUE[order_by]
            tickets.sort(key=lambda t: (value(t), t["id"]), reverse=desc)
            ordered = self._orderings[cache_key] = [t["id"] for t in tickets]
        return ordered[start:stop], len(ordered)

    def _view_ticket(self, req: Request, _now: int) -> Response:
        errors = self._check_query(req, {"include"}, VIEW_INCLUDES)
        if errors:
            return self._invalid(errors)
        t = self._tickets.get(int(req.params["id"]))
        if t is None:  # deleted tickets stay viewable, with "deleted": true
            return self.error(404, "")
        return Response(200, self._render(t, includes=_includes(req), view=True))

    def _put_ticket(self, req: Request, now: int) -> Response:
        t = self._tickets.get(int(req.params["id"]))
        if t is None or t["_deleted"]:
            return self.error(404, "")
        body = _json_body(req)
        if not isinstance(body, dict):
            return self._invalid(
                [field_error("", "Request body has invalid json format", "invalid_json")]
            )
        changes, errors = self._validate(body)
        if errors:
            return self._invalid(errors)
        if self._apply(t, changes, now):
            self._save(t, now)
        return Response(200, self._render(t, view=True))

    def _delete(self, req: Request, now: int) -> Response:
        t = self._tickets.get(int(req.params["id"]))
        if t is None or t["_deleted"]:
            return self.error(404, "")
        t["_deleted"] = True
        self._save(t, now)
        return Response(204, None)

    def _restore(self, req: Request, now: int) -> Response:
        t = self._tickets.get(int(req.params["id"]))
        if t is None or not t["_deleted"]:
            return self.error(404, "")
        t["_deleted"] = False
        self._save(t, now)
        return Response(204, None)

    def _merge(self, req: Request, now: int) -> Response:
        body = _json_body(req)
        if not isinstance(body, dict):
            return self._invalid(
                [field_error("", "Request body has invalid json format", "invalid_json")]
            )
        errors = self._do_merge(body, now)
        return self._invalid(errors) if errors else Response(204, None)

    def _list_conversations(self, req: Request, _now: int) -> Response:
        errors = self._check_query(req, {"per_page", "page"})
        per_page, page = self._paging(req, errors)
        if errors:
            return self._invalid(errors)
        if int(req.params["id"]) not in self._tickets:
            return self.error(404, "")
        convs = self._conversations.get(int(req.params["id"]), [])
        items = clone(convs[(page - 1) * per_page : page * per_page])
        return self._paged(req, items, len(convs), page, per_page)

    def _reply_ticket(self, req: Request, now: int) -> Response:
        """[Reply]: a public reply, `body` in HTML (mandatory); 201 with the conversation.
        It is an agent's reply: the response stats change as for any reply."""
        t = self._tickets.get(int(req.params["id"]))
        if t is None or t["_deleted"]:
            return self.error(404, "")
        body = _json_body(req)
        if not isinstance(body, dict):
            return self._invalid(
                [field_error("", "Request body has invalid json format", "invalid_json")]
            )
        stray = sorted(set(body) - REPLY_FIELDS)
        if stray:
            return self._invalid(
                [field_error(stray[0], "Unexpected/invalid field in request", "invalid_field")]
            )
        markup = body.get("body")
        if not isinstance(markup, str) or not markup.strip():
            return self._invalid([field_error("body", "It should be a/an String", "missing_field")])
        self.reply(t["id"], markup=markup)
        conv = clone(self._conversations[t["id"]][-1])
        return Response(201, conv)

    def _list_agents(self, req: Request, _now: int) -> Response:
        """[Agents] List All Agents: a plain array, `page`/`per_page` (30, at most 100)."""
        errors = self._check_query(req, {"per_page", "page", "email", "state"})
        per_page, page = self._paging(req, errors)
        if errors:
            return self._invalid(errors)
        agents = [
            {
                "id": agent["id"],
                "available": True,
                "occasional": False,
                "ticket_scope": 1,
                "type": "support_agent",
                "signature": None,
                "group_ids": [],
                "role_ids": [],
                "created_at": self._created,
                "updated_at": self._created,
                "contact": {
                    "name": agent["name"],
                    "email": agent["email"],
                    "active": True,
                    "job_title": None,
                    "language": "en",
                    "time_zone": "Eastern Time (US & Canada)",
                },
            }
            for agent in self._agents.values()
        ]
        chunk = agents[(page - 1) * per_page : page * per_page]
        return self._paged(req, chunk, len(agents), page, per_page)

    # ----------------------------------------------------- contacts, companies, surveys

    def _view_contact(self, req: Request, _now: int) -> Response:
        contact = self._contacts.get(int(req.params["id"]))
        return Response(200, clone(contact)) if contact else self.error(404, "")

    def _view_company(self, req: Request, _now: int) -> Response:
        company = self._companies.get(int(req.params["id"]))
        return Response(200, clone(company)) if company else self.error(404, "")

    def _list_companies(self, req: Request, _now: int) -> Response:
        errors = self._check_query(req, {"per_page", "page"})
        per_page, page = self._paging(req, errors)
        if errors:
            return self._invalid(errors)
        ids = list(self._companies)  # ids grow with creation, so this is id order
        chunk = ids[(page - 1) * per_page : page * per_page]
        body = [clone(self._companies[cid]) for cid in chunk]
        return self._paged(req, body, len(ids), page, per_page)

    def _list_ratings(self, req: Request, _now: int) -> Response:
        errors = self._check_query(req, {"created_since", "user_id", "per_page", "page"})
        per_page, page = self._paging(req, errors)
        since = _time_arg(req, "created_since", errors)
        user_id = _int_arg(req.arg("user_id"), None) if req.arg("user_id") else None
        if errors:
            return self._invalid(errors)
        low = bisect_left(self._rating_keys, (since or 0, 0))
        ids = [rid for _, rid in self._rating_keys[low:]]
        if user_id is not None:
            ids = [rid for rid in ids if self._ratings[rid]["user_id"] == user_id]
        body = [clone(self._ratings[rid]) for rid in ids[(page - 1) * per_page : page * per_page]]
        return self._paged(req, body, len(ids), page, per_page)

    def _ticket_fields(self, _req: Request, _now: int) -> Response:
        return Response(200, data.ticket_fields(self._created))

    def _ticket_field(self, req: Request, _now: int) -> Response:
        """[AdminFields]: one field; only the status field's admin view is emulated."""
        if not self.admin_key:
            resp = self.error(403, "You are not authorized to perform this action.")
            return resp
        if int(req.params["id"]) != data.STATUS_FIELD_ID:
            return self.error(404, "")
        return Response(200, data.status_field_detail(self._created))

    def _list_groups(self, req: Request, _now: int) -> Response:
        """List All Groups: a plain array, `page`/`per_page` (30 by default, at most 100)."""
        per_page = max(1, min(int(req.arg("per_page", "30") or 30), 100))
        page = max(1, int(req.arg("page", "1") or 1))
        groups = [
            {
                "id": gid,
                "name": name,
                "description": f"{name} team",
                "escalate_to": None,
                "unassigned_for": "30m",
                "business_hour_id": None,
                "group_type": "support_agent_group",
                "created_at": "2024-01-01T00:00:00Z",
                "updated_at": "2024-01-01T00:00:00Z",
            }
            for name, gid in data.GROUPS.items()
        ]
        return Response(200, groups[(page - 1) * per_page : page * per_page])

    # --------------------------------------------------------------------- admin routes

    def _admin_create(self, req: Request) -> Response:
        body = _json_body(req)
        if not isinstance(body, dict) or "subject" not in body:
            return _admin_error(400, "expected a JSON object with at least a subject")
        return _admin_call(lambda: self.add_ticket(**body), 201)

    def _admin_update(self, req: Request) -> Response:
        body = _json_body(req)
        if not isinstance(body, dict):
            return _admin_error(400, "expected a JSON object of changes")
        return _admin_call(lambda: self.update_ticket(int(req.params["id"]), **body))

    def _admin_delete(self, req: Request) -> Response:
        resp = _admin_call(lambda: self.delete_ticket(int(req.params["id"])))
        return Response(204, None) if resp.status == 200 else resp

    def _admin_action(self, req: Request) -> Response:
        actions: dict[str, Callable[..., Any]] = {
            "reply": self.reply, "customer_reply": self.customer_reply, "note": self.add_note,
            "resolve": self.resolve, "close": self.close, "reopen": self.reopen,
            "spam": self.mark_spam, "restore": self.restore_ticket,
        }  # fmt: skip
        action, body = actions.get(req.params["action"]), _json_body(req) or {}
        if action is None or not isinstance(body, dict):
            return _admin_error(404, f"no action {req.params['action']!r} or bad body")
        return _admin_call(lambda: action(int(req.params["id"]), **body))

    def _admin_merge(self, req: Request) -> Response:
        body = _json_body(req)
        if not isinstance(body, dict) or "primary_id" not in body:
            return _admin_error(400, "expected {primary_id, ticket_ids}")
        return _admin_call(lambda: self.merge(**body))

    def _admin_rating(self, req: Request) -> Response:
        body = _json_body(req)
        if not isinstance(body, dict) or "ticket_id" not in body:
            return _admin_error(400, "expected {ticket_id, value, feedback?}")
        return _admin_call(lambda: self.add_rating(**body), 201)

    def _admin_generate(self, req: Request) -> Response:
        body = _json_body(req) or {}
        count, seed = body.get("count", 100), body.get("seed", 0)
        if not isinstance(count, int) or not isinstance(seed, int) or count < 0:
            return _admin_error(400, "count and seed must be integers")
        return Response(200, {"created": len(self.generate(count, seed))})

    def _admin_requests(self) -> dict[str, Any]:
        log = self.request_log()
        return {"times": [at for at, _ in log], "credits": [used for _, used in log]}

    # ---------------------------------------------------------------------- sample data

    def _generated_company(self, spec: dict[str, Any]) -> int:
        cid = self._company_by_name.get(spec["name"])
        if cid is None:
            cid = self.add_company(
                spec["name"], spec["domains"], industry=spec["industry"],
                account_tier=data.ACCOUNT_TIERS[spec["plan"]],
                custom_fields={"plan": spec["plan"]},
            )["id"]  # fmt: skip
        return cid

    def _generated_contact(self, spec: dict[str, Any], companies: list[int]) -> int:
        uid = self._contact_by_email.get(spec["email"].lower())
        if uid is None:
            company = companies[spec["company"]] if spec["company"] is not None else None
            uid = self.add_contact(spec["name"], spec["email"], company, phone=spec["phone"])["id"]
        return uid

    def _generated_ticket(self, spec: dict[str, Any], contacts: list[int]) -> dict[str, Any]:
        requester = self._contacts[contacts[spec["requester"]]]
        created, updated = int(spec["created_at"]), int(spec["updated_at"])
        t = self._record(self._take_id("ticket"), spec["subject"], requester["id"],
                         requester["company_id"], created, spec["priority"])  # fmt: skip
        stats = {k: (iso(v) if v is not None else None) for k, v in spec["stats"].items()}
        responder = spec["responder"]
        # Open from creation, then the current status since the stats say (the planner keeps
        # no longer history): Freshdesk's SLA (freshdesk_sla) is calculated from it on save.
        began = spec["stats"].get("status_updated_at") or created
        history = [(created, OPEN)]
        if spec["status"] != OPEN:
            history.append((max(created, int(began)), spec["status"]))
        t.update(
            status=spec["status"], priority=spec["priority"], source=spec["source"],
            type=spec["type"], tags=list(spec["tags"]), group_id=spec["group_id"],
            responder_id=data.AGENTS[responder][0] if responder is not None else None,
            custom_fields={**t["custom_fields"], **spec["custom_fields"]},
            description=to_html(spec["description"]), description_text=spec["description"],
            spam=spec["spam"], _deleted=spec["deleted"], _stats=stats, _hist=history,
        )  # fmt: skip
        self._save(t, updated, bulk=True)
        rating = spec["rating"]
        if rating is not None:
            answers = {"default_question": rating["value"]}
            self._store_rating(t, answers, rating["feedback"], int(rating["at"]))
        return t


_ERROR_CODES = {
    403: "access_denied",
    405: "method_not_allowed",
    409: "inconsistent_state",
    429: "rate_limit_exceeded",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}


def _includes(req: Request) -> set[str]:
    return {p.strip() for v in req.query.get("include", []) for p in v.split(",") if p.strip()}


def _matches(t: dict[str, Any], narrow: dict[str, Any]) -> bool:
    for key, value in narrow.items():
        if key == "filter":
            # new_and_my_open: open tickets unassigned or assigned to the API key's agent.
            if value == "watching" or t["status"] != OPEN:
                return False
            if t["responder_id"] not in (None, data.API_AGENT_ID):
                return False
        elif t[key] != value:
            return False
    return True


def _int_arg(value: str | None, default: int | None) -> int | None:
    if value is None or value == "":
        return default
    return int(value) if re.fullmatch(r"\d+", value) else None


def _time_arg(req: Request, name: str, errors: list[dict[str, str]]) -> int | None:
    raw = req.arg(name)
    if raw is None:
        return None
    try:
        return to_epoch(raw)
    except ValueError:
        errors.append(field_error(name, "It should be in the 'valid date time' format"))
        return None


def _json_body(req: Request) -> Any:
    try:
        return req.json()
    except ValueError:
        return None


def _admin_call(call: Callable[[], Any], status: int = 200) -> Response:
    try:
        return Response(status, call())
    except KeyError as exc:
        return _admin_error(404, f"no such ticket {exc}")
    except (TypeError, ValueError) as exc:
        return _admin_error(400, str(exc))


def _admin_error(status: int, message: str) -> Response:
    return Response(status, {"error": message})
