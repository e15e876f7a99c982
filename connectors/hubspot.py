"""HubSpot sink: batch upsert of ticket objects keyed by the helpdesk ticket id.

`POST /crm/v3/objects/tickets/batch/upsert`, at most 100 inputs a request, idProperty = a
custom property with unique values, so a re-run updates instead of duplicating. A batch
HubSpot rejects as a whole (400) is split in halves until the bad records stand alone; they
come back as rejected with HubSpot's reason and the rest is written.

Gone tickets (merged, spam or deleted in the helpdesk) follow `hubspot.gone_tickets`:
- "mark" (default): upserted like the others, in the stage `stages` names for their status
  (a closed one; never the open stage), with `helpdesk_status` and no SLA state.
- "archive": the HubSpot object is archived. Archiving takes HubSpot's object id, so the ids
  are looked up first: `POST .../batch/read` with idProperty (up to 100 a request), then
  `POST .../batch/archive` for those found. A gone ticket HubSpot never had needs nothing.

Requests per write, n live and k gone tickets, b = batch_size (100): ceil(n/b) upserts, plus
with "archive" at most 2*ceil(k/b) (one read, and one archive when any was found).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import urllib3
from hubspot import HubSpot
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate
from hubspot.crm.tickets import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
)
from urllib3.util.retry import Retry

from syncd.config import HubSpotConfig
from syncd.errors import CredentialsError, TerminalError, TransientError, UserError
from syncd.model import Decision, Ticket
from syncd.ports import SinkRecord, SinkResult
from syncd.ratelimit import RateLimiter
from syncd.retry import retry_after_seconds, with_retry

MAX_VALUE = 65_536  # HubSpot's limit on a property value, in characters
TRUNCATED = "… [truncated by syncd]"
GROUP = "syncd"
# Tickets the helpdesk no longer works on: never shown as open, maybe archived.
# The payload key of a record to archive. A colon cannot occur in a HubSpot property name, so
# it never collides with the properties of a record to upsert.
ARCHIVE = "syncd:archive"
NOT_FOUND = "OBJECT_NOT_FOUND"  # batch/read's error category for ids HubSpot does not hold

# The custom ticket properties syncd writes, created by `syncd setup`: name -> (label, type,
# field type).
CUSTOM_PROPERTIES: dict[str, tuple[str, str, str]] = {
    "syncd_category": ("Category (syncd)", "string", "text"),
    "syncd_priority": ("Priority (syncd)", "string", "text"),
    "syncd_sla_state": ("SLA state (syncd)", "string", "text"),
    "syncd_first_response_due": ("First response due (syncd)", "datetime", "date"),
    "syncd_resolution_due": ("Resolution due (syncd)", "datetime", "date"),
    "syncd_escalation_level": ("Escalation level (syncd)", "number", "number"),
    "helpdesk_status": ("Helpdesk status", "string", "text"),
    "helpdesk_url": ("Helpdesk link", "string", "text"),
}


class HubSpotSink:
    """HubSpot tickets, one per helpdesk ticket."""

    name = "hubspot"

    def __init__(self, config: HubSpotConfig, token: str, attempts: int = 5) -> None:
        self.config = config
        self.attempts = attempts
        options: dict[str, Any] = {"access_token": token, "retry": Retry(total=0)}
        if config.base_url:
            options["host"] = config.base_url.rstrip("/")
        # urllib3 retries nothing here: syncd.retry is the one retry policy.
        self.client = HubSpot(**options)
        self._batch = self.client.crm.tickets.batch_api  # each access builds a new pool
        self.pacing = RateLimiter(config.requests_per_10s, 10.0)

    def render(self, ticket: Ticket, decision: Decision) -> SinkRecord:
        """The ticket's HubSpot properties (all values strings, as the API stores them), or,
        for a gone ticket with `gone_tickets: archive`, the request to archive it."""
        gone = ticket.status.is_gone
        if gone and self.config.gone_tickets == "archive":
            # Only the intent is fingerprinted: later edits of a gone ticket cost no request,
            # and a restored ticket's payload differs, so it is upserted (re-created) again.
            return SinkRecord(key=ticket.id, payload={ARCHIVE: True})
        stages = self.config.stages
        # A status missing from a hand-written `stages` falls back to the open stage, except a
        # gone one: that goes to the closed stage, so it never looks like work to do.
        fallback = stages.get("closed", "4") if gone else stages.get("open", "1")
        stage = stages.get(ticket.status.value, fallback)
        # SLA clocks and escalations mean nothing for a ticket nobody will work on: cleared, so
        # a merged ticket never shows "ok" or "breached" against a due date.
        sla = None if gone else decision.sla
        properties = {
            self.config.id_property: ticket.id,
            "subject": _fit(ticket.subject) or f"(no subject) #{ticket.id}",
            "content": _fit(ticket.description),
            "hs_pipeline": self.config.pipeline,
            "hs_pipeline_stage": stage,
            "hs_ticket_priority": self.config.priorities.get(decision.priority, "MEDIUM"),
            "syncd_category": decision.category,
            "syncd_priority": decision.priority,
            "syncd_sla_state": sla.state if sla else "",
            "syncd_first_response_due": _iso(sla.first_response.due if sla else None),
            "syncd_resolution_due": _iso(sla.resolution.due if sla else None),
            "syncd_escalation_level": "0" if gone else str(decision.escalation_level),
            "helpdesk_status": ticket.status.value,
            "helpdesk_url": ticket.url,
        }
        return SinkRecord(key=ticket.id, payload=properties)

    def describe(self, records: Sequence[SinkRecord]) -> str:
        """What write() would send."""
        size = self.config.batch_size
        gone = sum(1 for r in records if r.payload.get(ARCHIVE))
        live = len(records) - gone
        text = f"upsert {live} tickets in {-(-live // size)} batch request(s)"
        if gone:
            text += (
                f"; archive {gone} gone ticket(s): up to {2 * -(-gone // size)} request(s) "
                "(batch read of their HubSpot ids, batch archive)"
            )
        return text

    def write(self, records: Sequence[SinkRecord]) -> SinkResult:
        """Upsert live tickets and archive gone ones (`gone_tickets: archive`), in batches of
        `batch_size`: ceil(n/b) upserts + at most 2*ceil(k/b) for k gone tickets. Per-record
        failures are reported, not raised; a gone ticket HubSpot does not hold is accepted."""
        unique = list({r.key: r for r in records}.values())  # one input per id per batch
        live = [r for r in unique if not r.payload.get(ARCHIVE)]
        gone = [r for r in unique if r.payload.get(ARCHIVE)]
        result = SinkResult()
        size = self.config.batch_size
        for start in range(0, len(live), size):
            self._write_batch(live[start : start + size], result)
        for start in range(0, len(gone), size):
            self._archive_batch(gone[start : start + size], result)
        return result

    def _write_batch(self, batch: Sequence[SinkRecord], result: SinkResult) -> None:
        try:
            response = with_retry(
                lambda: self._upsert(batch), api="hubspot", attempts=self.attempts
            )
        except TerminalError as exc:
            if len(batch) == 1:
                result.rejected[batch[0].key] = str(exc)
                return
            middle = len(batch) // 2
            self._write_batch(batch[:middle], result)
            self._write_batch(batch[middle:], result)
            return
        written = {
            (obj.get("properties") or {}).get(self.config.id_property)
            for obj in response.get("results") or []
        }
        errors = "; ".join(str(e.get("message", e)) for e in response.get("errors") or [])
        for record in batch:
            if record.key in written:
                result.accepted.append(record.key)
            else:
                result.rejected[record.key] = errors or "HubSpot did not return this ticket"

    def _upsert(self, batch: Sequence[SinkRecord]) -> dict[str, Any]:
        inputs = [
            SimplePublicObjectBatchInputUpsert(
                id=r.key, id_property=self.config.id_property, properties=dict(r.payload)
            )
            for r in batch
        ]
        return self._send(
            self._batch.upsert, BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs)
        )

    def _archive_batch(self, batch: Sequence[SinkRecord], result: SinkResult) -> None:
        """Archive up to one batch of gone tickets: one read of their object ids, then one
        archive of those HubSpot holds (none when it holds none)."""
        try:
            found, refused = with_retry(
                lambda: self._object_ids(batch), api="hubspot", attempts=self.attempts
            )
            if found:
                body = BatchInputSimplePublicObjectId(
                    inputs=[SimplePublicObjectId(id=oid) for oid in found.values()]
                )
                # Archiving is idempotent (an archived id is ignored), so a retry is safe.
                with_retry(
                    lambda: self._send(self._batch.archive, body),
                    api="hubspot",
                    attempts=self.attempts,
                )
        except TerminalError as exc:
            for record in batch:
                result.rejected[record.key] = str(exc)
            return
        for record in batch:
            if record.key in refused:
                result.rejected[record.key] = refused[record.key]
            else:
                result.accepted.append(record.key)

    def _object_ids(self, batch: Sequence[SinkRecord]) -> tuple[dict[str, str], dict[str, str]]:
        """(helpdesk id -> HubSpot object id for the tickets HubSpot holds, helpdesk id ->
        reason for ids HubSpot refused to look up). Ids it does not hold are in neither."""
        key = self.config.id_property
        body = BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=r.key) for r in batch],
            id_property=key,
            properties=[key],  # to match each result to its helpdesk id
            properties_with_history=[],
        )
        response = self._send(self._batch.read, body)
        found = {
            str((obj.get("properties") or {}).get(key)): str(obj["id"])
            for obj in response.get("results") or []
            if obj.get("id")
        }
        refused: dict[str, str] = {}
        for error in response.get("errors") or []:
            if error.get("category") == NOT_FOUND:
                continue  # never synced, or already archived: nothing to do
            ids = (error.get("context") or {}).get("ids") or [r.key for r in batch]
            for ident in ids:
                refused[str(ident)] = str(error.get("message", error))
        return found, refused

    def _send(self, method: Any, body: Any) -> dict[str, Any]:
        """One paced batch request; the JSON body ({} when HubSpot sends none: 204)."""
        self.pacing.acquire()
        try:
            # The raw body: we need only ids and errors, and the client's model
            # deserialisation (a date parse per timestamp) costs more than the request.
            response = method(body, _request_timeout=self.config.timeout, _preload_content=False)
            return json.loads(response.data) if response.data else {}
        except ValueError:
            raise TransientError("HubSpot sent a response that is not JSON") from None
        except Exception as exc:
            raise translate(exc, self.config.base_url or "https://api.hubapi.com") from None

    def setup(self, dry_run: bool = False) -> list[str]:
        """Create the property group and custom ticket properties syncd writes, if missing."""
        properties = self.client.crm.properties
        try:
            existing = {p.name for p in properties.core_api.get_all("tickets").results}
            groups = {g.name for g in properties.groups_api.get_all("tickets").results}
        except Exception as exc:
            raise translate(exc, self.config.base_url or "https://api.hubapi.com") from None
        plan = []
        if GROUP not in groups:
            plan.append(("group", GROUP, ("syncd", "", "")))
        if self.config.id_property not in existing:
            plan.append(
                ("unique", self.config.id_property, ("Helpdesk ticket id", "string", "text"))
            )
        plan += [(n, n, spec) for n, spec in CUSTOM_PROPERTIES.items() if n not in existing]
        done = []
        for kind, name, (label, value_type, field_type) in plan:
            done.append(f"create {'property group' if kind == 'group' else 'property'} {name}")
            if dry_run:
                continue
            try:
                if kind == "group":
                    properties.groups_api.create(
                        "tickets", PropertyGroupCreate(name=name, label=label)
                    )
                else:
                    properties.core_api.create(
                        "tickets",
                        PropertyCreate(
                            name=name,
                            label=label,
                            type=value_type,
                            field_type=field_type,
                            group_name=GROUP,
                            has_unique_value=kind == "unique",
                        ),
                    )
            except Exception as exc:
                raise translate(exc, self.config.base_url or "https://api.hubapi.com") from None
        return done


def _iso(moment: datetime | None) -> str:
    # "" clears a HubSpot property, which is right when a target no longer applies.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def _fit(text: str) -> str:
    if len(text) <= MAX_VALUE:
        return text
    return text[: MAX_VALUE - len(TRUNCATED)] + TRUNCATED


def translate(exc: Exception, base: str) -> Exception:
    """A hubspot-api-client / urllib3 failure -> syncd's error tree."""
    status = getattr(exc, "status", None)
    body = str(getattr(exc, "body", "") or "")
    headers = getattr(exc, "headers", None) or {}
    if status in (401, 403):
        return CredentialsError(
            f"HubSpot refused the access token ({status})",
            where="hubspot.token_env",
            hint="Check the private app token and its scopes (tickets, crm.schemas.tickets)",
        )
    if status == 429 or (isinstance(status, int) and status >= 500):
        retry = retry_after_seconds(headers.get("Retry-After"))
        return TransientError(f"HubSpot answered {status}", retry_after=retry)
    if status == 0:  # the client's way of saying the connection failed (TLS)
        return TransientError(
            f"cannot reach HubSpot at {base}: {str(getattr(exc, 'reason', ''))[:200]}"
        )
    if isinstance(status, int) and "PROPERTY_DOESNT_EXIST" in body:
        return UserError(
            "HubSpot has no property that syncd writes",
            where="hubspot",
            hint=f"Run `syncd setup --config ...` once to create them ({body[:200]})",
        )
    if isinstance(status, int):
        return TerminalError(f"HubSpot rejected the batch ({status}): {body[:500]}")
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
        return TransientError(f"cannot reach HubSpot at {base}: {type(exc).__name__}")
    return exc
