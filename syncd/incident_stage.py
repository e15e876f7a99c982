"""The incidents stage of a cycle: detect surges among the cycle's tickets, flag their tickets,
show them in the Incidents tab and announce each once.

    stage = IncidentStage.run(rules, store, decided, now, dry_run)   # after evaluate
    decided = stage.flag(decided); evaluate = stage.flagging(evaluate)
    ... the sinks write (the Incident column, syncd_incident, the Incidents tab) ...
    stage.announce(notifiers, baseline, report)                      # after the actions

Detection is `syncd.incidents.detect`, pure, over the signatures of the tickets created
within the rules' longest window, as the state store keeps them (so a restart in the middle
of a surge changes nothing) plus this cycle's tickets. Announcements go through the
notifiers like the rules' actions: each channel of the rule's `notify:` when an incident
starts and when it is over, and a HubSpot note on each affected company (target
`hubspot:company`, carried out by connectors.hubspot_tasks). Each one done is remembered in
the incident (`Incident.notified`), so it is made once; one that fails is tried again next
cycle. On a baseline cycle (the first sync, a backfill) they are recorded, not sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol, TypeVar, cast

import structlog

from syncd.errors import SyncdError
from syncd.incidents import (
    OVER,
    Incident,
    IncidentChanges,
    IncidentsReport,
    Signature,
    company_note,
    detect,
    end_message,
    incidents_report,
    signature,
    start_message,
)
from syncd.model import Action, Decision, Ticket
from syncd.ports import Notifier
from syncd.rules.incidents import IncidentRule

log = structlog.get_logger("syncd.incidents")

COMPANY_NOTE = "hubspot:company"  # the target of a note on the affected company's timeline
BASELINE = "baseline: not sent"
Evaluate = Callable[[Ticket, datetime], Decision]
P = TypeVar("P")
E = TypeVar("E")


class IncidentStore(Protocol):
    """What the stage needs of the state store (syncd.state.incidents)."""

    def signatures_since(self, moment: datetime) -> list[Signature]: ...

    def signatures(self, ticket_keys: Iterable[str]) -> dict[str, Signature]: ...

    def save_signatures(self, items: Iterable[Signature], older_than: datetime) -> None: ...

    def incidents(self, open_only: bool = False) -> list[Incident]: ...

    def save_incidents(self, items: Iterable[Incident]) -> None: ...

    def snapshots(self, keys: Iterable[str]) -> dict[str, Ticket]: ...


@dataclass
class IncidentStage:
    """One cycle's incidents: what changed, every incident, and which ticket is in which."""

    rules: Sequence[IncidentRule] = ()
    store: IncidentStore | None = None
    now: datetime | None = None
    incidents: dict[str, Incident] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)  # ticket -> incident id
    changes: list[IncidentChanges] = field(default_factory=list)
    tickets: dict[str, tuple[Ticket, Decision]] = field(default_factory=dict)
    dry_run: bool = False

    @classmethod
    def run(
        cls,
        rules: Sequence[IncidentRule],
        store: object,
        decided: Sequence[tuple[Ticket, Decision]],
        now: datetime,
        mode: object = None,
    ) -> IncidentStage:
        """Detect, for every rule, from the stored signatures and this cycle's tickets, and
        save what changed (not in a dry run: `mode.dry_run`). No rules: nothing is read or
        written."""
        dry_run = bool(getattr(mode, "dry_run", False))
        if not rules or not hasattr(store, "signatures_since"):
            return cls()
        ledger = cast(IncidentStore, store)
        longest = max(r.window for r in rules)
        since = now - longest
        fresh = [
            signature(t, d, rules)
            for t, d in decided
            if since < t.created_at <= now and not t.status.is_gone
        ]
        recent = {s.ticket: s for s in ledger.signatures_since(since)}
        gone = {t.id for t, _ in decided if t.status.is_gone}
        recent.update((s.ticket, s) for s in fresh)
        for key in gone:
            recent.pop(key, None)
        every = {i.id: i for i in ledger.incidents()}
        known = {r.name for r in rules}
        stage = cls(rules, ledger, now, every, dry_run=dry_run)
        stage.tickets = {t.id: (t, d) for t, d in decided}
        retired = [
            replace(i, state=OVER, ended_at=now)
            for i in every.values()
            if i.is_open and i.rule not in known
        ]
        if retired:  # its rule was removed: over, without a notice
            stage.changes.append(IncidentChanges(ended=retired))
        taken: set[str] = set()
        for rule in rules:
            still = [i for i in every.values() if i.is_open and i.rule == rule.name]
            changes = detect(recent.values(), rule, now, still, taken)
            stage.changes.append(changes)
            for incident in [*still, *changes.started]:
                taken.update(incident.tickets)
            for _incident, joined in changes.joined:
                taken.update(joined)
        changed = [i for c in stage.changes for i in c.changed()]
        stage.incidents.update((i.id, i) for i in changed)
        for c in stage.changes:
            for incident in c.started:
                log.warning(
                    "incident started",
                    incident=incident.id,
                    title=incident.title,
                    tickets=len(incident.tickets),
                    organizations=len(incident.organizations),
                )
            for incident in c.ended:
                log.info("incident over", incident=incident.id, tickets=len(incident.tickets))
        for incident in sorted(stage.incidents.values(), key=lambda i: i.first_at):
            stage.members.update(dict.fromkeys(incident.tickets, incident.id))
        if not dry_run:
            ledger.save_signatures(fresh, older_than=since)
            ledger.save_incidents(changed)
        return stage

    # -- the risk flag on the tickets --------------------------------------------------------

    def apply(self, pipeline: P, evaluated: E) -> tuple[P, E]:
        """The pipeline evaluating with the flag, and the cycle's decisions flagged (both
        frozen dataclasses with `evaluate` and `decided`); as they are without incidents."""
        if not self.members:
            return pipeline, evaluated
        evaluate = self.flagging(pipeline.evaluate)  # type: ignore[attr-defined]
        decided = self.flag(evaluated.decided)  # type: ignore[attr-defined]
        return (
            replace(pipeline, evaluate=evaluate),  # type: ignore[type-var]
            replace(evaluated, decided=decided),  # type: ignore[type-var]
        )

    def flag(self, decided: list[tuple[Ticket, Decision]]) -> list[tuple[Ticket, Decision]]:
        """The decisions with the incident of each ticket in one (`Decision.incident`)."""
        if not self.members:
            return decided
        return [(t, self._flagged(t, d)) for t, d in decided]

    def flagging(self, evaluate: Evaluate) -> Evaluate:
        """`evaluate`, flagging the tickets in an incident (for tickets sent again from a
        sink's backlog, so their records match what this cycle wrote)."""
        if not self.members:
            return evaluate

        def flagged(ticket: Ticket, now: datetime) -> Decision:
            return self._flagged(ticket, evaluate(ticket, now))

        return flagged

    def _flagged(self, ticket: Ticket, decision: Decision) -> Decision:
        incident = self.members.get(ticket.id, "")
        return replace(decision, incident=incident) if incident else decision

    # -- the Incidents tab -------------------------------------------------------------------

    def show(self, tabs: object, reporter: object) -> None:
        """Add the Incidents tab to the cycle's report tabs (syncd.report_tabs.ReportTabs),
        when the sheet shows reports (`reporter`) and there was ever an incident. Its
        fingerprint spares the write when nothing in it changed."""
        report = self.report()
        if report is not None and reporter is not None:
            tabs.reports.append(report)  # type: ignore[attr-defined]

    def report(self) -> IncidentsReport | None:
        """The Incidents tab (None before the first incident)."""
        return incidents_report(self.incidents.values()) if self.incidents else None

    # -- announcements -----------------------------------------------------------------------

    def announce(self, notifiers: Sequence[Notifier], baseline: bool) -> None:
        """Make each announcement not yet made: the start alert on every channel of the rule,
        a note on each affected company, the end notice; saves what was done. One that fails
        is tried again next cycle."""
        if self.store is None or self.dry_run:
            return
        rules = {r.name: r for r in self.rules}
        pending = [
            i for i in self.incidents.values() if i.rule in rules and _owed(i, rules[i.rule])
        ]
        if not pending:
            return
        wanted = {t for i in pending for t in i.tickets}
        snapshots = {k: v for k, (v, _) in self.tickets.items() if k in wanted}
        missing = wanted - set(snapshots)
        if missing:
            snapshots.update(self.store.snapshots(missing))
        signatures = self.store.signatures(wanted)
        done: list[Incident] = []
        for incident in pending:
            rule = rules[incident.rule]
            before = dict(incident.notified)
            self._announce(incident, rule, notifiers, baseline, snapshots, signatures)
            if incident.notified != before:
                done.append(incident)
        self.store.save_incidents(done)

    def _announce(
        self,
        incident: Incident,
        rule: IncidentRule,
        notifiers: Sequence[Notifier],
        baseline: bool,
        snapshots: dict[str, Ticket],
        signatures: dict[str, Signature],
    ) -> None:
        first = snapshots.get(incident.first_ticket) or next(
            (snapshots[t] for t in incident.tickets if t in snapshots), None
        )
        if first is None:
            return  # no ticket to speak of (never the case: the snapshots are saved first)
        urls = {k: t.url for k, t in snapshots.items()}
        sends: list[tuple[str, Action, Ticket, str]] = []
        for index, target in enumerate(rule.notify):
            sends.append(
                (
                    f"start:{target}",
                    self._action(incident, rule, f"start:{index}", target),
                    first,
                    start_message(incident, rule, urls),
                )
            )
        if rule.company_notes:
            for org, name in sorted(incident.organizations.items()):
                ticket = next(
                    (
                        snapshots[t]
                        for t in incident.tickets
                        if t in snapshots
                        and t in signatures
                        and signatures[t].organization == org
                        and snapshots[t].organization is not None
                    ),
                    None,
                )
                if ticket is None:  # known by the requester's email domain only
                    incident.notified.setdefault(
                        f"note:{org}", "skipped: no organization in the helpdesk"
                    )
                    continue
                action = self._action(incident, rule, f"note:{org}", COMPANY_NOTE)
                sends.append((f"note:{org}", action, ticket, company_note(incident, name)))
        if not incident.is_open:
            for index, target in enumerate(rule.notify):
                action = self._action(incident, rule, f"end:{index}", target)
                sends.append((f"end:{target}", action, first, end_message(incident)))
        for key, action, ticket, text in sends:
            if key in incident.notified:
                continue
            if baseline:
                incident.notified[key] = BASELINE
                continue
            try:
                decision = Decision("", "", incident=incident.id)
                outcome = next(
                    (o for n in notifiers if (o := n.deliver(ticket, action, text, decision))),
                    None,
                )
            except SyncdError as exc:
                log.error("incident announcement failed", incident=incident.id, error=str(exc))
                continue
            if outcome is None:
                outcome = f"skipped: nothing configured to carry out notify {action.target}"
            incident.notified[key] = outcome
            log.info("incident announced", incident=incident.id, share=key, outcome=outcome)

    @staticmethod
    def _action(incident: Incident, rule: IncidentRule, share: str, target: str) -> Action:
        return Action(
            key=f"incident:{incident.id}:{share}",
            kind="notify",
            origin=f"incident {incident.id} ({rule.name})",
            target=target,
            where=rule.where,
        )


def _owed(incident: Incident, rule: IncidentRule) -> bool:
    """Whether an announcement of this incident is still to be made."""
    keys = {f"start:{t}" for t in rule.notify}
    keys |= {f"note:{org}" for org in incident.organizations} if rule.company_notes else set()
    if not incident.is_open:
        keys |= {f"end:{t}" for t in rule.notify}
    return not keys <= set(incident.notified)
