"""`syncd sla check`: syncd's SLA verdicts against the helpdesk's own, ticket by ticket.

Zendesk sideloads its SLA state in each ticket (`include=slas`: metric, stage, breach_at) and
Freshdesk gives `fr_due_by`, `due_by` (and `nr_due_by` with next-response SLAs) with their
escalation flags; the sources keep them in `Ticket.helpdesk_sla` at no extra request. For
every ticket the helpdesk measures, each of its targets is compared with syncd's target for
the same measure: the due moment (to the minute: Zendesk counts whole minutes), whether it
is breached now, and whether it is met or paused. Each disagreement names its reason, found
by measuring again with one thing changed (pure, like the rules engine):

- priority: syncd's rules decided another priority than the helpdesk's own;
- calendar: measuring on another of the rule set's calendars (another team's hours, round
  the clock, or a business calendar where syncd counts round the clock) agrees;
- pause: syncd stops the clock in a status where the helpdesk does not (or the reverse), or
  the helpdesk gives more time by what fits in a stretch before the ticket's current status,
  which the source cannot tell syncd about (Freshdesk dates the current status only);
- a measure the helpdesk does not track, or one syncd does not track or cannot see;
- different policy: none of the above explains it (another target or policy).

`check` is pure (tickets and `now` in, disagreements out); `check_source` reads every
ticket from a source first (the export from the configured start, one request a page).
`sheet_report` makes the sheet's "SLA check" tab of them, which `syncd sla check --sheet`
writes (one read and one write, outside the cycle: a cycle's cost does not change).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from syncd.model import SLA_MEASURES, Decision, HelpdeskSla, SlaTarget, Status, Ticket
from syncd.ports import Cell, Report, Source
from syncd.rules.calendar import BusinessCalendar
from syncd.rules.engine import RuleSet
from syncd.rules.sla import NO_TARGETS, Policy

TOLERANCE = timedelta(seconds=60)  # Zendesk's metrics and targets are whole minutes
# The helpdesks' priorities, most urgent first (Zendesk: normal; Freshdesk: medium).
HELPDESK_RANKS = {"urgent": 0, "high": 1, "normal": 2, "medium": 2, "low": 3}


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One target where syncd and the helpdesk disagree, and why."""

    ticket: str
    measure: str  # syncd's measure, or the helpdesk's metric when syncd has none
    helpdesk: str  # the helpdesk's view, in words
    syncd: str  # syncd's view, in words
    reason: str
    url: str = ""  # the ticket in the helpdesk, for agents

    def line(self) -> str:
        """One line for the terminal."""
        return (
            f"#{self.ticket} {self.measure}: helpdesk {self.helpdesk}; syncd {self.syncd} "
            f"— {self.reason}"
        )


def check(rules: RuleSet, tickets: Iterable[Ticket], now: datetime) -> list[Disagreement]:
    """Every disagreement on the tickets the helpdesk measures (those with helpdesk SLAs)."""
    out: list[Disagreement] = []
    for ticket in tickets:
        if ticket.helpdesk_sla:
            out.extend(check_ticket(rules, ticket, now))
    return out


SHEET_COLUMNS = ("Ticket", "Measure", "Helpdesk", "syncd", "Reason", "Checked at", "Link")


def sheet_report(found: list[Disagreement], measured: int, now: datetime) -> Report:
    """The sheet's "SLA check" tab: one row per disagreement (ticket, measure, the helpdesk's
    verdict and due time, syncd's, the reason), in ticket order; with none, one row saying
    how many tickets agree. "Checked at" dates the check (the tab is rebuilt by each
    `syncd sla check --sheet`, not by the cycle)."""
    rows: list[list[Cell]] = [
        [d.ticket, d.measure, d.helpdesk, d.syncd, d.reason, now, d.url]
        for d in sorted(found, key=lambda d: (len(d.ticket), d.ticket, d.measure))
    ]
    if not rows:
        agree = f"no disagreement: syncd agrees on the {measured} ticket(s) the helpdesk measures"
        rows.append(["", "", "", "", agree, now, ""])
    return Report("sla_check", "SLA check", SHEET_COLUMNS, rows, {"Checked at": "datetime"})


def check_source(rules: RuleSet, source: Source, now: datetime) -> tuple[list[Disagreement], int]:
    """The disagreements on every ticket the source exports from its configured start (a
    ticket changed during the read counts in its latest version), and how many tickets the
    helpdesk measures."""
    latest: dict[str, list[Disagreement]] = {}
    for page in source.pull(None):
        for ticket in page.tickets:
            if ticket.helpdesk_sla:
                latest[ticket.id] = check_ticket(rules, ticket, now)
            else:
                latest.pop(ticket.id, None)
    return [d for found in latest.values() for d in found], len(latest)


