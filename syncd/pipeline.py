"""One sync cycle, in named stages: pull → evaluate → deliver per sink → carry out actions →
checkpoint. Each stage is a function with explicit inputs and a returned result:

    pull(pipeline, mode, context)               -> Pulled     changed tickets, next cursor
    evaluate(pipeline, pulled, mode)            -> Evaluated  (ticket, decision) pairs
    ReportTabs.build(...)                       -> ReportTabs the report tabs' records
    deliver(sink, evaluated, tabs, mode, ...)   -> Delivery   what one sink took
    carry_out(evaluated, notifiers, ...)        -> Carried    actions done, to record
    checkpoint(pipeline, ...)                   -> Saved      one transaction; backlog sizes

`run_cycle` runs them in that order and folds their results into the `CycleReport`. What a
cycle does is its `CycleMode`; the time and whether syncd is shutting down come in its
`CycleContext`, never from a global.

Data flows one way. The pipeline sees the source, the sinks and the state only through
`syncd.ports`. Every write is an idempotent upsert keyed by the helpdesk ticket id, and
delivery is at-least-once per sink:

- Each sink keeps its own checkpoint. A sink that fails as a whole (an outage, an open
  circuit, a shutdown mid-write) has this cycle's changes queued in its backlog, in the
  transaction that moves the source cursor; so one sink's outage never stops another, nor the
  cursor. Each cycle a sink is sent this cycle's changes plus a bounded batch of what it
  still owes, re-evaluated from the ticket snapshots, until it has caught up.
- A record a sink rejects (or a ticket the helpdesk sends malformed) becomes a dead letter
  with the reason and the payload; the rest of the batch goes on. Dead letters are tried
  again on a backoff (`RetryPolicy`), then parked until `syncd dlq retry`.
- A crash before the checkpoint repeats the cycle (the cursor had not moved); fingerprints
  of what each sink accepted make the repeat cheap: a sink is sent only records that differ.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import structlog

from syncd import keys
from syncd.cycle import (
    BACKFILL,
    DAEMON,
    DRY_RUN,
    OWED_ONLY,
    CycleContext,
    CycleMode,
    CycleReport,
    SinkReport,
)
from syncd.errors import SyncdError, UserError
from syncd.incident_stage import IncidentStage
from syncd.model import Action, Decision, Ticket
from syncd.ports import (
    Checkpoint,
    FiredAction,
    Notifier,
    Sink,
    SinkRecord,
    SinkResult,
    Source,
    StateStore,
)
from syncd.report_tabs import ReportTabs
from syncd.reports import ReportSettings
from syncd.rules.incidents import IncidentRule

__all__ = [
    "BACKFILL",
    "DAEMON",
    "DRY_RUN",
    "OWED_ONLY",
    "Carried",
    "CycleContext",
    "CycleMode",
    "CycleReport",
    "Delivery",
    "Evaluated",
    "Pipeline",
    "Pulled",
    "RetryPolicy",
    "Saved",
    "SinkReport",
    "carry_out",
    "checkpoint",
    "deliver",
    "evaluate",
    "fingerprint",
    "pull",
    "run_cycle",
]

log = structlog.get_logger("syncd.pipeline")

Evaluate = Callable[[Ticket, datetime], Decision]
NO_SNAPSHOT = "syncd keeps no snapshot of this ticket to send again; it goes when it next changes"


@dataclass(frozen=True)
class RetryPolicy:
    """When a dead letter is tried again: `first_retry` seconds after its first failure,
    twice as long after each further one (at most `max_wait`); after `retries` automatic
    attempts it is parked until `syncd dlq retry`."""

    retries: int = 5
    first_retry: float = 300.0
    max_wait: float = 21_600.0

    def next_attempt(self, attempts: int, now: datetime) -> datetime | None:
        """When to try a record that has failed `attempts` times; None to park it."""
        if attempts > self.retries:
            return None
        wait = min(self.first_retry * 2 ** (attempts - 1), self.max_wait)
        return now + timedelta(seconds=wait)


@dataclass(frozen=True)
class _Schedule:
    """A RetryPolicy at one moment: what `StateStore.add_dead_letter` calls."""

    policy: RetryPolicy
    now: datetime

    def __call__(self, attempts: int) -> datetime | None:
        return self.policy.next_attempt(attempts, self.now)


@dataclass(frozen=True)
class Pipeline:
    """What a cycle works with: the source, the sinks, the rules, the state store, whatever
    carries out the rules' actions, and how much to take on per cycle."""

    source: Source
    sinks: Sequence[Sink]
    evaluate: Evaluate
    store: StateStore
    notifiers: Sequence[Notifier] = ()
    max_tickets: int = 10_000  # tickets pulled, and owed tickets sent per sink, per cycle
    dead_letters: RetryPolicy = RetryPolicy()
    reporter: ReportSettings | None = None  # how the report tabs are cut; None: no tabs
    notify_on_first_sync: bool = False
    cursor_key: str | None = None  # the cursor to follow; None: the source's own
    incidents: Sequence[IncidentRule] = ()  # the rules' surges (syncd.incident_stage)

    @property
    def cursor(self) -> str:
        """The key of the cursor this pipeline follows (a backfill keeps its own)."""
        return self.cursor_key or keys.cursor_key(self.source.name)


