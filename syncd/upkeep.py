"""What a cycle owes to changes around it, done before and after the cycle proper.

- **A rule change** (a hot reload, or a restart with other rule files): every open ticket is
  made due, so the timers decide it again with the new rules, in bounded batches
  (`syncd.reload.apply_rule_change`).
- **A change of the sheet's layout** (its columns, or its timezone): the rows written before
  are queued in the sheet sink's backlog, which rewrites them from the ticket snapshots, a
  bounded batch per cycle within the usual two requests. The sink names them after its next
  read (`stale_rows`: the header differs from the configured columns); a layout the state
  store remembers otherwise (`layout:<sink>`: the timezone changed) makes it name them all,
  and one open ticket is queued so that a read comes soon even when nothing changes.
- **Digests** (syncd.digests): the daily and weekly digests, once each per local day and
  target, also across restarts (marks in the state store's meta); recorded, not sent, until
  the first sync has caught up with the helpdesk's backlog (`after(..., record_only=True)`
  does the same for a backfill's cycles; `syncd backfill` does not call it yet).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from syncd import digests
from syncd.errors import SyncdError
from syncd.keys import caught_up_key
from syncd.pipeline import CycleReport
from syncd.ports import Notifier, Sink
from syncd.reload import apply_rule_change
from syncd.reports import TITLES, ReportSettings, build_reports, report_since
from syncd.rules import RuleSet
from syncd.state import SqlStateStore
from syncd.wiring import Parts

if TYPE_CHECKING:
    from syncd.config import Config

log = structlog.get_logger("syncd.upkeep")

RECORDED = "recorded, not sent"


class Poster(Protocol):
    """A notifier that can send a message about no ticket (Slack, email)."""

    def post(self, target: str, subject: str, text: str, ref: str) -> str | None: ...


def layout_key(sink: str) -> str:
    """Meta: the layout (syncd's columns and timezone) a sink's rows were written in."""
    return f"layout:{sink}"


class Upkeep:
    """The work around each cycle of one pipeline (see the module docstring)."""

    def __init__(
        self,
        store: SqlStateStore,
        sinks: Sequence[Sink],
        notifiers: Sequence[Notifier],
        source: str,
        schedules: Sequence[digests.Schedule] = (),
        notify_on_first_sync: bool = False,
    ) -> None:
        self.store = store
        self.sinks = list(sinks)
        self.posters = _posters(notifiers)
        self.source = source
        self.schedules = list(schedules)
        self.notify_on_first_sync = notify_on_first_sync

    def before(self, rules: RuleSet, now: datetime) -> None:
        """Before a cycle: a rule change makes open tickets due; a layout change is noted."""
        apply_rule_change(self.store, rules, now)
        for sink in self._laid_out():
            key, layout = layout_key(sink.name), str(sink.layout)
            stored = self.store.get_meta(key)
            if stored != layout:
                if stored is not None:
                    sink.relayout()
                    self._nudge(sink.name, now)
                self.store.set_meta(key, layout)

    def after(
        self,
        report: CycleReport,
        settings: ReportSettings | None,
        now: datetime,
        record_only: bool = False,
    ) -> None:
        """After a cycle: queue the rows the sheet found in an older layout, and send (or
        with `record_only`, a backfill, record) the digests due."""
        for sink in self._laid_out():
            stale = sink.stale_rows()
            if stale:
                self.store.advance("", None, {sink.name: stale})
                log.info(
                    "rows queued to be rewritten in the new layout", sink=sink.name, rows=len(stale)
                )
        if settings is not None and self.schedules:
            caught_up = self.store.get_meta(caught_up_key(self.source)) is not None
            self.send_digests(
                now, settings, record_only or not (caught_up or self.notify_on_first_sync)
            )

    def send_digests(self, now: datetime, settings: ReportSettings, record_only: bool) -> int:
        """Send the digests due at `now` to the targets not reached yet; returns how many
        messages went out (or were recorded)."""
        found = digests.due(
            self.schedules,
            now,
            settings.timezone,
            settings.week_ends,
            lambda key: self.store.get_meta(key) is not None,
        )
        if not found:
            return 0
        facts = self.store.report_facts(report_since(now, settings))
        reports = {r.name: r for r in build_reports(facts, now, settings)}
        done = 0
        for item in found:
            report = reports[item.kind]
            row = digests.row_of(report, item.period) or []
            figures = digests.figures(report, row, settings.categories)
            link = self._link(item.kind)
            message = digests.compose(item.kind, item.period, figures, settings.timezone, link)
            ref = f"syncd-digest-{item.kind}-{item.sent_on.isoformat()}"
            for target in item.targets:
                if record_only:
                    outcome = f"{RECORDED}: a backfill or the first sync was under way"
                else:
                    try:
                        outcome = self._post(target, message, ref)
                    except SyncdError as exc:  # tried again next cycle
                        log.error(
                            "digest not sent", digest=item.kind, target=target, error=str(exc)
                        )
                        continue
                key = digests.mark_key(item.kind, item.sent_on, target)
                self.store.set_meta(key, f"{now.isoformat()} {outcome}")
                log.info(
                    "digest",
                    digest=item.kind,
                    period=str(item.period),
                    target=target,
                    outcome=outcome,
                )
                done += 1
        return done

    def _post(self, target: str, message: digests.Digest, ref: str) -> str:
        for poster in self.posters:
            outcome = poster.post(target, message.subject, message.text, ref)
            if outcome is not None:
                return outcome
        return f"skipped: nothing configured to send to {target}"

    def _link(self, kind: str) -> str:
        for sink in self.sinks:
            tab_url = getattr(sink, "tab_url", None)
            if callable(tab_url):
                return str(tab_url(kind, TITLES[kind]))
        return ""

    def _laid_out(self) -> list[Any]:
        """The sinks whose rows have a layout (the sheet)."""
        return [s for s in self.sinks if hasattr(s, "layout") and hasattr(s, "stale_rows")]

    def _nudge(self, sink: str, now: datetime) -> None:
        """Queue one open ticket for the sink, so that it reads its tab (and names the rows
        to rewrite) even when nothing else changes."""
        found = None
        for ticket in self.store.tickets_since(now - timedelta(days=3650)):
            if ticket.status.is_open:
                found = ticket.id
                break
        if found is not None:
            self.store.advance("", None, {sink: [found]})


def _posters(notifiers: Sequence[Notifier]) -> list[Poster]:
    """The notifiers (inside a `Notifiers` chain too) that can post a message about no
    ticket, in order."""
    found: list[Poster] = []
    for notifier in notifiers:
        inner = getattr(notifier, "chain", None)
        if isinstance(inner, list):
            found += _posters(inner)
        elif callable(getattr(notifier, "post", None)):
            found.append(notifier)  # type: ignore[arg-type]
    return found


def schedules(
    daily_at: str, daily_to: Sequence[str], weekly_at: str, weekly_to: Sequence[str]
) -> list[digests.Schedule]:
    """The digests' schedules from the config's `digests` section."""
    return [
        digests.Schedule(digests.DAILY, time.fromisoformat(daily_at), tuple(daily_to)),
        digests.Schedule(digests.WEEKLY, time.fromisoformat(weekly_at), tuple(weekly_to)),
    ]


def upkeep_for(parts: Parts, config: Config) -> Upkeep:
    """The upkeep of these parts' pipeline, with the config's digest schedules."""
    digest = config.digests
    return Upkeep(
        parts.store,
        parts.sinks,
        parts.notifiers,
        parts.source.name,
        schedules(digest.daily.at, digest.daily.to, digest.weekly.at, digest.weekly.to),
        parts.notify_on_first_sync,
    )
