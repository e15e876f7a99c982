"""One sync cycle: pull → normalise → evaluate → fingerprint → write what changed → checkpoint.

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
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from syncd import keys
from syncd.errors import SyncdError, UserError
from syncd.model import Decision, Ticket
from syncd.ports import Notifier, Sink, SinkRecord, SinkResult, Source, StateStore
from syncd.report_tabs import ReportTabs
from syncd.reports import ReportSettings
from syncd.retry import stop_requested

log = structlog.get_logger("syncd.pipeline")

Evaluate = Callable[[Ticket, datetime], Decision]
NO_SNAPSHOT = "syncd keeps no snapshot of this ticket to send again; it goes when it next changes"


@dataclass
class SinkReport:
    """What happened to one sink in one cycle."""

    changed: int = 0  # records that differed from what the sink last accepted
    written: int = 0
    rejected: int = 0
    error: str | None = None
    user_error: bool = False  # the failure is the user's to fix (token, setup...)
    plan: str | None = None  # --dry-run: what would be written
    sample: list[dict[str, Any]] = field(default_factory=list)
    retried: int = 0  # records sent again from the backlog or the dead letters
    recovered: int = 0  # dead letters the sink accepted
    queued: int = 0  # this cycle's tickets queued in the backlog (the sink did not take them)
    backlog: int = 0  # tickets the sink still owes after the cycle
    reports: int = 0  # report tabs written (not counted in `written`)


@dataclass
class CycleReport:
    """The outcome of one cycle."""

    pulled: int = 0
    timers: int = 0  # tickets re-evaluated because their next_check passed
    changed: int = 0
    malformed: int = 0
    refetched: int = 0  # malformed tickets read again that now read fine
    actions_fired: int = 0
    actions_failed: int = 0
    planned_actions: list[str] = field(default_factory=list)  # --dry-run
    more: bool = False  # the cycle stopped at max_tickets_per_cycle; more is waiting
    first_change: datetime | None = None  # the earliest updated_at among the pulled tickets
    last_change: datetime | None = None  # the latest
    cursor_advanced: bool = False
    sinks: dict[str, SinkReport] = field(default_factory=dict)

    @property
    def failed_sinks(self) -> list[str]:
        """Sinks whose write failed as a whole."""
        return [name for name, s in self.sinks.items() if s.error]

    @property
    def catching_up(self) -> bool:
        """A sink that works fine still owes tickets: the next cycle should follow at once."""
        return any(
            s.backlog and not s.error and (s.written or s.rejected) for s in self.sinks.values()
        )

    @property
    def errors(self) -> int:
        """Failed sinks plus records parked as dead letters."""
        return (
            len(self.failed_sinks) + self.malformed + sum(s.rejected for s in self.sinks.values())
        )


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


class _Schedule:
    """A RetryPolicy bound to the cycle's clock: what `StateStore.add_dead_letter` calls."""

    def __init__(self, policy: RetryPolicy, now: datetime) -> None:
        self.policy, self.now = policy, now

    def __call__(self, attempts: int) -> datetime | None:
        return self.policy.next_attempt(attempts, self.now)


