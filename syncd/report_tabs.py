"""The report tabs of one cycle (syncd.reports) for the sinks that show them.

The tabs are one more source of records: the pipeline builds them from the stored facts
overlaid with the cycle's tickets, a reporting sink receives their records in the same
request as its ticket records (and counts them apart), and the checkpoint saves the facts
with the snapshots and, once every sink took every tab, the day they were delivered.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from syncd.facts import TicketFacts, project
from syncd.keys import REPORTS_DAY, report_key
from syncd.model import Decision, Ticket
from syncd.ports import Report, ShowsReports, Sink, SinkRecord, StateStore
from syncd.reports import ReportSettings, build_reports, report_since


@dataclass(frozen=True)
class ReportTabs:
    """This cycle's report tabs (syncd.reports) for the sinks that show them (`render_reports`),
    and the facts of this cycle's tickets that they count, to save with the snapshots."""

    reports: list[Report] = field(default_factory=list)
    facts: list[TicketFacts] = field(default_factory=list)
    day: str = ""  # the local day they were built on; "" when not built
    complete: bool = True  # False: only the facts were kept (a backlog is being worked off)

    @classmethod
    def build(
        cls,
        reporter: ReportSettings | None,
        sinks: Sequence[Sink],
        decided: list[tuple[Ticket, Decision]],
        store: StateStore,
        now: datetime,
        more: bool,
    ) -> ReportTabs:
        """The tabs from the stored facts overlaid with this cycle's tickets. Not built when no
        sink shows them, nor when no ticket's facts changed and they were delivered today
        already: an idle cycle stays one source request, and the tabs (whose open breaches grow
        later by the minute) ride along the writes of ticket changes, or are written once a
        day. While a backlog is worked off (`more` tickets wait) only the facts are kept; the
        cycle that catches up builds the tabs."""
        if reporter is None or not any(isinstance(sink, ShowsReports) for sink in sinks):
            return cls()
        day = reporter.local_day(now).isoformat()
        stored = store.facts(t.id for t, _ in decided) if decided else {}
        fresh = [project(t, d, now, stored.get(t.id)) for t, d in decided]
        changed = [f for f in fresh if not f.counts_as(stored.get(f.key))]
        if not changed and store.get_meta(REPORTS_DAY) == day:
            return cls()
        if more:
            return cls([], changed, day, complete=False)
        facts = _overlaid(store.report_facts(report_since(now, reporter)), fresh)
        # What became of each escalation's notifications, as recorded so far, for the rows the
        # Escalations tab shows: its Notified (this cycle's own are carried out after the tabs
        # are built).
        return cls(build_reports(facts, now, reporter, store.action_outcomes), changed, day)

    def records(self, sink: Sink) -> list[SinkRecord]:
        """The sink's records of the tabs (none if it shows no reports)."""
        if not self.reports or not isinstance(sink, ShowsReports):
            return []
        return sink.render_reports(self.reports)

    def plan(self, sink: Sink, changed: list[SinkRecord], tabs: list[SinkRecord]) -> str:
        """--dry-run: what the sink would write, ticket rows and report tabs."""
        parts = [sink.describe(changed)] if changed else []
        if tabs:
            titles = {report_key(r.name): f"'{r.title}' ({len(r.rows)} rows)" for r in self.reports}
            names = ", ".join(titles.get(r.key, r.key) for r in tabs)
            parts.append(f"write the report tab(s) {names}")
        return "; ".join(parts) or "nothing to write"

    def meta(self, taken: bool) -> dict[str, str]:
        """The mark to save with the checkpoint: the day the tabs were delivered, once every
        sink took every tab that changed (`taken`), else none, so that the next cycle builds
        them again. Nothing when they were not built."""
        if not self.day:
            return {}
        return {REPORTS_DAY: self.day if self.complete and taken else ""}


def _overlaid(stored: Iterable[TicketFacts], fresh: list[TicketFacts]) -> Iterator[TicketFacts]:
    """The stored facts with this cycle's in their place, as they are read: those stored but
    for the tickets of this cycle, then this cycle's (a backfill's facts are streamed from the
    state store, never held all at once)."""
    keys = {f.key for f in fresh}
    yield from (f for f in stored if f.key not in keys)
    yield from fresh
