"""The ticket model every source produces and every rule and sink consumes.

Sources normalise the vendor's JSON into `Ticket`; nothing downstream sees vendor shapes.
The rules engine turns a `Ticket` into a `Decision`. Both are values: never change one after
it is made. What the engine builds for every ticket on every cycle (`Decision`, `Reason`,
`SlaStatus`, `SlaTarget`, `Action`) is a plain slotted dataclass rather than a frozen one,
because a frozen dataclass costs four times as much to construct.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Helpdesk ticket status, normalised across helpdesks."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer: SLA clocks pause
    ON_HOLD = "on_hold"  # waiting on a third party: SLA clocks pause
    SOLVED = "solved"
    CLOSED = "closed"
    # Gone from the helpdesk's working set: never shown as open, whatever they were before.
    MERGED = "merged"  # closed by merging into another ticket (`Ticket.merged_into`)
    SPAM = "spam"
    DELETED = "deleted"

    def __init__(self, value: str) -> None:
        # A plain attribute, not a property: the rules ask it several times per ticket.
        self.is_open: bool = value in ("new", "open", "pending", "on_hold")
        """True while the ticket still needs work from the team."""
        self.is_gone: bool = value in ("merged", "spam", "deleted")
        """Merged away, spam or deleted: no longer one of the team's tickets."""


@dataclass(frozen=True, slots=True)
class Person:
    """A requester or agent."""

    id: str | None
    name: str = ""
    email: str = ""

    @property
    def domain(self) -> str:
        """The email's domain, lower-cased ("" when there is no email)."""
        return self.email.rpartition("@")[2].lower() if "@" in self.email else ""

    @property
    def first_name(self) -> str:
        """First word of the name, for greetings in templates."""
        return self.name.split()[0] if self.name.strip() else ""


@dataclass(frozen=True, slots=True)
class Organization:
    """The requester's company as the helpdesk knows it."""

    id: str | None
    name: str = ""
    domain: str = ""


@dataclass(frozen=True, slots=True)
class StatusChange:
    """The ticket entered `status` at `at` (from the helpdesk's audit or metric events)."""

    at: datetime
    status: Status


# The helpdesk's agent link path -> its link for the requester (Ticket.customer_url).
_CUSTOMER_PATHS = {
    "zendesk": ("/agent/tickets/", "/hc/requests/"),
    "freshdesk": ("/a/tickets/", "/support/tickets/"),
}


@dataclass(frozen=True, slots=True)
class HelpdeskSla:
    """One SLA target as the helpdesk itself measures it (Zendesk's `slas` sideload,
    Freshdesk's due_by/fr_due_by and escalation flags), normalised.

    `measure` is syncd's name for it (first_response, next_reply, periodic_update,
    resolution, requester_wait, agent_work), or "" for one syncd does not track; `metric` is
    the helpdesk's own name. `stage`: active, paused or achieved; `breached`: the helpdesk's
    verdict when it gives one (None: judge by `due`)."""

    measure: str
    metric: str
    stage: str
    due: datetime | None
    breached: bool | None = None
    policy: str = ""
    business_hours: bool | None = None  # None: the helpdesk does not say