def fingerprint(payload: Any) -> str:
    """A stable hash of a sink record's content."""
    text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def run_cycle(
    source: Source,
    sinks: Sequence[Sink],
    evaluate: Evaluate,
    store: StateStore,
    *,
    notifiers: Sequence[Notifier] = (),
    notify_on_first_sync: bool = False,
    max_tickets: int = 10_000,
    dry_run: bool = False,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    cursor_key: str | None = None,
    timers: bool = True,
    baseline_actions: bool = False,
    dead_letters: RetryPolicy = RetryPolicy(),
    pull: bool = True,
    reporter: ReportSettings | None = None,
) -> CycleReport:
    """Run one cycle; raises only when the source cannot be read.

    `cursor_key` names the cursor to follow (default: the source's own; a backfill keeps its
    own). `timers`: also re-evaluate stored tickets whose next check has come. With
    `baseline_actions` the rules' actions are recorded as done without being carried out.
    `dead_letters` says when a rejected record is tried again. `pull` False reads no
    changes and leaves the cursor (`syncd dlq retry`): only what the sinks owe is sent.
    `reporter` cuts the report tabs (syncd.reports) for the sinks that show them.
    """
    report = CycleReport()
    cursor_key = cursor_key or keys.cursor_key(source.name)
    start_cursor = store.get_cursor(cursor_key) if pull else None
    schedule = _Schedule(dead_letters, clock())
    tickets: list[Ticket] = []
    next_cursor = start_cursor
    if pull:
        tickets, next_cursor = _pull(
            source, start_cursor, max_tickets, store, report, dry_run, schedule
        )
    tickets = _carry_csat(tickets, store)
    now = clock()
    schedule.now = now
    settled: dict[str, list[str]] = {}
    if not dry_run:
        tickets, settled = _read_malformed_again(
            source, tickets, store, now, max_tickets, report, schedule
        )
    shared = _Shared(store, evaluate, now, max_tickets, schedule)
    pulled = {ticket.id for ticket in tickets}
    due = [t for t in store.due_tickets(now, max_tickets) if t.id not in pulled] if timers else []
    report.timers = len(due)
    decided = [(ticket, evaluate(ticket, now)) for ticket in [*tickets, *due]]
    tabs = ReportTabs.build(reporter, sinks, decided, store, now, more=report.more)
    changed_keys: set[str] = set()
    owed: dict[str, list[str]] = {}
    for sink in sinks:
        sink_report = SinkReport()
        report.sinks[sink.name] = sink_report
        records = [sink.render(ticket, decision) for ticket, decision in decided]
        shown = tabs.records(sink)  # the report tabs, written in the same request
        prints = {r.key: fingerprint(r.payload) for r in [*records, *shown]}
        known = store.fingerprints(sink.name, prints)
        changed = [r for r in records if known.get(r.key) != prints[r.key]]
        changed_tabs = [r for r in shown if known.get(r.key) != prints[r.key]]
        sink_report.changed = len(changed)
        changed_keys.update(r.key for r in changed)
        if dry_run:
            sink_report.plan = tabs.plan(sink, changed, changed_tabs)
            sink_report.sample = [dict(r.payload) for r in changed[:3]]
            continue
        batch = [*changed, *changed_tabs]
        owed[sink.name] = _deliver(sink, batch, prints, set(prints), sink_report, shared)
        tabs.settle(sink, changed_tabs, prints, sink_report, owed, store)
    report.changed = len(changed_keys)
    # Until the source has caught up once, the cycles meet the old backlog: record their
    # actions as a baseline rather than notify about tickets late long before syncd came.
    caught_up_key = keys.caught_up_key(source.name)
    baseline = baseline_actions or (
        not notify_on_first_sync and store.get_meta(caught_up_key) is None
    )
    retry_soon = _carry_out(decided, notifiers, store, report, dry_run, baseline)
    if not dry_run:
        # A sink that failed has its share queued below, so the cursor moves for all.
        store.save_snapshots(
            (ticket, now if ticket.id in retry_soon else decision.next_check)
            for ticket, decision in decided
        )
        tabs.save(store)  # the tickets' report facts, and the day the tabs were delivered
        moved = next_cursor if next_cursor and next_cursor != start_cursor else None
        store.advance(cursor_key, moved, owed, settled)
        report.cursor_advanced = moved is not None
        if pull and baseline and not baseline_actions and not report.more:
            store.set_meta(caught_up_key, now.isoformat())
        sizes = store.backlog_sizes()
        for name, sink_report in report.sinks.items():
            sink_report.queued = len(owed.get(name, ()))
            sink_report.backlog = sizes.get(name, 0)
    log.info(
        "cycle",
        pulled=report.pulled,
        timers=report.timers,
        actions=report.actions_fired,
        changed=report.changed,
        written={n: s.written for n, s in report.sinks.items()},
        backlog={n: s.backlog for n, s in report.sinks.items() if s.backlog},
        errors=report.errors,
        dry_run=dry_run,
    )
    return report


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


