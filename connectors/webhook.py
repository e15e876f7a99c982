"""Generic webhooks for `notify: webhook:<name>` actions: a JSON POST to the URL held by the
environment variable that `notifications.webhooks.<name>` names (the URL is a secret: it often
carries a token).

The body is one flat JSON object (see `payload`), easy to map in Zapier, n8n or an on-call
tool. Every request carries an `Idempotency-Key` header derived from the helpdesk, the ticket
and the action key: a retry (after a timeout whose answer was lost, say) repeats the key, so a
receiver that remembers keys drops the repeat. 429 and 5xx answers and network errors are
retried (Retry-After honoured); another 4xx fails the action, which the pipeline tries again
next cycle. One request per action, plus retries.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import requests

from syncd.errors import ConfigError, Refusal, TransientError, error_for
from syncd.model import Action, Decision, Ticket
from syncd.retry import retry_after_seconds, with_retry

USER_AGENT = "syncd-webhook/1"


class WebhookNotifier:
    """POSTs `notify: webhook:<name>` actions to that webhook's URL."""

    def __init__(self, urls: dict[str, str], timeout: float = 15, attempts: int = 5) -> None:
        self.urls = urls
        self.timeout = timeout
        self.attempts = attempts
        self.session = requests.Session()  # keep-alive across a cycle's actions

    def deliver(self, ticket: Ticket, action: Action, text: str, decision: Decision) -> str | None:
        """POST the action; None when it is not a webhook notification."""
        if action.kind != "notify" or not action.target.startswith("webhook:"):
            return None
        name = action.target.removeprefix("webhook:")
        url = self.urls.get(name)
        if url is None:
            raise ConfigError(
                f"no webhook named {name} (rule at {action.where})",
                where="notifications.webhooks",
                hint=f"Map {name} to the environment variable holding its URL",
            )
        body = payload(ticket, action, text, decision)
        headers = {
            "Idempotency-Key": idempotency_key(ticket, action),
            "User-Agent": USER_AGENT,
        }
        with_retry(
            lambda: self._post(url, body, headers, name), api="webhook", attempts=self.attempts
        )
        return f"posted to webhook {name}"

    def _post(self, url: str, body: dict[str, Any], headers: dict[str, str], name: str) -> None:
        try:
            response = self.session.post(url, json=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            # The message may hold the URL; name the webhook instead.
            raise TransientError(f"cannot reach webhook {name}: {type(exc).__name__}") from None
        status = response.status_code
        if 200 <= status < 300:
            return
        raise error_for(
            f"webhook {name}",
            status,
            response.text[:200],
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            refusal=Refusal(
                "the message",
                where="notifications.webhooks",
                hint=f"The receiver of webhook {name} wants credentials: check its URL "
                "(and any token in it)",
            ),
        )


def idempotency_key(ticket: Ticket, action: Action) -> str:
    """The Idempotency-Key header: the action's delivery id for this ticket."""
    return action.delivery_id(ticket)


def payload(ticket: Ticket, action: Action, text: str, decision: Decision) -> dict[str, Any]:
    """The JSON body: the ticket, what the rules decided, and the action."""
    requester = ticket.requester
    return {
        "ticket_id": ticket.id,
        "source": ticket.source,
        "subject": ticket.subject,
        "url": ticket.url,
        "status": ticket.status.value,
        "requester_name": requester.name if requester else "",
        "requester_email": requester.email if requester else "",
        "organization": ticket.organization.name if ticket.organization else "",
        "priority": decision.priority,
        "category": decision.category,
        "sla_state": decision.sla.state if decision.sla else None,
        "escalation_level": escalation_level(action),
        "origin": action.origin,
        "text": text,
        "action_key": action.key,
        "idempotency_key": idempotency_key(ticket, action),
        "sent_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def escalation_level(action: Action) -> int | None:
    """The level of an escalation action (key "escalation:<ladder>:<level>:<n>"), else None."""
    if not action.key.startswith("escalation:"):
        return None
    parts = action.key.rsplit(":", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None
