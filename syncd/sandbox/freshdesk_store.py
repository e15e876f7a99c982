"""The Freshdesk emulator's records and their rules, without HTTP (see `freshdesk` for the API).

`FreshdeskStore` holds tickets, contacts, companies, conversations and satisfaction ratings,
and implements what the API does to them: field validation with Freshdesk's error shapes,
status changes that keep the ticket `stats` consistent, soft delete and restore, spam, merge.
`FreshdeskApp` (in `freshdesk`) serves it over HTTP. Doc references ([View], [Upd], [Merge],
...) are the sections of https://developers.freshdesk.com/api/ listed in `freshdesk`'s
docstring, which also lists what is inferred rather than documented.

Records are stored in API form (ISO timestamps) plus private keys starting with "_": epoch
seconds for sorting (`_c`, `_u`, `_d`), `_deleted` and `_stats`. `_render` strips them.
"""

from __future__ import annotations

import html
import re
import threading
import time
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from syncd.sandbox import freshdesk_data as data
from syncd.sandbox import freshdesk_sla as sla
from syncd.sandbox.freshdesk_data import CLOSED, OPEN, PENDING, RESOLVED
from syncd.sandbox.server import clone

WRITABLE = {
    "subject", "description", "status", "priority", "source", "type", "tags", "responder_id",
    "group_id", "company_id", "requester_id", "custom_fields", "due_by", "fr_due_by",
    "product_id", "email_config_id",
}  # fmt: skip
CREATE_ONLY = {"cc_emails", "created_at", "updated_at", "spam"}
LIST_FIELDS = ("cc_emails", "fwd_emails", "reply_cc_emails", "ticket_cc_emails", "tags")
# Private record keys, see module docstring; _hist (status history), _due (SLA due times as
# epochs) and _manual (due fields set by hand) keep Freshdesk's own SLA (freshdesk_sla).
HIDDEN = ("_c", "_u", "_d", "_deleted", "_stats", "_hist", "_due", "_manual")
STATS_KEYS = (
    "agent_responded_at", "requester_responded_at", "first_responded_at", "status_updated_at",
    "reopened_at", "resolved_at", "closed_at", "pending_since",
)  # fmt: skip


class FreshdeskError(ValueError):
    """A request Freshdesk would refuse with 400 "Validation failed"."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e.get('field')}: {e['message']}" for e in errors))
        self.errors = errors


def field_error(field: str, message: str, code: str = "invalid_value") -> dict[str, str]:
    return {"field": field, "message": message, "code": code}


def iso(epoch: float) -> str:
    """Freshdesk's timestamp format: ISO-8601 UTC, whole seconds, `Z` suffix."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


def to_epoch(value: float | str | datetime) -> int:
    """Whole epoch seconds from a number, an ISO-8601 string (date alone too) or a datetime."""
    if isinstance(value, datetime):
        return int((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())
    if isinstance(value, str):
        return to_epoch(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    return int(value)


def _epoch(value: Any) -> int | None:
    return to_epoch(value) if value else None


def to_html(text: str) -> str:
    """Plain text as the HTML Freshdesk keeps in description and body."""
    return f"<div>{html.escape(text)}</div>"


def _text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup)).strip()


class TicketIndex:
    """Ticket ids sorted by (created, id) and (updated, id), per visibility bucket.

    Buckets: "live", "spam", "deleted" ([List]: the default list excludes the other two). A
    list request bisects to its time floor and slices, instead of sorting every ticket.
    """

    def __init__(self) -> None:
        self.lists: dict[tuple[str, str], list[tuple[int, int]]] = {
            (bucket, field): [] for bucket in ("live", "spam", "deleted") for field in "cu"
        }
        self.keys: dict[int, tuple[str, int, int]] = {}
        self.version = 0  # bumped on every change; invalidates cached orderings

    def put(self, tid: int, bucket: str, created: int, updated: int, bulk: bool = False) -> None:
        """(Re)index a ticket; `bulk` appends unsorted (call `resort` afterwards)."""
        self.drop(tid)
        self.keys[tid] = (bucket, created, updated)
        for field, value in (("c", created), ("u", updated)):
            keys = self.lists[bucket, field]
            if bulk:
                keys.append((value, tid))
            else:
                insort(keys, (value, tid))
        self.version += 1

    def drop(self, tid: int) -> None:
        """Remove a ticket's keys, if indexed."""
        old = self.keys.pop(tid, None)
        if old is None:
            return
        bucket, created, updated = old
        for field, value in (("c", created), ("u", updated)):
            keys = self.lists[bucket, field]
            del keys[bisect_left(keys, (value, tid))]

    def resort(self) -> None:
        """Restore order after bulk puts."""
        for keys in self.lists.values():
            keys.sort()