def fingerprint(payload: Any) -> str:
    """A stable hash of a sink record's content."""
    text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def run_cycle(
    pipeline: Pipeline, mode: CycleMode = DAEMON, context: CycleContext | None = None
) -> CycleReport:
    """Run one cycle, stage by stage; raises only when the source cannot be read (or, on a
    fenced store, when the lease was lost: nothing more is saved)."""
    context = context or CycleContext()
    pulled = pull(pipeline, mode, context)
    evaluated = evaluate(pipeline, pulled, mode)
    store = pipeline.store
    surges = IncidentStage.run(pipeline.incidents, store, evaluated.decided, evaluated.now, mode)
    pipeline, evaluated = surges.apply(pipeline, evaluated)  # the tickets' Incident flag
    tabs = ReportTabs.build(
        pipeline.reporter, pipeline.sinks, evaluated.decided, store, evaluated.now, pulled.more
    )
    surges.show(tabs, pipeline.reporter)  # the Incidents tab, with the other report tabs
    deliveries = {
        sink.name: deliver(sink, evaluated, tabs, mode, pipeline) for sink in pipeline.sinks
    }
    baseline = is_baseline(pipeline, mode)
    carried = carry_out(evaluated, pipeline.notifiers, store, mode, baseline)
    surges.announce(pipeline.notifiers, baseline)  # each incident's alerts, once
    saved = Saved()
    if not mode.dry_run:
        saved = checkpoint(pipeline, mode, pulled, evaluated, deliveries, carried, tabs, baseline)
    report = cycle_report(pulled, evaluated, deliveries, carried, saved)
    log.info(
        "cycle",
        pulled=report.pulled,
        timers=report.timers,
        actions=report.actions_fired,
        changed=report.changed,
        written={n: s.written for n, s in report.sinks.items()},
        backlog={n: s.backlog for n, s in report.sinks.items() if s.backlog},
        errors=report.errors,
        dry_run=mode.dry_run,
    )
    return report


# -- pull --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pulled:
    """The pull stage's result: the tickets to evaluate and where the cursor goes."""

    tickets: list[Ticket]  # changed since the cursor, plus malformed ones that now read fine
    now: datetime  # the moment the pull ended: the cycle's "now" from here on
    start: str | None = None  # the cursor the cycle started from
    cursor: str | None = None  # the cursor after the tickets pulled
    pulled: int = 0  # tickets read (a ticket changed twice counts twice)
    malformed: int = 0
    refetched: int = 0
    more: bool = False  # stopped at max_tickets (or for a shutdown): more is waiting
    first_change: datetime | None = None
    last_change: datetime | None = None
    settled: dict[str, list[str]] = field(default_factory=dict)  # source dead letters to drop


def pull(pipeline: Pipeline, mode: CycleMode, context: CycleContext) -> Pulled:
    """Tickets changed since the cursor (with `mode.pull`), each keeping a rating its source
    may have missed, plus the malformed tickets due for another try, read again."""
    store, source = pipeline.store, pipeline.source
    start = store.get_cursor(pipeline.cursor) if mode.pull else None
    pages = _Pages(start)
    if mode.pull:
        schedule = _Schedule(pipeline.dead_letters, context.clock())
        pages.read(source, store, pipeline.max_tickets, mode.dry_run, schedule, context.stopping)
    tickets = _carry_csat(list(pages.latest.values()), store)
    now = context.clock()
    pulled = Pulled(
        tickets,
        now,
        start,
        pages.cursor,
        pages.count,
        pages.malformed,
        more=pages.more,
        first_change=pages.first,
        last_change=pages.last,
    )
    if mode.dry_run:
        return pulled
    return _read_malformed_again(pipeline, pulled, _Schedule(pipeline.dead_letters, now), context)


