"""The rules' actions in HubSpot: `task:` actions become HubSpot tasks, and every escalation
level a ticket reaches leaves a note on the HubSpot ticket's timeline.

A task (`POST /crm/v3/objects/tasks`, associations inline, so one request makes and links it):
- hs_task_subject: the action's text; hs_task_body: where it comes from, and the ticket link;
- hubspot_owner_id: the HubSpot owner whose email is the action's `owner` (`GET /crm/v3/owners
  ?email=`, cached). An owner HubSpot does not know leaves the task unassigned (logged once):
  a task nobody owns yet is better than no task;
- hs_timestamp (the due date): now + the action's `due_in`; hs_task_status NOT_STARTED;
  hs_task_priority from the HubSpot ticket's priority;
- associated with the HubSpot ticket (type 230) and, when HubSpot has the requester as a
  contact, with that contact (204): the ticket's one associated contact (the HubSpot sink
  links the requester), else the contact with the requester's email; none while HubSpot has
  no such contact (not an error: the task matters more than the link).

A note (`POST /crm/v3/objects/notes`, associated with the ticket, 228): one per escalation
level, written with the level's first action, whatever that action is (see `wants`). One per
level rather than one per notify action: a level with Slack, an email and a task still reads
as one event on the timeline ("escalated to Team lead"), and a level whose notifications are
all switched off still shows. Its key is that first action's key, so the pipeline's
once-per-ticket-and-key record keeps it to one note per level; `syncd.notifiers` keeps the
note and the action's own notification apart when one of them fails.

The HubSpot ticket is found by the unique helpdesk-id property
(`GET /crm/v3/objects/tickets/{id}?idProperty=helpdesk_ticket_id`). When HubSpot does not
have it yet (the sink failed or lags), the action fails with a TransientError and the pipeline
tries it again next cycle: the task is late, never lost.

Requests: a task costs 1 (create) + 1 to find the ticket (with its contacts) + 1 per owner,
plus 1 to find the requester's contact by email when the ticket has no single contact. The
lookups are cached (tickets and contacts for ten minutes, owners for the process), so a
ticket's task and notes in one cycle share one ticket lookup. A note costs 1, plus the ticket
lookup when not cached. Requests are paced to `hubspot.requests_per_10s`.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from hubspot import HubSpot
from hubspot.crm.objects.notes import AssociationSpec as NoteAssociationSpec
from hubspot.crm.objects.notes import PublicAssociationsForObject as NoteAssociations
from hubspot.crm.objects.notes import PublicObjectId as NoteObjectId
from hubspot.crm.objects.notes import SimplePublicObjectInputForCreate as NoteInput
from hubspot.crm.objects.tasks import (
    AssociationSpec,
    PublicAssociationsForObject,
    PublicObjectId,
    SimplePublicObjectInputForCreate,
)
from urllib3.util.retry import Retry

from connectors.hubspot import translate
from connectors.hubspot_crm import company_key, company_spec
from syncd.config import HubSpotConfig
from syncd.errors import CredentialsError, SyncdError, TerminalError, TransientError, error_for
from syncd.model import Action, Decision, Ticket
from syncd.ratelimit import RateLimiter
from syncd.retry import with_retry

log = structlog.get_logger("syncd.hubspot_tasks")

# HubSpot-defined association type ids (associations v4 guide, "Association type ID values").
TASK_TO_TICKET = 230
TASK_TO_CONTACT = 204
NOTE_TO_TICKET = 228
NOTE_TO_COMPANY = 190
# The target of a note on the ticket's company (an incident's affected customers:
# syncd.incident_stage names the same target).
COMPANY_NOTE = "hubspot:company"
# hs_ticket_priority -> hs_task_priority (tasks know no URGENT)
TASK_PRIORITY = {"URGENT": "HIGH", "HIGH": "HIGH", "MEDIUM": "MEDIUM", "LOW": "LOW"}
CACHE_SECONDS = 600.0  # how long a ticket's or contact's HubSpot id is trusted without a look
HUBSPOT = "https://api.hubapi.com"
MAX_TEXT = 65_536  # HubSpot's limit on a property value
GONE = "skipped: the ticket is merged, spam or deleted"


class _NotFound(Exception):
    """HubSpot answered 404 for a read."""


class CreateFailed(SyncdError):
    """A create failed in a way that may have created the record anyway (5xx, timeout): not
    retried at once, so that a lost answer makes no twin; the pipeline tries the action again
    next cycle."""


@dataclass(frozen=True, slots=True)
class CrmTicket:
    """What the activities need of the HubSpot ticket."""

    id: str
    priority: str  # hs_ticket_priority ("" when unset)
    contacts: tuple[str, ...] = ()  # contacts associated with the ticket


class HubSpotActivities:
    """Tasks for `task:` actions and a timeline note per escalation level, in HubSpot."""

    name = "hubspot"  # how `syncd.notifiers` names this one's share of an action

    def __init__(
        self,
        config: HubSpotConfig,
        token: str,
        *,
        tasks: bool = True,
        notes: bool = True,
        attempts: int = 5,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.tasks = tasks
        self.notes = notes
        self.attempts = attempts
        self.clock = clock
        self.base = (config.base_url or HUBSPOT).rstrip("/")
        options: dict[str, Any] = {"access_token": token, "retry": Retry(total=0)}
        if config.base_url:
            options["host"] = self.base
        client = HubSpot(**options)  # urllib3 retries nothing: syncd.retry is the one policy
        # Each attribute access builds a new API object and pool: keep one of each.
        self._tickets_api = client.crm.tickets.basic_api
        self._contacts_api = client.crm.contacts.basic_api
        self._owners_api = client.crm.owners.owners_api
        self._tasks_api = client.crm.objects.tasks.basic_api
        self._notes_api = client.crm.objects.notes.basic_api
        self._companies_api = client.crm.companies.basic_api
        # The sink paces to the same budget; it writes before any action is carried out, so
        # the two rarely share a 10-second window, and a 429 is retried after Retry-After.
        self.pacing = RateLimiter(config.requests_per_10s, 10.0)
        self._ticket_ids: dict[str, tuple[float, CrmTicket]] = {}
        self._contact_ids: dict[str, tuple[float, str]] = {}
        self._owner_ids: dict[str, str | None] = {}

    # -- Notifier: tasks -------------------------------------------------------------------

    def deliver(self, ticket: Ticket, action: Action, text: str, decision: Decision) -> str | None:
        """Create the HubSpot task for a `task:` action, or the note on the ticket's company
        for a `notify: hubspot:company` one; None for any other action."""
        if action.kind == "notify" and action.target == COMPANY_NOTE:
            return self._company_note(ticket, action, text) if self.notes else None
        if action.kind != "task" or not self.tasks:
            return None
        if ticket.status.is_gone:  # nobody works on it; HubSpot may have archived it
            return GONE
        crm = self._ticket(ticket)
        owner = self._owner(action.target)
        contact = self._contact(ticket, crm)
        due = self.clock() + (action.due_in or timedelta(0))
        properties = {
            "hs_task_subject": _fit(text or f"{action.origin}: #{ticket.id} {ticket.subject}"),
            "hs_task_body": _fit(_body(ticket, action)),
            "hs_timestamp": _iso(due),
            "hs_task_status": "NOT_STARTED",
            "hs_task_priority": TASK_PRIORITY.get(crm.priority, "NONE"),
            "hs_task_type": "TODO",
        }
        if owner:
            properties["hubspot_owner_id"] = owner
        links = [_task_link(crm.id, TASK_TO_TICKET)]
        if contact:
            links.append(_task_link(contact, TASK_TO_CONTACT))
        body = SimplePublicObjectInputForCreate(properties=properties, associations=links)
        created = self._create(self._tasks_api, body, ticket)
        assignee = f"owner {owner}" if owner else f"nobody ({action.target or 'no owner'})"
        return f"HubSpot task {created} on ticket {crm.id} for {assignee}, due {_iso(due)}"

    # -- Companion: a note per escalation level --------------------------------------------

    def wants(self, action: Action) -> bool:
        """True for the first action of an escalation level (key "escalation:<ladder>:<level>:0"):
        the one that carries the level's note."""
        return self.notes and action.key.startswith("escalation:") and action.key.endswith(":0")

    def annotate(self, ticket: Ticket, action: Action, text: str, decision: Decision) -> str:
        """Write the level's note on the HubSpot ticket's timeline; returns the outcome."""
        if ticket.status.is_gone:
            return GONE
        crm = self._ticket(ticket)
        now = self.clock()
        lines = [f"<p><strong>{html.escape(_level_title(action))}</strong></p>"]
        if text:
            lines.append(f"<p>{html.escape(text.strip())}</p>")
        lines.append(f"<p>{_link(ticket)}</p><p>Rule: {html.escape(action.where)}</p>")
        links = [
            NoteAssociations(
                to=NoteObjectId(id=crm.id),
                types=[
                    NoteAssociationSpec(
                        association_category="HUBSPOT_DEFINED",
                        association_type_id=NOTE_TO_TICKET,
                    )
                ],
            )
        ]
        properties = {"hs_note_body": _fit("".join(lines)), "hs_timestamp": _iso(now)}
        body = NoteInput(properties=properties, associations=links)
        created = self._create(self._notes_api, body, ticket)
        return f"HubSpot note {created} on ticket {crm.id}"

    # -- a note on the company ---------------------------------------------------------------

    def _company_note(self, ticket: Ticket, action: Action, text: str) -> str:
        """A note on the timeline of the ticket's company (found by the key the HubSpot sink
        upserts it by); TransientError while HubSpot lacks the company."""
        spec = company_spec(ticket.organization)
        if spec is None or not self.config.companies:
            return "skipped: no HubSpot company (hubspot.companies is off or no organization)"
        prop, value = company_key(spec)
        try:
            found = self._read(
                lambda: self._companies_api.get_by_id(
                    value, properties=["name"], id_property=prop, **self._options()
                )
            )
        except _NotFound:
            raise TransientError(
                f"the company of ticket #{ticket.id} is not in HubSpot yet; the note is "
                "written next cycle"
            ) from None
        company = str(found["id"])
        body = (
            f"<p><strong>{html.escape(action.origin[:1].upper() + action.origin[1:])}"
            f"</strong></p><p>{html.escape(text.strip())}</p><p>{_link(ticket)}</p>"
        )
        links = [
            NoteAssociations(
                to=NoteObjectId(id=company),
                types=[
                    NoteAssociationSpec(
                        association_category="HUBSPOT_DEFINED",
                        association_type_id=NOTE_TO_COMPANY,
                    )
                ],
            )
        ]
        properties = {"hs_note_body": _fit(body), "hs_timestamp": _iso(self.clock())}
        created = self._create(
            self._notes_api, NoteInput(properties=properties, associations=links), ticket
        )
        return f"HubSpot note {created} on company {company}"

    # -- lookups ---------------------------------------------------------------------------

    def _ticket(self, ticket: Ticket) -> CrmTicket:
        """The HubSpot ticket of a helpdesk ticket; TransientError while HubSpot lacks it."""
        cached = self._ticket_ids.get(ticket.id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            found = self._read(
                lambda: self._tickets_api.get_by_id(
                    ticket.id,
                    properties=["hs_ticket_priority"],
                    associations=["contacts"],
                    id_property=self.config.id_property,
                    **self._options(),
                )
            )
        except _NotFound:
            self._ticket_ids.pop(ticket.id, None)
            raise TransientError(
                f"ticket #{ticket.id} is not in HubSpot yet (the HubSpot sink has not written "
                "it); the action is tried again next cycle"
            ) from None
        props = found.get("properties") or {}
        linked = ((found.get("associations") or {}).get("contacts") or {}).get("results") or []
        crm = CrmTicket(
            str(found["id"]),
            str(props.get("hs_ticket_priority") or ""),
            tuple(dict.fromkeys(str(c["id"]) for c in linked if c.get("id"))),
        )
        self._ticket_ids[ticket.id] = (time.monotonic() + CACHE_SECONDS, crm)
        return crm

    def _contact(self, ticket: Ticket, crm: CrmTicket) -> str | None:
        """The requester's HubSpot contact id, or None while HubSpot has no such contact.
        The HubSpot sink links each ticket to its requester's contact: a ticket with exactly
        one contact needs no lookup. Otherwise the contact is looked up by email."""
        if len(crm.contacts) == 1:
            return crm.contacts[0]
        email = (ticket.requester.email if ticket.requester else "").strip().lower()
        if not email:
            return None
        cached = self._contact_ids.get(email)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            found = self._read(
                lambda: self._contacts_api.get_by_id(
                    email, properties=["email"], id_property="email", **self._options()
                )
            )
        except _NotFound:
            # Not cached: the contact may be created by a later sync, and then it is linked.
            return None
        contact = str(found["id"])
        self._contact_ids[email] = (time.monotonic() + CACHE_SECONDS, contact)
        return contact

    def _owner(self, email: str) -> str | None:
        """The owner id of a HubSpot user by email; None (logged once) when there is none."""
        key = email.strip().lower()
        if key in self._owner_ids:
            return self._owner_ids[key]
        owner = None
        if "@" in key:
            found = self._read(
                lambda: self._owners_api.get_page(
                    email=key, limit=10, archived=False, **self._options()
                )
            )
            matches = [
                o for o in found.get("results") or [] if str(o.get("email", "")).lower() == key
            ]
            owner = str(matches[0]["id"]) if matches else None
        if owner is None:
            log.warning(
                "task owner unknown to HubSpot: tasks stay unassigned",
                owner=email or "(none)",
                hint="Give the rule's `owner:` the email of a HubSpot user",
            )
        self._owner_ids[key] = owner
        return owner

    # -- plumbing --------------------------------------------------------------------------

    def _options(self) -> dict[str, Any]:
        # The raw body: only ids and a priority are needed, not the client's models.
        return {"_request_timeout": self.config.timeout, "_preload_content": False}

    def _read(self, call: Callable[[], Any]) -> dict[str, Any]:
        """A paced, retried read; _NotFound for a 404."""
        return with_retry(lambda: self._send(call), api="hubspot", attempts=self.attempts)

    def _create(self, api: Any, body: Any, ticket: Ticket) -> str:
        """Create one task or note; its HubSpot id. Only a 429 is retried at once (HubSpot
        refused it unprocessed); see CreateFailed for the rest."""
        try:
            created = with_retry(
                lambda: self._send(lambda: api.create(body, **self._options()), create=True),
                api="hubspot",
                attempts=self.attempts,
            )
        except _NotFound:
            raise error_for("HubSpot", 404, "a create") from None
        except TerminalError:
            # A ticket archived since it was cached cannot be linked: look it up again.
            self._ticket_ids.pop(ticket.id, None)
            raise
        return str(created.get("id", "?"))

    def _send(self, call: Callable[[], Any], create: bool = False) -> dict[str, Any]:
        self.pacing.acquire()
        try:
            response = call()
            return json.loads(response.data) if response.data else {}
        except ValueError:
            if create:  # created, most likely: the id is unknown, but making a twin is worse
                return {}
            raise TransientError("HubSpot sent a response that is not JSON") from None
        except Exception as exc:
            status = getattr(exc, "status", None)
            if status == 404:
                raise _NotFound() from None
            error = translate(exc, self.base)
            if create and isinstance(error, TransientError) and status != 429:
                raise CreateFailed(f"{error} (tried again next cycle)") from None
            if isinstance(error, CredentialsError):
                error = CredentialsError(
                    error.message,
                    where=error.where,
                    hint="Tasks and notes need the scopes crm.objects.contacts.read/write and "
                    "crm.objects.owners.read besides the tickets scopes",
                    vendor=error.vendor,
                    status=error.status,
                )
            raise error from None


def _task_link(object_id: str, type_id: int) -> PublicAssociationsForObject:
    return PublicAssociationsForObject(
        to=PublicObjectId(id=object_id),
        types=[
            AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=type_id)
        ],
    )


def _level_title(action: Action) -> str:
    # "escalation level 2 (Team lead)" -> "Escalation level 2 (Team lead) reached"
    origin = action.origin or action.key
    return f"{origin[:1].upper()}{origin[1:]} reached"


def _body(ticket: Ticket, action: Action) -> str:
    origin = html.escape(action.origin)
    subject = html.escape(ticket.subject)
    return (
        f"<p>{origin}: #{html.escape(ticket.id)} {subject}</p><p>{_link(ticket)}</p>"
        f"<p>Created by syncd from the rule at {html.escape(action.where)}</p>"
    )


def _link(ticket: Ticket) -> str:
    if not ticket.url:
        return f"Helpdesk ticket #{html.escape(ticket.id)}"
    url = html.escape(ticket.url, quote=True)
    return f'<a href="{url}">{url}</a>'


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _fit(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
