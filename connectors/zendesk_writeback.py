"""Zendesk write-back: the rules' `tag:`, `set_priority:` and `set_group:` actions change the
Zendesk ticket, and messages to the requester (`notify: email:requester`) become public
replies on it.

Off unless `helpdesk.write_back: true`. One request per action, plus retries:

    PUT /api/v2/tickets/{id}.json  {"ticket": {"additional_tags": ["escalated", "syncd"]}}
    PUT /api/v2/tickets/{id}.json  {"ticket": {"priority": "urgent", "additional_tags": ["syncd"]}}
    PUT /api/v2/tickets/{id}.json  {"ticket": {"group_id": 360..., "additional_tags": ["syncd"]}}

    PUT /api/v2/tickets/{id}.json  {"ticket": {"comment": {"body": "...", "public": true},
                                               "additional_tags": ["syncd"]}}

A message to the requester goes out in the ticket's thread: a public comment ([T] "Adding
ticket comments": `comment` with `public: true`), which Zendesk emails to the requester with
its own threading, so their answer lands on the ticket. Its text is the rule's customer
template (the rules loader allows no other), its lines joined into paragraphs. A closed
ticket takes no comment: the action is left to the next notifier (email, with the ticket
reference in the subject). Zendesk counts a public comment by an agent, the API user
included, as a reply: the ticket's first reply time (and first-response SLA) may be met by
the notice, as when an agent sends it from a macro. Deleted, merged and spam tickets are
skipped.

A group is named by its name in the rules: the account's groups are listed once
(`GET /api/v2/groups.json`, [G]) and remembered, and listed again when a name is not found
(at most every GROUPS_TTL seconds), so a group created later is picked up. A name that matches
no group is recorded as skipped, with the rule's file and line, rather than retried forever.

`additional_tags` adds to the ticket's tags without replacing them ([T] "Updating tag
lists"), so there is no read-modify-write and no collision with an agent editing the ticket
at the same moment (the `safe_update`/`updated_stamp` protection is for updates that replace
a value; an addition cannot overwrite anything). A tag already on the ticket is not sent
again, and an action whose tags are all there already costs no request.

The marker: every write also adds the tag `syncd` (MARKER_TAG), so an agent sees on the
ticket that syncd touched it and can find every such ticket with a `tags:syncd` search; the
ticket's audit shows the API user and `via: api` as well.

No loop: the update changes the ticket's `updated_at`, so the next cycle pulls it once more.
That costs no further write: an action is carried out once per ticket and action key (the
state store remembers it), the re-evaluated decision asks for the same actions, and the
default rules read no tag syncd adds (a rule of yours that tests `escalated`, `sla_at_risk`
or `syncd` fires its own actions once, like any other). The sinks see the new tags: one
sink write for that ticket.

Rate limits ([RL] Update Ticket endpoint): 100 updates a minute per account (300 with the
High Volume add-on) and 30 updates per 10 minutes per user per ticket. syncd paces its own
updates under the account limit (UPDATES_PER_MINUTE, a sliding window of this process) and
sends at most one update per ticket and action, far below the per-ticket limit; a 429 is
retried after its Retry-After (syncd's retry policy), and a longer wait fails the action,
which the pipeline tries again next cycle. The limit is shared with agents and other apps.

[T]  https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-ticket
[G]  https://developer.zendesk.com/api-reference/ticketing/groups/groups/#list-groups
[RL] https://developer.zendesk.com/api-reference/introduction/rate-limits/
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
from zenpy import Zenpy

from syncd.config import ZendeskConfig
from syncd.errors import Refusal, TransientError, error_for
from syncd.groups import GroupDirectory
from syncd.model import Action, Decision, Status, Ticket, paragraphs
from syncd.ratelimit import RateLimiter
from syncd.retry import retry_after_seconds, with_retry

MARKER_TAG = "syncd"  # added with every write: "syncd touched this ticket"
UPDATES_PER_MINUTE = 100  # [RL] Update Ticket: 100 requests per minute per account
# Statuses Zendesk refuses to update ("closed prevents ticket update") or that are gone.
UNWRITABLE = frozenset({Status.CLOSED, Status.MERGED, Status.SPAM, Status.DELETED})
KINDS = frozenset({"tag", "set_priority", "set_group"})
GROUPS_TTL = 300.0  # seconds before an unknown group name may list the groups again


class ZendeskWriteBack:
    """Carries out `tag:`, `set_priority:` and `set_group:` actions on Zendesk tickets."""

    def __init__(
        self,
        config: ZendeskConfig,
        token: str,
        attempts: int = 5,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.attempts = attempts
        self.base = (config.base_url or f"https://{config.subdomain}.zendesk.com").rstrip("/")
        # zenpy's authenticated session (token auth as zenpy sets it up); the request itself
        # is sent here so that 429s reach syncd's retry policy rather than zenpy's sleeps.
        client = Zenpy(
            subdomain=config.subdomain, email=config.email, token=token, timeout=config.timeout
        )
        self.session: requests.Session = client.tickets.session
        self.limiter = RateLimiter(UPDATES_PER_MINUTE, 61.0, clock, sleep)
        self.requests_sent = 0
        self.groups = GroupDirectory(
            lambda: with_retry(self._list_groups, api="zendesk", attempts=self.attempts),
            GROUPS_TTL,
            clock,
        )

    def deliver(self, ticket: Ticket, action: Action, text: str, decision: Decision) -> str | None:
        """Change the ticket as the action asks (with the marker tag); None for actions
        this notifier does not carry out."""
        if ticket.source != "zendesk":
            return None
        if action.to_requester:
            return self._reply(ticket, text)
        if action.kind not in KINDS:
            return None
        if ticket.status in UNWRITABLE:
            return f"skipped: Zendesk ticket is {ticket.status.value}, not changed"
        marker = [] if MARKER_TAG in ticket.tags else [MARKER_TAG]
        if action.kind == "set_priority":
            if ticket.helpdesk_priority == action.target:
                return f"priority already {action.target} in Zendesk"
            change: dict[str, Any] = {"priority": action.target}
            done = f"priority set to {action.target} in Zendesk"
        elif action.kind == "set_group":
            group_id = self.groups.id(action.target)
            if group_id is None:
                return (
                    f"skipped: no Zendesk group named {action.target!r} "
                    f"(set_group at {action.where})"
                )
            change = {"group_id": group_id}
            done = f"assigned to group {action.target} in Zendesk"
        else:
            marker = [t for t in dict.fromkeys([*action.tags, MARKER_TAG]) if t not in ticket.tags]
            if not marker:
                return f"tags already on Zendesk ticket: {', '.join(action.tags)}"
            change, done = {}, f"tagged in Zendesk: {', '.join(marker)}"
        body = {"ticket": {**change, **({"additional_tags": marker} if marker else {})}}
        outcome = with_retry(
            lambda: self._put(ticket.id, body), api="zendesk", attempts=self.attempts
        )
        return outcome or done

    def _reply(self, ticket: Ticket, text: str) -> str | None:
        """A public comment with the customer text; None (another notifier's turn) on a
        closed ticket, which Zendesk no longer updates."""
        if ticket.status is Status.CLOSED:
            return None
        if ticket.status in UNWRITABLE:
            return f"skipped: Zendesk ticket is {ticket.status.value}, no reply sent"
        body = "\n\n".join(paragraphs(text))
        if not body:
            return "skipped: no customer text for the requester"
        change: dict[str, Any] = {"comment": {"body": body, "public": True}}
        if MARKER_TAG not in ticket.tags:
            change["additional_tags"] = [MARKER_TAG]
        outcome = with_retry(
            lambda: self._put(ticket.id, {"ticket": change}), api="zendesk", attempts=self.attempts
        )
        if outcome and "is closed" in outcome:
            return None  # closed since it was pulled: email it instead
        return outcome or f"public reply on Zendesk ticket {ticket.id}"

    def _list_groups(self) -> dict[str, int]:
        groups: dict[str, int] = {}
        url: str | None = f"{self.base}/api/v2/groups.json?per_page=100"
        while url:
            self.requests_sent += 1
            try:
                response = self.session.get(url, timeout=self.config.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise TransientError(
                    f"cannot reach Zendesk at {self.base}: {type(exc).__name__}"
                ) from None
            self._check(response, "listing the groups")
            page = response.json()
            for group in page.get("groups", []):
                if not group.get("deleted"):
                    groups[str(group["name"]).lower()] = int(group["id"])
            url = page.get("next_page")
        return groups

    def _put(self, ticket_id: str, body: dict[str, Any]) -> str | None:
        self.limiter.acquire()
        self.requests_sent += 1
        url = f"{self.base}/api/v2/tickets/{ticket_id}.json"
        try:
            response = self.session.put(url, json=body, timeout=self.config.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(
                f"cannot reach Zendesk at {self.base}: {type(exc).__name__}"
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            return None
        if status == 404:  # deleted since it was pulled: nothing left to change
            return f"skipped: Zendesk ticket {ticket_id} no longer exists"
        if status == 422 and "closed" in response.text.lower():
            return f"skipped: Zendesk ticket {ticket_id} is closed, not changed"
        self._check(response, f"the update of ticket {ticket_id}")
        return None

    def _check(self, response: requests.Response, what: str) -> None:
        """Raise syncd's error for a failed response (nothing for a 2xx)."""
        status = response.status_code
        if 200 <= status < 300:
            return
        raise error_for(
            "Zendesk",
            status,
            f"{what}: {response.text[:300]}",
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            refusal=REFUSAL,
        )


REFUSAL = Refusal(
    "the API token for a ticket update",
    where="helpdesk",
    hint="helpdesk.write_back needs an agent token that may edit tickets; check "
    "helpdesk.email and the variable named by helpdesk.token_env",
)
