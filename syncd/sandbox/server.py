"""A loopback HTTP server that hosts the vendor API emulators.

Each emulator (Zendesk, HubSpot, Google Sheets, Google OAuth) is a `VendorApp`: a name, a
list of routes and its own error body. The server routes by method and path, counts every
vendor request per API, and can answer a share of them with 429 + Retry-After or 5xx so that
clients are tested against faults rather than assumptions. Paths under `/_sandbox/` form the
admin API (add tickets, read back what a sink holds, read counters); they are neither counted
nor faulted.

One lock serialises handlers: the sandbox favours simple, obviously-correct state over speed.
"""

from __future__ import annotations

import json
import math
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import parse_qs, urlsplit

ADMIN_PREFIX = "/_sandbox"


@dataclass
class Request:
    """One HTTP request as the emulators see it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # named groups from the route
    base_url: str = ""

    def json(self) -> Any:
        """The body parsed as JSON (None when empty)."""
        if not self.body:
            return None
        return json.loads(self.body)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str) -> str | None:
        """A request header, case-insensitively."""
        return self.headers.get(name.lower())


@dataclass
class Response:
    """What a handler returns: a JSON-able body (or raw bytes), a status and headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]


class VendorApp(Protocol):
    """An API emulator mounted on the sandbox server."""

    name: str

    def routes(self) -> list[tuple[str, str, Handler]]:
        """(method, path regex with named groups, handler) for every vendor endpoint."""
        ...

    def admin_routes(self) -> list[tuple[str, str, Handler]]:
        """Routes under /_sandbox/<name>/ for tests and the demo (not counted, not faulted)."""
        ...

    def error(self, status: int, message: str) -> Response:
        """An error response in this vendor's documented error shape."""
        ...


@dataclass
class Faults:
    """Fault injection: a share of vendor requests answered 429 (with Retry-After) or 5xx."""

    rate: float = 0.0
    retry_after: int = 1
    only: set[str] | None = None  # API names to fault; None means all
    seed: int = 0
    rng: random.Random = field(init=False)
    outage: set[str] = field(default_factory=set)  # APIs answering `outage_status` to all
    outage_status: int = 503  # 408, 401... to see how a client maps each status
    rate_limited_share: float = 0.7  # of the faults injected, the share that are 429s

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def pick(self, api: str) -> int | None:
        """The status to inject for this request, or None to serve it."""
        if api in self.outage:
            return self.outage_status
        if self.rate <= 0 or (self.only is not None and api not in self.only):
            return None
        if self.rng.random() >= self.rate:
            return None
        return 429 if self.rng.random() < self.rate_limited_share else 503


@dataclass(frozen=True)
class Arrival:
    """One vendor request as the sandbox saw it: when it arrived (time.monotonic(), before
    it was served) and the Retry-After its answer gave, if any."""

    api: str
    method: str
    path: str
    status: int
    at: float
    retry_after: float | None


