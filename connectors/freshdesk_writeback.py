"""Freshdesk write-back: the rules' `tag:` actions become tags on the Freshdesk ticket.

Off unless `helpdesk.write_back: true`. Freshdesk's Update Ticket replaces the whole `tags`
list ([UT]: there is no additive tag update), so a write reads the ticket's current tags
first and sends them back with the new ones:

    GET /api/v2/tickets/{id}                      1 credit
    PUT /api/v2/tickets/{id}  {"tags": [...]}     1 credit

Two requests per action, plus retries; none when the tags are already on the ticket (as
pulled), one when the fresh read shows they are. The read is made just before the update,
so the window in which an agent's tag change could be overwritten is the time between the
two requests (milliseconds); Freshdesk documents no conditional update to close it.

The marker: every write also adds the tag `syncd` (MARKER_TAG), so an agent sees on the
ticket that syncd touched it (and can filter tickets by it).

No loop: the update changes the ticket's `updated_at`, so the next cycle lists it once more.
That costs no further write: an action is carried out once per ticket and action key (the
state store remembers it), the re-evaluated decision asks for the same actions, and the
default rules read no tag syncd adds. The sinks see the new tags: one sink write.

Rate limits ([RL]): Freshdesk counts credits per minute for the whole account (Growth 200,
Pro 400, Enterprise 700). With `helpdesk.requests_per_minute` set, this notifier paces itself
to that number on its own limiter: the budget is then per component (the source has its own),
so set it to at most half of what syncd may use when write-back is on. A 429 is retried after
its Retry-After (syncd's retry policy); a longer wait fails the action, which the pipeline
tries again next cycle.

[UT] https://developers.freshdesk.com/api/#update_ticket
[RL] https://developers.freshdesk.com/api/#ratelimit
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from connectors.freshdesk import connect
from syncd.config import FreshdeskConfig
from syncd.errors import CredentialsError, TerminalError, TransientError
from syncd.model import Action, Decision, Ticket
from syncd.ratelimit import RateLimiter
from syncd.retry import retry_after_seconds, with_retry

API = "/api/v2"
MARKER_TAG = "syncd"  # added with every write: "syncd touched this ticket"


class _Gone(Exception):
    """The ticket no longer exists (404), or is deleted or spam."""


class FreshdeskWriteBack:
    """Carries out `tag:` actions on Freshdesk tickets (read the tags, then update them)."""

    def __init__(
        self,
        config: FreshdeskConfig,
        api_key: str,
        attempts: int = 5,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        self.config = config
        self.attempts = attempts
        self.base, self.session = connect(config, api_key, session)
        rpm = config.requests_per_minute
        self.limiter = RateLimiter(rpm, 61.0, clock, sleep) if rpm else None
        self.requests_sent = 0

    def deliver(self, ticket: Ticket, action: Action, text: str, decision: Decision) -> str | None:
        """Add the action's tags (and the marker) to the ticket; None for other actions."""
        if action.kind != "tag" or ticket.source != "freshdesk":
            return None
        if ticket.status.is_gone:
            return f"skipped: Freshdesk ticket is {ticket.status.value}, tags not added"
        wanted = list(dict.fromkeys([*action.tags, MARKER_TAG]))
        if all(t in ticket.tags for t in wanted):
            return f"tags already on Freshdesk ticket: {', '.join(action.tags)}"
        path = f"{API}/tickets/{ticket.id}"
        try:
            current = with_retry(lambda: self._tags(path), api="freshdesk", attempts=self.attempts)
            missing = [t for t in wanted if t not in current]
            if not missing:
                return f"tags already on Freshdesk ticket: {', '.join(action.tags)}"
            body = {"tags": [*current, *missing]}
            with_retry(
                lambda: self._call("PUT", path, body), api="freshdesk", attempts=self.attempts
            )
        except _Gone:
            return f"skipped: Freshdesk ticket {ticket.id} is deleted or spam"
        return f"tagged in Freshdesk: {', '.join(missing)}"

    def _tags(self, path: str) -> list[str]:
        body = self._call("GET", path, None)
        if isinstance(body, dict) and (body.get("deleted") is True or body.get("spam") is True):
            raise _Gone(path)  # a deleted ticket can still be viewed, not updated
        tags = body.get("tags") if isinstance(body, dict) else None
        if not isinstance(tags, list):
            raise TerminalError(f"Freshdesk sent no tags list for {path}")
        return [str(t) for t in tags]

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        if self.limiter is not None:
            self.limiter.acquire()
        self.requests_sent += 1
        try:
            response = self.session.request(
                method, self.base + path, json=body, timeout=self.config.timeout
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(
                f"cannot reach Freshdesk at {self.base}: {type(exc).__name__}"
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            try:
                return response.json()
            except ValueError:
                raise TransientError(f"Freshdesk sent a body that is not JSON for {path}") from None
        if status == 404:
            raise _Gone(path)
        if status in (401, 403):
            raise CredentialsError(
                f"Freshdesk refused the API key for a ticket update ({status})",
                where="helpdesk.api_key_env",
                hint="helpdesk.write_back needs an agent's API key that may edit tickets; "
                f"check the environment variable {self.config.api_key_env}",
            )
        if status == 429 or status == 408 or status >= 500:
            retry = retry_after_seconds(response.headers.get("Retry-After"))
            raise TransientError(f"Freshdesk answered {status} for {path}", retry_after=retry)
        raise TerminalError(f"Freshdesk rejected {method} {path} ({status}): {response.text[:300]}")
