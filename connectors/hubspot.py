"""HubSpot sink: batch upsert of ticket objects keyed by the helpdesk ticket id, each linked to
its requester's contact and its organization's company.

Tickets: `POST /crm/v3/objects/tickets/batch/upsert`, at most 100 inputs a request, idProperty
= a custom property with unique values, so a re-run updates instead of duplicating. Every
input carries an `objectWriteTraceId` (its helpdesk id), which asks HubSpot for multi-status
answers: a record it refuses (an option the portal does not have, a bad number or date) comes
back on its own (207), with the property named, and the rest of the batch is written in the
same request. A batch HubSpot still rejects as a whole (400) is split in halves until the bad
records stand alone. Before sending, the values of syncd's own typed properties (numbers,
datetimes) are checked, so a bad one is refused alone, naming the property; enumeration
options are the portal's own, so HubSpot judges those. Status and priority map
to a pipeline stage and `hs_ticket_priority` through `hubspot.stages` and
`hubspot.priorities` (defaults: HubSpot's Support Pipeline; `syncd setup` checks the stages).

Contacts, companies and associations (`hubspot.contacts`, `hubspot.companies`, both on by
default): the organization is upserted as a company by domain (adopting the company HubSpot
may already hold for it), then the requester as a contact by email, and the ticket associated
with both through the v4 batch endpoints; `hubspot_crm` says how. The contact and company a
ticket should have are part of its record's payload, so they are fingerprinted with it: a
cycle in which nothing changed sends HubSpot nothing at all. What each contact and company
last held and what each ticket is associated with are remembered in the state store (the
`CrmMemory` port, given by `remember_in`; kept in this process when there is no store), so a
ticket sent because something else changed (its status, say) costs its upsert and nothing
else, also after a restart; a changed requester name upserts the contact only, a new
organization moves the company association only.

A ticket that is written but cannot be linked (HubSpot refuses its requester's email, ...) is
reported as rejected, with a reason that says the ticket itself was written and what failed.
It goes to the dead-letter table and, its fingerprint not being saved, is sent again the next
time it changes or its timers come due; fixing the email in the helpdesk changes the payload,
so the contact and association follow on the next cycle. Other tickets of the batch are not
affected.

Gone tickets (merged, spam or deleted in the helpdesk) follow `hubspot.gone_tickets`:
- "mark" (default): upserted like the others, in the stage `stages` names for their status
  (a closed one; never the open stage), with `helpdesk_status` and no SLA state.
- "archive": the HubSpot object is archived. Archiving takes HubSpot's object id, so the ids
  are looked up first: `POST .../batch/read` with idProperty (up to 100 a request), then
  `POST .../batch/archive` for those found. A gone ticket HubSpot never had needs nothing.

Requests per write of n live and k gone tickets (b = batch_size, 100), with c requester
emails and kd + ko companies (by domain, by organization id) new or changed since syncd last
wrote them (kn of the kd domains never seen), t tickets whose association is new or moves (m
of them move), and u tickets HubSpot held that the memory does not know:
    ceil(n/b)                               ticket upserts
  + ceil(c/b) + ceil(kd/b) + ceil(ko/b)     contact and company upserts
  + ceil(kn/100), twice when any is adopted company searches (and adoptions: hubspot_crm)
  + 2*ceil(u/1000)                          association reads
  + at most 2*ceil(t/2000)                  association creates (2,000 a request)
  + at most 2*ceil(m/2000)                  removals of the previous association
  + with "archive", at most 2*ceil(k/b)     (one read, and one archive when any was found).
The floor of a first sync of n new tickets, c requesters and k organizations with domains
(HubSpot holding none of their companies yet) is ceil(n/b) + ceil(c/b) + ceil(k/b) +
ceil(k/100) + 2*ceil(n/2000): 3,000 tickets of 300 requesters in 60 companies cost
30 + 3 + 1 + 1 + 4 = 39 requests. A write of tickets whose requester and organization are
unchanged costs only the ticket upserts: ceil(n/b).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from hubspot import HubSpot
from hubspot.crm.tickets import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
)
from urllib3.util.retry import Retry

from connectors.hubspot_api import DEFAULT_BASE, HubSpotApi, translate
from connectors.hubspot_crm import (
    COMPANY,
    COMPANY_PROPERTIES,
    CONTACT,
    CrmLinks,
    ProcessMemory,
    TicketLink,
    company_spec,
    contact_spec,
)
from connectors.hubspot_setup import (
    GROUP,
    ScopeCheck,
    check_pipeline,
    check_scopes,
    create_properties,
    required_scopes,
)
from syncd.config import HubSpotConfig
from syncd.errors import TerminalError
from syncd.model import Decision, Status, Ticket
from syncd.ports import CrmMemory, SinkRecord, SinkResult
from syncd.ratelimit import RateLimiter
from syncd.retry import stop_requested, with_retry

T = TypeVar("T")

__all__ = ["CUSTOM_PROPERTIES", "GROUP", "HubSpotSink", "invalid_value", "translate"]

MAX_VALUE = 65_536  # HubSpot's limit on a property value, in characters
TRUNCATED = "… [truncated by syncd]"
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
    "syncd_incident": ("Incident (syncd)", "string", "text"),  # a risk flag: the incident id
    "helpdesk_status": ("Helpdesk status", "string", "text"),
    "helpdesk_url": ("Helpdesk link", "string", "text"),
}


class HubSpotSink:
    """HubSpot tickets, one per helpdesk ticket, linked to their contact and company."""

    name = "hubspot"

    def __init__(
        self,
        config: HubSpotConfig,
        token: str,
        attempts: int = 5,
        *,
        tasks: bool = False,
        notes: bool = False,
        memory: CrmMemory | None = None,
    ) -> None:
        """`tasks`, `notes`: whether `notifications.crm` writes them (for the scope check);
        `memory`: where contacts, companies and associations are remembered (see
        `remember_in`; default: this process)."""
        self.config = config
        self.attempts = attempts
        self._token = token
        self.activities = (tasks, notes)
        self.scope_check: ScopeCheck | None = None  # what the last `setup` found
        options: dict[str, Any] = {"access_token": token, "retry": Retry(total=0)}
        if config.base_url:
            options["host"] = config.base_url.rstrip("/")
        # urllib3 retries nothing here: syncd.retry is the one retry policy.
        self.client = HubSpot(**options)
        self._batch = self.client.crm.tickets.batch_api  # each access builds a new pool
        self.pacing = RateLimiter(config.requests_per_10s, 10.0)
        self.api = HubSpotApi(
            self.pacing, timeout=config.timeout, attempts=attempts, base=config.base_url
        )
        self.crm = CrmLinks(self.client, self.api, config.batch_size, memory or ProcessMemory())

    def remember_in(self, memory: CrmMemory) -> None:
        """Remember contacts, companies and associations in `memory` (the state store) from
        now on, so that what HubSpot holds is not sent again after a restart."""
        self.crm.memory = memory

    def stage_for(self, status: Status) -> str:
        """The pipeline stage id for a helpdesk status. A status missing from a hand-written
        `stages` falls back to the open stage, except a gone one: that goes to the closed
        stage, so it never looks like work to do."""
        stages = self.config.stages
        fallback = stages.get("closed", "4") if status.is_gone else stages.get("open", "1")
        return stages.get(status.value, fallback)

    def render(self, ticket: Ticket, decision: Decision) -> SinkRecord:
        """The ticket's HubSpot properties (all values strings, as the API stores them) and
        the contact and company to link it to, or, for a gone ticket with
        `gone_tickets: archive`, the request to archive it."""
        gone = ticket.status.is_gone
        if gone and self.config.gone_tickets == "archive":
            # Only the intent is fingerprinted: later edits of a gone ticket cost no request,
            # and a restored ticket's payload differs, so it is upserted (re-created) again.
            return SinkRecord(key=ticket.id, payload={ARCHIVE: True})
        # SLA clocks and escalations mean nothing for a ticket nobody will work on: cleared, so
        # a merged ticket never shows "ok" or "breached" against a due date.
        sla = None if gone else decision.sla
        payload: dict[str, Any] = {
            self.config.id_property: ticket.id,
            "subject": _fit(ticket.subject) or f"(no subject) #{ticket.id}",
            "content": _fit(ticket.description),
            "hs_pipeline": self.config.pipeline,
            "hs_pipeline_stage": self.stage_for(ticket.status),
            "hs_ticket_priority": self.config.priorities.get(decision.priority, "MEDIUM"),
            "syncd_category": decision.category,
            "syncd_priority": decision.priority,
            "syncd_sla_state": sla.state if sla else "",
            "syncd_first_response_due": _iso(sla.first_response.due if sla else None),
            "syncd_resolution_due": _iso(sla.resolution.due if sla else None),
            "syncd_escalation_level": "0" if gone else str(decision.escalation_level),
            "syncd_incident": decision.incident,
            "helpdesk_status": ticket.status.value,
            "helpdesk_url": ticket.url,
        }
        contact = contact_spec(ticket.requester) if self.config.contacts else None
        company = company_spec(ticket.organization) if self.config.companies else None
        if contact:
            payload[CONTACT] = contact
        if company:
            payload[COMPANY] = company
        return SinkRecord(key=ticket.id, payload=payload)

    def describe(self, records: Sequence[SinkRecord]) -> str:
        """What write() would send."""
        size = self.config.batch_size
        gone = sum(1 for r in records if r.payload.get(ARCHIVE))
        live = [r for r in records if not r.payload.get(ARCHIVE)]
        text = f"upsert {len(live)} tickets in {-(-len(live) // size)} batch request(s)"
        # Whether HubSpot already holds a ticket is not known without asking: counted as held.
        links = [TicketLink(r.key, r.key, False, *_parts(r)) for r in live]
        links = [link for link in links if link.contact or link.company]
        if links:
            contacts, companies, requests = self.crm.plan(links)
            text += (
                f"; link {len(links)} ticket(s) to {contacts} contact(s) and {companies} "
                f"compan{'y' if companies == 1 else 'ies'}: up to {requests} request(s) "
                "(contact and company upserts, association reads and creates)"
            )
        if gone:
            text += (
                f"; archive {gone} gone ticket(s): up to {2 * -(-gone // size)} request(s) "
                "(batch read of their HubSpot ids, batch archive)"
            )
        return text

    def write(self, records: Sequence[SinkRecord]) -> SinkResult:
        """Upsert live tickets, link them to their contact and company, and archive gone ones
        (`gone_tickets: archive`), in batches (request counts in the module docstring).
        Per-record failures are reported, not raised; a gone ticket HubSpot does not hold is
        accepted."""
        unique = list({r.key: r for r in records}.values())  # one input per id per batch
        live = [r for r in unique if not r.payload.get(ARCHIVE)]
        gone = [r for r in unique if r.payload.get(ARCHIVE)]
        result = SinkResult()
        written: dict[str, tuple[str, bool]] = {}  # helpdesk id -> (HubSpot id, created)
        size = self.config.batch_size
        checked = []
        for record in live:
            problem = invalid_value(record.payload)
            if problem:
                result.rejected[record.key] = problem
            else:
                checked.append(record)
        # A shutdown stops between batches: records not sent are neither accepted nor
        # rejected, and the pipeline queues them.
        for start in range(0, len(checked), size):
            if start and stop_requested():
                break
            self._write_batch(checked[start : start + size], result, written)
        self._link([r for r in checked if r.key in written], written, result)
        for start in range(0, len(gone), size):
            if stop_requested():
                break
            self._archive_batch(gone[start : start + size], result)
        return result

    # -- tickets -----------------------------------------------------------------------------

    def _write_batch(
        self,
        batch: Sequence[SinkRecord],
        result: SinkResult,
        written: dict[str, tuple[str, bool]],
    ) -> None:
        try:
            response = self.api.call(self._batch.upsert, self._upsert_body(batch))
        except TerminalError as exc:
            if len(batch) == 1:
                result.rejected[batch[0].key] = str(exc)
                return
            middle = len(batch) // 2
            self._write_batch(batch[:middle], result, written)
            self._write_batch(batch[middle:], result, written)
            return
        for obj in response.get("results") or []:
            key = (obj.get("properties") or {}).get(self.config.id_property)
            if key is not None and obj.get("id"):
                # `new` is HubSpot's "created by this upsert"; unknown counts as not new, which
                # only costs a read of associations it cannot have.
                written[str(key)] = (str(obj["id"]), obj.get("new") is True)
        refused = _refusals(response.get("errors") or [])
        for record in batch:
            if record.key in written:
                result.accepted.append(record.key)
            else:
                reason = refused.get(record.key) or refused.get("") or "HubSpot did not return it"
                result.rejected[record.key] = reason

    def _upsert_body(self, batch: Sequence[SinkRecord]) -> Any:
        # The api's own configuration: a model built without one makes a Configuration of
        # its own, a dozen logger calls per ticket (issue 17's profile).
        conf = self._batch.api_client.configuration
        inputs = [
            SimplePublicObjectBatchInputUpsert(
                id=r.key,
                id_property=self.config.id_property,
                properties=_properties(r.payload),
                object_write_trace_id=r.key,  # multi-status: a bad record fails alone
                local_vars_configuration=conf,
            )
            for r in batch
        ]
        return BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=inputs, local_vars_configuration=conf
        )

    # -- contacts, companies, associations ---------------------------------------------------

    def _link(
        self,
        records: Sequence[SinkRecord],
        written: Mapping[str, tuple[str, bool]],
        result: SinkResult,
    ) -> None:
        """Link written tickets to their contact and company; a ticket that cannot be linked
        moves from accepted to rejected, with the reason. The memory decides what is sent:
        nothing for a ticket whose requester and organization did not change."""
        links: list[TicketLink] = []
        for record in records:
            contact, company = _parts(record)
            if contact is None and company is None:
                continue  # the ticket names neither: what HubSpot has stays
            object_id, created = written[record.key]
            links.append(TicketLink(record.key, object_id, created, contact, company))
        if not links:
            return
        problems = self.crm.link(links)
        for key, problem in problems.items():
            result.rejected[key] = f"the HubSpot ticket was written but not linked: {problem}"
        if problems:
            result.accepted[:] = [key for key in result.accepted if key not in problems]

    # -- gone tickets --------------------------------------------------------------------

    def _archive_batch(self, batch: Sequence[SinkRecord], result: SinkResult) -> None:
        """Archive up to one batch of gone tickets: one read of their object ids, then one
        archive of those HubSpot holds (none when it holds none)."""
        try:
            found, refused = self._object_ids(batch)
            if found:
                body = BatchInputSimplePublicObjectId(
                    inputs=[SimplePublicObjectId(id=oid) for oid in found.values()]
                )
                # Archiving is idempotent (an archived id is ignored), so a retry is safe.
                self.api.call(self._batch.archive, body)
        except TerminalError as exc:
            for record in batch:
                result.rejected[record.key] = str(exc)
            return
        for record in batch:
            if record.key in refused:
                result.rejected[record.key] = refused[record.key]
            else:
                result.accepted.append(record.key)
        # An archived ticket restored later is created anew, with no associations.
        self.crm.memory.forget_crm_links(None, [r.key for r in batch if r.key not in refused])

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
        response = self.api.call(self._batch.read, body)
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

    # -- setup ---------------------------------------------------------------------------

    def setup(self, dry_run: bool = False) -> list[str]:
        """Check the pipeline and stages (ConfigError naming `hubspot.stages.<status>` when
        one is wrong) and create the property groups and properties syncd writes, if missing.
        Idempotent; with `dry_run` nothing is created and the plan is returned. First the
        token's scopes are checked (CredentialsError naming those missing; `scope_check`
        holds the outcome; legacy `tickets` or granular scopes, named in the form the token's
        app uses). A property syncd writes that exists in another type, or without unique
        values where it keys upserts, is a ConfigError saying what to do."""
        tasks, notes = self.activities

        def needs(granular: bool) -> dict[str, str]:
            return required_scopes(self.config, tasks=tasks, notes=notes, granular=granular)

        base = self.config.base_url or DEFAULT_BASE
        # Each step is retried like every other call (429s and 5xx); each is safe to repeat,
        # since create_properties reads what exists before it creates anything.
        self.scope_check = self._retried(
            lambda: check_scopes(self._token, base, self.config.timeout, needs)
        )
        self._retried(lambda: check_pipeline(self.client, self.config, self.stage_for))
        tickets = {
            self.config.id_property: ("Helpdesk ticket id", "string", "text"),
            **CUSTOM_PROPERTIES,
        }
        wanted = [("tickets", "", tickets, {self.config.id_property})]
        if self.config.companies:
            wanted.append(("companies", "company", COMPANY_PROPERTIES, set(COMPANY_PROPERTIES)))
        return self._retried(lambda: create_properties(self.client, self.config, wanted, dry_run))

    def _retried(self, call: Callable[[], T]) -> T:
        return with_retry(call, api="hubspot", attempts=self.attempts)


def invalid_value(payload: Mapping[str, Any]) -> str | None:
    """Why HubSpot would refuse a value of one of syncd's typed properties (numbers,
    datetimes), naming the property; None when every value fits its type. "" clears a
    value and always fits."""
    for name, (_label, kind, _field) in CUSTOM_PROPERTIES.items():
        value = payload.get(name)
        if value in (None, ""):
            continue
        text = str(value)
        if kind == "number":
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                return f"property {name} ({kind}): {text!r} is not a number"
        elif kind == "datetime":
            try:
                datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return f"property {name} ({kind}): {text!r} is not an ISO 8601 time"
    return None


def _refusals(errors: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """helpdesk id -> why HubSpot refused that input, from a multi-status answer's `errors`
    (each names its input by objectWriteTraceId); "" holds errors naming no input."""
    refused: dict[str, str] = {}
    for error in errors:
        reason = _reason(error)
        traces = (error.get("context") or {}).get("objectWriteTraceId") or [""]
        for trace in traces:
            refused[str(trace)] = "; ".join(filter(None, [refused.get(str(trace)), reason]))
    return refused


def _reason(error: Mapping[str, Any]) -> str:
    """One refusal in words, naming each property HubSpot found wrong."""
    parts = []
    for item in error.get("errors") or []:
        names = (item.get("context") or {}).get("propertyName") or []
        message = str(item.get("message") or item.get("code") or "")
        parts.append(f"property {', '.join(names)}: {message}" if names else message)
    return "; ".join(p for p in parts if p) or str(error.get("message") or error)


def _properties(payload: Mapping[str, Any]) -> dict[str, Any]:
    # The ticket's own properties: payload keys with a colon are syncd's, not HubSpot's.
    return {name: value for name, value in payload.items() if ":" not in name}


def _parts(record: SinkRecord) -> tuple[Any, Any]:
    """(contact, company) a ticket record names (None for each it does not)."""
    return record.payload.get(CONTACT) or None, record.payload.get(COMPANY) or None


def _iso(moment: datetime | None) -> str:
    # "" clears a HubSpot property, which is right when a target no longer applies.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def _fit(text: str) -> str:
    if len(text) <= MAX_VALUE:
        return text
    return text[: MAX_VALUE - len(TRUNCATED)] + TRUNCATED
