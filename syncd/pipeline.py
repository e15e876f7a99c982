"""One sync cycle: pull → normalise → evaluate → fingerprint → write what changed → checkpoint.

Data flows one way. The pipeline sees the source, the sinks and the state only through
`syncd.ports`. Delivery is at-least-once (the cursor moves only after every sink accepted the
cycle's writes) and every write is an idempotent upsert keyed by the helpdesk ticket id, so a
crash or a failed sink repeats work but never loses or duplicates a ticket. Fingerprints of
what each sink accepted make the repeat cheap: a sink is sent only records that differ.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from syncd.errors import SyncdError, UserError
from syncd.model import Decision, Ticket
from syncd.ports import Notifier, Sink, SinkRecord, Source, StateStore

log = structlog.get_logger("syncd.pipeline")

Evaluate = Callable[[Ticket, datetime], Decision]


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


@dataclass
class CycleReport:
    """The outcome of one cycle; `ok` means every sink accepted and the cursor moved."""

    pulled: int = 0
    timers: int = 0  # tickets re-evaluated because their next_check passed
    changed: int = 0
    malformed: int = 0
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
    def errors(self) -> int:
        """Failed sinks plus records parked as dead letters."""
        return (
            len(self.failed_sinks) + self.malformed + sum(s.rejected for s in self.sinks.values())
        )


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
) -> CycleReport:
    """Run one cycle; raises only when the source cannot be read.

    `cursor_key` names the cursor to follow (default: the source's own; a backfill keeps its
    own). `timers`: also re-evaluate stored tickets whose next check has come. With
    `baseline_actions` the rules' actions are recorded as done without being carried out.
    """
    report = CycleReport()
    cursor_key = cursor_key or source.name
    start_cursor = store.get_cursor(cursor_key)
    tickets, next_cursor = _pull(source, start_cursor, max_tickets, store, report, dry_run)
    now = clock()
    pulled = {ticket.id for ticket in tickets}
    due = [t for t in store.due_tickets(now, max_tickets) if t.id not in pulled] if timers else []
    report.timers = len(due)
    decided = [(ticket, evaluate(ticket, now)) for ticket in [*tickets, *due]]
    changed_keys: set[str] = set()
    for sink in sinks:
        sink_report = SinkReport()
        report.sinks[sink.name] = sink_report
        records = [sink.render(ticket, decision) for ticket, decision in decided]
        prints = {r.key: fingerprint(r.payload) for r in records}
        known = store.fingerprints(sink.name, prints)
        changed = [r for r in records if known.get(r.key) != prints[r.key]]
        sink_report.changed = len(changed)
        changed_keys.update(r.key for r in changed)
        if dry_run:
            sink_report.plan = sink.describe(changed) if changed else "nothing to write"
            sink_report.sample = [dict(r.payload) for r in changed[:3]]
            continue
        if changed:
            _write(sink, changed, prints, store, sink_report)
    report.changed = len(changed_keys)
    # Until the source has caught up once, the cycles meet the old backlog: record their
    # actions as a baseline rather than notify about tickets late long before syncd came.
    caught_up_key = f"caught_up:{source.name}"
    baseline = baseline_actions or (
        not notify_on_first_sync and store.get_meta(caught_up_key) is None
    )
    retry_soon = _carry_out(decided, notifiers, store, report, dry_run, baseline)
    if not dry_run and not report.failed_sinks:
        # Only now: a failed sink must see these tickets (and their timers) again.
        store.save_snapshots(
            (ticket, now if ticket.id in retry_soon else decision.next_check)
            for ticket, decision in decided
        )
        if next_cursor and next_cursor != start_cursor:
            store.set_cursor(cursor_key, next_cursor)
            report.cursor_advanced = True
        if baseline and not baseline_actions and not report.more:
            store.set_meta(caught_up_key, now.isoformat())
    log.info(
        "cycle",
        pulled=report.pulled,
        timers=report.timers,
        actions=report.actions_fired,
        changed=report.changed,
        written={n: s.written for n, s in report.sinks.items()},
        errors=report.errors,
        dry_run=dry_run,
    )
    return report


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
) -> tuple[list[Ticket], str | None]:
    """Tickets changed since the cursor (latest version of each) and the cursor after them."""
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
                store.add_dead_letter(f"source:{source.name}", key, reason, raw)
        next_cursor = page.cursor
        if not page.end_of_stream and report.pulled >= max_tickets:
            report.more = True
            break
    return list(latest.values()), next_cursor


def _write(
    sink: Sink,
    changed: list[SinkRecord],
    prints: dict[str, str],
    store: StateStore,
    report: SinkReport,
) -> None:
    try:
        result = sink.write(changed)
    except SyncdError as exc:
        report.error = str(exc)
        report.user_error = isinstance(exc, UserError)
        log.error("sink failed", sink=sink.name, error=str(exc), records=len(changed))
        return
    store.save_fingerprints(sink.name, {key: prints[key] for key in result.accepted})
    payloads = {r.key: r.payload for r in changed}
    for key, reason in result.rejected.items():
        log.error("record rejected", sink=sink.name, ticket=key, reason=reason)
        store.add_dead_letter(sink.name, key, reason, payloads.get(key))
    report.written = len(result.accepted)
    report.rejected = len(result.rejected)
