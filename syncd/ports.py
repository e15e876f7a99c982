"""The narrow interfaces between the pipeline and the outside world.

The pipeline sees sources, sinks and the state store only through these protocols; the CLI
builds the concrete ones from config. A sink renders a ticket to its own record first, so the
pipeline can fingerprint records and send a sink only what changed since it last accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

from syncd.facts import TicketFacts
from syncd.model import Action, Decision, Ticket


@dataclass(frozen=True, slots=True)
class Page:
    """One page of changed tickets and the cursor that follows it."""

    tickets: Sequence[Ticket]
    cursor: str
    end_of_stream: bool
    rejected: Sequence[tuple[str, str, Any]] = ()  # (ticket id, reason, raw payload)


class Source(Protocol):
    """A helpdesk: yields pages of tickets changed since a cursor."""

    name: str
    requests_sent: int  # requests made so far (for progress reports and budgets)

    def pull(self, cursor: str | None) -> Iterator[Page]:
        """Pages in change order; stops after the page with `end_of_stream`. With no cursor,
        from the configured start time."""
        ...

    def start_cursor(self, since: datetime) -> str:
        """A cursor from which `pull` returns every ticket changed since `since`."""
        ...

    def fetch(self, keys: Sequence[str]) -> Page:
        """The current version of these tickets, read again by id (to retry tickets that
        were malformed); tickets the helpdesk no longer has are rejected, with that reason.
        The page's cursor is meaningless."""
        ...


@dataclass(frozen=True, slots=True)
class SinkRecord:
    """A ticket as one sink will store it; `payload` is what gets fingerprinted."""

    key: str  # the helpdesk ticket id
    payload: Mapping[str, Any]


@dataclass(slots=True)
class SinkResult:
    """Per-record outcome of a write: one bad record never blocks the batch."""

    accepted: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)  # key -> reason


@dataclass(frozen=True, slots=True)
class FiredAction:
    """An action the rules asked for, remembered as done so that it is done once: carried
    out, skipped (nothing configured to do it) or recorded as a baseline."""

    ticket_key: str
    action: Action
    outcome: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Everything a cycle saves once its writes are done, saved in one transaction: the
    ticket snapshots (with when to look at each again), their report facts, actions recorded
    without a side effect (baseline, skipped), what each sink still owes, the source's dead
    letters that now read fine, the cursor (None: it stays) and small facts (`meta`)."""

    cursor_key: str
    cursor: str | None = None
    snapshots: Sequence[tuple[Ticket, datetime | None]] = ()
    facts: Sequence[TicketFacts] = ()
    fired: Sequence[FiredAction] = ()
    owed: Mapping[str, Collection[str]] = field(default_factory=dict)
    settled: Mapping[str, Collection[str]] = field(default_factory=dict)
    meta: Mapping[str, str] = field(default_factory=dict)


# A report cell: text, a number, a moment (aware datetime; the sink shows it in its own
# timezone), a day, or empty.
Cell = str | int | float | datetime | date | None


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart a report asks for: the `series` columns plotted against the `domain` column."""

    title: str
    kind: str  # "column" (stacked columns) or "line"
    domain: str  # title of the column on the x axis
    series: tuple[str, ...]  # titles of the plotted columns


@dataclass(frozen=True, slots=True)
class Report:
    """A table the managers read, computed from syncd's own state (not from the sheet):
    SLA breaches, escalations, daily, weekly, monthly. A sink that shows reports renders each
    as a whole; the pipeline's fingerprints spare the write when nothing in it changed."""

    name: str  # stable key: "breaches", "escalations", "daily", "weekly", "monthly"
    title: str  # default tab title, e.g. "Daily summary"
    columns: tuple[str, ...]
    rows: Sequence[Sequence[Cell]]  # in display order
    # column title -> "percent" (0.93 shows 93%), "hours", "count", "date", "datetime"
    formats: Mapping[str, str] = field(default_factory=dict)
    charts: tuple[Chart, ...] = ()