def check_ticket(rules: RuleSet, ticket: Ticket, now: datetime) -> list[Disagreement]:
    """The disagreements on one ticket."""
    found = _check_ticket(rules, ticket, now)
    return [replace(d, url=ticket.url) for d in found] if ticket.url else found


def _check_ticket(rules: RuleSet, ticket: Ticket, now: datetime) -> list[Disagreement]:
    decision = rules.evaluate(ticket, now)
    out: list[Disagreement] = []
    seen = set()
    for theirs in ticket.helpdesk_sla:
        if not theirs.measure:
            out.append(
                Disagreement(
                    ticket.id,
                    theirs.metric,
                    _theirs(theirs, now),
                    "has no such measure",
                    f"a measure syncd does not track ({theirs.metric})",
                )
            )
            continue
        seen.add(theirs.measure)
        ours = _target(rules, decision, theirs.measure)
        if ours is None:
            policy = decision.sla.policy if decision.sla else "no SLA policy"
            out.append(
                Disagreement(
                    ticket.id,
                    theirs.measure,
                    _theirs(theirs, now),
                    f"sets no target ({policy})",
                    f"different policy: syncd's {policy} has no {theirs.measure} target "
                    f"for {decision.priority}",
                )
            )
            continue
        if not ours.known:
            out.append(
                Disagreement(
                    ticket.id,
                    theirs.measure,
                    _theirs(theirs, now),
                    "cannot see it",
                    f"a measure syncd cannot see from {ticket.source}'s data "
                    "(see the README: what syncd can and cannot know)",
                )
            )
            continue
        if _agrees(theirs, ours, now):
            continue
        out.append(
            Disagreement(
                ticket.id,
                theirs.measure,
                _theirs(theirs, now),
                _ours(ours),
                _reason(rules, ticket, decision, theirs, now),
            )
        )
    if decision.sla is not None:
        for measure, ours in decision.sla.targets():
            running = ours.known and ours.due is not None and ours.met_at is None
            if measure not in seen and (running or ours.breached):
                out.append(
                    Disagreement(
                        ticket.id,
                        measure,
                        "does not measure it",
                        _ours(ours),
                        f"a measure the helpdesk does not track ({measure})",
                    )
                )
    return out


def _target(rules: RuleSet, decision: Decision, measure: str) -> SlaTarget | None:
    """syncd's target for a measure; None when the policy sets none for the priority."""
    policy = _policy(rules, decision)
    if policy is None or decision.sla is None or measure not in SLA_MEASURES:
        return None
    if getattr(policy.targets.get(decision.priority, NO_TARGETS), measure) is None:
        return None
    target: SlaTarget = getattr(decision.sla, measure)
    return target


def _helpdesk_breached(theirs: HelpdeskSla, now: datetime) -> bool | None:
    if theirs.breached is not None:
        return theirs.breached
    if theirs.stage == "active" and theirs.due is not None:
        return theirs.due <= now
    return None  # paused or achieved: Zendesk does not say whether it was late


def _agrees(theirs: HelpdeskSla, ours: SlaTarget, now: datetime) -> bool:
    if theirs.stage == "achieved":
        # Met for the helpdesk: syncd's target must be met too (or no longer running).
        if ours.met_at is None and ours.due is not None:
            return False
        breached = theirs.breached
        return breached is None or breached == ours.breached
    if theirs.stage == "paused":
        return ours.due is None and ours.met_at is None
    if ours.met_at is not None:
        return False  # running for the helpdesk, met for syncd
    if theirs.due is not None and ours.due is not None:
        if abs(theirs.due - ours.due) > TOLERANCE:
            return False
    elif (theirs.due is None) != (ours.due is None):
        return False
    breached = _helpdesk_breached(theirs, now)
    return breached is None or breached == ours.breached


