"""What the daemon measures, for Prometheus (`/metrics`) and for `/readyz`.

One `Metrics` holds syncd's own `CollectorRegistry` (not prometheus-client's global one, so
a test or a second daemon in the same process starts from zero) and the little health state
that readiness is judged on. Two places feed it:

- the daemon, once per cycle: `record_cycle(report, seconds, now)`, or `record_failure` when
  a cycle raised (the helpdesk unreachable, a rule file broken...);
- `syncd.retry.with_retry`, once per attempt of every vendor call: `record_request`.

`with_retry` is called deep inside the connectors, which know nothing of the daemon, so the
current `Metrics` is a module-level instance (`current()`); `reset()` swaps in a fresh one.

Metric names (all prefixed `syncd_`):

    tickets_pulled_total               tickets read from the helpdesk
    records_written_total{sink}        records a sink accepted
    records_rejected_total{sink}       records a sink refused (parked as dead letters)
    tickets_malformed_total            helpdesk tickets that could not be read (dead letters)
    cycle_seconds                      histogram of cycle durations
    cycles_total{outcome}              ok, sink_failed, error (the cycle raised)
    lag_seconds                        how far syncd is behind the helpdesk (see `lag`)
    api_requests_total{api,outcome}    vendor requests: ok, 429, 5xx, 4xx, error
    rate_limited_total{api}            vendor 429 answers
    dead_letters                       records parked in the state store now
    actions_fired_total                escalations, follow-ups... carried out
    actions_failed_total               actions whose delivery failed (retried next cycle)
    last_cycle_success_timestamp       Unix time of the last cycle no sink failed in
    sink_up{sink}                      1 if the sink took the last cycle's writes, else 0
    lease_held                         1 while this replica holds the pipeline's lease (active),
                                       0 as a standby
    sink_backlog{sink}                 tickets a sink still owes (queued while it failed)
    circuit_state{api}                 0 closed, 1 half-open (probing), 2 open (API down)
    circuit_refusals_total{api}        calls refused at once because the circuit was open
    rules_rejected{file,line}          1 for each problem of a rule change that was rejected
                                       (the last good rules keep running); none when the
                                       rule files in force are the ones on disk
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from syncd.cycle import CycleReport  # a leaf module: retry.py, which imports this one, and
from syncd.errors import CredentialsError  # so every connector, never import the pipeline

# Cycles take from a tenth of a second (nothing changed) to minutes (a backlog of 10,000).
CYCLE_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, math.inf)

OUTCOMES = ("ok", "429", "5xx", "4xx", "error")
CIRCUIT_STATES = {"closed": 0, "half-open": 1, "open": 2}


def request_outcome(exc: BaseException | None) -> str:
    """How one vendor request ended: ok, 429, 5xx, 4xx or error (no answer: network, bad
    body...), from the `status` the error carries (see `syncd.errors.error_for`)."""
    if exc is None:
        return "ok"
    status = getattr(exc, "status", None)
    if not isinstance(status, int) or isinstance(status, bool):
        # A credentials error is a 401/403 by definition, whoever raised it.
        return "4xx" if isinstance(exc, CredentialsError) else "error"
    if status == 429:
        return "429"
    if status >= 500:
        return "5xx"
    return "4xx" if status >= 400 else "error"


@dataclass
class Readiness:
    """The answer of `/readyz`."""

    ready: bool
    reasons: list[str] = field(default_factory=list)
    last_success: float | None = None  # Unix time
    last_cycle: float | None = None
    role: str | None = None  # "active" or "standby" once the lease was checked
    lease_holder: str | None = None  # the replica holding the pipeline's lease
    # Problems of a rejected rule change (file, line, message): the last good rules run.
    rules_rejected: list[tuple[str, int, str]] = field(default_factory=list)


class Metrics:
    """syncd's Prometheus metrics and the health state behind `/readyz`."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.tickets_pulled = Counter(
            "syncd_tickets_pulled", "Tickets read from the helpdesk.", registry=r
        )
        self.records_written = Counter(
            "syncd_records_written", "Records a sink accepted.", ["sink"], registry=r
        )
        self.records_rejected = Counter(
            "syncd_records_rejected",
            "Records a sink refused; each is parked as a dead letter.",
            ["sink"],
            registry=r,
        )
        self.tickets_malformed = Counter(
            "syncd_tickets_malformed",
            "Helpdesk tickets that could not be read; each is parked as a dead letter.",
            registry=r,
        )
        self.cycle_seconds = Histogram(
            "syncd_cycle_seconds", "Duration of a sync cycle.", buckets=CYCLE_BUCKETS, registry=r
        )
        self.cycles = Counter(
            "syncd_cycles",
            "Cycles by outcome: ok, sink_failed, error (the cycle raised).",
            ["outcome"],
            registry=r,
        )
        self.lag_seconds = Gauge(
            "syncd_lag_seconds",
            "Seconds syncd is behind the helpdesk: since the start of the last cycle that "
            "caught up, else since the newest change synced (since start before any cycle).",
            registry=r,
        )
        self.lag_seconds.set_function(self.lag)
        self.api_requests = Counter(
            "syncd_api_requests",
            "Vendor API requests (attempts) by outcome: ok, 429, 5xx, 4xx, error.",
            ["api", "outcome"],
            registry=r,
        )
        self.rate_limited = Counter(
            "syncd_rate_limited", "Vendor answers 429 (rate limited).", ["api"], registry=r
        )
        self.dead_letters = Gauge(
            "syncd_dead_letters", "Records parked in the state store's dead letters.", registry=r
        )
        self.actions_fired = Counter(
            "syncd_actions_fired",
            "Actions the rules asked for (escalations, follow-ups) carried out.",
            registry=r,
        )
        self.actions_failed = Counter(
            "syncd_actions_failed",
            "Actions whose delivery failed (tried again next cycle).",
            registry=r,
        )
        self.last_success_timestamp = Gauge(
            "syncd_last_cycle_success_timestamp",
            "Unix time the last cycle in which no sink failed ended (0: none yet).",
            registry=r,
        )
        self.sink_up = Gauge(
            "syncd_sink_up",
            "1 if the sink took the last cycle's writes, else 0.",
            ["sink"],
            registry=r,
        )
        self.sink_backlog = Gauge(
            "syncd_sink_backlog",
            "Tickets a sink still owes: queued while it failed, sent as it recovers.",
            ["sink"],
            registry=r,
        )
        self.circuit_state = Gauge(
            "syncd_circuit_state",
            "Circuit breaker per vendor API: 0 closed, 1 half-open (probing), 2 open (down).",
            ["api"],
            registry=r,
        )
        self.circuit_refusals = Counter(
            "syncd_circuit_refusals",
            "Calls refused without a request because the API's circuit was open.",
            ["api"],
            registry=r,
        )
        self.lease_held = Gauge(
            "syncd_lease_held",
            "1 while this replica holds its pipeline's lease and runs the cycles; 0 standby.",
            registry=r,
        )
        self.rules_rejected = Gauge(
            "syncd_rules_rejected",
            "1 per problem of a rejected rule change, by file and line: the last good rules "
            "keep running until the files are fixed.",
            ["file", "line"],
            registry=r,
        )
        self._rules_rejected: list[tuple[str, int, str]] = []
        self._lease: tuple[str, str | None] | None = None  # (role, holder) once checked
        self._lock = threading.Lock()
        self._started = clock()
        self._synced_until = self._started  # the moment syncd has seen the helpdesk up to
        self._last_cycle: float | None = None
        self._last_success: float | None = None
        self._problems: list[str] = []  # why the last cycle failed

    def record_request(self, api: str, outcome: str) -> None:
        """Count one attempt of a vendor call (`outcome` from `request_outcome`)."""
        self.api_requests.labels(api=api, outcome=outcome).inc()
        if outcome == "429":
            self.rate_limited.labels(api=api).inc()

    def set_circuit(self, api: str, state: str) -> None:
        """The state of an API's circuit breaker: closed, half-open or open."""
        self.circuit_state.labels(api=api).set(CIRCUIT_STATES.get(state, 0))

    def record_circuit_refusal(self, api: str) -> None:
        """Count a call refused at once because the API's circuit was open."""
        self.circuit_refusals.labels(api=api).inc()

    def record_cycle(self, report: CycleReport, seconds: float, now: datetime) -> None:
        """Count a finished cycle; `now` is when it ended, `seconds` how long it took."""
        self.tickets_pulled.inc(report.pulled)
        self.tickets_malformed.inc(report.malformed)
        self.actions_fired.inc(report.actions_fired)
        self.actions_failed.inc(report.actions_failed)
        self.cycle_seconds.observe(seconds)
        for name, sink in report.sinks.items():
            self.records_written.labels(sink=name).inc(sink.written)
            self.records_rejected.labels(sink=name).inc(sink.rejected)
            self.sink_up.labels(sink=name).set(0 if sink.error else 1)
            self.sink_backlog.labels(sink=name).set(sink.backlog)
        ended = now.timestamp()
        failed = report.failed_sinks
        self.cycles.labels(outcome="sink_failed" if failed else "ok").inc()
        with self._lock:
            self._last_cycle = ended
            self._problems = [f"sink {n} failed: {report.sinks[n].error}" for n in failed]
            if failed:
                # The cursor moved for the healthy sinks, but the failed one is behind.
                return
            self._last_success = ended
            if not report.more:
                # Caught up: every change made before the cycle began has been synced.
                self._synced_until = max(self._synced_until, ended - seconds)
            elif report.last_change:
                self._synced_until = max(self._synced_until, report.last_change.timestamp())
        self.last_success_timestamp.set(ended)

    def record_failure(self, error: str, seconds: float, now: datetime) -> None:
        """Count a cycle that raised before it could report (source unreachable...)."""
        self.cycle_seconds.observe(seconds)
        self.cycles.labels(outcome="error").inc()
        with self._lock:
            self._last_cycle = now.timestamp()
            self._problems = [f"last cycle failed: {error}"]

    def set_dead_letters(self, count: int) -> None:
        """How many records the state store holds as dead letters."""
        self.dead_letters.set(count)

    def set_rules_rejected(self, problems: list[tuple[str, int, str]]) -> None:
        """The problems (file, line, message) of the rule change just rejected; [] once the
        rule files in force are the ones on disk again."""
        self.rules_rejected.clear()
        for file, line, _message in problems:
            self.rules_rejected.labels(file=file, line=str(line)).set(1)
        with self._lock:
            self._rules_rejected = list(problems)

    def lag(self) -> float:
        """Seconds behind the helpdesk: since the start of the last cycle that caught up,
        else since the newest change synced; counted from start-up before any success."""
        with self._lock:
            return max(self.clock() - self._synced_until, 0.0)

    def set_lease(self, held: bool, holder: str | None) -> None:
        """Whether this replica holds its pipeline's lease, and who does."""
        self.lease_held.set(1 if held else 0)
        with self._lock:
            self._lease = ("active" if held else "standby", holder)

    def readiness(self, within: float) -> Readiness:
        """Ready when the last cycle succeeded and ended less than `within` seconds ago; a
        standby (another replica holds the lease) is ready as it is: waiting is its job."""
        now = self.clock()
        with self._lock:
            reasons = list(self._problems)
            last_cycle, last_success = self._last_cycle, self._last_success
            role, holder = self._lease or (None, None)
            rules = list(self._rules_rejected)
        if role == "standby":
            return Readiness(True, [], last_success, last_cycle, role, holder, rules)
        if last_cycle is None:
            reasons.append(f"no cycle has finished yet (started {span(now - self._started)} ago)")
        elif last_success is None:
            reasons.append("no cycle has succeeded yet")
        elif now - last_success > within:
            reasons.append(
                f"no cycle succeeded in the last {span(now - last_success)} "
                f"(ready_within: {span(within)})"
            )
        return Readiness(not reasons, reasons, last_success, last_cycle, role, holder, rules)


def span(seconds: float) -> str:
    """A duration for people: 45s, 12m, 5m1s, 3.5h, 2.0d."""
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


_current = Metrics()


def current() -> Metrics:
    """The metrics the daemon and `with_retry` record into."""
    return _current


def reset(clock: Callable[[], float] = time.time) -> Metrics:
    """Start from zero with a fresh registry (a new daemon, a test) and return it."""
    global _current
    _current = Metrics(clock)
    return _current


def record_request(api: str, outcome: str) -> None:
    """Count one attempt of a vendor call in the current metrics."""
    _current.record_request(api, outcome)


def record_cycle(report: CycleReport, seconds: float, now: datetime) -> None:
    """Count a finished cycle in the current metrics."""
    _current.record_cycle(report, seconds, now)