class SandboxServer(ThreadingHTTPServer):
    """Routes requests to the mounted apps; keeps counters and fault settings."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, apps: list[VendorApp], faults: Faults) -> None:
        super().__init__((host, port), _RequestHandler)
        self.apps = {app.name: app for app in apps}
        self.faults = faults
        self.lock = threading.RLock()
        self.counts: Counter[str] = Counter()
        self.log: list[tuple[str, str, str, int]] = []  # (api, method, path, status)
        self.arrivals: list[Arrival] = []  # the same requests, with timing
        self._routes: list[tuple[str, str, re.Pattern[str], Handler]] = []
        self._admin: list[tuple[str, re.Pattern[str], Handler]] = []
        for app in apps:
            for method, pattern, handler in app.routes():
                self._routes.append((app.name, method, re.compile(pattern + r"\Z"), handler))
            for method, pattern, handler in app.admin_routes():
                full = f"{ADMIN_PREFIX}/{app.name}{pattern}"
                self._admin.append((method, re.compile(full + r"\Z"), handler))
        self._admin.extend(self._core_admin_routes())

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (a killed syncd) is no server error."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def _core_admin_routes(self) -> list[tuple[str, re.Pattern[str], Handler]]:
        def counts(_req: Request) -> Response:
            return Response(200, dict(self.counts))

        def reset(_req: Request) -> Response:
            self.counts.clear()
            self.log.clear()
            self.arrivals.clear()
            return Response(200, {})

        def arrivals(_req: Request) -> Response:
            return Response(200, [vars(a) for a in self.arrivals])

        def faults(req: Request) -> Response:
            body = req.json() or {}
            self.faults.rate = float(body.get("rate", self.faults.rate))
            self.faults.retry_after = int(body.get("retry_after", self.faults.retry_after))
            if "outage" in body:
                self.faults.outage = set(body["outage"])
            if "only" in body:
                self.faults.only = None if body["only"] is None else set(body["only"])
            if "rate_limited_share" in body:
                self.faults.rate_limited_share = float(body["rate_limited_share"])
            return Response(200, {"rate": self.faults.rate, "outage": sorted(self.faults.outage)})

        return [
            ("GET", re.compile(ADMIN_PREFIX + r"/counts\Z"), counts),
            ("POST", re.compile(ADMIN_PREFIX + r"/counts/reset\Z"), reset),
            ("POST", re.compile(ADMIN_PREFIX + r"/faults\Z"), faults),
            ("GET", re.compile(ADMIN_PREFIX + r"/arrivals\Z"), arrivals),
        ]

    def dispatch(self, req: Request) -> Response:
        """Find the handler for a request and run it under the lock."""
        arrived = time.monotonic()  # before the lock: requests may queue for it
        with self.lock:
            if req.path.startswith(ADMIN_PREFIX + "/"):
                for method, pattern, handler in self._admin:
                    match = pattern.match(req.path)
                    if match and method == req.method:
                        req.params = match.groupdict()
                        return handler(req)
                return Response(404, {"error": f"no admin route {req.method} {req.path}"})
            for api, method, pattern, handler in self._routes:
                match = pattern.match(req.path)
                if not match or method != req.method:
                    continue
                app = self.apps[api]
                self.counts[api] += 1
                injected = self.faults.pick(api)
                if injected == 429:
                    resp = app.error(429, "Rate limit exceeded (sandbox fault injection)")
                    resp.headers.setdefault("Retry-After", str(self.faults.retry_after))
                elif injected is not None:
                    resp = app.error(injected, "Service unavailable (sandbox fault injection)")
                else:
                    req.params = match.groupdict()
                    try:
                        resp = handler(req)
                    except Exception as exc:  # an emulator bug must show, not hang a client
                        resp = app.error(500, f"sandbox error: {type(exc).__name__}: {exc}")
                self.log.append((api, req.method, req.path, resp.status))
                wait = resp.headers.get("Retry-After")
                self.arrivals.append(
                    Arrival(api, req.method, req.path, resp.status, arrived, _seconds(wait))
                )
                return resp
            return Response(404, {"error": f"no route {req.method} {req.path}"})


class _RequestHandler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY each keep-alive request
    # waits ~40 ms on Nagle's algorithm.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr access logs
        pass

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            base_url=self.server.base_url,
        )
        resp = self.server.dispatch(req)
        if isinstance(resp.body, bytes | bytearray):
            payload = bytes(resp.body)
            ctype = resp.headers.pop("Content-Type", "application/octet-stream")
        elif resp.body is None and resp.status == 204:
            payload = b""
            ctype = "application/json"
        else:
            payload = json.dumps(resp.body, default=str).encode()
            ctype = resp.headers.pop("Content-Type", "application/json; charset=utf-8")
        self.send_response(resp.status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in resp.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


_J = TypeVar("_J")


def clone(value: _J) -> _J:
    """A deep copy of JSON-like data (dicts, lists, scalars); much faster than deepcopy."""
    if isinstance(value, dict):
        return cast(_J, {key: clone(item) for key, item in value.items()})
    if isinstance(value, list):
        return cast(_J, [clone(item) for item in value])
    return value


class MinuteBudget:
    """A per-minute request budget in fixed windows aligned to the clock's minutes, as the
    helpdesks document theirs (a request may cost more than one credit: Freshdesk's embeds).
    With no limit nothing is refused and the remaining budget keeps reporting the nominal
    one, so polite clients never throttle themselves.
    """

    def __init__(self, limit: int | None, nominal: int) -> None:
        self.limit = limit
        self.total = limit if limit is not None else nominal
        self.window, self.used = -1, 0

    def _roll(self, now: float) -> None:
        if int(now // 60) != self.window:
            self.window, self.used = int(now // 60), 0

    def take(self, now: float, cost: int = 1) -> bool:
        """Spend `cost` credits; False (nothing spent) when they do not fit this minute."""
        self._roll(now)
        if self.limit is not None and self.used + cost > self.limit:
            return False
        self.used += cost
        return True

    def remaining(self, now: float) -> int:
        """Credits left in the current minute."""
        self._roll(now)
        return self.total if self.limit is None else max(self.limit - self.used, 0)

    def resets(self, now: float) -> int:
        """Whole seconds until the window resets (at least 1)."""
        self._roll(now)
        return max(1, math.ceil((self.window + 1) * 60 - now))
