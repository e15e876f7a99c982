"""One retry policy for every vendor call: tenacity, jittered exponential backoff, capped,
and a vendor's Retry-After honoured when it sends one. Only `TransientError` is retried.

Every attempt's outcome (ok, 429, 5xx, 4xx, error) is counted in `syncd.metrics`: every vendor
call of every connector passes here, so this is the one place that sees them all."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base, wait_exponential_jitter

from syncd import metrics
from syncd.errors import TransientError

T = TypeVar("T")
log = structlog.get_logger("syncd.retry")

MAX_WAIT = 60.0  # seconds; a longer Retry-After ends the attempt and the next cycle resumes


class wait_retry_after(wait_base):
    """Wait what the vendor asked for (Retry-After), else back off exponentially with jitter."""

    def __init__(self, maximum: float = 30.0) -> None:
        self.fallback = wait_exponential_jitter(max=maximum)  # 1 s, 2 s, 4 s... plus jitter

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome else None
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.0), MAX_WAIT)
        return self.fallback(retry_state)


def _log_retry(api: str) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0
        log.warning(
            "retrying", api=api, attempt=state.attempt_number, wait_s=round(wait, 2), error=str(exc)
        )

    return before_sleep


def with_retry(call: Callable[[], T], *, api: str, attempts: int = 5) -> T:
    """Run `call`, retrying transient failures; the last error is re-raised as is."""

    def attempt() -> T:
        try:
            result = call()
        except Exception as exc:
            metrics.record_request(api, metrics.request_outcome(exc))
            raise
        metrics.record_request(api, "ok")
        return result

    retrying = Retrying(
        retry=retry_if_exception_type(TransientError),
        wait=wait_retry_after(),
        stop=stop_after_attempt(attempts),
        before_sleep=_log_retry(api),
        reraise=True,
    )
    return retrying(attempt)


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a Retry-After header given in seconds (the form these vendors use)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None