@dataclass
class _Pages:
    """The pages of one pull as they come: the latest version of each ticket, and counts."""

    cursor: str | None
    latest: dict[str, Ticket] = field(default_factory=dict)
    count: int = 0
    malformed: int = 0
    more: bool = False
    first: datetime | None = None
    last: datetime | None = None

    def read(
        self,
        source: Source,
        store: StateStore,
        limit: int,
        dry_run: bool,
        schedule: _Schedule,
        stopping: Callable[[], bool],
    ) -> None:
        """Read pages until the end of the stream; stop between pages at `limit` tickets or
        when syncd is shutting down (`more`). Malformed tickets become dead letters."""
        for page in source.pull(self.cursor):
            self.count += len(page.tickets)
            for ticket in page.tickets:
                self._keep(ticket)
            for key, reason, raw in page.rejected:
                self.malformed += 1
                log.error("malformed ticket", source=source.name, ticket=key, reason=reason)
                if not dry_run:
                    letter = keys.source_letter(source.name)
                    store.add_dead_letter(letter, key, reason, raw, schedule)
            self.cursor = page.cursor
            if not page.end_of_stream and (self.count >= limit or stopping()):
                self.more = True
                break

    def _keep(self, ticket: Ticket) -> None:
        moment = ticket.updated_at
        self.last = moment if self.last is None or moment > self.last else self.last
        self.first = moment if self.first is None or moment < self.first else self.first
        self.latest.pop(ticket.id, None)  # re-insert so the newest version keeps its place
        self.latest[ticket.id] = ticket


def _carry_csat(tickets: list[Ticket], store: StateStore) -> list[Ticket]:
    """Tickets whose source may have missed their rating keep the score stored before."""
    unsure = [t.id for t in tickets if not t.csat_known and t.csat is None]
    if not unsure:
        return tickets
    stored = store.snapshots(unsure)
    carried = []
    for ticket in tickets:
        old = stored.get(ticket.id)
        if old is not None and old.csat is not None and ticket.csat is None:
            ticket = replace(
                ticket, csat=old.csat, csat_at=old.csat_at, csat_comment=old.csat_comment
            )
        carried.append(ticket)
    return carried


def _read_malformed_again(
    pipeline: Pipeline, pulled: Pulled, schedule: _Schedule, context: CycleContext
) -> Pulled:
    """The pull plus the malformed tickets due for another try, read again from the helpdesk
    (its current version, normalised with today's config); and the source's dead letters to
    drop once the cycle is saved: tickets that now read fine."""
    source, store = pipeline.source, pipeline.store
    letter = keys.source_letter(source.name)
    pulled_ids = {ticket.id for ticket in pulled.tickets}
    due = store.due_dead_letters(letter, pulled.now, pipeline.max_tickets)
    due = [key for key in due if key not in pulled_ids]
    fetched: list[Ticket] = []
    malformed = pulled.malformed
    if due and not context.stopping():
        try:
            page = source.fetch(due)
        except SyncdError as exc:  # the helpdesk is unreachable: the next cycle tries again
            log.warning("malformed tickets not read again", source=source.name, error=str(exc))
        else:
            fetched = [t for t in page.tickets if t.id not in pulled_ids]
            for key, reason, raw in page.rejected:
                malformed += 1
                log.error("malformed ticket", source=source.name, ticket=key, reason=reason)
                store.add_dead_letter(letter, key, reason, raw, schedule)
    readable = pulled_ids | {t.id for t in fetched}
    settled = sorted(store.dead_letter_keys(letter) & readable)
    return replace(
        pulled,
        tickets=[*pulled.tickets, *fetched],
        malformed=malformed,
        refetched=len(fetched),
        settled={letter: settled},
    )


# -- evaluate ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluated:
    """The evaluate stage's result: what the rules decided for each ticket of the cycle."""

    decided: list[tuple[Ticket, Decision]]
    now: datetime
    timers: int = 0  # stored tickets re-evaluated because their next check came


def evaluate(pipeline: Pipeline, pulled: Pulled, mode: CycleMode) -> Evaluated:
    """The rules' decision for each pulled ticket and (with `mode.timers`) for each stored
    ticket whose next check has come, all at the same moment."""
    now = pulled.now
    ids = {ticket.id for ticket in pulled.tickets}
    due: list[Ticket] = []
    if mode.timers:
        due = [t for t in pipeline.store.due_tickets(now, pipeline.max_tickets) if t.id not in ids]
    decided = [(ticket, pipeline.evaluate(ticket, now)) for ticket in [*pulled.tickets, *due]]
    return Evaluated(decided, now, len(due))