def _reason(
    rules: RuleSet, ticket: Ticket, decision: Decision, theirs: HelpdeskSla, now: datetime
) -> str:
    """Why syncd and the helpdesk disagree on one target: the first change that makes
    syncd agree, else a different policy."""
    measure = theirs.measure
    theirs_priority = _helpdesk_level(rules, ticket.helpdesk_priority)
    if theirs_priority is not None and theirs_priority != decision.priority:
        again = _remeasure(rules, ticket, decision, now, priority=theirs_priority)
        agree = _agrees_with(rules, again, measure, theirs, now)
        note = " (measured at that priority, syncd agrees)" if agree else ""
        return (
            f"priority: the helpdesk measures {ticket.helpdesk_priority}, syncd's rules "
            f"decided {decision.priority}{note}"
        )
    policy = _policy(rules, decision)
    if policy is not None:
        ours = policy.calendar_for(ticket)
        for other in rules.calendars.values():
            if other.name == ours.name:
                continue
            again = _remeasure(rules, ticket, decision, now, calendar=other)
            if _agrees_with(rules, again, measure, theirs, now):
                where = "round the clock" if other.round_the_clock else f"on {other.name!r}"
                group = f" (group {ticket.group_name!r})" if ticket.group_name else ""
                return (
                    f"calendar: syncd counts on {ours.name!r}{group}, the helpdesk's due "
                    f"matches {where}"
                )
        if ours.round_the_clock and theirs.business_hours:
            return "calendar: syncd counts round the clock, the helpdesk in business hours"
        hidden = _hidden_pause(ticket, theirs, decision, measure)
        if hidden:
            return hidden
        if rules.sla.pause_on:
            again = _remeasure(rules, ticket, decision, now, pause_on=frozenset())
            if _agrees_with(rules, again, measure, theirs, now):
                stops = ", ".join(sorted(s.value for s in rules.sla.pause_on))
                return f"pause: syncd stops the clock while {stops}, the helpdesk does not"
        if theirs.stage == "paused":
            return "pause: the helpdesk stops this clock in the ticket's status, syncd does not"
    name = decision.sla.policy if decision.sla else "no policy"
    return (
        f"different policy: the helpdesk's target differs from syncd's {name} "
        f"({decision.priority}); check the targets"
    )


def _hidden_pause(
    ticket: Ticket, theirs: HelpdeskSla, decision: Decision, measure: str
) -> str | None:
    """A pause syncd cannot see: the helpdesk gives more time than syncd, the ticket changed
    status after its creation, and the source tells neither the statuses before the current
    one nor the time spent paused (Freshdesk's API keeps when the current status began only).
    The extra time then fits in the stretch before the current status."""
    if decision.sla is None or measure not in SLA_MEASURES or ticket.paused_minutes:
        return None
    ours: SlaTarget = getattr(decision.sla, measure)
    history = ticket.status_history
    if theirs.due is None or ours.due is None or theirs.due <= ours.due or len(history) != 1:
        return None
    began = history[0].at
    later = theirs.due - ours.due
    if began <= ticket.created_at or later > began - ticket.created_at:
        return None
    minutes = round(later.total_seconds() / 60)
    return (
        f"pause: the helpdesk's due is {minutes} min later; the ticket changed status before "
        f"its current {ticket.status_name or ticket.status.value} (since {_at(began)}) and "
        f"{ticket.source} does not tell syncd the statuses before it, so a past pending "
        "stretch the helpdesk left out is likely (else a different target)"
    )


def _helpdesk_level(rules: RuleSet, priority: str | None) -> str | None:
    """The rule set's priority level for the helpdesk's own priority (by rank)."""
    if not priority:
        return None
    for level in rules.levels:
        if level.lower() == priority.lower():
            return level
    rank = HELPDESK_RANKS.get(priority.lower())
    if rank is None or len(rules.levels) != len(set(HELPDESK_RANKS.values())):
        return None
    return rules.levels[rank]


def _policy(rules: RuleSet, decision: Decision) -> Policy | None:
    if decision.sla is None:
        return None
    return next((p for p in rules.sla.policies if p.name == decision.sla.policy), None)


def _remeasure(
    rules: RuleSet,
    ticket: Ticket,
    decision: Decision,
    now: datetime,
    *,
    priority: str | None = None,
    calendar: BusinessCalendar | None = None,
    pause_on: frozenset[Status] | None = None,
) -> Decision | None:
    """syncd's SLA measured again with one thing changed (None: no policy applies)."""
    policy = _policy(rules, decision)
    if policy is None:
        return None
    sla_rules = rules.sla if pause_on is None else replace(rules.sla, pause_on=pause_on)
    if calendar is not None:
        policy = replace(policy, calendar=calendar, by_group={})
    status, _next = sla_rules.measure(policy, ticket, priority or decision.priority, now)
    return Decision(decision.category, priority or decision.priority, sla=status)


def _agrees_with(
    rules: RuleSet, again: Decision | None, measure: str, theirs: HelpdeskSla, now: datetime
) -> bool:
    if again is None:
        return False
    ours = _target(rules, again, measure)
    return ours is not None and ours.known and _agrees(theirs, ours, now)


def _theirs(theirs: HelpdeskSla, now: datetime) -> str:
    due = f"due {_at(theirs.due)}" if theirs.due else "no due time"
    breached = _helpdesk_breached(theirs, now)
    verdict = ", breached" if breached else ""
    return f"{theirs.stage}, {due}{verdict}"


def _ours(ours: SlaTarget) -> str:
    if ours.met_at is not None:
        return f"met {_at(ours.met_at)}" + (" late" if ours.breached else "")
    if ours.due is None:
        return "paused"
    return f"active, due {_at(ours.due)}" + (", breached" if ours.breached else "")


def _at(moment: datetime) -> str:
    if moment.utcoffset() == timedelta(0):
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.isoformat(timespec="minutes")