def _carry_out(
    decided: list[tuple[Ticket, Decision]],
    notifiers: Sequence[Notifier],
    store: StateStore,
    report: CycleReport,
    dry_run: bool,
    baseline: bool,
) -> set[str]:
    """Carry out each action the rules asked for, once per ticket; returns the tickets
    whose actions failed (to be looked at again next cycle)."""
    wanted = [(t, d, a) for t, d in decided for a in d.actions]
    if not wanted:
        return set()
    done = store.fired({t.id for t, _, _ in wanted})
    failed: set[str] = set()
    skipped: Counter[str] = Counter()
    for ticket, decision, action in wanted:
        if (ticket.id, action.key) in done:
            continue
        if dry_run:
            report.planned_actions.append(
                f"#{ticket.id} {action.origin}: {action.kind} "
                f"{action.target or ', '.join(action.tags)}"
            )
            continue
        if baseline:
            store.record_fired(ticket.id, action, "baseline: first sync, not sent")
            continue
        try:
            text = action.text(ticket, decision)
            outcome = next(
                (o for n in notifiers if (o := n.deliver(ticket, action, text, decision))), None
            )
        except SyncdError as exc:
            report.actions_failed += 1
            failed.add(ticket.id)
            log.error("action failed", ticket=ticket.id, action=action.key, error=str(exc))
            continue
        if outcome is None:
            what = f"{action.kind} {action.target}".strip()
            skipped[what] += 1
            outcome = f"skipped: nothing configured to carry out {what}"
        else:
            report.actions_fired += 1
            log.info("action fired", ticket=ticket.id, action=action.key, outcome=outcome)
        store.record_fired(ticket.id, action, outcome)
    if skipped:  # one line per cycle, not one per action
        log.warning(
            "actions skipped: nothing configured to carry them out",
            counts=dict(skipped.most_common()),
        )
    return failed


def _pull(
    source: Source,
    cursor: str | None,
    max_tickets: int,
    store: StateStore,
    report: CycleReport,
    dry_run: bool,
    schedule: _Schedule,
) -> tuple[list[Ticket], str | None]:
    """Tickets changed since the cursor (latest version of each) and the cursor after them.
    Stops between pages at max_tickets, or when syncd is shutting down (`report.more`)."""
    latest: dict[str, Ticket] = {}
    next_cursor = cursor
    for page in source.pull(cursor):
        report.pulled += len(page.tickets)
        for ticket in page.tickets:
            if report.last_change is None or ticket.updated_at > report.last_change:
                report.last_change = ticket.updated_at
            if report.first_change is None or ticket.updated_at < report.first_change:
                report.first_change = ticket.updated_at
            latest.pop(ticket.id, None)  # re-insert so the newest version keeps its place
            latest[ticket.id] = ticket
        for key, reason, raw in page.rejected:
            report.malformed += 1
            log.error("malformed ticket", source=source.name, ticket=key, reason=reason)
            if not dry_run:
                store.add_dead_letter(keys.source_letter(source.name), key, reason, raw, schedule)
        next_cursor = page.cursor
        if not page.end_of_stream and (report.pulled >= max_tickets or stop_requested()):
            report.more = True
            break
    return list(latest.values()), next_cursor


def _read_malformed_again(
    source: Source,
    tickets: list[Ticket],
    store: StateStore,
    now: datetime,
    limit: int,
    report: CycleReport,
    schedule: _Schedule,
) -> tuple[list[Ticket], dict[str, list[str]]]:
    """The pulled tickets plus the malformed ones due for another try, read again from the
    helpdesk (its current version, normalised with today's config); and the source's dead
    letters to drop once the cycle is saved: tickets that now read fine."""
    letter = keys.source_letter(source.name)
    pulled = {ticket.id for ticket in tickets}
    due = [key for key in store.due_dead_letters(letter, now, limit) if key not in pulled]
    fetched: list[Ticket] = []
    if due and not stop_requested():
        try:
            page = source.fetch(due)
        except SyncdError as exc:  # the helpdesk is unreachable: the next cycle tries again
            log.warning("malformed tickets not read again", source=source.name, error=str(exc))
        else:
            fetched = [t for t in page.tickets if t.id not in pulled]
            for key, reason, raw in page.rejected:
                report.malformed += 1
                log.error("malformed ticket", source=source.name, ticket=key, reason=reason)
                store.add_dead_letter(letter, key, reason, raw, schedule)
    report.refetched = len(fetched)
    readable = pulled | {t.id for t in fetched}
    settled = sorted(store.dead_letter_keys(letter) & readable)
    return [*tickets, *fetched], {letter: settled}