# -- deliver, per sink -------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """The deliver stage's result for one sink: what it was sent and what it took."""

    changed: frozenset[str] = frozenset()  # this cycle's tickets whose record differed
    written: int = 0  # ticket records accepted (this cycle's and owed ones)
    reports: int = 0  # report tabs accepted
    tabs_sent: int = 0  # report tabs that had changed, sent
    rejected: int = 0
    retried: int = 0  # owed records sent (backlog and dead letters due)
    recovered: int = 0  # dead letters accepted
    error: str | None = None  # the write failed as a whole
    user_error: bool = False
    queue: tuple[str, ...] = ()  # this cycle's tickets it did not take: to its backlog
    plan: str | None = None  # dry run: what would be written
    sample: tuple[dict[str, Any], ...] = ()

    @property
    def tabs_taken(self) -> bool:
        """The sink took every report tab that changed."""
        return self.reports == self.tabs_sent

    def report(self, backlog: int = 0) -> SinkReport:
        """The sink's part of the cycle's report; `backlog` what it owes after the cycle."""
        return SinkReport(
            changed=len(self.changed),
            written=self.written,
            rejected=self.rejected,
            error=self.error,
            user_error=self.user_error,
            plan=self.plan,
            sample=list(self.sample),
            retried=self.retried,
            recovered=self.recovered,
            queued=len(self.queue),
            backlog=backlog,
            reports=self.reports,
        )


@dataclass(frozen=True)
class _Owed:
    """What a sink still owes, rendered afresh: records that differ from what it holds, the
    tickets it holds already, and which of them are dead letters."""

    records: list[SinkRecord]
    prints: dict[str, str]
    held: set[str]
    letters: set[str]


def deliver(
    sink: Sink,
    evaluated: Evaluated,
    tabs: ReportTabs,
    mode: CycleMode,
    pipeline: Pipeline,
) -> Delivery:
    """Send the sink what changed this cycle (its ticket records and, if it shows them, the
    report tabs: one more source of records, written in the same request) plus a bounded
    batch of what it still owes; in a dry run, only say what would be written."""
    store = pipeline.store
    records = [sink.render(ticket, decision) for ticket, decision in evaluated.decided]
    shown = tabs.records(sink)
    prints = {r.key: fingerprint(r.payload) for r in [*records, *shown]}
    known = store.fingerprints(sink.name, prints)
    changed = [r for r in records if known.get(r.key) != prints[r.key]]
    changed_tabs = [r for r in shown if known.get(r.key) != prints[r.key]]
    changed_keys = frozenset(r.key for r in changed)
    if mode.dry_run:
        plan = tabs.plan(sink, changed, changed_tabs)
        sample = tuple(dict(r.payload) for r in changed[:3])
        return Delivery(changed_keys, plan=plan, sample=sample)
    decided = {r.key for r in records}
    owed = _owed(sink, decided - changed_keys, decided, pipeline, evaluated.now)
    prints |= owed.prints
    outcome = _write(sink, [*changed, *changed_tabs, *owed.records])
    result = outcome if isinstance(outcome, SinkResult) else SinkResult()
    tab_keys = {r.key for r in changed_tabs}
    tickets_taken = [key for key in result.accepted if key not in tab_keys]
    store.save_delivery(
        sink.name, {key: prints[key] for key in result.accepted}, [*owed.held, *tickets_taken]
    )
    schedule = _Schedule(pipeline.dead_letters, evaluated.now)
    _park_rejected(sink, result, [*changed, *owed.records], store, schedule)
    done = set(result.accepted) | set(result.rejected)
    return Delivery(
        changed_keys,
        written=len(tickets_taken),
        reports=len(tab_keys & set(result.accepted)),
        tabs_sent=len(tab_keys),
        rejected=len(result.rejected),
        retried=len(owed.records),
        recovered=len(set(result.accepted) & owed.letters),
        error=outcome.message if isinstance(outcome, _Failed) else None,
        user_error=isinstance(outcome, _Failed) and outcome.user_error,
        queue=tuple(r.key for r in changed if r.key not in done),
    )


