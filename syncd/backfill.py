"""Backfill: sync every ticket changed since a date, resumably.

A backfill follows its own cursor in the state store (`backfill:<source>:<since>`), apart
from the daemon's, in cycles of at most `batch` tickets. Each cycle moves that cursor once
every sink accepted it or has it queued in its backlog, so an interrupted backfill, run
again with the same date, continues from its last finished cycle; the work of the cycle it
was in is redone, which changes nothing (sinks upsert by ticket id and skip records they
already hold). Memory stays that of one cycle however many tickets there are.

Old tickets are history, not news: the actions their rules ask for are recorded as done, not
sent, and stored timers are left to the daemon.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from syncd.cycle import BACKFILL
from syncd.errors import TransientError
from syncd.keys import backfill_key, backfill_progress_key
from syncd.pipeline import run_cycle
from syncd.wiring import Parts


@dataclass
class Progress:
    """Where a backfill stands after a cycle."""

    tickets: int  # tickets synced so far, over every run of this backfill
    requests: int  # requests this run sent to the helpdesk
    share: float  # 0..1: how far the change times have come from the first ticket's to now
    finished: bool


def run_backfill(
    parts: Parts,
    since: datetime,
    *,
    batch: int = 1000,
    on_progress: Callable[[Progress], None] = lambda _progress: None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Progress:
    """Sync every ticket changed since `since`; resumes where an earlier run stopped."""
    store, source = parts.store, parts.source
    key = backfill_key(source.name, since)
    if store.get_cursor(key) is None:
        store.set_cursor(key, source.start_cursor(since))
    done = int(store.get_meta(backfill_progress_key(key, "tickets")) or 0)
    first_request = source.requests_sent
    share = 1.0 if store.get_meta(backfill_progress_key(key, "finished")) else 0.0
    # Its own cursor and batch; actions recorded as a baseline, timers left to the daemon.
    pipeline = parts.pipeline(cursor_key=key, max_tickets=batch)
    context = parts.context(clock)
    while True:
        report = run_cycle(pipeline, BACKFILL, context)
        # The cursor moved past these tickets: each sink has them, or has them queued.
        done += report.pulled
        store.set_meta(backfill_progress_key(key, "tickets"), str(done))
        if report.failed_sinks:
            # What the failed sink did not take is in its backlog, sent once it is back.
            raise TransientError(
                f"the backfill stopped: {', '.join(report.failed_sinks)} failed "
                f"({'; '.join(s.error or '' for s in report.sinks.values() if s.error)}); "
                "its share is queued; run the same command again to continue"
            )
        now = clock()
        # Progress in time: from the oldest change the backfill met (not `since`, which
        # may be years before the first ticket) to now, the export runs in change order.
        if (
            report.first_change is not None
            and store.get_meta(backfill_progress_key(key, "first")) is None
        ):
            store.set_meta(backfill_progress_key(key, "first"), report.first_change.isoformat())
        first = store.get_meta(backfill_progress_key(key, "first"))
        if report.last_change is not None and first is not None:
            origin = datetime.fromisoformat(first)
            if now > origin:
                share = max(share, min(1.0, (report.last_change - origin) / (now - origin)))
        # Done when the helpdesk has nothing more and no sink still works off a backlog.
        finished = not report.more and not report.catching_up
        if finished:
            share = 1.0
            store.set_meta(backfill_progress_key(key, "finished"), now.isoformat())
        progress = Progress(done, source.requests_sent - first_request, share, finished)
        on_progress(progress)
        if finished:
            return progress
