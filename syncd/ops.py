"""Operations: the HTTP endpoint of `syncd run` and the facts `syncd status` prints.

    GET /healthz   200 "ok" while the process runs (a liveness probe, a Docker HEALTHCHECK)
    GET /readyz    200 when the last cycle succeeded and ended within `ops.ready_within`;
                   503 otherwise. Both answer JSON: {"ready", "reasons", "last_success", ...,
                   "rules_rejected": [{"file", "line", "problem"}]} (a rejected rule change:
                   the last good rules keep running, so it does not make syncd unready)
    GET /metrics   Prometheus text format (see `syncd.metrics` for the names)

The server is the standard library's threaded HTTP server: three read-only routes need no
framework, and its threads never touch the state store (the daemon records each cycle into
`Metrics` and the store from its own thread, through `CycleRecorder`).
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from syncd.config import Config
from syncd.keys import LAST_CYCLE, LAST_SUCCESS
from syncd.logs import scrub
from syncd.metrics import Metrics, span
from syncd.pipeline import CycleReport
from syncd.state import SqlStateStore

log = structlog.get_logger("syncd.ops")

MIN_READY_WITHIN = 300.0


def ready_within(config: Config) -> float:
    """Seconds without a successful cycle after which /readyz fails: `ops.ready_within`, else
    three poll intervals, at least five minutes (a slow cycle or two is not an outage)."""
    return config.ops.ready_within or max(3 * config.poll_interval, MIN_READY_WITHIN)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a scrape in flight never holds up shutdown
    ops: OpsServer


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        ops = self.server.ops
        if path == "/healthz":
            self._send(200, b"ok\n", "text/plain; charset=utf-8")
        elif path == "/readyz":
            body = ops.readiness()
            status = 200 if body["ready"] else 503
            self._send(status, json.dumps(body).encode(), "application/json")
        elif path == "/metrics":
            self._send(200, generate_latest(ops.metrics.registry), CONTENT_TYPE_LATEST)
        else:
            self._send(404, b"not found: try /healthz, /readyz or /metrics\n", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # Probes hit these routes every few seconds: keep them out of the info log.
        log.debug("ops request", request=format % args)


class OpsServer:
    """/healthz, /readyz and /metrics on a background thread."""

    def __init__(
        self, metrics: Metrics, ready_within: float, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.metrics = metrics
        self.ready_within = ready_within
        server_class = _Server6 if ":" in host else _Server
        self.httpd = server_class((host, port), _Handler)
        self.httpd.ops = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where the endpoint answers, e.g. http://127.0.0.1:9102 (loopback for 0.0.0.0)."""
        host, port = self.httpd.server_address[:2]
        host = str(host)
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1" if host == "0.0.0.0" else "::1"
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def readiness(self) -> dict[str, Any]:
        """The /readyz body: ready, the reasons it is not, and when cycles last ended."""
        state = self.metrics.readiness(self.ready_within)
        return {
            "ready": state.ready,
            "reasons": [scrub(reason) for reason in state.reasons],
            "last_success": _iso(state.last_success),
            "last_cycle": _iso(state.last_cycle),
            "ready_within_s": self.ready_within,
            "role": state.role,  # active, standby (another replica holds the lease), None
            "lease_holder": state.lease_holder,
            # A rule change that was rejected: the last good rules keep running (ready as
            # such), the files on disk need fixing.
            "rules_rejected": [
                {"file": file, "line": line, "problem": scrub(problem)}
                for file, line, problem in state.rules_rejected
            ],
        }

    def start(self) -> OpsServer:
        """Serve in a daemon thread."""
        # A short poll interval: shutdown() waits for the loop to notice, at SIGTERM too.
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.1,), name="syncd-ops", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> OpsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_ops(config: Config, metrics: Metrics) -> OpsServer | None:
    """Start the endpoint `config.ops` asks for; None when it is disabled or cannot bind.

    A port already taken is logged as an error and syncing goes on: the sync is the job, the
    endpoint only reports on it (and a probe that cannot connect makes the problem seen)."""
    ops = config.ops
    if not ops.enabled:
        return None
    try:
        server = OpsServer(metrics, ready_within(config), ops.host, ops.port)
    except OSError as exc:
        log.error(
            "ops endpoint not started",
            host=ops.host,
            port=ops.port,
            error=str(exc),
            hint="Free the port or set ops.port (ops.enabled: false turns the endpoint off)",
        )
        return None
    log.info("ops endpoint listening", url=server.url, routes="/healthz /readyz /metrics")
    return server.start()


