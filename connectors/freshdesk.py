"""Freshdesk source: changed tickets from the v2 REST API, on a plain `requests` Session.

Read-only. Basic auth `api_key:X`. Every request is one `with_retry` call of its own, so a
failed company or conversation lookup repeats that request only, never the page before it.
Each listing request becomes one `Page`, yielded as soon as it is fetched.

What one cycle (one `pull`, run until `end_of_stream`) asks Freshdesk for:

==================  ==========================================================  =======
what                requests                                                    credits
==================  ==========================================================  =======
ratings             1 per 100 new satisfaction ratings (at least 1); a            1 each
                    process's first pull also re-reads the last 30 days of
                    ratings, to keep the CSAT of tickets updated after rating
changed tickets     1 per page_size changed tickets (at least 1)                7 each
deleted tickets     1 per page_size tickets deleted since (at least 1)          7 each
spam tickets        1 per page_size tickets marked spam since (at least 1)      7 each
companies           1 per company not looked up in the last hour (LRU 4,096);   1 each
                    a page naming over 10 unknown ones lists them all instead
                    (1 per 100 companies)
merge checks        1 per Closed ticket closed without being resolved first     1 each
                    (as a merge closes one), once per close per process
rated tickets       1 per newly rated ticket that did not change this cycle     3 each
==================  ==========================================================  =======

So a cycle with no changes costs 4 requests (22 credits). Listings embed
`requester,stats,description` (2 credits each): the rules read the description, and stats
carry the reply and resolution times. Freshdesk counts its plan limits in credits, so does
`helpdesk.credits_per_minute`: each request is charged what X-RateLimit-Used-CurrentRequest
says it cost (its expected cost is waited for before it goes out).

Custom statuses: Freshdesk documents codes 2-5 (Open, Pending, Resolved, Closed); a new
account also has 6 "Waiting on Customer" and 7 "Waiting on Third Party", and admins add more.
The first ticket in a status past those four makes the source read the account's statuses,
once per process (again, at most hourly, when an unknown code appears): `GET /ticket_fields`
(the status field's choices, {code: [agent label, customer label]}: 1 credit) and the status
field's admin view `GET /admin/ticket_fields/{id}` (choices with `stop_sla_timer`: 1 credit;
an agent's key without admin rights gets 403, and the names alone decide). A status that
stops the SLA timer is read as pending when its name speaks of the customer, as on_hold
otherwise, so the rules pause its SLA clocks; one that keeps the timer running is open;
`helpdesk.statuses` overrides any of this by name. The sheet shows the status's own name.

A Retry-After longer than syncd's longest wait (syncd.retry.MAX_WAIT: Freshdesk's hourly
limits ask for many minutes) ends the pull early instead of sleeping or failing: the pages
already yielded keep their cursors, the next cycle resumes from the last of them.

Paging: Freshdesk lists no page past 300, so instead of walking pages `updated_since` moves
to the newest `updated_at` of each page (ordered ascending). The boundary is inclusive and
times are whole seconds, so the versions already emitted at the boundary second (id and a
hash of the JSON) are kept and skipped when they come back; a page number is used only while
whole pages share one second, and such a second is read twice. Once the listing is
exhausted and the boundary second is over five minutes old by the response's Date (the
signpost), `since` moves past it and its ids are dropped. That logic is syncd.incremental's
(`step`), shared with any time-cursor source; this module supplies Freshdesk's page cap and
settling time.

The cursor is JSON, opaque to the pipeline::

    {"v": 1,
     "tickets": {"since": "2026-11-02T10:00:05Z", "seen": {"812": "a1b2c3d4e5"},
                 "page": 1, "recheck": 0, "found": 0},
     "deleted": {...}, "spam": {...},      # the same, for filter=deleted and filter=spam
     "ratings": {"since": "...", "seen": {...}},          # by created_at
     "delivered": [49000000013]}           # new ratings already sent out with their ticket

Defaults (page 1, no recheck, nothing seen, nothing delivered) are left out.

Documented by Freshdesk and relied on: updated_since, order_by=updated_at, order_type,
per_page <= 100, the 300-page cap, the Link header, filter=deleted and filter=spam (deleted
and spam tickets are absent from the default listing), include costs, the status, priority,
source and satisfaction codes, X-RateLimit-* headers (values may carry decimals, `700.0`)
and 429 with Retry-After, the status field's choices in /ticket_fields.
Inferred (the docs do not say; true of the sandbox, worth checking on a live account):
- the admin view of the status field lists `stop_sla_timer` per choice, as Freshdesk's own
  serialiser writes it (choices as objects: id, value, stop_sla_timer, ...);
- filter=deleted / spam combine with updated_since and ordering, and deleting or marking
  spam stamps updated_at (otherwise a ticket deleted after it was synced is never seen);
- updated_since and created_since are inclusive; ratings are listed oldest first (if a page
  comes back out of order, the whole ratings listing is read instead of a window of it);
- a merged ticket is Closed and carries a note "...merged into ticket #N" (the default
  wording: a custom secondary note hides the merge; a ticket resolved before it was merged
  is not checked; both stay Status.CLOSED);
- stats.reopened_at holds the last reopen only: `reopens` is 1 when set, not a count.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar

import requests
import structlog

from syncd.config import FreshdeskConfig
from syncd.errors import (
    ConfigError,
    Refusal,
    TerminalError,
    TransientError,
    error_for,
)
from syncd.groups import NameDirectory
from syncd.incremental import CrowdedSecond, Item, Mark, Step, epoch, handled, iso, step
from syncd.keys import rating_key
from syncd.model import (
    HelpdeskSla,
    Organization,
    Person,
    Status,
    StatusChange,
    Ticket,
    parse_timestamp,
)
from syncd.ports import Page
from syncd.retry import MAX_WAIT, pause, retry_after_seconds, with_retry

log = structlog.get_logger("syncd.freshdesk")

API = "/api/v2"
LIST_INCLUDE = "requester,stats,description"
VIEW_INCLUDE = "requester,stats"  # a single ticket comes with its description anyway
MAX_PAGE = 300  # Freshdesk: "A maximum of 300 pages ... will be returned"
RATINGS_PER_PAGE = 100
RATINGS_WINDOW = 10_000  # new ratings held per pass (ids and scores: about 3 MB at most)
RATINGS_LOOKBACK = 30 * 86_400  # re-read at a process's first pull (see module docstring)
RATINGS_MEMORY = 20_000  # ticket -> latest rating, for tickets updated after their rating
COMPANY_CACHE, COMPANY_TTL = 4_096, 3_600.0
# More unknown companies than this in one page (a backfill, a first sync): list every company
# (100 a request) instead of looking each up. Past COMPANY_CACHE companies, lookups again.
COMPANY_BULK = 10
MERGE_CACHE = 4_096
CONVERSATION_PAGES = 3  # a merged ticket's conversations moved to the primary: few are left
# A second this old is closed (the signpost, syncd.incremental): no version listed later can
# carry it. Date is stamped after the query ran, and listings may lag writes, so not the
# current second but minutes back.
SETTLE = 300
LOW_BUDGET = 0.05  # share of X-RateLimit-Total under which requests are spaced out
STREAMS = (("tickets", None), ("deleted", "deleted"), ("spam", "spam"))
BUCKETS = {Status.DELETED: "deleted", Status.SPAM: "spam"}  # the listing a ticket is in

STATUSES = {2: Status.OPEN, 3: Status.PENDING, 4: Status.SOLVED, 5: Status.CLOSED}
STATUS_NAMES = {2: "Open", 3: "Pending", 4: "Resolved", 5: "Closed"}
STATUS_TTL = 3_600.0  # seconds before an unknown status code may read the statuses again
NAMES_TTL = 300.0  # seconds before an unknown agent or group id may list them again
NAMES_PAGES = 10  # at most 1000 agents (or groups) listed, 100 a page
# Words in a timer-stopping status's name that mean the customer owes the next move.
CUSTOMER_WORDS = ("customer", "requester", "your reply", "client")
# Words that mean someone else does, when the admin view cannot say whether the timer stops.
WAITING_WORDS = ("waiting", "awaiting", "on hold", "hold", "third party", "pending", "vendor")
CLOSED = 5
PRIORITIES = {1: "low", 2: "medium", 3: "high", 4: "urgent"}
SOURCES = {  # the documented codes; others become "source_<n>" rather than a rejection
    1: "email", 2: "portal", 3: "phone", 7: "chat", 9: "feedback_widget", 10: "outbound_email",
}  # fmt: skip
CSAT_SCALE = {103: 5.0, 102: 4.5, 101: 4.0, 100: 3.0, -101: 2.0, -102: 1.5, -103: 1.0}
MERGE_NOTE = re.compile(r"merged into ticket\s*#?\s*(\d+)", re.IGNORECASE)


# ------------------------------------------------------------------------- normalisation


@dataclass(frozen=True, slots=True)
class Rating:
    """One satisfaction rating, reduced to what a Ticket carries."""

    id: int
    ticket_id: int
    csat: float  # 1-5
    at: datetime
    comment: str = ""


def parse_rating(raw: Mapping[str, Any]) -> Rating:
    """A satisfaction rating (API JSON) -> Rating; ValueError when it cannot be used."""
    rid, tid = _number(raw.get("id"), "rating id"), _number(raw.get("ticket_id"), "ticket_id")
    answers = raw.get("ratings")
    value = answers.get("default_question") if isinstance(answers, dict) else None
    if isinstance(value, bool) or value not in CSAT_SCALE:
        raise ValueError(f"rating {rid}: unknown default_question value {value!r}")
    return Rating(
        rid, tid, CSAT_SCALE[value], parse_timestamp(raw.get("created_at"), "created_at"),
        _text(raw.get("feedback")),
    )  # fmt: skip


def normalize(
    raw: Mapping[str, Any],
    company: Mapping[str, Any] | None,
    link_base: str,
    custom_names: Mapping[str, str] | None = None,
    *,
    rating: Rating | None = None,
    merged_into: str | None = None,
    deleted: bool = False,
    statuses: Mapping[int, CustomStatus] | None = None,
) -> Ticket:
    """A Freshdesk ticket (API JSON, with `requester` and `stats` embedded) -> Ticket.

    `company` is the ticket's company (GET /companies/{id}) or None; `custom_names` maps
    rule names to custom field names (`plan: cf_plan`); `deleted` is set for tickets listed
    under filter=deleted; `statuses` reads status codes the account defines (`status_table`;
    without it a code past the documented four is open). Raises ValueError on data that
    cannot be used.
    """
    ticket_id = _number(raw.get("id"), "id")
    code = raw.get("status")
    if not isinstance(code, int) or isinstance(code, bool) or code < 2:
        raise ValueError(f"unknown status {code!r}")
    custom = (statuses or {}).get(code)
    status = custom.status if custom else STATUSES.get(code, Status.OPEN)
    status_name = custom.name if custom and code not in STATUSES else ""
    created_at = parse_timestamp(raw.get("created_at"), "created_at")
    updated_at = parse_timestamp(raw.get("updated_at"), "updated_at")
    stats = raw.get("stats") if isinstance(raw.get("stats"), dict) else None
    history: tuple[StatusChange, ...] = ()
    if stats is not None:
        # Freshdesk keeps when the current status began (pending_since while pending), not
        # the statuses before it: a one-change history is faithful, a longer one would guess.
        began = (status is Status.PENDING and stats.get("pending_since")) or stats.get(
            "status_updated_at"
        )
        if began:
            history = (StatusChange(parse_timestamp(began, "stats.status_updated_at"), status),)
    if deleted or raw.get("deleted") is True:
        status, history, status_name = Status.DELETED, (), ""
    elif raw.get("spam") is True:
        status, history, status_name = Status.SPAM, (), ""
    elif merged_into and code == CLOSED:
        status, history = Status.MERGED, ()
    priority = raw.get("priority")
    if priority is not None and (isinstance(priority, bool) or priority not in PRIORITIES):
        raise ValueError(f"unknown priority {priority!r}")
    source = raw.get("source")
    if source is not None and (not isinstance(source, int) or isinstance(source, bool)):
        raise ValueError(f"source {source!r} is not a source code")
    fields = raw.get("custom_fields") or {}
    if not isinstance(fields, dict):
        raise ValueError("custom_fields is not an object")
    fields = dict(fields)
    for name, api_name in (custom_names or {}).items():
        # Freshdesk prefixes custom field names with cf_; accept the name either way.
        fields[name] = fields.get(api_name, fields.get(f"cf_{api_name}"))
    stat = stats or {}
    solved = stat.get("resolved_at") or stat.get("closed_at")
    return Ticket(
        id=str(ticket_id),
        source="freshdesk",
        subject=_text(raw.get("subject")),
        description=_description(raw),
        status=status,
        created_at=created_at,
        updated_at=updated_at,
        helpdesk_priority=PRIORITIES.get(priority) if priority is not None else None,
        channel=SOURCES.get(source, f"source_{source}") if source is not None else "",
        # Lower-case like Zendesk's, so rules compare tags the same way for both helpdesks.
        tags=tuple(str(t).lower() for t in raw.get("tags") or ()),
        requester=_requester(raw),
        organization=_organization(company, raw.get("company_id")),
        assignee_id=str(raw["responder_id"]) if raw.get("responder_id") else None,
        url=f"{link_base}/a/tickets/{ticket_id}",
        custom_fields=fields,
        first_response_at=_optional_time(stat, "first_responded_at"),
        solved_at=parse_timestamp(solved, "stats.resolved_at") if solved else None,
        reopens=1 if stat.get("reopened_at") else 0,
        csat=rating.csat if rating else None,
        csat_at=rating.at if rating else None,
        csat_comment=rating.comment if rating else "",
        # Ratings are a listing of their own, read in a window: no rating seen is no proof
        # of none, so the pipeline keeps the score it stored before.
        csat_known=rating is not None,
        status_history=history,
        merged_into=merged_into if status is Status.MERGED else None,
        # Stats carry the first agent reply; without them it is unknown, not missing.
        replies_known=stats is not None,
        status_name=status_name,
        # Stats date the latest agent and requester responses: a requester response after the
        # agent's is waiting for a reply (since the latest one: with two unanswered messages,
        # Freshdesk's stats cannot tell when the older was sent). A reopen clears resolved_at,
        # so the first solve of a reopened ticket is unknown.
        awaiting_reply_since=_awaiting_reply(stat),
        last_agent_reply_at=_optional_time(stat, "agent_responded_at"),
        first_solved_at=(
            parse_timestamp(solved, "stats.resolved_at")
            if solved and not stat.get("reopened_at")
            else None
        ),
        unseen=(
            frozenset({"next_reply", "periodic_update", "first_resolution"})
            if stats is None
            else frozenset({"first_resolution"})
            if stat.get("reopened_at")
            else frozenset()
        ),
        helpdesk_sla=_helpdesk_slas(raw, stat, solved, status),
    )


# Freshdesk's SLA fields -> (syncd's measure, the due field, the escalation flag).
SLA_FIELDS = (
    ("first_response", "fr_due_by", "fr_escalated"),
    ("next_reply", "nr_due_by", "nr_escalated"),
    ("resolution", "due_by", "is_escalated"),
)


def _awaiting_reply(stats: Mapping[str, Any]) -> datetime | None:
    """When the requester's unanswered response was sent, after a first agent reply."""
    asked = _optional_time(stats, "requester_responded_at")
    answered = _optional_time(stats, "agent_responded_at")
    if asked is None or answered is None or asked <= answered:
        return None
    return asked


