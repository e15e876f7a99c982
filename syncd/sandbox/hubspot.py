"""HubSpot CRM emulator: the v3 objects, properties and pipelines APIs and v4 associations.

Built from HubSpot's public docs (developers.hubspot.com), not from any client:

- auth is a private-app token sent as ``Authorization: Bearer``; anything else is 401
  ``INVALID_AUTHENTICATION``;
- every authenticated answer carries the private-app rate-limit headers
  (``X-HubSpot-RateLimit-Daily``, ``-Daily-Remaining``, ``-Interval-Milliseconds``, ``-Max``,
  ``-Remaining``), except search answers, which the usage guidelines say lack them;
- a rolling 10-second limit (190 for Professional/Enterprise private apps) answers 429 with
  ``errorType RATE_LIMIT`` and ``policyName TEN_SECONDLY_ROLLING``;
- ``POST /oauth/v2/private-apps/get/access-token-info`` with ``{"tokenKey": token}`` answers
  the private app's ``userId``, ``hubId``, ``appId`` and ``scopes`` (the private apps docs); the
  token's scopes are `SCOPES` (legacy form) unless a test sets others (`set_scopes`, e.g.
  `GRANULAR_SCOPES`, the form of apps created today);
- the portal's "create and associate companies with contacts" setting is on, as it is by
  default in HubSpot: a contact created with a business email gets the company of its domain
  (`hubspot_store`, `set_auto_companies`).

Record rules live in `hubspot_store` (writes, associations), `hubspot_rules` (values, error
shape) and `hubspot_query` (paging, search); the properties, pipelines and v4 associations
endpoints in `hubspot_routes`. This module does auth, limits and the objects endpoints.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from syncd.sandbox.hubspot_owners import OwnerDirectory
from syncd.sandbox.hubspot_query import page, search
from syncd.sandbox.hubspot_routes import (
    association_routes,
    batch_response,
    inputs_of,
    json_body,
    pipeline_routes,
    property_routes,
)
from syncd.sandbox.hubspot_rules import HubSpotError, iso, validation
from syncd.sandbox.hubspot_schema import ASSOCIATION_TYPES
from syncd.sandbox.hubspot_store import BATCH_LIMIT, HubSpotStore, Record
from syncd.sandbox.server import Handler, Request, Response

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
_CATEGORIES = {
    400: "VALIDATION_ERROR",
    401: "INVALID_AUTHENTICATION",
    403: "MISSING_SCOPES",
    404: "OBJECT_NOT_FOUND",
    409: "CONFLICT",
}
_WINDOW_SECONDS = 10.0
# The CRM search endpoints allow four requests per second per token (developer changelog,
# "CRM Search API Rate Limit Increase"), apart from the 10-second limit.
SEARCH_PER_SECOND = 4
# The sandbox token's scopes: everything syncd may need (tickets, their properties, contacts,
# companies and their properties, tasks, notes and owners).
SCOPES = (
    "oauth",
    "tickets",
    "crm.schemas.tickets.write",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.schemas.companies.read",
    "crm.schemas.companies.write",
    "crm.objects.owners.read",
)
# The same access as a private app created today shows it: granular scopes, per object and
# action (developers.hubspot.com/docs/apps/legacy-apps/authentication/scopes), where older apps
# show the legacy `tickets` scope.
GRANULAR_SCOPES = (
    "oauth",
    "crm.objects.tickets.read",
    "crm.objects.tickets.write",
    "crm.schemas.tickets.read",
    "crm.schemas.tickets.write",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.schemas.companies.read",
    "crm.schemas.companies.write",
    "crm.objects.owners.read",
)
TOKEN_INFO = "/oauth/v2/private-apps/get/access-token-info"


class HubSpotApp:
    """The HubSpot API emulator mounted as ``hubspot`` on the sandbox server."""

    name = "hubspot"

    def __init__(
        self,
        token: str,
        *,
        max_per_10s: int | None = 190,
        daily_limit: int = 650_000,
        search_per_second: int | None = SEARCH_PER_SECOND,
        portal_id: int = 62_515_000,
        clock: Callable[[], float] = time.monotonic,
        scopes: tuple[str, ...] | list[str] = SCOPES,
        auto_companies: bool = True,
    ) -> None:
        """``token`` is the one private-app token accepted; limits of None are not enforced.
        ``scopes``: what token-info reports (legacy `SCOPES` or `GRANULAR_SCOPES`);
        ``auto_companies``: the portal's "create and associate companies with contacts"
        setting (on by default, as in HubSpot)."""
        self.token = token
        self.max_per_10s = max_per_10s
        self.daily_limit = daily_limit
        self.search_per_second = search_per_second
        self.store = HubSpotStore(portal_id)
        self.owners = OwnerDirectory()  # the portal's users, for hubspot_owner_id
        self._clock = clock
        self._revoked = False
        self.scopes: list[str] | None = list(scopes)
        self.store.auto_companies = auto_companies
        self._lock = threading.RLock()  # the Python API runs outside the server's lock
        self._window: deque[float] = deque()  # admitted requests in the last 10 s
        self._search_window: deque[float] = deque()
        self._daily_used = 0

    # -- Python API for tests --------------------------------------------------------------

    def revoke(self) -> None:
        """Invalidate the token: every later request is a 401."""
        with self._lock:
            self._revoked = True

    def set_scopes(self, scopes: list[str] | tuple[str, ...] | None) -> None:
        """The scopes the token-info endpoint reports; None: that endpoint answers 404, as
        for a token it does not know the kind of."""
        with self._lock:
            self.scopes = None if scopes is None else list(scopes)

    def set_auto_companies(self, on: bool) -> None:
        """Turn the portal's "Create and associate companies with contacts" setting on or off
        (on by default): with it on, a new contact at a business email domain is associated
        with the company of that `domain`, created when there is none."""
        with self._lock:
            self.store.auto_companies = on

    def set_association_echo(self, on: bool) -> None:
        """Whether a v4 association batch create lists the pairs it created in `results`
        (on by default); off, a successful batch answers COMPLETE with no results."""
        with self._lock:
            self.store.association_echo = on

    def objects(self, object_type: str) -> list[dict[str, Any]]:
        """Every live record of a type (id, properties, timestamps), oldest first."""
        with self._lock:
            otype = self.store.object_type(object_type)
            records = sorted(self.store.records[otype.name].values(), key=lambda r: int(r.id))
            return [self.store.record_json(r) for r in records if not r.archived]

    def find(self, object_type: str, prop: str, value: str) -> dict[str, Any] | None:
        """The live record whose property equals the value, if any."""
        with self._lock:
            otype = self.store.object_type(object_type)
            rec = self.store.find(otype, prop, value)
            return self.store.record_json(rec) if rec else None

    def associations(self, from_type: str, from_id: str, to_type: str) -> list[str]:
        """Ids of the live records of ``to_type`` associated with one record."""
        with self._lock:
            frm, to = self.store.object_type(from_type), self.store.object_type(to_type)
            return list(self.store.associated(frm.name, from_id, to.name))

    def properties(self, object_type: str) -> list[dict[str, Any]]:
        """Property definitions of a type, as the properties API returns them."""
        with self._lock:
            otype = self.store.object_type(object_type)
            return [p.json() for p in self.store.props[otype.name].values()]

    def add_owner(self, email: str, first_name: str = "", last_name: str = "") -> dict[str, Any]:
        """Add an owner (a user of the portal); returns it as the owners API shows it."""
        with self._lock:
            return self.owners.add(email, first_name, last_name)

    def add(self, object_type: str, properties: dict[str, Any]) -> dict[str, Any]:
        """Create a record directly (seeding), with the API's validation."""
        with self._lock:
            otype = self.store.object_type(object_type)
            rec, _ = self.store.write(otype, "create", {"properties": properties})
            return self.store.record_json(rec)

    # -- VendorApp -------------------------------------------------------------------------

    def routes(self) -> list[tuple[str, str, Handler]]:
        """Every emulated vendor endpoint, wrapped in auth and rate limiting."""
        t, oid = r"(?P<type>[\w-]+)", r"(?P<id>[^/]+)"
        objects = f"/crm/v3/objects/{t}"
        table: list[tuple[str, str, Handler]] = [
            ("GET", objects, self._list),
            ("POST", objects, self._create),
            ("POST", f"{objects}/search", self._search),
            ("POST", f"{objects}/batch/(?P<op>create|update|upsert)", self._batch_write),
            ("POST", f"{objects}/batch/read", self._batch_read),
            ("POST", f"{objects}/batch/archive", self._batch_archive),
            ("GET", f"{objects}/{oid}", self._get),
            ("PATCH", f"{objects}/{oid}", self._update),
            ("DELETE", f"{objects}/{oid}", self._archive),
            *property_routes(self.store),
            *pipeline_routes(self.store),
            *association_routes(self.store),
            *self.owners.routes(),
        ]
        return [
            *[
                (method, pattern, self._endpoint(handler, search=pattern.endswith("/search")))
                for method, pattern, handler in table
            ],
            ("POST", TOKEN_INFO, self._token_info),  # the token is in the body, not a header
        ]

    def admin_routes(self) -> list[tuple[str, str, Handler]]:
        """Read-back routes for tests and the demo, under /_sandbox/hubspot."""

        def objects(req: Request) -> Response:
            return Response(200, self.objects(req.params["type"]))

        def properties(req: Request) -> Response:
            return Response(200, self.properties(req.params["type"]))

        def links(req: Request) -> Response:
            with self._lock:
                frm = self.store.object_type(req.params["from_type"]).name
                to = self.store.object_type(req.params["to_type"]).name
                pairs = [
                    [from_id, to_id]
                    for ftype, from_id, ttype in sorted(self.store.links)
                    if ftype == frm and ttype == to
                    for to_id in self.store.associated(frm, from_id, to)
                ]
            return Response(200, pairs)

        return [
            ("GET", r"/objects/(?P<type>\w+)", self._admin(objects)),
            ("GET", r"/associations/(?P<from_type>\w+)/(?P<to_type>\w+)", self._admin(links)),
            ("GET", r"/properties/(?P<type>\w+)", self._admin(properties)),
        ]

    def error(self, status: int, message: str) -> Response:
        """An error in HubSpot's shape; 429s use the documented rate-limit body."""
        if status == 429:
            return Response(429, _rate_limit_body(message, "TEN_SECONDLY_ROLLING"))
        body = {
            "status": "error",
            "message": message,
            "correlationId": str(uuid.uuid4()),
            "category": _CATEGORIES.get(status, "INTERNAL_ERROR" if status >= 500 else "ERROR"),
        }
        return Response(status, body)

    # -- plumbing --------------------------------------------------------------------------

    def _token_info(self, req: Request) -> Response:
        with self._lock:
            if self.scopes is None:
                return _error_response(HubSpotError(404, "OBJECT_NOT_FOUND", "Not found"))
            try:
                key = json_body(req).get("tokenKey")
            except HubSpotError as err:
                return _error_response(err)
            if not isinstance(key, str) or not key:
                return _error_response(validation("tokenKey is required"))
            if self._revoked or key != self.token:
                return _error_response(HubSpotError(401, "INVALID_AUTHENTICATION", AUTH_MESSAGE))
            info = {
                "userId": 1,
                "hubId": self.store.portal_id,
                "appId": 1,
                "scopes": list(self.scopes),
            }
            return Response(200, info)

    def _admin(self, handler: Handler) -> Handler:
        def run(req: Request) -> Response:
            try:
                return handler(req)
            except HubSpotError as err:
                return _error_response(err)

        return run

    def _endpoint(self, handler: Handler, *, search: bool) -> Handler:
        def run(req: Request) -> Response:
            with self._lock:
                auth = req.header("authorization") or ""
                if self._revoked or auth != f"Bearer {self.token}":
                    return _error_response(
                        HubSpotError(401, "INVALID_AUTHENTICATION", AUTH_MESSAGE)
                    )
                limited = self._admit(search)
                if limited is not None:
                    return limited
                try:
                    resp = handler(req)
                except HubSpotError as err:
                    resp = _error_response(err)
                if not search:  # search answers carry no rate-limit headers (usage guidelines)
                    resp.headers.update(self._rate_headers())
                return resp

        return run

    def _admit(self, search: bool) -> Response | None:
        """Count a request against the limits, or the 429 it gets instead."""
        now = self._clock()
        while self._window and self._window[0] <= now - _WINDOW_SECONDS:
            self._window.popleft()
        while self._search_window and self._search_window[0] <= now - 1.0:
            self._search_window.popleft()
        if self._daily_used >= self.daily_limit:
            return self._limited("You have reached your daily limit.", "DAILY", 3600)
        if self.max_per_10s is not None and len(self._window) >= self.max_per_10s:
            wait = self._window[0] + _WINDOW_SECONDS - now
            return self._limited(
                "You have reached your ten_secondly_rolling limit.", "TEN_SECONDLY_ROLLING", wait
            )
        if search and self.search_per_second is not None:
            if len(self._search_window) >= self.search_per_second:
                wait = self._search_window[0] + 1.0 - now
                return self._limited("You have reached your secondly limit.", "SECONDLY", wait)
            self._search_window.append(now)
        self._window.append(now)
        self._daily_used += 1
        return None

    def _limited(self, message: str, policy: str, wait: float) -> Response:
        # Retry-After is documented for workflows only; clients here still get a hint in seconds.
        headers = {"Retry-After": str(max(1, math.ceil(wait))), **self._rate_headers()}
        return Response(429, _rate_limit_body(message, policy), headers)

    def _rate_headers(self) -> dict[str, str]:
        headers = {
            "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily_limit - self._daily_used)),
        }
        if self.max_per_10s is not None:
            now = self._clock()
            secondly = max(1, self.max_per_10s // 10)
            last_second = sum(1 for t in self._window if t > now - 1.0)
            headers.update(
                {
                    "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(_WINDOW_SECONDS * 1000)),
                    "X-HubSpot-RateLimit-Max": str(self.max_per_10s),
                    "X-HubSpot-RateLimit-Remaining": str(
                        max(0, self.max_per_10s - len(self._window))
                    ),
                    # Deprecated by HubSpot but still sent; kept for clients that read them.
                    "X-HubSpot-RateLimit-Secondly": str(secondly),
                    "X-HubSpot-RateLimit-Secondly-Remaining": str(max(0, secondly - last_second)),
                }
            )
        return headers

    # -- objects ---------------------------------------------------------------------------

    def _list(self, req: Request) -> Response:
        otype = self.store.object_type(req.params["type"])
        limit = _int_arg(req, "limit", 10)
        if not 1 <= limit <= 100:
            raise validation(f"limit must be between 1 and 100 (got {limit})")
        archived = (req.arg("archived") or "false").lower() == "true"
        rows, nxt = page(self.store.records[otype.name].values(), limit, req.arg("after"), archived)
        names = _names(req, "properties") or list(otype.default_read)
        body: dict[str, Any] = {"results": [self._read_json(r, names, req) for r in rows]}
        if nxt is not None:
            body["paging"] = {
                "next": {"after": nxt, "link": f"{req.base_url}{req.path}?after={nxt}"}
            }
        return Response(200, body)

    def _get(self, req: Request) -> Response:
        otype = self.store.object_type(req.params["type"])
        rec = self.store.get(otype, unquote(req.params["id"]), req.arg("idProperty"))
        names = _names(req, "properties") or list(otype.default_read)
        return Response(200, self._read_json(rec, names, req))

    def _read_json(self, rec: Record, names: list[str], req: Request) -> dict[str, Any]:
        out = self.store.record_json(rec, names)
        assoc: dict[str, Any] = {}
        frm = self.store.object_type(rec.type)
        for to_name in _names(req, "associations"):
            to = self.store.object_type(to_name)
            pair = ASSOCIATION_TYPES.get((rec.type, to.name))
            if pair is None:  # no association types between the two: nothing to report
                continue
            rows = [
                {"id": to_id, "type": _v3_type_name(frm.singular, to.singular, type_id, pair)}
                for to_id, types in self.store.associated(rec.type, rec.id, to.name).items()
                for type_id in sorted(types)
            ]
            if rows:
                assoc[to_name] = {"results": rows}
        if assoc:
            out["associations"] = assoc
        return out

    def _create(self, req: Request) -> Response:
        otype = self.store.object_type(req.params["type"])
        rec, _ = self.store.write(otype, "create", json_body(req))
        return Response(201, self.store.record_json(rec))

    def _update(self, req: Request) -> Response:
        otype = self.store.object_type(req.params["type"])
        item = {
            **json_body(req),
            "id": unquote(req.params["id"]),
            "idProperty": req.arg("idProperty"),
        }
        rec, _ = self.store.write(otype, "update", item)
        return Response(200, self.store.record_json(rec))

    def _archive(self, req: Request) -> Response:
        otype = self.store.object_type(req.params["type"])
        self.store.archive(otype, unquote(req.params["id"]))
        return Response(204, None)

    def _batch_write(self, req: Request) -> Response:
        otype = self.store.object_type(req.params["type"])
        op = req.params["op"]
        started = iso(self.store.now())
        written, failures = self.store.batch_write(otype, op, inputs_of(json_body(req)))
        results = []
        for rec, new, trace in written:
            row = self.store.record_json(rec)
            if op == "upsert":
                row["new"] = new
            if trace:
                row["objectWriteTraceId"] = trace
            results.append(row)
        ok_status = 201 if op == "create" else 200
        return batch_response(results, [e.batch_item(t) for e, t in failures], started, ok_status)

    def _batch_read(self, req: Request) -> Response:
        otype = self.store.object_type(req.params["type"])
        body = json_body(req)
        inputs = inputs_of(body, BATCH_LIMIT)
        started = iso(self.store.now())
        names = [str(n) for n in body.get("properties") or []] or list(otype.default_read)
        id_prop = body.get("idProperty")
        if id_prop and id_prop != "hs_object_id":
            self.store.unique_property(otype, id_prop)  # a non-unique key fails the request
        found, missing = [], []
        for item in inputs:
            ident = str(item.get("id", ""))
            try:
                found.append(self.store.record_json(self.store.get(otype, ident, id_prop), names))
            except HubSpotError:
                missing.append(ident)
        errors = []
        if missing:
            message = (
                f"Could not get some {otype.upper} objects, they may be deleted or not exist. "
                "Check that ids are valid."
            )
            errors.append(
                HubSpotError(
                    404, "OBJECT_NOT_FOUND", message, context={"ids": missing}
                ).batch_item()
            )
        return batch_response(found, errors, started, 200)

    def _batch_archive(self, req: Request) -> Response:
        otype = self.store.object_type(req.params["type"])
        # Unknown ids are ignored: archiving is idempotent.
        for item in inputs_of(json_body(req), BATCH_LIMIT):
            self.store.archive(otype, str(item.get("id", "")))
        return Response(204, None)

    def _search(self, req: Request) -> Response:
        otype = self.store.object_type(req.params["type"])
        body = json_body(req)
        records = self.store.records[otype.name].values()
        total, rows, nxt = search(records, self.store.props[otype.name], body)
        names = [str(n) for n in body.get("properties") or []] or list(otype.default_read)
        out: dict[str, Any] = {
            "total": total,
            "results": [self.store.record_json(r, names) for r in rows],
        }
        if nxt is not None:
            out["paging"] = {"next": {"after": str(nxt)}}
        return Response(200, out)


def _error_response(err: HubSpotError) -> Response:
    # correlationId goes after the message, where HubSpot puts it.
    body = err.body()
    ordered = {"status": body.pop("status"), "message": body.pop("message")}
    return Response(err.status, {**ordered, "correlationId": str(uuid.uuid4()), **body})


def _rate_limit_body(message: str, policy: str) -> dict[str, Any]:
    # The documented 429 body (usage guidelines); policyName names the limit that was hit.
    return {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
        "requestId": str(uuid.uuid4()),
    }


def _names(req: Request, arg: str) -> list[str]:
    """A list query parameter, given comma-separated and/or repeated."""
    return [n for value in req.query.get(arg, []) for n in value.split(",") if n]


def _int_arg(req: Request, name: str, default: int) -> int:
    raw = req.arg(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise validation(f"{name} must be an integer (got {raw})") from None


def _v3_type_name(frm: str, to: str, type_id: int, pair: tuple[int, int | None]) -> str:
    # v3 reads name association types: unlabeled ones get a suffix where a primary exists.
    unlabeled, primary = pair
    if primary is not None and type_id == unlabeled:
        return f"{frm}_to_{to}_unlabeled"
    return f"{frm}_to_{to}"