class FreshdeskStore:
    """In-memory Freshdesk account data and the Python API tests use to shape it."""

    def __init__(self, domain: str = "acme", clock: Callable[[], float] = time.time) -> None:
        self.domain = domain
        self.clock = clock
        self._lock = threading.RLock()  # handlers run under the server's lock; Python API too
        self._tickets: dict[int, dict[str, Any]] = {}
        self._conversations: dict[int, list[dict[str, Any]]] = {}
        self._contacts: dict[int, dict[str, Any]] = {}
        self._companies: dict[int, dict[str, Any]] = {}
        self._ratings: dict[int, dict[str, Any]] = {}
        self._rating_keys: list[tuple[int, int]] = []  # (created, id), sorted
        self._contact_by_email: dict[str, int] = {}
        self._company_by_name: dict[str, int] = {}
        self._index = TicketIndex()
        # Freshdesk's own SLA: the default policy on calendar hours (freshdesk_data.SLA_HOURS)
        # until `configure_sla` sets another (business hours, groups' own hours).
        self.sla = sla.SlaSetup(
            {p: sla.Targets(fr * 60, due * 60) for p, (fr, due) in data.SLA_HOURS.items()}
        )
        self._agents = {aid: {"id": aid, "name": n, "email": e} for aid, n, e in data.AGENTS}
        # Distinct id ranges per kind, so a client mixing up ids gets a 404, not a wrong record.
        self._next_id = {"ticket": 1, "contact": 47_000_000_001, "company": 48_000_000_001,
                         "rating": 49_000_000_001, "conversation": 50_000_000_001}  # fmt: skip

    def add_company(
        self,
        name: str,
        domains: Iterable[str] = (),
        *,
        description: str | None = None,
        industry: str | None = None,
        account_tier: str | None = None,
        custom_fields: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create a company; names are unique."""
        with self._lock:
            if name in self._company_by_name:
                raise ValueError(f"company {name!r} exists")
            cid, now = self._take_id("company"), iso(self.clock())
            self._companies[cid] = {
                "id": cid, "name": name, "description": description, "note": None,
                "domains": list(domains), "custom_fields": dict(custom_fields or {}),
                "health_score": None, "account_tier": account_tier, "renewal_date": None,
                "industry": industry, "created_at": now, "updated_at": now,
            }  # fmt: skip
            self._company_by_name[name] = cid
            return clone(self._companies[cid])

    def add_contact(
        self,
        name: str,
        email: str,
        company_id: int | None = None,
        *,
        phone: str | None = None,
        mobile: str | None = None,
        custom_fields: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create a contact (a requester); emails are unique."""
        with self._lock:
            if email.lower() in self._contact_by_email:
                raise ValueError(f"contact {email!r} exists")
            if company_id is not None and company_id not in self._companies:
                raise ValueError(f"no company {company_id}")
            uid, now = self._take_id("contact"), iso(self.clock())
            self._contacts[uid] = {
                "active": True, "address": None, "company_id": company_id,
                "view_all_tickets": False, "deleted": False, "description": None,
                "email": email, "id": uid, "job_title": None, "language": "en",
                "mobile": mobile, "name": name, "phone": phone,
                "time_zone": "Eastern Time (US & Canada)", "twitter_id": None,
                "unique_external_id": None, "other_emails": [], "other_companies": [],
                "custom_fields": dict(custom_fields or {}), "tags": [], "avatar": None,
                "created_at": now, "updated_at": now,
            }  # fmt: skip
            self._contact_by_email[email.lower()] = uid
            return clone(self._contacts[uid])

    def add_ticket(
        self,
        subject: str,
        description: str = "",
        requester_email: str | None = None,
        requester_name: str | None = None,
        company: str | int | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Create a ticket, creating its requester and company when new.

        `company` is a name (created on the fly, its domain taken from the requester's email)
        or an id. `fields` takes the writable fields in API form (status=2..5, priority=1..4,
        source, type, tags, responder_id, group_id, custom_fields={"cf_plan": "Pro"}, ...)
        plus cc_emails, spam and created_at/updated_at (epoch, ISO or datetime; default now).
        Raises FreshdeskError for values the API would refuse.
        """
        unknown = set(fields) - WRITABLE - CREATE_ONLY
        if unknown:
            raise TypeError(f"unknown ticket fields: {sorted(unknown)}")
        with self._lock:
            now = int(self.clock())
            created = to_epoch(fields.pop("created_at", now))
            updated = to_epoch(fields.pop("updated_at", max(created, now)))
            if not created <= updated <= now:
                raise ValueError("timestamps must satisfy created_at <= updated_at <= now")
            changes, errors = self._validate(fields, create=True)
            if errors:
                raise FreshdeskError(errors)
            company_id = self._ensure_company(company, requester_email)
            requester = changes.pop("requester_id", None) or self._ensure_contact(
                requester_email, requester_name, company_id
            )
            if company_id is None:
                company_id = self._contacts[requester]["company_id"]
            tid, priority = self._take_id("ticket"), changes.get("priority", 1)
            t = self._record(tid, subject, requester, company_id, created, priority)
            t["description"], t["description_text"] = to_html(description), description
            t["cc_emails"] = list(fields.get("cc_emails", []))
            t["spam"] = bool(fields.get("spam", False))
            self._apply(t, changes, created)
            self._save(t, updated)
            return self._full(t)

    def update_ticket(self, ticket_id: int, *, at: Any = None, **changes: Any) -> dict[str, Any]:
        """Change writable fields as PUT /tickets/{id} would (API values; FreshdeskError)."""
        with self._lock:
            t = self._live(ticket_id)
            when = self._when(at)
            clean, errors = self._validate(changes)
            if errors:
                raise FreshdeskError(errors)
            if self._apply(t, clean, when):
                self._save(t, when)
            return self._full(t)

    def reply(
        self,
        ticket_id: int,
        body: str = "Thanks, we are on it.",
        *,
        at: Any = None,
        markup: str | None = None,
    ) -> dict[str, Any]:
        """A public agent reply: sets agent_responded_at and, the first time, first_responded_at.
        `markup` is the reply's HTML as the API takes it (then `body` is ignored)."""
        with self._lock:
            t, when = self._live(ticket_id), self._when(at)
            stats = t["_stats"]
            stats["agent_responded_at"] = iso(when)
            if stats["first_responded_at"] is None:
                stats["first_responded_at"] = iso(when)
            user = t["responder_id"] or data.API_AGENT_ID
            self._add_conversation(t, body, when, user, note=False, markup=markup)
            self._save(t, when)
            return self._full(t)

    def customer_reply(
        self, ticket_id: int, body: str = "Any news?", *, at: Any = None
    ) -> dict[str, Any]:
        """A requester reply: sets requester_responded_at and reopens a non-open ticket."""
        with self._lock:
            t, when = self._live(ticket_id), self._when(at)
            t["_stats"]["requester_responded_at"] = iso(when)
            self._add_conversation(t, body, when, t["requester_id"], note=False, incoming=True)
            self._set_status(t, OPEN, when)  # a customer reply moves any status back to Open
            self._save(t, when)
            return self._full(t)

    def add_note(
        self, ticket_id: int, body: str, *, private: bool = True, at: Any = None
    ) -> dict[str, Any]:
        """An agent note (not a reply: response stats are unchanged)."""
        with self._lock:
            t, when = self._live(ticket_id), self._when(at)
            self._add_conversation(t, body, when, data.API_AGENT_ID, note=True, private=private)
            self._save(t, when)
            return self._full(t)

    def resolve(self, ticket_id: int, *, at: Any = None) -> dict[str, Any]:
        """Set status Resolved (4)."""
        return self.update_ticket(ticket_id, at=at, status=RESOLVED)

    def close(self, ticket_id: int, *, at: Any = None) -> dict[str, Any]:
        """Set status Closed (5)."""
        return self.update_ticket(ticket_id, at=at, status=CLOSED)

    def reopen(self, ticket_id: int, *, at: Any = None) -> dict[str, Any]:
        """Set status Open (2): a resolved or closed ticket gets reopened_at."""
        return self.update_ticket(ticket_id, at=at, status=OPEN)

    def merge(
        self,
        primary_id: int,
        ticket_ids: Iterable[int],
        *,
        note_in_primary: dict[str, Any] | None = None,
        note_in_secondary: dict[str, Any] | None = None,
        convert_recepients_to_cc: bool = False,
    ) -> dict[str, Any]:
        """Merge tickets into `primary_id` as PUT /tickets/merge does; returns the primary."""
        body: dict[str, Any] = {
            "primary_id": primary_id,
            "ticket_ids": list(ticket_ids),
            "convert_recepients_to_cc": convert_recepients_to_cc,
        }
        if note_in_primary is not None:
            body["note_in_primary"] = note_in_primary
        if note_in_secondary is not None:
            body["note_in_secondary"] = note_in_secondary
        with self._lock:
            errors = self._do_merge(body, int(self.clock()))
            if errors:
                raise FreshdeskError(errors)
            return self._full(self._tickets[primary_id])

    def garble(self, ticket_id: int, **raw: Any) -> None:
        """Fault injection: store raw field values as they are (no validation, no new
        version, updated_at and the listing order untouched), so the API serves the ticket
        as a client may one day meet it (a broken time, a wrong type); the same call with
        good values repairs it, again without a new version."""
        with self._lock:
            self._live(ticket_id).update(raw)

    def delete_ticket(self, ticket_id: int) -> None:
        """Soft delete ([Del]): listed only under filter=deleted, still viewable."""
        with self._lock:
            t = self._live(ticket_id)
            t["_deleted"] = True
            self._save(t, int(self.clock()))

    def restore_ticket(self, ticket_id: int) -> None:
        """Undo a soft delete."""
        with self._lock:
            t = self._tickets.get(ticket_id)
            if t is None or not t["_deleted"]:
                raise KeyError(ticket_id)
            t["_deleted"] = False
            self._save(t, int(self.clock()))

    def mark_spam(self, ticket_id: int, spam: bool = True) -> dict[str, Any]:
        """Flag (or unflag) a ticket as spam: it moves to (or from) filter=spam."""
        with self._lock:
            t = self._live(ticket_id)
            if t["spam"] != spam:
                t["spam"] = spam
                self._save(t, int(self.clock()))
            return self._full(t)

    def add_rating(
        self,
        ticket_id: int,
        value: int,
        feedback: str = "",
        *,
        at: Any = None,
        ratings: dict[str, int] | None = None,
    ) -> dict[str, Any]:
        """Record a satisfaction rating: `value` answers the default question ([CSAT] scale)."""
        answers = {"default_question": value, **(ratings or {})}
        if any(v not in data.RATING_VALUES for v in answers.values()):
            raise ValueError(f"ratings must be one of {data.RATING_VALUES}")
        with self._lock:
            t = self._tickets.get(ticket_id)
            if t is None:
                raise KeyError(ticket_id)
            when = self._when(at)
            rid = self._store_rating(t, answers, feedback, when)
            return clone(self._ratings[rid])

    def tickets(self) -> list[dict[str, Any]]:
        """Every ticket (deleted and spam too) by id, with description and stats."""
        with self._lock:
            return [self._full(t) for t in self._tickets.values()]

    def contacts(self) -> list[dict[str, Any]]:
        """Every contact, by id."""
        with self._lock:
            return clone(list(self._contacts.values()))

    def companies(self) -> list[dict[str, Any]]:
        """Every company, by id."""
        with self._lock:
            return clone(list(self._companies.values()))

    def ratings(self) -> list[dict[str, Any]]:
        """Every satisfaction rating, oldest first."""
        with self._lock:
            return [clone(self._ratings[rid]) for _, rid in self._rating_keys]

    def conversations(self, ticket_id: int) -> list[dict[str, Any]]:
        """A ticket's replies and notes, oldest first."""
        with self._lock:
            return clone(self._conversations.get(ticket_id, []))

    # ------------------------------------------------------------------------ internals

    def _do_merge(self, body: dict[str, Any], now: int) -> list[dict[str, str]]:
        """[Merge]: conversations of the secondaries move to the primary, notes go on both
        sides (defaults when not given), secondaries are closed. Returns validation errors."""
        allowed = {"primary_id", "ticket_ids", "note_in_primary", "note_in_secondary",
                   "convert_recepients_to_cc"}  # fmt: skip
        errors = [field_error(k, "Unexpected/invalid field in request", "invalid_field")
                  for k in body if k not in allowed]  # fmt: skip
        errors += [field_error(k, "Mandatory attribute missing", "missing_field")
                   for k in ("primary_id", "ticket_ids") if k not in body]  # fmt: skip
        if errors:
            return errors
        primary_id, ids = body["primary_id"], body["ticket_ids"]
        if not isinstance(primary_id, int) or isinstance(primary_id, bool):
            return [field_error("primary_id", "It should be a/an Positive Integer")]
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids) or not ids:
            return [field_error("ticket_ids", "It should be an Array of Positive Integers")]
        live = {tid for tid in {primary_id, *ids} if tid in self._tickets
                and not self._tickets[tid]["_deleted"]}  # fmt: skip
        missing = [tid for tid in dict.fromkeys([primary_id, *ids]) if tid not in live]
        if missing:
            listed = ", ".join(str(m) for m in missing)
            return [field_error("ticket_ids", f"There are no records matching the ids: '{listed}'")]
        primary = self._tickets[primary_id]
        secondaries = [self._tickets[tid] for tid in dict.fromkeys(ids) if tid != primary_id]
        for s in secondaries:
            note = body.get("note_in_secondary") or {}
            text = note.get("body") or f"This ticket is closed and merged into ticket #{primary_id}"
            moved = self._conversations.pop(s["id"], [])
            for conv in moved:
                conv["ticket_id"] = primary_id
            self._conversations.setdefault(primary_id, []).extend(moved)
            private = bool(note.get("private", True))
            self._add_conversation(s, text, now, data.API_AGENT_ID, note=True, private=private)
            self._set_status(s, CLOSED, now)
            self._save(s, now)
            note = body.get("note_in_primary") or {}
            text = note.get("body") or (
                f"Merged from ticket #{s['id']}: {s['subject']}\n{s['description_text']}"
            )
            private = bool(note.get("private", True))
            self._add_conversation(
                primary, text, now, data.API_AGENT_ID, note=True, private=private
            )
            if body.get("convert_recepients_to_cc"):
                emails = [self._contacts[s["requester_id"]]["email"], *s["cc_emails"]]
                primary["cc_emails"] = list(dict.fromkeys([*primary["cc_emails"], *emails]))
        self._conversations.setdefault(primary_id, []).sort(
            key=lambda c: (c["created_at"], c["id"])
        )
        self._save(primary, now)
        return []

    def _take_id(self, kind: str) -> int:
        value = self._next_id[kind]
        self._next_id[kind] = value + 1
        return value

    def _when(self, at: Any) -> int:
        now = int(self.clock())
        when = now if at is None else to_epoch(at)
        if when > now:
            raise ValueError("event times cannot lie in the future")
        return when

    def _live(self, ticket_id: int) -> dict[str, Any]:
        t = self._tickets.get(ticket_id)
        if t is None or t["_deleted"]:
            raise KeyError(ticket_id)
        return t

    def _record(
        self, tid: int, subject: str, requester: int, company_id: int | None, created: int,
        priority: int = 1,
    ) -> dict[str, Any]:  # fmt: skip
        """A new ticket with every documented field at its default (shape of [View]).

        due_by and fr_due_by follow the SLA targets for `priority` (freshdesk_data.SLA_HOURS).
        """
        fr_hours, due_hours = data.SLA_HOURS[priority]
        at = iso(created)
        t: dict[str, Any] = {
            "cc_emails": [], "fwd_emails": [], "reply_cc_emails": [], "ticket_cc_emails": [],
            "fr_escalated": False, "spam": False, "email_config_id": None, "group_id": None,
            "priority": priority, "requester_id": requester, "responder_id": None, "source": 2,
            "company_id": company_id, "status": OPEN, "subject": subject,
            "association_type": None, "support_email": None, "to_emails": None,
            "product_id": None, "id": tid, "type": None,
            "due_by": iso(created + due_hours * 3600), "fr_due_by": iso(created + fr_hours * 3600),
            "is_escalated": False, "nr_due_by": None, "nr_escalated": False,
            "description": "", "description_text": "", "custom_fields": dict.fromkeys(
                data.CUSTOM_FIELDS), "created_at": at, "updated_at": at,
            "tags": [], "source_additional_info": None,
            "_c": created, "_u": created, "_d": created + due_hours * 3600, "_deleted": False,
            "_stats": {**dict.fromkeys(STATS_KEYS), "status_updated_at": at},
            "_hist": [(created, OPEN)], "_due": {}, "_manual": [],
        }  # fmt: skip
        self._tickets[tid] = t
        return t

    def _validate(
        self, body: dict[str, Any], create: bool = False
    ) -> tuple[dict[str, Any], list[dict[str, str]]]:
        """Writable changes in API form, normalised, and the errors [Upd] would report."""
        clean: dict[str, Any] = {}
        errors: list[dict[str, str]] = []
        choices: dict[str, Iterable[Any]] = {
            "status": data.STATUSES, "priority": data.PRIORITIES, "source": data.SOURCES,
            "type": (None, *data.TICKET_TYPES), "responder_id": (None, *self._agents),
            "group_id": (None, *data.GROUPS.values()),
        }  # fmt: skip
        for key, value in body.items():
            if create and key in CREATE_ONLY:
                continue  # add_ticket sets these itself
            if key not in WRITABLE:
                errors.append(
                    field_error(key, "Unexpected/invalid field in request", "invalid_field")
                )
            elif key in choices:
                allowed = list(choices[key])
                if isinstance(value, bool) or value not in allowed:
                    shown = ",".join(str(c) for c in allowed if c is not None)
                    errors.append(field_error(key, f"It should be one of these values: '{shown}'"))
                else:
                    clean[key] = value
            elif key in ("company_id", "requester_id"):
                table = self._companies if key == "company_id" else self._contacts
                if value not in table and not (key == "company_id" and value is None):
                    errors.append(field_error(key, f"There is no record matching the given {key}"))
                else:
                    clean[key] = value
            elif key == "tags":
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    errors.append(field_error(key, "It should be an Array of Strings"))
                else:
                    clean[key] = list(dict.fromkeys(value))
            elif key == "custom_fields":
                errors += self._check_custom(value)
                clean[key] = value
            elif key in ("due_by", "fr_due_by"):
                try:
                    clean[key] = to_epoch(value)
                except (TypeError, ValueError):
                    errors.append(field_error(key, "It should be in the 'valid date time' format"))
            elif key in ("subject", "description") and not isinstance(value, str):
                errors.append(field_error(key, "It should be a/an String"))
            else:  # subject, description, product_id, email_config_id
                clean[key] = value
        return clean, errors

    @staticmethod
    def _check_custom(value: Any) -> list[dict[str, str]]:
        if not isinstance(value, dict):
            return [field_error("custom_fields", "It should be a/an key/value pair")]
        errors = []
        for name, item in value.items():
            spec = data.CUSTOM_FIELDS.get(name)
            if spec is None:
                errors.append(
                    field_error(name, "Unexpected/invalid field in request", "invalid_field")
                )
            elif item is not None and item not in spec[2]:
                errors.append(
                    field_error(name, f"It should be one of these values: '{','.join(spec[2])}'")
                )
        return errors

    def _apply(self, t: dict[str, Any], changes: dict[str, Any], when: int) -> bool:
        """Set validated changes; True when something changed."""
        before = clone(t)
        for key, value in changes.items():
            if key == "status":
                self._set_status(t, value, when)
            elif key == "custom_fields":
                t["custom_fields"] = {**t["custom_fields"], **value}
            elif key == "description":
                t["description"], t["description_text"] = value, _text(value)
            elif key in ("due_by", "fr_due_by"):
                t[key] = iso(value)
                if key not in t["_manual"]:  # set by hand: kept through later changes ([Due])
                    t["_manual"].append(key)
                if key == "due_by":
                    t["_d"] = value
            else:
                t[key] = value
        return t != before

    def _set_status(self, t: dict[str, Any], status: int, when: int) -> None:
        """Change status and keep stats consistent with the history (see module docstring)."""
        old, stats, at = t["status"], t["_stats"], iso(when)
        if status == old:
            return
        t["status"] = status
        stats["status_updated_at"] = at
        stats["pending_since"] = at if status == PENDING else None
        if old in (RESOLVED, CLOSED) and status in (OPEN, PENDING):
            stats["reopened_at"], stats["resolved_at"], stats["closed_at"] = at, None, None
        elif status == RESOLVED:
            stats["resolved_at"], stats["closed_at"] = at, None
        elif status == CLOSED:
            stats["resolved_at"] = stats["resolved_at"] or at
            stats["closed_at"] = at
        t["_hist"].append((when, status))

    def configure_sla(self, setup: sla.SlaSetup) -> None:
        """Set the account's SLA policy and business hours; every ticket's due times are
        calculated again (as after a change of policy)."""
        with self._lock:
            self.sla = setup
            for t in self._tickets.values():
                self._refresh_sla(t)

    def _refresh_sla(self, t: dict[str, Any]) -> None:
        """Calculate the ticket's due times and escalation flags again (freshdesk_sla): a
        due time stays as it was while the timer is stopped, or when set by hand."""
        stats = t["_stats"]
        moments = {k: _epoch(stats.get(k)) for k in STATS_KEYS}
        moments["created_at"] = t["_c"]
        due = sla.due_times(self.sla, t, t["_hist"], data.STOPS_SLA_TIMER, moments)
        for key, value in due.items():
            if key in t["_manual"]:
                continue
            if value is not None:
                t[key] = iso(value)
                t["_due"][key] = value
            elif key == "nr_due_by" or not data.STOPS_SLA_TIMER.get(t["status"], False):
                t[key] = None  # no target (or nobody waits for a next response)
                t["_due"].pop(key, None)
            if key == "due_by" and t["_due"].get(key) is not None:
                t["_d"] = t["_due"][key]
        for key in t["_manual"]:
            t["_due"][key] = to_epoch(t[key])
        self._escalate(t, int(self.clock()))

    def _escalate(self, t: dict[str, Any], now: int) -> None:
        """Set the escalation flags that hold at `now` (a flag, once set, stays)."""
        stats = t["_stats"]
        met = {
            "first_response": _epoch(stats.get("first_responded_at")),
            "resolution": _epoch(stats.get("resolved_at") or stats.get("closed_at")),
        }
        running = not data.STOPS_SLA_TIMER.get(t["status"], False)
        for flag, late in sla.escalations(t["_due"], met, now, running).items():
            if late:
                t[flag] = True

    def _save(self, t: dict[str, Any], updated: int, bulk: bool = False) -> None:
        """Stamp updated_at, calculate the SLA again and re-index the ticket under its
        current bucket."""
        t["_u"], t["updated_at"] = updated, iso(updated)
        self._refresh_sla(t)
        bucket = "deleted" if t["_deleted"] else "spam" if t["spam"] else "live"
        self._index.put(t["id"], bucket, t["_c"], updated, bulk)

    def _add_conversation(
        self, t: dict[str, Any], body: str, when: int, user_id: int, *, note: bool,
        private: bool = False, incoming: bool = False, markup: str | None = None,
    ) -> None:  # fmt: skip
        # [Conv] shape; source 0 is an (email) reply, 2 a note.
        html_body, text = (markup, _text(markup)) if markup is not None else (to_html(body), body)
        conv = {
            "body": html_body, "body_text": text, "id": self._take_id("conversation"),
            "incoming": incoming, "private": private, "user_id": user_id,
            "support_email": None, "source": 2 if note else 0,
            "ticket_id": t["id"], "to_emails": [], "from_email": None, "cc_emails": [],
            "bcc_emails": [], "attachments": [], "created_at": iso(when), "updated_at": iso(when),
        }  # fmt: skip
        self._conversations.setdefault(t["id"], []).append(conv)

    def _store_rating(self, t: dict[str, Any], answers: dict[str, int], feedback: str,
                      when: int) -> int:  # fmt: skip
        rid = self._take_id("rating")
        self._ratings[rid] = {
            "id": rid, "survey_id": data.SURVEY_ID, "user_id": t["requester_id"],
            "agent_id": t["responder_id"], "feedback": feedback, "group_id": t["group_id"],
            "ticket_id": t["id"], "ratings": answers, "created_at": iso(when),
            "updated_at": iso(when),
        }  # fmt: skip
        insort(self._rating_keys, (when, rid))
        return rid

    def _render(
        self, t: dict[str, Any], *, description: bool = True, includes: Iterable[str] = (),
        view: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        """The API form of a ticket: hidden keys dropped, embeds added, containers copied."""
        if t["_due"]:
            self._escalate(t, int(self.clock()))  # overdue since the last change
        out = t.copy()  # C-speed copy, then drop the private keys (generate renders 40k)
        for key in HIDDEN:
            del out[key]
        for key in LIST_FIELDS:
            out[key] = list(t[key])
        out["custom_fields"] = dict(t["custom_fields"])
        if not description:
            del out["description"], out["description_text"]
        if view:
            out["attachments"] = []
        if t["_deleted"]:
            out["deleted"] = True
        if "requester" in includes:
            c = self._contacts[t["requester_id"]]
            out["requester"] = {k: c[k] for k in ("id", "name", "email", "mobile", "phone")}
        if "stats" in includes:
            out["stats"] = dict(t["_stats"])
        if "company" in includes:
            company = self._companies.get(t["company_id"])
            out["company"] = {"id": company["id"], "name": company["name"]} if company else {}
        if "conversations" in includes:  # [View]: up to ten, oldest first
            out["conversations"] = clone(self._conversations.get(t["id"], [])[:10])
        return out

    def _full(self, t: dict[str, Any]) -> dict[str, Any]:
        return self._render(t, includes=("stats",), view=True)

    def _ensure_company(self, company: str | int | None, email: str | None) -> int | None:
        if company is None or isinstance(company, int):
            if company is not None and company not in self._companies:
                raise ValueError(f"no company {company}")
            return company
        if company in self._company_by_name:
            return self._company_by_name[company]
        domain = email.rpartition("@")[2] if email else f"{data.slug(company)}.example.com"
        return int(self.add_company(company, [domain])["id"])

    def _ensure_contact(self, email: str | None, name: str | None, company_id: int | None) -> int:
        if email is None:
            domains = self._companies[company_id]["domains"] if company_id else []
            local = data.slug(name or "customer").replace("-", ".")
            email = f"{local}@{domains[0] if domains else 'example.com'}"
        uid = self._contact_by_email.get(email.lower())
        if uid is not None:
            return uid
        name = name or email.partition("@")[0].replace(".", " ").title()
        return int(self.add_contact(name, email, company_id)["id"])
