"""Plumbing shared by the HubSpot modules: one paced, retried request through
hubspot-api-client, and HubSpot's failures translated into syncd's error tree.

Every HubSpot module sends through one `HubSpotApi`, so pacing (`hubspot.requests_per_10s`)
holds across tickets, contacts, companies and associations alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import urllib3

from syncd.errors import Refusal, TerminalError, TransientError, UserError, error_for
from syncd.ratelimit import RateLimiter
from syncd.retry import retry_after_seconds, with_retry

DEFAULT_BASE = "https://api.hubapi.com"
# HubSpot's answer to an upsert keyed by a property without unique values ("Unable to perform
# update/upsert by non-unique 0-5 property helpdesk_ticket_id"): the request, not a record, is
# wrong, so splitting the batch would only repeat it once per record.
_NON_UNIQUE = "upsert by non-unique"
# An upsert keyed by a property the portal lacks ("Property helpdesk_ticket_id does not exist
# for object type 0-5"), or writing one (error PROPERTY_DOESNT_EXIST): `syncd setup` was not
# run. Every record would meet it alike, so it is one error for the user, not a dead letter
# per ticket.
_MISSING_PROPERTY = re.compile(r"[Pp]roperty \S+ does not exist")


class HubSpotApi:
    """Paced, retried batch requests; answers are the raw JSON bodies."""

    def __init__(
        self, pacing: RateLimiter, *, timeout: float, attempts: int, base: str | None
    ) -> None:
        self.pacing = pacing
        self.timeout = timeout
        self.attempts = attempts
        self.base = base or DEFAULT_BASE

    def send(self, method: Callable[..., Any], *args: Any) -> dict[str, Any]:
        """One paced request, not retried; the JSON body ({} when HubSpot sends none: 204)."""
        self.pacing.acquire()
        try:
            # The raw body: syncd needs only ids and errors, and the client's model
            # deserialisation (a date parse per timestamp) costs more than the request.
            response = method(*args, _request_timeout=self.timeout, _preload_content=False)
            return json.loads(response.data) if response.data else {}
        except ValueError:
            raise TransientError("HubSpot sent a response that is not JSON") from None
        except Exception as exc:
            raise translate(exc, self.base) from None

    def call(self, method: Callable[..., Any], *args: Any) -> dict[str, Any]:
        """`send`, with transient failures (429, 5xx, network) retried."""
        return with_retry(lambda: self.send(method, *args), api="hubspot", attempts=self.attempts)


REFUSAL = Refusal(
    "the access token",
    where="hubspot.token_env",
    hint="Check the private app token and its scopes (crm.objects.tickets.read and"
    " .write, or tickets in older apps; crm.schemas.tickets.write,"
    " crm.objects.contacts.write, crm.objects.companies.read and .write,"
    " crm.schemas.companies.write); `syncd setup` names any missing",
)


def translate(exc: Exception, base: str) -> Exception:
    """A hubspot-api-client / urllib3 failure -> syncd's error tree (syncd.errors' table; a
    refusal that names a property the upserts need is the user's to fix)."""
    status = getattr(exc, "status", None)
    body = _text(getattr(exc, "body", None))
    headers = getattr(exc, "headers", None) or {}
    if status == 0:  # the client's way of saying the connection failed (TLS)
        return TransientError(
            f"cannot reach HubSpot at {base}: {str(getattr(exc, 'reason', ''))[:200]}",
            vendor="HubSpot",
        )
    if isinstance(status, int) and not isinstance(status, bool):
        error = error_for(
            "HubSpot",
            status,
            _detail(body),
            retry_after=retry_after_seconds(headers.get("Retry-After")),
            refusal=REFUSAL,
        )
        return _property_problem(error, body) or error
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
        return TransientError(
            f"cannot reach HubSpot at {base}: {type(exc).__name__}", vendor="HubSpot"
        )
    return exc


def _property_problem(error: Exception, body: str) -> UserError | None:
    """The UserError for a refusal that every upsert would meet alike: a property that keys
    them without unique values, or one syncd writes that HubSpot lacks (setup not run)."""
    if not isinstance(error, TerminalError):
        return None
    if _NON_UNIQUE in body:
        return UserError(
            f"HubSpot refuses every upsert: {_detail(body)}",
            where="hubspot",
            hint="A property that keys syncd's upserts exists without unique values; run "
            "`syncd setup --config ...`, which names it and says how to fix it",
        )
    if "PROPERTY_DOESNT_EXIST" in body or _MISSING_PROPERTY.search(body):
        return UserError(
            "HubSpot has no property that syncd writes",
            where="hubspot",
            hint=f"Run `syncd setup --config ...` once to create them ({body[:200]})",
        )
    return None


def _text(body: object) -> str:
    """An ApiException's body as text. hubspot-api-client's REST layer stores the raw bytes
    (`ApiException(http_resp=r)` sets `body = r.data`, hubspot/crm/*/exceptions.py) and its
    api_client decodes them as UTF-8 before re-raising (hubspot/crm/*/api_client.py,
    `__call_api`): either may reach here."""
    if isinstance(body, bytes | bytearray):
        return bytes(body).decode("utf-8", errors="replace")
    return str(body or "")


def _detail(body: str) -> str:
    """What HubSpot said was wrong: the `errors` messages of its error body (one each
    property, which it names), else its `message`, else the body itself; at most 500
    characters."""
    try:
        data = json.loads(body)
    except ValueError:
        return body[:500]
    if not isinstance(data, dict):
        return body[:500]
    messages = []
    for error in data.get("errors") or []:
        if not isinstance(error, dict) or not error.get("message"):
            continue
        context = error.get("context")
        names = context.get("propertyName") if isinstance(context, dict) else None
        prefix = f"property {', '.join(map(str, names))}: " if isinstance(names, list) else ""
        messages.append(f"{prefix}{error['message']}")
    text = "; ".join(messages) or str(data.get("message") or body)
    return text[:500]
