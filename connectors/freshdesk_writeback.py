"""Freshdesk write-back: the rules' `tag:`, `set_priority:` and `set_group:` actions change the
Freshdesk ticket, and messages to the requester (`notify: email:requester`) become public
replies on it.

Off unless `helpdesk.write_back: true`. Freshdesk's Update Ticket replaces the whole `tags`
list ([UT]: there is no additive tag update), so a write that adds tags reads the ticket's
current tags first and sends them back with the new ones:

    GET /api/v2/tickets/{id}                      1 credit
    PUT /api/v2/tickets/{id}  {"tags": [...]}     1 credit

Two requests per tag action, plus retries; none when the tags are already on the ticket (as
pulled), one when the fresh read shows they are. `set_priority` and `set_group` send
`{"priority": 1..4}` (Low, Medium, High, Urgent; the rules' "normal" is Medium) or
`{"group_id": ...}` in the same PUT, with the tags only when the marker is not yet on the
ticket (so one credit once syncd has touched it). Groups are named in the rules and found
with `GET /api/v2/groups` ([G]), listed once and again when a name is not found (at most
every GROUPS_TTL seconds); a name that matches no group is recorded as skipped with the
rule's file and line. The read is made just before the update,
so the window in which an agent's tag change could be overwritten is the time between the
two requests (milliseconds); Freshdesk documents no conditional update to close it.

A message to the requester goes out in the ticket's thread ([R] Reply to a ticket):

    POST /api/v2/tickets/{id}/reply  {"body": "<p>...</p>"}   1 credit, 201 Created

Freshdesk emails the reply to the requester from the support address, so their answer lands
on the ticket. The body is the rule's customer template (the rules loader allows no other) as
HTML: values escaped, one paragraph per blank-line-separated block. Freshdesk counts it as an
agent's reply (first_responded_at may be set by it). A reply carries no tags, so no marker.
Deleted and spam tickets are skipped.

The marker: every write also adds the tag `syncd` (MARKER_TAG), so an agent sees on the
ticket that syncd touched it (and can filter tickets by it).

No loop: the update changes the ticket's `updated_at`, so the next cycle lists it once more.
That costs no further write: an action is carried out once per ticket and action key (the
state store remembers it), the re-evaluated decision asks for the same actions, and the
default rules read no tag syncd adds. The sinks see the new tags: one sink write.

Rate limits ([RL]): Freshdesk counts credits per minute for the whole account (Growth 200,
Pro 400, Enterprise 700). With `helpdesk.credits_per_minute` set, this notifier paces itself
to that number (each of its requests costs one credit) on its own limiter: the budget is
then per component (the source has its own), so set it to at most half of what syncd may
use when write-back is on. A 429 is retried after
its Retry-After (syncd's retry policy); a longer wait fails the action, which the pipeline
tries again next cycle.

[UT] https://developers.freshdesk.com/api/#update_ticket
[G]  https://developers.freshdesk.com/api/#list_all_groups
[RL] https://developers.freshdesk.com/api/#ratelimit
[R]  https://developers.freshdesk.com/api/#reply_ticket
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import Any

import requests

from connectors.freshdesk import connect
from syncd.config import FreshdeskConfig
from syncd.errors import Refusal, TerminalError, TransientError, error_for
from syncd.groups import GroupDirectory
from syncd.model import Action, Decision, Ticket, paragraphs
from syncd.ratelimit import RateLimiter
from syncd.retry import retry_after_seconds, with_retry

API = "/api/v2"
MARKER_TAG = "syncd"  # added with every write: "syncd touched this ticket"
KINDS = frozenset({"tag", "set_priority", "set_group"})
PRIORITIES = {"low": 1, "normal": 2, "high": 3, "urgent": 4}  # [UT] priority values
GROUPS_TTL = 300.0  # seconds before an unknown group name may list the groups again


class _Gone(Exception):
    """The ticket no longer exists (404), or is deleted or spam."""


class FreshdeskWriteBack:
    """Carries out `tag:`, `set_priority:` and `set_group:` actions on Freshdesk tickets."""

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
        # Its requests carry no embeds: one credit each, so counting requests counts credits.
        rpm = config.credits_per_minute
        self.limiter = RateLimiter(rpm, 61.0, clock, sleep) if rpm else None
        self.requests_sent = 0
        self.groups = GroupDirectory(
            lambda: with_retry(self._list_groups, api="freshdesk", attempts=self.attempts),
            GROUPS_TTL,
            clock,
        )

    def deliver(self, ticket: Ticket, action: Action, text: str, decision: Decision) -> str | None:
        """Change the ticket as the action asks (with the marker tag); None for actions
        this notifier does not carry out."""
        if ticket.source != "freshdesk":
            return None
        if action.to_requester:
            return self._reply(ticket, text)
        if action.kind not in KINDS:
            return None
        if ticket.status.is_gone:
            return f"skipped: Freshdesk ticket is {ticket.status.value}, not changed"
        change: dict[str, Any] = {}
        if action.kind == "set_priority":
            if ticket.helpdesk_priority == _label(action.target):
                return f"priority already {action.target} in Freshdesk"
            change, done = (
                {"priority": PRIORITIES[action.target]},
                f"priority set to {action.target}",
            )
        elif action.kind == "set_group":
            group_id = self.groups.id(action.target)
            if group_id is None:
                return (
                    f"skipped: no Freshdesk group named {action.target!r} "
                    f"(set_group at {action.where})"
                )
            change, done = {"group_id": group_id}, f"assigned to group {action.target}"
        wanted = list(dict.fromkeys([*action.tags, MARKER_TAG]))
        if not change and all(t in ticket.tags for t in wanted):
            return f"tags already on Freshdesk ticket: {', '.join(action.tags)}"
        path = f"{API}/tickets/{ticket.id}"
        try:
            missing: list[str] = []
            if not all(t in ticket.tags for t in wanted):
                current = with_retry(
                    lambda: self._tags(path), api="freshdesk", attempts=self.attempts
                )
                missing = [t for t in wanted if t not in current]
                if missing:
                    change["tags"] = [*current, *missing]
            if not change:
                return f"tags already on Freshdesk ticket: {', '.join(action.tags)}"
            with_retry(
                lambda: self._call("PUT", path, change), api="freshdesk", attempts=self.attempts
            )
        except _Gone:
            return f"skipped: Freshdesk ticket {ticket.id} is deleted or spam"
        if action.kind == "tag":
            return f"tagged in Freshdesk: {', '.join(missing)}"
        return f"{done} in Freshdesk"

    def _reply(self, ticket: Ticket, text: str) -> str:
        """A public reply with the customer text, as HTML."""
        if ticket.status.is_gone:
            return f"skipped: Freshdesk ticket is {ticket.status.value}, no reply sent"
        body = to_html(text)
        if not body:
            return "skipped: no customer text for the requester"
        path = f"{API}/tickets/{ticket.id}/reply"
        try:
            with_retry(
                lambda: self._call("POST", path, {"body": body}),
                api="freshdesk",
                attempts=self.attempts,
            )
        except _Gone:
            return f"skipped: Freshdesk ticket {ticket.id} is deleted or spam"
        return f"public reply on Freshdesk ticket {ticket.id}"

    def _list_groups(self) -> dict[str, int]:
        groups: dict[str, int] = {}
        page = 1
        while True:
            listed = self._call("GET", f"{API}/groups?per_page=100&page={page}", None)
            if not isinstance(listed, list):
                raise TerminalError("Freshdesk sent no list of groups")
            groups.update({str(g["name"]).lower(): int(g["id"]) for g in listed})
            if len(listed) < 100:
                return groups
            page += 1

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
        refusal = Refusal(
            "the API key for a ticket update",
            where="helpdesk.api_key_env",
            hint="helpdesk.write_back needs an agent's API key that may edit tickets; "
            f"check the environment variable {self.config.api_key_env}",
        )
        raise error_for(
            "Freshdesk",
            status,
            f"{method} {path}: {response.text[:300]}",
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            refusal=refusal,
        )


def _label(priority: str) -> str:
    """The Freshdesk priority's name as the source reports it (normal is Medium)."""
    return "medium" if priority == "normal" else priority


def to_html(text: str) -> str:
    """A template's text as reply HTML: each blank-line-separated block one paragraph, its
    wrapped lines joined, every character escaped."""
    return "".join(f"<p>{html.escape(part)}</p>" for part in paragraphs(text))