def _owed(
    sink: Sink, unchanged: set[str], decided: set[str], pipeline: Pipeline, now: datetime
) -> _Owed:
    """What the sink still owes (a bounded batch of its backlog and of its dead letters due
    for another try), rendered from the ticket snapshots as the rules see them now; the
    tickets of this cycle among them were rendered already (`decided`), and those that did
    not change (`unchanged`) the sink holds."""
    store, limit = pipeline.store, pipeline.max_tickets
    backlog = store.owed(sink.name, limit)
    letters = store.due_dead_letters(sink.name, now, limit)
    extra = [k for k in dict.fromkeys([*backlog, *letters]) if k not in decided]
    snapshots = store.snapshots(extra)
    for key in extra:
        if key not in snapshots:  # nothing to render it from: it goes again when it changes
            store.add_dead_letter(sink.name, key, NO_SNAPSHOT, None)
    again = [sink.render(t, pipeline.evaluate(t, now)) for t in snapshots.values()]
    prints = {r.key: fingerprint(r.payload) for r in again}
    known = store.fingerprints(sink.name, [r.key for r in again])
    differ = [r for r in again if known.get(r.key) != prints[r.key]]
    held = {r.key for r in again if known.get(r.key) == prints[r.key]}
    held |= unchanged & {*backlog, *letters}
    return _Owed(differ, prints, held, set(letters))


@dataclass(frozen=True)
class _Failed:
    """A write that failed as a whole."""

    message: str
    user_error: bool = False


def _write(sink: Sink, batch: list[SinkRecord]) -> SinkResult | _Failed:
    """Write a batch (nothing to write: nothing sent); a sink that fails as a whole, or
    crashes, is reported and its share queued: one sink never stops the others."""
    if not batch:
        return SinkResult()
    try:
        return sink.write(batch)
    except SyncdError as exc:
        log.error("sink failed", sink=sink.name, error=str(exc), records=len(batch))
        return _Failed(str(exc), isinstance(exc, UserError))
    except Exception as exc:  # a bug in one sink must not stop the others; its share waits
        log.exception("sink crashed", sink=sink.name, records=len(batch))
        return _Failed(f"{type(exc).__name__}: {exc}")


def _park_rejected(
    sink: Sink,
    result: SinkResult,
    records: list[SinkRecord],
    store: StateStore,
    schedule: _Schedule,
) -> None:
    """Each ticket record the sink rejected becomes a dead letter, tried again on
    `schedule`; a rejected report tab is only logged (it is rebuilt from the state)."""
    payloads = {r.key: r.payload for r in records}
    for key, reason in result.rejected.items():
        log.error("record rejected", sink=sink.name, ticket=key, reason=reason)
        if not keys.is_report_key(key):
            store.add_dead_letter(sink.name, key, reason, payloads.get(key), schedule)


# -- carry out actions -------------------------------------------------------------------


@dataclass(frozen=True)
class Carried:
    """The carry-out stage's result."""

    fired: int = 0
    failed: int = 0  # actions whose delivery failed
    planned: tuple[str, ...] = ()  # dry run: what would be carried out or recorded
    # Actions done without a side effect (a baseline, a skip): saved with the checkpoint.
    records: tuple[FiredAction, ...] = ()
    retry_soon: frozenset[str] = frozenset()  # tickets whose actions failed


def is_baseline(pipeline: Pipeline, mode: CycleMode) -> bool:
    """Whether this cycle's actions are recorded as a baseline rather than carried out: a
    backfill's always; and until the source has caught up once, the cycles meet the old
    backlog, whose tickets were late long before syncd came: nobody is notified of those."""
    if mode.baseline_actions:
        return True
    caught_up = pipeline.store.get_meta(keys.caught_up_key(pipeline.source.name))
    return not pipeline.notify_on_first_sync and caught_up is None


def carry_out(
    evaluated: Evaluated,
    notifiers: Sequence[Notifier],
    store: StateStore,
    mode: CycleMode,
    baseline: bool,
) -> Carried:
    """Carry out each action the rules asked for, once per ticket; in a dry run only list
    them, and in a baseline cycle only return them as done, to be saved with the checkpoint
    in one statement."""
    wanted = [(t, d, a) for t, d in evaluated.decided for a in d.actions]
    if not wanted:
        return Carried()
    done = store.fired({t.id for t, _, _ in wanted})
    wanted = [(t, d, a) for t, d, a in wanted if (t.id, a.key) not in done]
    if mode.dry_run:
        planned = tuple(
            f"#{t.id} {a.origin}: {a.kind} {a.target or ', '.join(a.tags)}" for t, _, a in wanted
        )
        return Carried(planned=planned)
    if baseline:
        note = "baseline: first sync, not sent"
        return Carried(records=tuple(FiredAction(t.id, a, note) for t, _, a in wanted))
    return _send(wanted, notifiers, store)


