"""One retry policy for every vendor call: tenacity, jittered exponential backoff, capped,
a vendor's Retry-After honoured, a circuit breaker per API, and waits a shutdown cuts short.
Only `TransientError` is retried.

- Retry-After: after a vendor asks to wait, no request goes to that API before the time it
  named, whichever call sends it (the HubSpot sink and HubSpot tasks share the wait). A wait
  longer than `MAX_WAIT` is not slept through: the call fails (transient) and a later cycle
  tries again once the time has come.
- Circuit breaker (pybreaker): after `failures` calls in a row fail with a transient error
  (each after its retries), the API is considered down for `probe_interval` seconds. Calls
  then fail at once, sending nothing; after the interval one call goes through as a probe,
  with a single attempt. Its success closes the circuit, its failure opens it for another
  interval: an outage costs one request per interval, not a storm.
- Shutdown: `request_stop()` (the daemon's SIGTERM) makes every wait here, and the pacing of
  `syncd.ratelimit`, end at once with `Interrupted`, so the daemon exits within seconds.

Every attempt's outcome (ok, 429, 5xx, 4xx, error) is counted in `syncd.metrics`, and every
breaker's state: every vendor call of every connector passes here, so this is the one place
that sees them all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import structlog
from pybreaker import (
    STATE_HALF_OPEN,
    STATE_OPEN,
    CircuitBreaker,
    CircuitBreakerError,
    CircuitBreakerListener,
)
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_exponential_jitter

from syncd import metrics
from syncd.errors import TransientError

T = TypeVar("T")
log = structlog.get_logger("syncd.retry")

MAX_WAIT = 60.0  # seconds; a longer Retry-After ends the call and a later cycle resumes
FAILURES = 5  # transient failures in a row (each after its retries) that open a circuit
PROBE_INTERVAL = 60.0  # seconds a circuit stays open before one probe is let through


class Interrupted(TransientError):
    """A wait was cut short because syncd is shutting down; nothing was sent."""


# -- shutdown ------------------------------------------------------------------------------

_stop = threading.Event()


def request_stop() -> None:
    """Cut every current and later wait short (the daemon's SIGTERM/SIGINT)."""
    _stop.set()


def clear_stop() -> None:
    """Let waits run again (the daemon's loop has ended)."""
    _stop.clear()


def stop_requested() -> bool:
    """Whether a shutdown is under way: connectors stop between batches when it is."""
    return _stop.is_set()


def pause(seconds: float) -> None:
    """Sleep `seconds`, or raise `Interrupted` as soon as a shutdown is requested."""
    if _stop.wait(max(seconds, 0.0)):
        raise Interrupted("syncd is shutting down: the wait was cut short")


# -- circuit breakers and Retry-After, per API ----------------------------------------------


class _Circuits(CircuitBreakerListener):
    """The breaker of each API, and the moment each API allows its next request."""

    def __init__(self, failures: int, probe_interval: float) -> None:
        self.failures = failures
        self.probe_interval = probe_interval
        self.breakers: dict[str, CircuitBreaker] = {}
        self.down_until: dict[str, datetime] = {}
        self.not_before: dict[str, float] = {}  # api -> time.monotonic() it asked us to wait for
        self.lock = threading.Lock()

    def breaker(self, api: str) -> CircuitBreaker:
        """The API's breaker, made closed on first use."""
        with self.lock:
            found = self.breakers.get(api)
            if found is None:
                found = CircuitBreaker(
                    fail_max=self.failures,
                    reset_timeout=self.probe_interval,
                    # A 4xx proves the API is up; a cut-short wait proves nothing.
                    exclude=[_not_an_outage],
                    listeners=[self],
                    name=api,
                    throw_new_error_on_trip=False,  # the caller sees the vendor's own error
                )
                self.breakers[api] = found
                metrics.current().set_circuit(api, "closed")
            return found

    def state_change(self, cb: CircuitBreaker, old_state: Any, new_state: Any) -> None:
        """pybreaker's listener hook: keep the metrics and the log up to date."""
        api, state = cb.name or "?", new_state.name
        metrics.current().set_circuit(api, state)
        if state == STATE_OPEN:
            self.down_until[api] = datetime.now(UTC) + timedelta(seconds=self.probe_interval)
            log.error(
                "circuit open: API considered down",
                api=api,
                failures=self.failures,
                probe_every_s=self.probe_interval,
            )
        elif old_state is not None and old_state.name != state:
            log.info("circuit " + state, api=api)


def _not_an_outage(exc: BaseException) -> bool:
    return not isinstance(exc, TransientError) or isinstance(exc, Interrupted)


_circuits = _Circuits(FAILURES, PROBE_INTERVAL)


def configure(failures: int = FAILURES, probe_interval: float = PROBE_INTERVAL) -> None:
    """Start every API afresh (circuits closed, no pending Retry-After) with these breaker
    settings: a new daemon, `syncd once`, a test."""
    global _circuits
    _circuits = _Circuits(failures, probe_interval)
    _stop.clear()


def circuit_state(api: str) -> str:
    """closed, open or half-open (closed for an API not called yet)."""
    found = _circuits.breakers.get(api)
    return found.current_state if found else "closed"


def _wait_for_retry_after(api: str) -> None:
    """Pause until the API's Retry-After has passed; fail at once if that is too far off."""
    left = _circuits.not_before.get(api, 0.0) - time.monotonic()
    if left <= 0:
        return
    if left > MAX_WAIT:
        raise TransientError(
            f"{api} asked syncd to wait {left:.0f}s more (Retry-After); a later cycle resumes",
            retry_after=left,
        )
    pause(left)


def _remember_retry_after(api: str, exc: BaseException) -> None:
    if isinstance(exc, TransientError) and exc.retry_after:
        moment = time.monotonic() + exc.retry_after
        _circuits.not_before[api] = max(_circuits.not_before.get(api, 0.0), moment)


# -- tenacity ----------------------------------------------------------------------------


class wait_retry_after(wait_base):
    """Wait what the vendor asked for (Retry-After), else back off exponentially with jitter."""

    def __init__(self, maximum: float = 30.0) -> None:
        self.fallback = wait_exponential_jitter(max=maximum)  # 1 s, 2 s, 4 s... plus jitter

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome else None
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return max(exc.retry_after, 0.0)
        return self.fallback(retry_state)


class stop_on_long_retry_after(stop_base):
    """Give up at once when the vendor asks for a wait longer than MAX_WAIT."""

    def __call__(self, retry_state: RetryCallState) -> bool:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome else None
        return isinstance(exc, TransientError) and (exc.retry_after or 0.0) > MAX_WAIT


def _log_retry(api: str) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0
        log.warning(
            "retrying", api=api, attempt=state.attempt_number, wait_s=round(wait, 2), error=str(exc)
        )

    return before_sleep


def with_retry(call: Callable[[], T], *, api: str, attempts: int = 5) -> T:
    """Run `call`, retrying transient failures, through the API's circuit breaker; the last
    error is re-raised as is (a TransientError saying so while the circuit is open)."""

    def attempt() -> T:
        _wait_for_retry_after(api)  # sends nothing while the vendor's Retry-After runs
        try:
            result = call()
        except Interrupted:
            raise  # nothing was sent
        except Exception as exc:
            metrics.record_request(api, metrics.request_outcome(exc))
            _remember_retry_after(api, exc)
            raise
        metrics.record_request(api, "ok")
        return result

    breaker = _circuits.breaker(api)

    def guarded() -> T:
        probing = breaker.current_state == STATE_HALF_OPEN  # one request, no retries
        retrying = Retrying(
            retry=retry_if_exception_type(TransientError)
            & retry_if_not_exception_type(Interrupted),
            wait=wait_retry_after(),
            stop=stop_after_attempt(1 if probing else attempts) | stop_on_long_retry_after(),
            sleep=pause,
            before_sleep=_log_retry(api),
            reraise=True,
        )
        return retrying(attempt)

    try:
        return breaker.call(guarded)
    except CircuitBreakerError:
        metrics.current().record_circuit_refusal(api)
        until = _circuits.down_until.get(api)
        when = f"{until:%H:%M:%S} UTC" if until else "the next probe"
        raise TransientError(
            f"{api} is considered down until {when} ({_circuits.failures} failed calls in a "
            f"row); one request probes it every {_circuits.probe_interval:g}s"
        ) from None


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a Retry-After header given in seconds (the form these vendors use)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None