def _helpdesk_slas(
    raw: Mapping[str, Any], stats: Mapping[str, Any], solved: Any, status: Status = Status.OPEN
) -> tuple[HelpdeskSla, ...]:
    """Freshdesk's own SLA state: fr_due_by/fr_escalated (first response), due_by/
    is_escalated (resolution) and, where the account has next-response SLAs,
    nr_due_by/nr_escalated. A target not met while the ticket is in a status that stops the
    SLA timer (Pending, or a custom status with the timer off: read as pending or on_hold) is
    paused: Freshdesk keeps its last due time until the timer runs again
    (https://support.freshdesk.com/support/solutions/articles/229718), so that due time is
    not a verdict."""
    stopped = status is Status.PENDING or status is Status.ON_HOLD
    met = {
        "first_response": bool(stats.get("first_responded_at")),
        "next_reply": _awaiting_reply(stats) is None,
        "resolution": bool(solved),
    }
    out = []
    for measure, due_key, flag in SLA_FIELDS:
        due = raw.get(due_key)
        if not isinstance(due, str) or not due:
            continue
        escalated = raw.get(flag)
        stage = "achieved" if met[measure] else "paused" if stopped else "active"
        out.append(
            HelpdeskSla(
                measure,
                due_key,
                stage,
                parse_timestamp(due, due_key),
                # Escalated means breached; not escalated proves nothing (the policy's
                # escalations may be off, or not run yet): judged by the due time then.
                True if escalated is True else None,
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class CustomStatus:
    """How syncd reads one of the account's status codes, and the helpdesk's name for it."""

    status: Status
    name: str


def status_table(fields: Any, detail: Any, overrides: Mapping[str, str]) -> dict[int, CustomStatus]:
    """The account's statuses, from `GET /ticket_fields` and the status field's admin view
    (`detail`, None when the key may not read it), with `helpdesk.statuses` (name -> syncd
    status) applied; the four documented codes appear only when overridden. Pure."""
    wanted = {name.casefold(): Status(value) for name, value in overrides.items()}
    names = dict(STATUS_NAMES)
    field_ = _status_field(fields)
    for code, labels in (field_.get("choices") or {}).items() if field_ else ():
        if str(code).isdigit() and isinstance(labels, list) and labels:
            names[int(code)] = str(labels[0])  # [agent label, customer label]
    stops = _timer_stops(detail)
    table: dict[int, CustomStatus] = {}
    for code, name in names.items():
        chosen = wanted.get(name.casefold())
        if chosen is not None or code not in STATUSES:
            status = chosen or _read_status(name, stops.get(code))
            table[code] = CustomStatus(status, name)
    return table


def status_field_id(fields: Any) -> int | None:
    """The id of the status field in a `GET /ticket_fields` body."""
    field_ = _status_field(fields)
    fid = field_.get("id") if field_ else None
    return fid if isinstance(fid, int) and not isinstance(fid, bool) else None


def _status_field(fields: Any) -> dict[str, Any] | None:
    for item in fields if isinstance(fields, list) else ():
        if isinstance(item, dict) and (
            item.get("type") == "default_status" or item.get("name") == "status"
        ):
            return item
    return None


def _timer_stops(detail: Any) -> dict[int, bool]:
    """Status code -> whether it stops the SLA timer, from the admin view's choice objects
    (`id` is the code; older serialisers put the code in `value`)."""
    choices = detail.get("choices") if isinstance(detail, dict) else None
    stops: dict[int, bool] = {}
    for choice in choices if isinstance(choices, list) else ():
        if not isinstance(choice, dict) or not isinstance(choice.get("stop_sla_timer"), bool):
            continue
        code = choice.get("id") if isinstance(choice.get("id"), int) else choice.get("value")
        if isinstance(code, int) and not isinstance(code, bool):
            stops[code] = choice["stop_sla_timer"]
    return stops


def _read_status(name: str, stops_timer: bool | None) -> Status:
    """A custom status by whether it stops the SLA timer (None: unknown) and by its name."""
    lower = name.casefold()
    customer = any(word in lower for word in CUSTOMER_WORDS)
    if stops_timer is None:  # an agent's key: the name is all there is
        if customer:
            return Status.PENDING
        return Status.ON_HOLD if any(w in lower for w in WAITING_WORDS) else Status.OPEN
    if not stops_timer:
        return Status.OPEN  # the SLA runs on: work the team owes
    return Status.PENDING if customer else Status.ON_HOLD


def may_be_merged(raw: Mapping[str, Any]) -> bool:
    """Whether a ticket's conversations must be read to tell a merge from a close: a merge
    closes the ticket straight away, so a ticket resolved before it was closed is not one."""
    if raw.get("status") != CLOSED or raw.get("deleted") is True or raw.get("spam") is True:
        return False
    stats = raw.get("stats")
    if not isinstance(stats, dict) or not stats.get("closed_at"):
        return True
    return not stats.get("resolved_at") or stats["resolved_at"] == stats["closed_at"]


def merged_into(conversations: Sequence[Mapping[str, Any]]) -> str | None:
    """The primary ticket named by the latest merge note, if any."""
    found = None
    for conv in conversations:
        body = conv.get("body_text") or _strip_html(_text(conv.get("body")))
        match = MERGE_NOTE.search(body) if isinstance(body, str) else None
        if match:
            found = match.group(1)
    return found


def _number(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} {value!r} is not a positive number")
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _strip_html(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", markup)).strip()


def _description(raw: Mapping[str, Any]) -> str:
    text = raw.get("description_text")
    if isinstance(text, str):
        return text
    return _strip_html(_text(raw.get("description")))


def _optional_time(stats: Mapping[str, Any], key: str) -> datetime | None:
    value = stats.get(key)
    return parse_timestamp(value, f"stats.{key}") if value else None


def _requester(raw: Mapping[str, Any]) -> Person | None:
    person = raw.get("requester")
    if isinstance(person, dict) and person.get("id"):
        return Person(str(person["id"]), _text(person.get("name")), _text(person.get("email")))
    return Person(str(raw["requester_id"])) if raw.get("requester_id") else None


def _organization(company: Mapping[str, Any] | None, company_id: Any) -> Organization | None:
    if company and company.get("id"):
        domains = company.get("domains") or []
        return Organization(
            str(company["id"]), _text(company.get("name")), str(domains[0]) if domains else ""
        )
    return Organization(str(company_id)) if company_id else None


# ------------------------------------------------------------------------------ cursor


def _step(
    mark: Mark, items: Sequence[Item], more: bool, server_now: int | None, settled: bool = False
) -> Step:
    """`syncd.incremental.step` within Freshdesk's page cap and with its SETTLE."""
    try:
        return step(
            mark,
            items,
            more,
            settled=settled,
            server_now=server_now,
            settle=SETTLE,
            max_page=MAX_PAGE,
        )
    except CrowdedSecond as exc:
        raise ConfigError(
            f"more than {MAX_PAGE} pages of Freshdesk records changed in the second "
            f"{iso(exc.since)}, and Freshdesk lists no page past {MAX_PAGE}",
            where="helpdesk.page_size",
            hint="Raise helpdesk.page_size (up to 100) so that second fits",
        ) from None


@dataclass
class CursorState:
    """Every listing's mark and the window's delivered ratings (see the module docstring)."""

    marks: dict[str, Mark]
    delivered: set[int] = field(default_factory=set)

    @classmethod
    def load(cls, cursor: str | None, start: int) -> CursorState:
        """The state a cursor holds; None starts every listing at `start`."""
        names = [name for name, _ in STREAMS] + ["ratings"]
        if cursor is None:
            return cls({name: Mark(start) for name in names})
        try:
            data = json.loads(cursor)
            if data.get("v") != 1:
                raise ValueError(f"version {data.get('v')!r}")
            marks = {name: Mark.from_json(data.get(name), start) for name in names}
            return cls(marks, {int(r) for r in data.get("delivered") or ()})
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise TerminalError(
                f"the saved Freshdesk cursor cannot be read ({exc}); clear the source's "
                "cursor in the state store to sync again from helpdesk.start_time"
            ) from None

    def forget(self, key: str, keep: str) -> None:
        """Ticket `key` went out as a member of listing `keep`: the other listings' memory of
        it is stale. A ticket deleted and restored within one second comes back
        exactly as the live listing last saw it, yet syncd has since reported it deleted."""
        for name, _ in STREAMS:
            mark = self.marks[name]
            if name != keep and key in mark.seen:
                seen = {k: v for k, v in mark.seen.items() if k != key}
                self.marks[name] = replace(mark, seen=seen)

    def dump(self) -> str:
        """The cursor text."""
        data: dict[str, Any] = {"v": 1}
        for name, mark in self.marks.items():
            data[name] = mark.to_json()
        if self.delivered:
            data["delivered"] = sorted(self.delivered)
        return json.dumps(data, separators=(",", ":"))


def _tag(raw: Any) -> str:
    """A short hash of one version of a record, to tell two versions in one second apart."""
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=5).hexdigest()


def _item(raw: Any, time_key: str) -> Item:
    if not isinstance(raw, dict):
        return Item("?", None, _tag(raw))
    try:
        at: int | None = epoch(raw[time_key])
    except (KeyError, ValueError, TypeError):
        at = None  # rejected when normalised; the boundary does not move for it
    return Item(str(raw.get("id", "?")), at, _tag(raw))


# ------------------------------------------------------------------------------ source

K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A small bounded mapping that forgets the least recently used key."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[K, V] = OrderedDict()

    def __contains__(self, key: K) -> bool:
        return key in self.data

    def get(self, key: K) -> V | None:
        if key not in self.data:
            return None
        self.data.move_to_end(key)
        return self.data[key]

    def put(self, key: K, value: V) -> None:
        self.data[key] = value
        self.data.move_to_end(key)
        if len(self.data) > self.size:
            self.data.popitem(last=False)


@dataclass
class _Window:
    """New ratings of this pass, oldest first, and the ratings mark after them."""

    ratings: list[Rating]
    end: Mark
    more: bool  # the listing went on past RATINGS_WINDOW: another pass follows
    rejected: list[tuple[str, str, Any]]
    by_ticket: dict[int, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rating in self.ratings:
            self.by_ticket.setdefault(rating.ticket_id, []).append(rating.id)

    def deliver(self, ticket_id: int, delivered: set[int]) -> None:
        """The ticket went out with its rating attached."""
        delivered.update(self.by_ticket.get(ticket_id, ()))

    def undelivered(self, delivered: set[int]) -> list[int]:
        """Rated tickets that have not gone out with their new rating yet."""
        todo = {r.ticket_id: None for r in self.ratings if r.id not in delivered}
        return list(todo)


class CreditBudget:
    """At most `credits` API credits in any sliding window of `period` seconds: Freshdesk's
    plan limits count credits (a request with embeds costs several), not requests."""

    def __init__(
        self,
        credits: int,
        period: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.credits, self.period, self.clock, self.sleep = credits, period, clock, sleep
        self.spent: deque[tuple[float, float]] = deque()  # (when sent, credits charged)

    def wait_for(self, cost: float) -> float:
        """Wait until `cost` more credits fit the window; the moment the request may go."""
        while True:
            now = self.clock()
            while self.spent and self.spent[0][0] + self.period <= now:
                self.spent.popleft()
            used = sum(credits for _, credits in self.spent)
            # A request dearer than the whole budget goes alone rather than never.
            if used + cost <= self.credits or not self.spent:
                return now
            self.sleep(self.spent[0][0] + self.period - now)

    def charge(self, at: float, credits: float) -> None:
        """Record what a request sent at `at` cost."""
        self.spent.append((at, credits))


def connect(
    config: FreshdeskConfig, api_key: str, session: requests.Session | None = None
) -> tuple[str, requests.Session]:
    """The API's base URL and a session that authenticates to it (Basic `api_key:X`)."""
    base = (config.base_url or f"https://{config.domain}.freshdesk.com").rstrip("/")
    session = session or requests.Session()
    session.auth = (api_key, "X")
    session.headers["Accept"] = "application/json"
    return base, session


class FreshdeskSource:
    """Tickets changed since a cursor, from Freshdesk's ticket listing (see module docs)."""

    name = "freshdesk"

    def __init__(
        self,
        config: FreshdeskConfig,
        api_key: str,
        attempts: int = 5,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = pause,
        session: requests.Session | None = None,
    ) -> None:
        """`clock` and `sleep` pace requests (tests pass a fake pair to avoid waiting)."""
        self.config = config
        self.attempts = attempts
        self.base, self.session = connect(config, api_key, session)
        self.clock, self.sleep = clock, sleep
        budget = config.credits_per_minute
        # Freshdesk counts arrivals on its own clock; a request's travel time varies, so a
        # second of margin keeps every one of its minutes within the budget.
        self.budget = CreditBudget(budget, 61.0, clock, sleep) if budget else None
        self._not_before = 0.0  # set when X-RateLimit-Remaining runs low
        self._dearest = 1.0  # credits of the costliest request seen: what the next may cost
        self._companies: _Lru[int, tuple[float, dict[str, Any] | None]] = _Lru(COMPANY_CACHE)
        self._merges: _Lru[tuple[int, str], str | None] = _Lru(MERGE_CACHE)
        self._ratings: _Lru[int, Rating] = _Lru(RATINGS_MEMORY)
        self._warm = False  # ratings memory filled from the lookback in this process
        # (ratings mark it started from, its new ratings, the mark reached, capped)
        self._last_window: tuple[Mark, tuple[Rating, ...], Mark, bool] | None = None
        self._statuses: dict[int, CustomStatus] = status_table(None, None, config.statuses)
        self._statuses_read_at: float | None = None  # clock() of the last read of them
        # Agents and groups by name for the sheet: listed once per process, again when an
        # unknown id appears (at most every NAMES_TTL seconds).
        self.agents = NameDirectory(lambda: self._names("agents"), NAMES_TTL, clock)
        self.groups = NameDirectory(lambda: self._names("groups"), NAMES_TTL, clock)
        self.requests_sent = 0

    def start_cursor(self, since: datetime) -> str:
        """A cursor from which every listing (and the ratings) starts at `since`."""
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return CursorState.load(None, int(since.timestamp())).dump()

    def fetch(self, keys: Sequence[str]) -> Page:
        """The current version of these tickets, one `GET /tickets/{id}` each (to retry
        tickets that were malformed); those Freshdesk no longer has are rejected so."""
        raws: list[Any] = []
        rejected: list[tuple[str, str, Any]] = []
        for key in keys:
            raw = None
            if key.isdigit():
                raw = self._json(f"{API}/tickets/{key}", {"include": VIEW_INCLUDE}, missing_ok=True)
            if raw is None:
                rejected.append((key, "Freshdesk no longer has this ticket", None))
            else:
                raws.append(raw)
        # Ratings bookkeeping belongs to `pull`; a throwaway state keeps it out of the cursor.
        state = CursorState.load(None, 0)
        window = _Window([], Mark(0), False, [])
        tickets, malformed = self._tickets(raws, state, window, "fetched")
        return Page(tickets, "", True, [*rejected, *malformed])

    # --------------------------------------------------------------------------- pull

    def pull(self, cursor: str | None) -> Iterator[Page]:
        """Pages of changed tickets after `cursor` (at start_time, or the epoch, at first).

        Ends early, without end_of_stream, when Freshdesk asks for a wait longer than
        MAX_WAIT (an hourly limit): the last page yielded holds the cursor to resume from.
        """
        pages = self._pull(cursor)
        while True:
            try:
                page = next(pages)
            except StopIteration:
                return
            except TransientError as exc:
                if (exc.retry_after or 0.0) <= MAX_WAIT:
                    raise
                log.warning(
                    "freshdesk asks for a long wait: the rest waits for a later cycle",
                    retry_after_s=round(exc.retry_after or 0.0),
                )
                return
            yield page

    def _pull(self, cursor: str | None) -> Iterator[Page]:
        start = self.config.start_time
        if start is not None and start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        state = CursorState.load(cursor, int(start.timestamp()) if start else 0)
        while True:
            window = self._read_ratings(state)
            stray = list(window.rejected)
            for stream, filt in STREAMS:
                while True:
                    tickets, rejected, done = self._list_page(stream, filt, state, window)
                    rejected, stray = stray + rejected, []
                    if done and stream == STREAMS[-1][0]:
                        break  # the last listing page goes out below, with the ratings
                    yield Page(tickets, state.dump(), False, rejected)
                    if done:
                        break
            todo = window.undelivered(state.delivered)
            batches = [
                todo[i : i + self.config.page_size]
                for i in range(0, len(todo), self.config.page_size)
            ]
            if not batches:
                self._finish(state, window)
            yield Page(tickets, state.dump(), not batches and not window.more, rejected)
            for n, batch in enumerate(batches, start=1):
                tickets, rejected = self._rated(batch, state, window)
                if n == len(batches):
                    self._finish(state, window)
                yield Page(tickets, state.dump(), n == len(batches) and not window.more, rejected)
            if not window.more:
                return

    def _finish(self, state: CursorState, window: _Window) -> None:
        # Every rating of the window has gone out: the ratings mark moves past them.
        state.marks["ratings"] = window.end
        state.delivered = set()

    def _list_page(
        self, stream: str, filt: str | None, state: CursorState, window: _Window
    ) -> tuple[list[Ticket], list[tuple[str, str, Any]], bool]:
        mark = state.marks[stream]
        params: dict[str, Any] = {
            "updated_since": iso(mark.since),
            "order_by": "updated_at",
            "order_type": "asc",
            "per_page": self.config.page_size,
            "page": mark.page,
            "include": LIST_INCLUDE,
        }
        if filt:
            params["filter"] = filt
        raws, more, server_now = self._list(f"{API}/tickets", params)
        listed = [_item(raw, "updated_at") for raw in raws]
        mark, fresh, done = _step(mark, listed, more, server_now)
        tickets, rejected = self._tickets([raws[i] for i in fresh], state, window, stream)
        state.marks[stream] = mark
        return tickets, rejected, done

    def _rated(
        self, ticket_ids: list[int], state: CursorState, window: _Window
    ) -> tuple[list[Ticket], list[tuple[str, str, Any]]]:
        """Rated tickets that did not change this cycle, fetched one by one."""
        raws = []
        for tid in ticket_ids:
            raw = self._json(f"{API}/tickets/{tid}", {"include": VIEW_INCLUDE}, missing_ok=True)
            if raw is None:
                log.warning("rated ticket not found", ticket=tid)
                window.deliver(tid, state.delivered)
            else:
                raws.append(raw)
        return self._tickets(raws, state, window, "rated")

    def _tickets(
        self, raws: list[Any], state: CursorState, window: _Window, stream: str
    ) -> tuple[list[Ticket], list[tuple[str, str, Any]]]:
        tickets, rejected = [], []
        self._load_companies(raws)
        self._load_statuses(raws)
        for raw in raws:
            if not isinstance(raw, dict):
                rejected.append(("?", "malformed ticket: not an object", raw))
                continue
            tid = raw.get("id")
            try:
                merged = self._merged_into(raw) if stream != "deleted" else None
                ticket = normalize(
                    raw,
                    self._company(raw.get("company_id")),
                    self.base,
                    self.config.custom_fields,
                    rating=self._ratings.get(tid) if isinstance(tid, int) else None,
                    merged_into=merged,
                    deleted=stream == "deleted",
                    statuses=self._statuses,
                )
            except (ValueError, TypeError, KeyError) as exc:
                rejected.append((str(tid or "?"), f"malformed ticket: {exc}", raw))
                continue
            tickets.append(self._named(ticket, raw))
            window.deliver(int(ticket.id), state.delivered)  # normalize checked the id
            state.forget(ticket.id, BUCKETS.get(ticket.status, "tickets"))
        return tickets, rejected

    # ----------------------------------------------------------------- ratings, lookups

    def _read_ratings(self, state: CursorState) -> _Window:
        """New ratings (at most RATINGS_WINDOW, whole pages) and the mark after them; every
        rating read also goes into the process's ratings memory."""
        done_mark = state.marks["ratings"]
        mark = done_mark
        if not self._warm:
            lookback = int(time.time()) - RATINGS_LOOKBACK
            if lookback < done_mark.since:
                mark = Mark(lookback)
        ratings: list[Rating] = []
        rejected: list[tuple[str, str, Any]] = []
        ordered = True
        # A cycle cut short (max_tickets_per_cycle, a backfill batch) leaves the ratings mark
        # where it was: continue this process's last read of the window instead of reading
        # it again from the start every cycle.
        last = self._last_window
        if last is not None and last[0] == done_mark:
            _, kept, mark, capped = last
            ratings = list(kept)
            if capped:
                return _Window(ratings, mark, True, [])
        while True:
            params = {
                "created_since": iso(mark.since),
                "per_page": RATINGS_PER_PAGE,
                "page": mark.page,
            }
            raws, more, server_now = self._list(f"{API}/surveys/satisfaction_ratings", params)
            items = [_item(raw, "created_at") for raw in raws]
            times = [item.at for item in items if item.at is not None]
            ordered = ordered and times == sorted(times)
            mark, fresh, done = _step(mark, items, more, server_now, settled=True)
            for i in fresh:
                try:
                    rating = parse_rating(raws[i])
                except (ValueError, TypeError, AttributeError) as exc:
                    key = rating_key(items[i].key)
                    rejected.append((key, f"malformed satisfaction rating: {exc}", raws[i]))
                    continue
                known = self._ratings.get(rating.ticket_id)
                if known is None or (known.at, known.id) <= (rating.at, rating.id):
                    self._ratings.put(rating.ticket_id, rating)
                if not handled(done_mark, items[i]):
                    ratings.append(rating)
            # Out of order, a window would not be a prefix of the listing: read it all.
            if done or (ordered and len(ratings) >= RATINGS_WINDOW):
                break
        self._warm = True
        self._last_window = (done_mark, tuple(ratings), mark, not done)
        return _Window(ratings, mark, not done, rejected)

    def _named(self, ticket: Ticket, raw: Mapping[str, Any]) -> Ticket:
        """The ticket with its agent's and group's names (List All Agents, List All Groups)."""
        group_id = raw.get("group_id")
        if ticket.assignee_id is None and not group_id:
            return ticket
        return replace(
            ticket,
            assignee_name=self.agents.name(ticket.assignee_id),
            group_id=str(group_id) if group_id else None,
            group_name=self.groups.name(str(group_id)) if group_id else "",
        )

    def _names(self, what: str) -> dict[str, str]:
        """id -> name of every agent (their contact's name) or group of the account."""
        names: dict[str, str] = {}
        for page in range(1, NAMES_PAGES + 1):
            found, more, _ = self._list(f"{API}/{what}", {"per_page": 100, "page": page})
            for item in found:
                if not isinstance(item, dict) or item.get("id") is None:
                    continue
                contact = item.get("contact") if what == "agents" else item
                name = contact.get("name") if isinstance(contact, dict) else None
                if name:
                    names[str(item["id"])] = str(name)
            if not more:
                break
        return names

    def _load_statuses(self, raws: list[Any]) -> None:
        """Read the account's statuses when a ticket has a code not known yet: once per
        process, and again at most every STATUS_TTL seconds for a code still unknown."""
        codes = {raw.get("status") for raw in raws if isinstance(raw, dict)}
        unknown = {c for c in codes if isinstance(c, int) and c > CLOSED} - set(self._statuses)
        read_at = self._statuses_read_at
        if not unknown or (read_at is not None and self.clock() - read_at < STATUS_TTL):
            return
        fields = self._json(f"{API}/ticket_fields")
        fid = status_field_id(fields)
        # The admin view says which statuses stop the SLA timer; an agent's key gets 403.
        detail = self._json(f"{API}/admin/ticket_fields/{fid}", refused_ok=True) if fid else None
        if detail is None:
            log.info("freshdesk statuses read by name: the API key may not read admin views")
        self._statuses = status_table(fields, detail, self.config.statuses)
        self._statuses_read_at = self.clock()
        known = {s.name.casefold() for s in self._statuses.values()} | {
            n.casefold() for n in STATUS_NAMES.values()
        }
        for name in self.config.statuses:
            if name.casefold() not in known:
                log.warning("helpdesk.statuses names no Freshdesk status", status=name)

    def _load_companies(self, raws: list[Any]) -> None:
        """Fill the company cache with one listing when a page names many unknown ones."""
        now = self.clock()
        unknown = {
            cid
            for raw in raws
            if isinstance(raw, dict)
            and isinstance(cid := raw.get("company_id"), int)
            and not ((cached := self._companies.get(cid)) and cached[0] > now)
        }
        if len(unknown) <= COMPANY_BULK:
            return
        for page in range(1, COMPANY_CACHE // 100 + 1):
            found, more, _ = self._list(f"{API}/companies", {"per_page": 100, "page": page})
            for company in found:
                if isinstance(company, dict) and isinstance(company.get("id"), int):
                    self._companies.put(company["id"], (now + COMPANY_TTL, company))
            if not more:
                return
        log.info("more companies than the cache holds: looking the rest up one by one")

    def _company(self, company_id: Any) -> dict[str, Any] | None:
        if not isinstance(company_id, int) or isinstance(company_id, bool):
            return None
        cached = self._companies.get(company_id)
        if cached is not None and cached[0] > self.clock():
            return cached[1]
        company = self._json(f"{API}/companies/{company_id}", missing_ok=True)
        company = company if isinstance(company, dict) else None
        self._companies.put(company_id, (self.clock() + COMPANY_TTL, company))
        return company

    def _merged_into(self, raw: Mapping[str, Any]) -> str | None:
        tid = raw.get("id")
        if not isinstance(tid, int) or not may_be_merged(raw):
            return None
        stats = raw.get("stats")
        closed = stats.get("closed_at") if isinstance(stats, dict) else None
        key = (tid, str(closed or raw.get("updated_at")))
        if key in self._merges:
            return self._merges.get(key)
        conversations: list[Any] = []
        for page in range(1, CONVERSATION_PAGES + 1):
            params = {"per_page": 100, "page": page}
            found, more, _ = self._list(
                f"{API}/tickets/{tid}/conversations", params, missing_ok=True
            )
            conversations.extend(c for c in found if isinstance(c, dict))
            if not more:
                break
        primary = merged_into(conversations)
        self._merges.put(key, primary)
        return primary

    # --------------------------------------------------------------------------- HTTP

    def _list(
        self, path: str, params: Mapping[str, Any], missing_ok: bool = False
    ) -> tuple[list[Any], bool, int | None]:
        """One page of a listing, whether another follows (a full page and rel="next"), and
        the server's time (the Date header, whole seconds; None without one)."""
        result = self._call(path, params, missing_ok, listing=True)
        return ([], False, None) if result is None else result

    def _json(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        missing_ok: bool = False,
        *,
        refused_ok: bool = False,
    ) -> Any:
        """One object (None for a 404 when `missing_ok`, for a 403 or 404 when `refused_ok`)."""
        return self._call(path, params or {}, missing_ok, listing=False, refused_ok=refused_ok)

    def _call(
        self,
        path: str,
        params: Mapping[str, Any],
        missing_ok: bool,
        listing: bool,
        refused_ok: bool = False,
    ) -> Any:
        def once() -> Any:
            response = self._send(path, params)
            if response.status_code == 404 and (missing_ok or refused_ok):
                return None
            if response.status_code == 403 and refused_ok:
                return None
            if response.status_code >= 400:
                raise self._error(response, path)
            try:
                body = response.json()
            except ValueError:
                raise TransientError(f"Freshdesk sent a body that is not JSON for {path}") from None
            if not listing:
                return body
            if not isinstance(body, list):
                raise TerminalError(f"Freshdesk sent {type(body).__name__}, not a list, for {path}")
            per_page = int(params.get("per_page") or 30)
            more = len(body) >= per_page and "next" in response.links
            return body, more, _server_time(response.headers.get("Date"))

        return with_retry(once, api="freshdesk", attempts=self.attempts)

    def _send(self, path: str, params: Mapping[str, Any]) -> requests.Response:
        wait = self._not_before - self.clock()
        if wait > 0:
            self.sleep(wait)
        # After the budget pause, so the budget records when the request really goes out.
        expected = _cost(path, params)
        sent_at = self.budget.wait_for(expected) if self.budget is not None else 0.0
        self.requests_sent += 1
        try:
            response = self.session.get(
                self.base + path, params=params, timeout=self.config.timeout
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            if self.budget is not None:
                self.budget.charge(sent_at, expected)  # it may have been counted
            raise TransientError(
                f"cannot reach Freshdesk at {self.base}: {type(exc).__name__}", vendor="Freshdesk"
            ) from None
        if self.budget is not None:
            # What Freshdesk says the request cost (a 429 costs nothing), else the expected.
            used = _header_number(response.headers, "X-RateLimit-Used-CurrentRequest")
            self.budget.charge(sent_at, expected if used is None else used)
        if response.status_code != 429:
            self._note_budget(response.headers)
        return response

    def _note_budget(self, headers: Mapping[str, str]) -> None:
        """Space requests out when X-RateLimit-Remaining runs low, rather than meet 429s."""
        total = _header_number(headers, "X-RateLimit-Total")
        remaining = _header_number(headers, "X-RateLimit-Remaining")
        used = _header_number(headers, "X-RateLimit-Used-CurrentRequest")
        if used:
            self._dearest = max(self._dearest, used)
        if not total or remaining is None:
            return
        if remaining < self._dearest:
            # The next request may not fit: whether the window is fixed or sliding, a
            # minute from now the budget is back (the vendor sends no reset time).
            pause = 60.0
        elif remaining < total * LOW_BUDGET:
            pause = 60.0 * max(used or 1, 1) / total  # the plan's sustained pace
        else:
            return
        log.info("freshdesk budget low, slowing down", remaining=remaining, wait_s=pause)
        self._not_before = self.clock() + pause

    def _error(self, response: requests.Response, path: str) -> Exception:
        """An error response -> syncd's error tree (syncd.errors' table, no overrides)."""
        refusal = Refusal(
            "the API key",
            where="helpdesk.api_key_env",
            hint=f"Check the API key in the environment variable {self.config.api_key_env} "
            "(Freshdesk: Profile settings > Your API Key) and helpdesk.domain",
        )
        return error_for(
            "Freshdesk",
            response.status_code,
            f"GET {path}: {_describe(response)[:300]}",
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            refusal=refusal,
        )


def _server_time(value: str | None) -> int | None:
    """The HTTP Date header as epoch seconds."""
    try:
        return int(parsedate_to_datetime(value).timestamp()) if value else None
    except (TypeError, ValueError):
        return None


def _header_number(headers: Mapping[str, str], name: str) -> float | None:
    """A numeric header; Freshdesk may write `700` or `700.0` ([RL] examples show both)."""
    value = headers.get(name)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _cost(path: str, params: Mapping[str, Any]) -> int:
    """The credits Freshdesk documents for a request ([RL], [List], [View]): 1, plus 2 per
    embed on the ticket listing and 1 per embed on a single ticket."""
    embeds = len([e for e in str(params.get("include") or "").split(",") if e.strip()])
    if path == f"{API}/tickets":
        return 1 + 2 * embeds
    return 1 + embeds if path.startswith(f"{API}/tickets/") else 1


def _describe(response: requests.Response) -> str:
    """Freshdesk's error body in one line: description, then each field's message."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or response.reason or "no details"
    if not isinstance(body, dict):
        return str(body)
    parts = [str(body.get("description") or body.get("message") or body.get("code") or "")]
    for err in body.get("errors") or []:
        if isinstance(err, dict):
            field_name = f"{err['field']}: " if err.get("field") else ""
            parts.append(f"{field_name}{err.get('message', '')}".strip())
    return "; ".join(p for p in parts if p) or "no details"
