"""Primitives the Zendesk emulator's modules share: timestamps, validation errors, argument
parsing and copying. Kept apart so `zendesk`, `zendesk_lifecycle` and `zendesk_metrics`
import it rather than each other."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from syncd.sandbox.server import Request, Response, clone  # noqa: F401 - re-exported

TICKET_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")  # plus "deleted"
UNSOLVED = ("new", "open", "pending", "hold")


class InvalidRecord(ValueError):
    """A change Zendesk would refuse with 422 RecordInvalid."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def iso(epoch: float) -> str:
    """Zendesk's timestamp format: ISO-8601 UTC, whole seconds, `Z` suffix."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_epoch(value: float | str | datetime) -> float:
    """Epoch seconds from an epoch number, an ISO-8601 string or a datetime."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, str):
        return to_epoch(datetime.fromisoformat(value.replace("Z", "+00:00")))
    return float(value)


def int_arg(value: str | None, default: int | None) -> int | None:
    """A query parameter as an int: `default` when absent or empty, None when malformed."""
    if value is None or value == "":
        return default
    return int(value) if re.fullmatch(r"-?\d+", value) else None


def json_object(req: Request) -> dict[str, Any] | None:
    """The request body when it is a JSON object, else None."""
    try:
        body = req.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def admin_error(status: int, message: str) -> Response:
    """An error from the sandbox's own admin routes (not a vendor shape)."""
    return Response(status, {"error": message})


@contextmanager
def bulk() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many objects at once.

    Bulk creation of dicts and tuples (generating 40,000 tickets, indexing a million metric
    events) otherwise triggers full collections over the whole store: over half the time.
    Nothing built here forms reference cycles, so pausing loses nothing.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