def _send(
    wanted: list[tuple[Ticket, Decision, Action]],
    notifiers: Sequence[Notifier],
    store: StateStore,
) -> Carried:
    """Hand each action to the first notifier that takes it. One that went out is recorded
    at once (a crash after it must not send it again); one nothing is configured for is a
    skip, returned for the checkpoint; one that failed leaves its ticket to be looked at
    again next cycle."""
    fired, failures = 0, 0
    failed: set[str] = set()
    skips: list[FiredAction] = []
    skipped: Counter[str] = Counter()
    for ticket, decision, action in wanted:
        try:
            text = action.text(ticket, decision)
            outcome = next(
                (o for n in notifiers if (o := n.deliver(ticket, action, text, decision))), None
            )
        except SyncdError as exc:
            failures += 1
            failed.add(ticket.id)
            log.error("action failed", ticket=ticket.id, action=action.key, error=str(exc))
            continue
        if outcome is None:
            what = f"{action.kind} {action.target}".strip()
            skipped[what] += 1
            skips.append(
                FiredAction(ticket.id, action, f"skipped: nothing configured to carry out {what}")
            )
            continue
        fired += 1
        log.info("action fired", ticket=ticket.id, action=action.key, outcome=outcome)
        store.record_fired(ticket.id, action, outcome)
    if skipped:  # one line per cycle, not one per action
        log.warning(
            "actions skipped: nothing configured to carry them out",
            counts=dict(skipped.most_common()),
        )
    return Carried(fired, failures, records=tuple(skips), retry_soon=frozenset(failed))


# -- checkpoint --------------------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    """The checkpoint stage's result."""

    cursor_advanced: bool = False
    backlog: dict[str, int] = field(default_factory=dict)  # tickets each sink still owes


def checkpoint(
    pipeline: Pipeline,
    mode: CycleMode,
    pulled: Pulled,
    evaluated: Evaluated,
    deliveries: dict[str, Delivery],
    carried: Carried,
    tabs: ReportTabs,
    baseline: bool,
) -> Saved:
    """Save the cycle in one transaction: the snapshots (a ticket whose action failed is
    looked at again next cycle), the report facts, the actions recorded without a side
    effect, what each sink did not take (queued, so the cursor moves for all), the source's
    dead letters that read fine now, the cursor, and the marks: the day the report tabs were
    delivered, and that the source has caught up once (actions notify from then on)."""
    now = evaluated.now
    moved = pulled.cursor if pulled.cursor and pulled.cursor != pulled.start else None
    meta = tabs.meta(all(d.tabs_taken for d in deliveries.values()))
    if mode.pull and baseline and not mode.baseline_actions and not pulled.more:
        meta[keys.caught_up_key(pipeline.source.name)] = now.isoformat()
    snapshots = [
        (ticket, now if ticket.id in carried.retry_soon else decision.next_check)
        for ticket, decision in evaluated.decided
    ]
    pipeline.store.save_checkpoint(
        Checkpoint(
            pipeline.cursor,
            moved,
            snapshots=snapshots,
            facts=tabs.facts,
            fired=carried.records,
            owed={name: d.queue for name, d in deliveries.items()},
            settled=pulled.settled,
            meta=meta,
        )
    )
    return Saved(moved is not None, pipeline.store.backlog_sizes())


def cycle_report(
    pulled: Pulled,
    evaluated: Evaluated,
    deliveries: dict[str, Delivery],
    carried: Carried,
    saved: Saved,
) -> CycleReport:
    """The stages' results as the cycle's report."""
    changed: set[str] = set()
    for delivery in deliveries.values():
        changed |= delivery.changed
    return CycleReport(
        pulled=pulled.pulled,
        timers=evaluated.timers,
        changed=len(changed),
        malformed=pulled.malformed,
        refetched=pulled.refetched,
        actions_fired=carried.fired,
        actions_failed=carried.failed,
        planned_actions=list(carried.planned),
        more=pulled.more,
        first_change=pulled.first_change,
        last_change=pulled.last_change,
        cursor_advanced=saved.cursor_advanced,
        sinks={name: d.report(saved.backlog.get(name, 0)) for name, d in deliveries.items()},
    )
