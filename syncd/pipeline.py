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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from syncd.errors import SyncdError, UserError
from syncd.model import Decision, Ticket
from syncd.ports import Sink, SinkRecord, Source, StateStore

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
    changed: int = 0
    malformed: int = 0
    more: bool = False  # the cycle stopped at max_tickets_per_cycle; more is waiting
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
    max_tickets: int = 10_000,
    dry_run: bool = False,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> CycleReport:
    """Run one cycle; raises only when the source cannot be read."""
    report = CycleReport()
    start_cursor = store.get_cursor(source.name)
    tickets, next_cursor = _pull(source, start_cursor, max_tickets, store, report, dry_run)
    now = clock()
    decided = [(ticket, evaluate(ticket, now)) for ticket in tickets]
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
    if not dry_run and not report.failed_sinks and next_cursor and next_cursor != start_cursor:
        store.set_cursor(source.name, next_cursor)
        report.cursor_advanced = True
    log.info(
        "cycle",
        pulled=report.pulled,
        changed=report.changed,
        written={n: s.written for n, s in report.sinks.items()},
        errors=report.errors,
        dry_run=dry_run,
    )
    return report


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