@dataclass(frozen=True, slots=True)
class Ticket:
    """A helpdesk ticket, normalised. `id` is the helpdesk's id, as a string."""

    id: str
    source: str
    subject: str
    description: str
    status: Status
    created_at: datetime
    updated_at: datetime
    # The helpdesk's own priority (lower-case); the rules set syncd's priority.
    helpdesk_priority: str | None = None
    channel: str = ""
    tags: tuple[str, ...] = ()  # lower-case, as Zendesk keeps them (sources lower-case others)
    requester: Person | None = None
    organization: Organization | None = None
    assignee_id: str | None = None
    # The assignee's and the group's names as the helpdesk shows them ("" when unknown).
    assignee_name: str = ""
    group_id: str | None = None
    group_name: str = ""
    url: str = ""  # link for an agent to open the ticket in the helpdesk
    custom_fields: Mapping[str, Any] = field(default_factory=dict)
    first_response_at: datetime | None = None  # first public reply by an agent
    solved_at: datetime | None = None
    reopens: int = 0
    csat: float | None = None  # satisfaction on a 1-5 scale
    # Points of the survey the score came from: 2 (good/bad: 1.0 or 5.0), 3 or 5 (a 3/5
    # is 3.0, a 2/3 is 3.0). None: no rating.
    csat_scale: int | None = None
    csat_at: datetime | None = None
    csat_comment: str = ""
    status_history: tuple[StatusChange, ...] = ()  # oldest first; may be empty
    # Minutes spent in each paused status before the current stretch, as the helpdesk counts
    # them (Zendesk's agent wait and on-hold times): {"pending": {"calendar": 180,
    # "business": 120}, "on_hold": {...}}. Empty when unknown; plain dicts, so it keeps as JSON.
    paused_minutes: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    merged_into: str | None = None  # the ticket this one was merged into, when known
    # False when the source cannot tell first replies (first_response_at is then unknown,
    # not missing): first-response SLAs are shown but never judged breached.
    replies_known: bool = True
    # False when the source may have missed the ticket's rating (no csat then means "not
    # seen", not "none"): the pipeline carries over the score it stored before.
    csat_known: bool = True
    # The helpdesk's own name for a status `status` cannot tell apart (a custom status such as
    # Freshdesk's "Waiting on Customer"); "" when the normalised status says it all.
    status_name: str = ""
    # The conversation as the SLA clocks need it: when the requester's oldest message still
    # without a public agent reply was sent (None: nobody waits for a reply), and the latest
    # public agent reply. Internal notes and automated replies count as neither.
    awaiting_reply_since: datetime | None = None
    last_agent_reply_at: datetime | None = None
    first_solved_at: datetime | None = None  # the first solve, kept through reopens
    # SLA measures the source cannot see for this ticket ("next_reply", "periodic_update",
    # "first_resolution"): shown as unknown and never judged.
    unseen: frozenset[str] = frozenset()
    # The helpdesk's own SLA verdicts, for `syncd sla check` (empty: it measures none).
    helpdesk_sla: tuple[HelpdeskSla, ...] = ()

    @property
    def customer_url(self) -> str:
        """The ticket's page for its requester in the helpdesk's portal, from the agents'
        link (same host): https://{subdomain}.zendesk.com/hc/requests/{id} (Help Center) or
        https://{domain}.freshdesk.com/support/tickets/{id} (customer portal); "" when the
        helpdesk has none. Customers never get `url`, which only agents can open."""
        agent, customer = _CUSTOMER_PATHS.get(self.source, ("", ""))
        suffix = f"{agent}{self.id}"
        if not agent or not self.url.endswith(suffix):
            return ""
        return self.url.removesuffix(suffix) + customer + self.id

    def pauses(self, paused: frozenset[Status]) -> list[tuple[datetime, datetime | None]]:
        """Intervals spent in a paused status (end None: still paused). Without a history, the
        current status is assumed to have held since the last update."""
        history = self.status_history or (StatusChange(self.updated_at, self.status),)
        spans: list[tuple[datetime, datetime | None]] = []
        last = len(history) - 1
        for i, change in enumerate(history):
            if change.status in paused:
                spans.append((change.at, history[i + 1].at if i < last else None))
        return spans


@dataclass(slots=True)
class Reason:
    """Which rule made a decision, for `rules explain` and logs."""

    decision: str  # "category", "priority", ...
    value: str
    rule: str  # the rule's name, or "default"
    where: str  # file:line


@dataclass(slots=True, unsafe_hash=True)  # hashable: a value (see NO_TARGET)
class SlaTarget:
    """One SLA target (first response or resolution) as of a moment."""

    due: datetime | None  # None while the clock is paused or there is no target
    met_at: datetime | None = None  # when it was met (first reply, solved)
    left: timedelta | None = None  # working time left (negative once breached)
    used: float = 0.0  # share of the target used: 0.5 = half, 1.0 = due now
    breached: bool = False
    at_risk: bool = False  # past the policy's at-risk share, not yet breached
    known: bool = True  # False: the source cannot see this measure; never judged


# Every SLA measure a policy can set a target for, in the order the sheet shows them.
SLA_MEASURES = (
    "first_response",
    "next_reply",
    "periodic_update",
    "first_resolution",
    "resolution",
    "requester_wait",
    "agent_work",
)


def no_target() -> SlaTarget:
    """A measure the policy sets no target for."""
    return SlaTarget(None)


# The measures a policy sets no target for, in every SlaStatus: one shared value (targets are
# values, never changed once made; a measure is replaced, never edited), rather than five made
# per status by a default factory, which costs a third of making one.
NO_TARGET = no_target()


