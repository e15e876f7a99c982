"""The report tabs of one cycle (syncd.reports) for the sinks that show them.

The pipeline builds them from the stored facts overlaid with the cycle's tickets, passes each
reporting sink its records with the ticket records, and saves the facts with the snapshots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from syncd.facts import TicketFacts, project
from syncd.keys import REPORTS_DAY, report_key
from syncd.model import Decision, Ticket
from syncd.ports import Report, Sink, SinkRecord, StateStore
from syncd.reports import ReportSettings, build_reports, report_since

if TYPE_CHECKING:
    from syncd.pipeline import SinkReport


@dataclass
class ReportTabs:
    """This cycle's report tabs (syncd.reports) for the sinks that show them (`render_reports`),
    and the facts of this cycle's tickets that they count, to save with the snapshots."""

    reports: list[Report] = field(default_factory=list)
    facts: list[TicketFacts] = field(default_factory=list)
    day: str = ""  # the local day they were built on; "" when not built
    delivered: bool = True  # every sink took every tab that changed

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
        if reporter is None or not any(_shows_reports(sink) for sink in sinks):
            return cls()
        day = reporter.local_day(now).isoformat()
        stored = store.facts(t.id for t, _ in decided) if decided else {}
        fresh = [project(t, d, now, stored.get(t.id)) for t, d in decided]
        changed = [f for f in fresh if not f.counts_as(stored.get(f.key))]
        if not changed and store.get_meta(REPORTS_DAY) == day:
            return cls()
        if more:
            return cls([], changed, day, delivered=False)
        facts = {f.key: f for f in store.report_facts(report_since(now, reporter))}
        facts.update((f.key, f) for f in fresh)
        # What became of each escalation's notifications, as recorded so far: the Escalations
        # tab's Notified (this cycle's own are carried out after the tabs are built).
        outcomes = store.action_outcomes([f.key for f in facts.values() if f.escalations])
        return cls(build_reports(facts.values(), now, reporter, outcomes), changed, day)

    def records(self, sink: Sink) -> list[SinkRecord]:
        """The sink's records of the tabs (none if it shows no reports)."""
        if not self.reports or not _shows_reports(sink):
            return []
        return sink.render_reports(self.reports)  # type: ignore[attr-defined, no-any-return]

    def plan(self, sink: Sink, changed: list[SinkRecord], tabs: list[SinkRecord]) -> str:
        """--dry-run: what the sink would write, ticket rows and report tabs."""
        parts = [sink.describe(changed)] if changed else []
        if tabs:
            titles = {report_key(r.name): f"'{r.title}' ({len(r.rows)} rows)" for r in self.reports}
            names = ", ".join(titles.get(r.key, r.key) for r in tabs)
            parts.append(f"write the report tab(s) {names}")
        return "; ".join(parts) or "nothing to write"

    def settle(
        self,
        sink: Sink,
        tabs: list[SinkRecord],
        prints: dict[str, str],
        report: SinkReport,
        owed: dict[str, list[str]],
        store: StateStore,
    ) -> None:
        """After the write: count the tabs the sink took apart from its ticket rows, and keep
        them out of its backlog (they are built afresh; one not taken is built again)."""
        if not tabs:
            return
        keys = {r.key for r in tabs}
        owed[sink.name] = [key for key in owed.get(sink.name, ()) if key not in keys]
        held = store.fingerprints(sink.name, keys)
        report.reports = sum(held.get(key) == prints[key] for key in keys)
        report.written -= report.reports
        self.delivered = self.delivered and report.reports == len(keys)

    def save(self, store: StateStore) -> None:
        """Save the facts that changed this cycle, and the day once every tab was delivered
        (else none, so that the next cycle builds them again)."""
        if self.facts:
            store.save_facts(self.facts)
        if self.day:
            store.set_meta(REPORTS_DAY, self.day if self.delivered else "")


def _shows_reports(sink: Sink) -> bool:
    return callable(getattr(sink, "render_reports", None))