class Sink(Protocol):
    """A destination: HubSpot, the sheet, ..."""

    name: str

    def render(self, ticket: Ticket, decision: Decision) -> SinkRecord:
        """The record this sink would store for the ticket (pure)."""
        ...

    def write(self, records: Sequence[SinkRecord]) -> SinkResult:
        """Upsert the records, idempotently, keyed by helpdesk ticket id."""
        ...

    def describe(self, records: Sequence[SinkRecord]) -> str:
        """What `write` would do, for --dry-run (no request made)."""
        ...


# Optional capabilities. A connector has one by having its methods; the code that uses one
# asks `isinstance(sink, ShowsReports)`, never `getattr`, so a type checker sees the call.


@runtime_checkable
class ShowsReports(Protocol):
    """A sink that also shows the reports (the sheet)."""

    def render_reports(self, reports: Sequence[Report]) -> list[SinkRecord]:
        """Records for the reports (pure), keyed apart from ticket ids ("report:daily");
        `write` receives them with the ticket records of the same cycle."""
        ...


class ReportSink(Sink, ShowsReports, Protocol):
    """A sink that shows the reports."""


@runtime_checkable
class WritesReports(Protocol):
    """A sink that writes report tabs on their own, outside a cycle (`syncd sla check
    --sheet`): one read and one write, nothing else."""

    def write_reports(self, reports: Sequence[Report]) -> None:
        """Replace the reports' tabs with these reports."""
        ...


@runtime_checkable
class SetsUp(Protocol):
    """A sink whose vendor needs preparing once (`syncd setup`: HubSpot's properties)."""

    def setup(self, dry_run: bool = False) -> list[str]:
        """Create what is missing (idempotent); the actions taken (or, dry, to take)."""
        ...


class ScopeReport(Protocol):
    """What a scope check found: `ok` False when the scopes could not be read."""

    @property
    def ok(self) -> bool: ...

    @property
    def message(self) -> str: ...


@runtime_checkable
class ChecksScopes(Protocol):
    """A sink whose `setup` also checks the token's scopes; `scope_check` says what the last
    one found (None before any)."""

    @property
    def scope_check(self) -> ScopeReport | None: ...


@runtime_checkable
class RemembersCrm(Protocol):
    """A sink that keeps what it knows of the vendor's objects in a CrmMemory (the state
    store), so a restart sends nothing the vendor holds already."""

    def remember_in(self, memory: CrmMemory) -> None:
        """Use `memory` from now on."""
        ...