@dataclass(slots=True)
class SlaStatus:
    """The SLA policy that applies and where the ticket stands against it."""

    policy: str
    calendar: str
    first_response: SlaTarget
    resolution: SlaTarget  # full resolution: a reopen restarts it
    # The other measures (a target with no due and nothing used when the policy sets none).
    next_reply: SlaTarget = NO_TARGET
    periodic_update: SlaTarget = NO_TARGET
    first_resolution: SlaTarget = NO_TARGET  # never restarted
    requester_wait: SlaTarget = NO_TARGET
    agent_work: SlaTarget = NO_TARGET

    def targets(self) -> tuple[tuple[str, SlaTarget], ...]:
        """Every measure by name (SLA_MEASURES order)."""
        return (
            ("first_response", self.first_response),
            ("next_reply", self.next_reply),
            ("periodic_update", self.periodic_update),
            ("first_resolution", self.first_resolution),
            ("resolution", self.resolution),
            ("requester_wait", self.requester_wait),
            ("agent_work", self.agent_work),
        )

    @property
    def breached(self) -> bool:
        """Any target breached."""
        return (
            self.first_response.breached
            or self.resolution.breached
            or self.next_reply.breached
            or self.periodic_update.breached
            or self.first_resolution.breached
            or self.requester_wait.breached
            or self.agent_work.breached
        )

    @property
    def at_risk(self) -> bool:
        """Any target at risk (and none breached)."""
        # Written out like `breached`: escalation conditions ask for every ticket.
        return not self.breached and (
            self.first_response.at_risk
            or self.resolution.at_risk
            or self.next_reply.at_risk
            or self.periodic_update.at_risk
            or self.first_resolution.at_risk
            or self.requester_wait.at_risk
            or self.agent_work.at_risk
        )

    @property
    def state(self) -> str:
        """breached, at_risk, ok, met or paused: one word for the sheet."""
        if self.breached:
            return "breached"
        if self.at_risk:
            return "at_risk"
        targets = [t for _name, t in self.targets()]
        if all(t.met_at or t.due is None for t in targets):
            return "met" if any(t.met_at for t in targets) else "paused"
        return "ok"


Escape = Callable[[str], str]  # turns a ticket value into literal text of a message format

# Action targets that reach the ticket's requester: their text must be a customer template
# (the rules loader checks it), and they go out in the ticket's thread (a public reply with
# helpdesk.write_back, else an email whose subject carries the ticket reference). A new way
# of reaching the requester is added here, and every check follows.
REQUESTER_TARGETS = frozenset({"email:requester"})


def reaches_requester(kind: str, target: str) -> bool:
    """Whether an action of this kind and target is read by the ticket's requester."""
    return kind == "notify" and "".join(target.split()).lower() in REQUESTER_TARGETS


def paragraphs(text: str) -> list[str]:
    """A message's paragraphs (blocks between blank lines), each one line: rule files wrap
    their text to fit the editor, a customer's mail client or the helpdesk reflows it."""
    parts = (" ".join(part.split()) for part in text.strip().split("\n\n"))
    return [part for part in parts if part]


@dataclass(slots=True)
class Action:
    """Something the rules ask to happen once per ticket: notify, tag, create a task.

    `key` is unique per ticket and rule (e.g. "escalation:2:0"), so the state store can
    remember what fired and never fire it twice.
    """

    key: str
    kind: str  # notify | tag | task
    origin: str  # "escalation level 2 (Support manager)" or "follow-up Satisfaction check"
    target: str = ""  # notify: "slack:#channel", "email:a@b"; task: owner
    tags: tuple[str, ...] = ()
    due_in: timedelta | None = None  # tasks: due this long after the action is carried out
    where: str = ""  # file:line of the rule
    # Fills in the message or task subject. Called only when the action is carried out:
    # most actions fired in an earlier cycle and are never rendered again. The third
    # argument escapes each ticket value for the channel's format (None: as they are).
    render: Callable[[Ticket, Decision, Escape | None], str] | None = field(
        default=None, compare=False, repr=False
    )

    @property
    def to_requester(self) -> bool:
        """Whether the ticket's requester reads this action's message (a customer one)."""
        return reaches_requester(self.kind, self.target)

    def text(self, ticket: Ticket, decision: Decision, escape: Escape | None = None) -> str:
        """The message or task subject for this ticket ("" when the rule gives none).
        `escape` is applied to every value the template fills in, never to the template's
        own text: a channel with markup (Slack) passes its escaper, so customer text cannot
        become markup there."""
        return self.render(ticket, decision, escape) if self.render else ""

    def delivery_id(self, ticket: Ticket) -> str:
        """The same for every delivery of this action for this ticket, and for nothing else:
        lets a receiver drop repeats. Hashed, because keys hold rule names (spaces, any
        script) and headers must be ASCII."""
        raw = f"{ticket.source}\0{ticket.id}\0{self.key}".encode()
        return "syncd-" + hashlib.sha256(raw).hexdigest()[:32]


@dataclass(slots=True)
class Decision:
    """What the SOP rules decided for one ticket at one moment."""

    category: str
    priority: str
    tags: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()
    sla: SlaStatus | None = None
    escalation_level: int = 0
    escalation_name: str = ""
    actions: tuple[Action, ...] = ()
    next_check: datetime | None = None  # the next moment this decision may change by itself
    # The incident the ticket is part of ("" for none): set by the pipeline's incidents stage
    # (syncd.incident_stage) from the stored surges, never by the rules, which see one ticket.
    incident: str = ""


def parse_timestamp(value: Any, name: str) -> datetime:
    """An ISO-8601 time with a zone, as the helpdesks send them ("2026-11-02T10:00:00Z").
    Raises ValueError naming `name` when it is missing, malformed or has no zone."""
    if not isinstance(value, str):
        raise ValueError(f"{name} is missing")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name} {value!r} is not an ISO-8601 time") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{name} {value!r} has no time zone")
    return parsed