class CycleRecorder:
    """The daemon's `after_cycle`: counts the cycle in the metrics and leaves a summary in the
    state store's meta, where `syncd status` finds it with no daemon running."""

    def __init__(
        self,
        metrics: Metrics,
        store: SqlStateStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.metrics = metrics
        self.store = store
        self.clock = clock

    def __call__(self, report: CycleReport | None, seconds: float, error: str | None) -> None:
        """Record one cycle (`report` None when it raised `error`)."""
        now = self.clock()
        summary: dict[str, Any] = {"at": now.isoformat(), "seconds": round(seconds, 3)}
        if report is None:
            error = scrub(error or "unknown error")
            self.metrics.record_failure(error, seconds, now)
            summary |= {"ok": False, "error": error}
        else:
            self.metrics.record_cycle(report, seconds, now)
            failed = {name: scrub(report.sinks[name].error) for name in report.failed_sinks}
            summary |= {
                "ok": not failed,
                "pulled": report.pulled,
                "timers": report.timers,
                "changed": report.changed,
                "written": {name: s.written for name, s in report.sinks.items()},
                "rejected": {name: s.rejected for name, s in report.sinks.items()},
                "backlog": {name: s.backlog for name, s in report.sinks.items()},
                "failed_sinks": failed,
                "actions_fired": report.actions_fired,
                "actions_failed": report.actions_failed,
                "more": report.more,
            }
        self.metrics.set_dead_letters(self.store.dead_letter_count())
        self.store.set_meta(LAST_CYCLE, json.dumps(summary))
        if summary["ok"]:
            self.store.set_meta(LAST_SUCCESS, now.isoformat())


def status_rows(store: SqlStateStore, now: datetime) -> list[tuple[str, str]]:
    """What the state store says about the daemon, as (label, value) rows for a table."""
    rows: list[tuple[str, str]] = []
    last = _json(store.get_meta(LAST_CYCLE))
    if last is None:
        rows.append(("last cycle", "none recorded (syncd run and syncd once record theirs)"))
    else:
        rows.append(("last cycle", _describe_cycle(last, now)))
    success = store.get_meta(LAST_SUCCESS)
    rows.append(
        ("last success", _when(datetime.fromisoformat(success), now) if success else "never")
    )
    rows.append(("lease", _describe_lease(store, now)))
    summary = store.summary()
    for saved in summary.cursors:
        text = saved.cursor if len(saved.cursor) <= 48 else saved.cursor[:45] + "..."
        rows.append((f"cursor {saved.source}", f"{text}, moved {_when(saved.moved_at, now)}"))
    if not summary.cursors:
        rows.append(("cursor", "none yet: the first cycle starts from helpdesk.start_time"))
    rows.append(("tickets known", f"{summary.tickets:,}"))
    next_check = summary.next_check
    rows.append(("next timer", _when(next_check, now) if next_check else "none"))
    letters = summary.dead_letters
    total = sum(letters.values())
    detail = ", ".join(f"{sink} {count:,}" for sink, count in letters.items())
    rows.append(("dead letters", f"{total:,} ({detail}); syncd dlq list" if total else "0"))
    owed = store.backlog_sizes()
    rows.append(
        (
            "sink backlog",
            ", ".join(f"{sink} owes {n:,} ticket(s)" for sink, n in sorted(owed.items()))
            or "none: every sink is caught up",
        )
    )
    fired = summary.action_outcomes
    baseline = sum(o.startswith("baseline") for o in fired)
    skipped = sum(o.startswith("skipped") for o in fired)
    rows.append(
        (
            "actions",
            f"{len(fired) - baseline - skipped:,} carried out, {baseline:,} recorded at the "
            f"first sync without sending, {skipped:,} skipped (nothing configured)",
        )
    )
    return rows


def probe_ready(base_url: str, timeout: float = 2.0) -> str:
    """What a running daemon's /readyz says, in one line."""
    url = base_url.rstrip("/") + "/readyz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read())
        except ValueError:
            return f"{url} answered {exc.code}"
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"not answering at {url} ({reason}); is `syncd run` running?"
    if body.get("ready"):
        return f"ready ({url})"
    return "NOT READY: " + "; ".join(body.get("reasons") or ["no reason given"])


def ops_url(config: Config) -> str | None:
    """The daemon's endpoint as seen from this host, None when the endpoint is off."""
    if not config.ops.enabled or config.ops.port == 0:
        return None
    host = config.ops.host
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return (
        f"http://[{host}]:{config.ops.port}" if ":" in host else f"http://{host}:{config.ops.port}"
    )


def _describe_cycle(last: dict[str, Any], now: datetime) -> str:
    when = _when(datetime.fromisoformat(last["at"]), now)
    took = f"took {last.get('seconds', 0):.1f}s"
    if "error" in last:
        return f"FAILED {when}, {took}: {last['error']}"
    written = ", ".join(f"{sink} {n:,}" for sink, n in (last.get("written") or {}).items())
    facts = (
        f"pulled {last.get('pulled', 0):,}, changed {last.get('changed', 0):,}, "
        f"written: {written or 'no sink'}; {last.get('actions_fired', 0):,} action(s) fired"
    )
    failed = last.get("failed_sinks") or {}
    if failed:
        problems = "; ".join(f"sink {sink} failed: {error}" for sink, error in failed.items())
        return f"FAILED {when}, {took}: {problems}; {facts}"
    return f"ok {when}, {took}: {facts}"


def _describe_lease(store: SqlStateStore, now: datetime) -> str:
    """Which replica runs the pipeline, from its lease."""
    lease = store.lease()
    pipeline = f"pipeline {store.pipeline}"
    if lease is None:
        return f"{pipeline}: not claimed yet (`syncd run` claims it)"
    if lease.expired(now):
        return f"{pipeline}: free, lapsed {_when(lease.expires_at, now)} (was {lease.holder})"
    return (
        f"{pipeline}: held by {lease.holder} since {_when(lease.acquired_at, now)}, "
        f"until {_when(lease.expires_at, now)} unless renewed"
    )


def _when(moment: datetime, now: datetime) -> str:
    """`2026-01-31 10:00:00Z (3m ago)` or `(in 4m)`."""
    if moment.tzinfo is None:  # SQLite keeps no offset; the store writes UTC
        moment = moment.replace(tzinfo=UTC)
    delta = (now - moment).total_seconds()
    relative = f"{span(delta)} ago" if delta >= 0 else f"in {span(-delta)}"
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z ({relative})"


def _iso(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat() if timestamp is not None else None


def _json(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