class StateStore(Protocol):
    """The only thing that remembers: cursors, fingerprints, dead letters."""

    def get_cursor(self, source: str) -> str | None:
        """The saved cursor of a source (None before the first cycle)."""
        ...

    def set_cursor(self, source: str, cursor: str) -> None:
        """Save a source's cursor."""
        ...

    def get_meta(self, key: str) -> str | None:
        """A small remembered fact (None if never set)."""
        ...

    def set_meta(self, key: str, value: str) -> None:
        """Remember a small fact."""
        ...

    def fingerprints(self, sink: str, keys: Iterable[str]) -> dict[str, str]:
        """What the sink last accepted, for the keys it has seen."""
        ...

    def save_fingerprints(self, sink: str, fingerprints: Mapping[str, str]) -> None:
        """Record what a sink accepted."""
        ...

    def add_dead_letter(
        self,
        sink: str,
        key: str,
        reason: str,
        payload: Any,
        schedule: Callable[[int], datetime | None] | None = None,
    ) -> None:
        """Park a record a sink rejected, with the reason; `schedule` gives the next
        automatic attempt from the attempts so far (None: parked until `syncd dlq retry`)."""
        ...

    def due_dead_letters(self, sink: str, now: datetime, limit: int) -> list[str]:
        """Keys of the sink's dead letters due for an automatic attempt."""
        ...

    def owed(self, sink: str, limit: int) -> list[str]:
        """Tickets the sink still owes (its backlog), oldest first."""
        ...

    def settle(self, sink: str, keys: Iterable[str]) -> None:
        """The sink holds these tickets now: out of its backlog and dead letters."""
        ...

    def save_delivery(
        self, sink: str, fingerprints: Mapping[str, str], held: Iterable[str]
    ) -> None:
        """After a write, in one transaction: record what the sink accepted (`fingerprints`)
        and take the tickets it holds now (`held`) out of its backlog and dead letters."""
        ...

    def advance(
        self,
        cursor_key: str,
        cursor: str | None,
        owed: Mapping[str, Collection[str]],
        settled: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        """Queue what each sink still owes, drop the `settled` dead letters and move the
        cursor (None: it stays), in one transaction."""
        ...

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Save a cycle's checkpoint (see `Checkpoint`) in one transaction, each kind of row
        in one statement."""
        ...

    def backlog_sizes(self) -> dict[str, int]:
        """Tickets each sink still owes."""
        ...

    def dead_letter_keys(self, sink: str) -> set[str]:
        """Keys of every dead letter of a sink (or `source:<name>`)."""
        ...

    def snapshots(self, keys: Iterable[str]) -> dict[str, Ticket]:
        """The latest snapshot of each of these tickets that syncd has seen."""
        ...

    def save_snapshots(self, items: Iterable[tuple[Ticket, datetime | None]]) -> None:
        """Keep the latest version of each ticket and when to look at it again."""
        ...

    def save_facts(self, facts: Iterable[TicketFacts]) -> None:
        """Keep the latest report facts of each ticket."""
        ...

    def report_facts(self, since: datetime) -> Iterator[TicketFacts]:
        """The report facts of every ticket still open or closed at or after `since`, as they
        are read (a backfill's are many: `list(...)` only when a list is needed)."""
        ...

    def facts(self, keys: Iterable[str]) -> dict[str, TicketFacts]:
        """The stored report facts of these tickets (those it has)."""
        ...

    def due_tickets(self, now: datetime, limit: int) -> list[Ticket]:
        """Tickets whose timer (next_check) has passed."""
        ...

    def record_fired_many(self, fired: Iterable[FiredAction]) -> None:
        """Remember many actions as carried out (or skipped), in one statement."""
        ...

    def fired(self, ticket_keys: Iterable[str]) -> set[tuple[str, str]]:
        """(ticket, action) pairs already carried out."""
        ...

    def action_outcomes(self, ticket_keys: Iterable[str]) -> dict[str, dict[str, tuple[str, str]]]:
        """ticket -> action key -> (target, recorded outcome), for these tickets' actions."""
        ...

    def record_fired(self, ticket_key: str, action: Action, outcome: str) -> None:
        """Remember an action as carried out."""
        ...


class CrmMemory(Protocol):
    """What a CRM sink remembers between processes (the state store holds it): the object
    each contact and company key became with a fingerprint of what it last held, and the
    object each ticket is associated with, per kind ("contacts", "companies"). A sink that
    is given one sends the CRM only what changed, also after a restart."""

    def crm_objects(self, kind: str, keys: Iterable[str]) -> dict[str, tuple[str, str]]:
        """key -> (CRM object id, fingerprint), for those of `keys` remembered."""
        ...

    def save_crm_objects(self, kind: str, objects: Mapping[str, tuple[str, str]]) -> None:
        """Remember objects the CRM confirmed: key -> (object id, fingerprint)."""
        ...

    def crm_links(self, kind: str, ticket_keys: Iterable[str]) -> dict[str, str]:
        """ticket key -> the object of `kind` it is associated with, for those remembered."""
        ...

    def save_crm_links(self, kind: str, links: Mapping[str, str]) -> None:
        """Remember associations the CRM confirmed: ticket key -> object id of `kind`."""
        ...

    def forget_crm_links(self, kind: str | None, ticket_keys: Iterable[str]) -> None:
        """Forget these tickets' associations (of `kind`, or all): read again when next
        written."""
        ...


class Notifier(Protocol):
    """Carries out the actions the rules ask for (notify, tag, task)."""

    def deliver(self, ticket: Ticket, action: Action, text: str, decision: Decision) -> str | None:
        """Do it (`text`: the message or task subject, rendered; `decision`: what the rules
        decided for the ticket) and return an outcome for the record; None when this
        notifier cannot handle the action (the next one is tried). Raises SyncdError on
        failure."""
        ...