@dataclass
class _Shared:
    """What the delivery to every sink in a cycle shares."""

    store: StateStore
    evaluate: Evaluate
    now: datetime
    limit: int  # tickets of the backlog, and dead letters, sent per sink and cycle
    schedule: _Schedule


def _deliver(
    sink: Sink,
    changed: list[SinkRecord],
    prints: dict[str, str],
    decided: set[str],
    report: SinkReport,
    shared: _Shared,
) -> list[str]:
    """Send the sink this cycle's changes plus what it still owes (a bounded batch of its
    backlog and of its dead letters due for another try, rendered from the ticket snapshots
    as the rules see them now); returns this cycle's tickets it did not take, to queue."""
    store, now = shared.store, shared.now
    owed = store.owed(sink.name, shared.limit)
    letters = store.due_dead_letters(sink.name, now, shared.limit)
    extra = [k for k in dict.fromkeys([*owed, *letters]) if k not in decided]
    snapshots = store.snapshots(extra)
    for key in extra:
        if key not in snapshots:  # nothing to render it from: it goes again when it changes
            store.add_dead_letter(sink.name, key, NO_SNAPSHOT, None)
    again = [sink.render(ticket, shared.evaluate(ticket, now)) for ticket in snapshots.values()]
    prints = {**prints, **{r.key: fingerprint(r.payload) for r in again}}
    known = store.fingerprints(sink.name, [r.key for r in again])
    retry = [r for r in again if known.get(r.key) != prints[r.key]]
    report.retried = len(retry)
    # The sink holds these already (and those of this cycle that did not change).
    held = {r.key for r in again if known.get(r.key) == prints[r.key]}
    held |= (decided - {r.key for r in changed}) & {*owed, *letters}
    batch = [*changed, *retry]
    outcome = _write(sink, batch, prints, report, shared) if batch else SinkResult()
    store.settle(sink.name, [*held, *outcome.accepted])
    report.recovered = len(set(outcome.accepted) & set(letters))
    if report.error:
        return [r.key for r in changed]
    done = set(outcome.accepted) | set(outcome.rejected)
    return [r.key for r in changed if r.key not in done]


def _write(
    sink: Sink,
    batch: list[SinkRecord],
    prints: dict[str, str],
    report: SinkReport,
    shared: _Shared,
) -> SinkResult:
    """Write a batch; a sink that fails as a whole is reported (its share is queued), a
    record it rejects becomes a dead letter, tried again on `schedule`."""
    try:
        result = sink.write(batch)
    except SyncdError as exc:
        report.error = str(exc)
        report.user_error = isinstance(exc, UserError)
        log.error("sink failed", sink=sink.name, error=str(exc), records=len(batch))
        return SinkResult()
    except Exception as exc:  # a bug in one sink must not stop the others; its share waits
        report.error = f"{type(exc).__name__}: {exc}"
        log.exception("sink crashed", sink=sink.name, records=len(batch))
        return SinkResult()
    store = shared.store
    store.save_fingerprints(sink.name, {key: prints[key] for key in result.accepted})
    payloads = {r.key: r.payload for r in batch}
    for key, reason in result.rejected.items():
        log.error("record rejected", sink=sink.name, ticket=key, reason=reason)
        if keys.is_report_key(key):
            continue  # a report tab is rebuilt from the state, not parked: no snapshot to retry
        store.add_dead_letter(sink.name, key, reason, payloads.get(key), shared.schedule)
    report.written = len(result.accepted)
    report.rejected = len(result.rejected)
    return result
