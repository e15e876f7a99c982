"""What the report tabs need to know about one ticket, kept in the state store.

The reports (syncd.reports) are computed from syncd's own state, never by reading the sheet
back. Each cycle projects every decided ticket to a `TicketFacts`: the few fields a report
counts (when it was created, first answered and solved; its SLA targets; the escalation
levels it reached and who they notify; its CSAT score), small enough to keep for every ticket
of the report window and to load them all in one query.

A projection is pure. The one thing a decision cannot tell is when an escalation level was
first reached, so `project` takes the ticket's previous facts and keeps their moments.

Rule locations are kept relative to the rules folder ("escalation.yaml:20"): the folder is
flat, so that is the file's name and line, and no server path reaches the sheet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import PurePath
from typing import Any

from syncd.model import Decision, SlaStatus, SlaTarget, Ticket

_GONE = ("merged", "spam", "deleted")
# Of the JSON list `to_json` writes (layout 1 lacks the agent and CSAT scale). Layout 2 may
# end with the other measures' targets, only when there are any: a reader that does not know
# them ignores the extra item.
_LAYOUT = 2
_SOLVED = ("solved", "closed")


@dataclass(slots=True)
class Target:
    """One SLA target of a ticket: when it falls due, when it was met, and whether it was met
    late (for a met target; an unmet one is judged against its due moment when counted)."""

    due: datetime | None  # None while the clock is paused for good (pending, on hold)
    met_at: datetime | None = None
    breached: bool = False


@dataclass(slots=True)
class Escalation:
    """An escalation level the ticket reached."""

    level: int
    name: str
    ladder: str
    where: str  # file:line of the level, relative to the rules folder ("escalation.yaml:20")
    reason: str  # the SLA standing when it was reached, e.g. "first response breached"
    notified: tuple[str, ...]  # the level's notify targets: "slack:#support", "email:requester"
    reached_at: datetime  # the first cycle that saw the level reached


@dataclass(slots=True)
class TicketFacts:
    """One ticket as the reports count it, as of its latest decision (`seen_at`)."""

    key: str  # the helpdesk ticket id
    subject: str
    requester: str
    category: str
    priority: str
    status: str  # Status value: "open", "solved", "merged"...
    created_at: datetime
    first_response_at: datetime | None
    solved_at: datetime | None  # None while unsolved (also once reopened)
    csat: float | None
    url: str
    seen_at: datetime
    sla_policy: str = ""
    first_response: Target | None = None  # None: no target applies, or cannot be judged
    resolution: Target | None = None
    escalation_level: int = 0
    escalation_name: str = ""
    escalations: tuple[Escalation, ...] = ()
    assignee_id: str = ""  # "" while unassigned
    assignee_name: str = ""  # as the helpdesk shows it; "" when unknown
    csat_scale: int | None = None  # the survey's points: 2 (good/bad), 3 or 5; None: 1-5
    # The other measures' targets the policy sets and syncd can see (next_reply,
    # periodic_update, first_resolution, requester_wait, agent_work), for the SLA breaches tab.
    other_targets: tuple[tuple[str, Target], ...] = ()

    @property
    def agent(self) -> str:
        """The assignee as the Agents tab shows it: the name, else the id ("" unassigned)."""
        return self.assignee_name or self.assignee_id

    @property
    def gone(self) -> bool:
        """Merged away, spam or deleted: left out of every figure."""
        return self.status in _GONE

    @property
    def closed_at(self) -> datetime | None:
        """The last moment any figure can count for this ticket (None while it is open): the
        state store keeps only the facts of open tickets and of tickets closed in the window."""
        if self.status not in _SOLVED and not self.gone:
            return None
        moments = [self.seen_at if self.gone else self.solved_at or self.seen_at]
        others = tuple(t for _m, t in self.other_targets)
        for target in (self.first_response, self.resolution, *others):
            if target is not None:
                moments.extend(m for m in (target.due, target.met_at) if m is not None)
        return max(moments)

    def counts_as(self, other: TicketFacts | None) -> bool:
        """True when `other` (the ticket's stored facts) counts the same in every report: only
        the moment they were seen may differ."""
        return other is not None and replace(other, seen_at=self.seen_at) == self

    def to_json(self) -> str:
        """Compact JSON for the state store: a list in field order (half the decoding time of
        an object), behind a layout version."""
        data: list[Any] = [
            _LAYOUT,
            self.key,
            self.subject,
            self.requester,
            self.category,
            self.priority,
            self.status,
            self.created_at.isoformat(),
            _iso(self.first_response_at),
            _iso(self.solved_at),
            self.csat,
            self.url,
            self.seen_at.isoformat(),
            self.sla_policy,
            _dump_target(self.first_response),
            _dump_target(self.resolution),
            self.escalation_level,
            self.escalation_name,
            [
                [e.level, e.name, e.ladder, e.where, e.reason, e.notified, e.reached_at.isoformat()]
                for e in self.escalations
            ],
            self.assignee_id,
            self.assignee_name,
            self.csat_scale,
        ]
        if self.other_targets:
            data.append([[m, _dump_target(t)] for m, t in self.other_targets])
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> TicketFacts:
        """The facts `to_json` wrote."""
        data = json.loads(text)
        if data[0] not in (1, _LAYOUT):
            raise ValueError(f"ticket facts of layout {data[0]!r}, expected {_LAYOUT}")
        assignee_id, assignee_name, csat_scale = data[19:22] if data[0] > 1 else ("", "", None)
        others = tuple((m, _load_target(t)) for m, t in data[22]) if len(data) > 22 else ()
        (_, key, subject, requester, category, priority, status, created_at, replied_at) = data[:9]
        (solved_at, csat, url, seen_at, policy, first, resolution, level, name) = data[9:18]
        return cls(
            key,
            subject,
            requester,
            category,
            priority,
            status,
            datetime.fromisoformat(created_at),
            _moment(replied_at),
            _moment(solved_at),
            csat,
            url,
            datetime.fromisoformat(seen_at),
            policy,
            _load_target(first),
            _load_target(resolution),
            level,
            name,
            tuple(
                Escalation(n, e_name, ladder, where, reason, tuple(notified), _at(reached))
                for n, e_name, ladder, where, reason, notified, reached in data[18]
            ),
            assignee_id,
            assignee_name,
            csat_scale,
            tuple((m, t) for m, t in others if t is not None),
        )


# The measures besides first response and resolution, as the SLA breaches tab names them.
OTHER_MEASURES = {
    "next_reply": "Next reply",
    "periodic_update": "Periodic update",
    "first_resolution": "First resolution",
    "requester_wait": "Requester wait",
    "agent_work": "Agent work",
}


def project(
    ticket: Ticket, decision: Decision, now: datetime, previous: TicketFacts | None = None
) -> TicketFacts:
    """The facts of a ticket decided at `now`; `previous` (its facts from an earlier cycle)
    keeps when each escalation level was first reached, and levels reached before that no
    longer hold (an escalation, once fired, stays in the log)."""
    status = ticket.status.value
    solved_at = (ticket.solved_at or ticket.updated_at) if status in _SOLVED else None
    sla = decision.sla
    first_response = resolution = None
    if sla is not None:
        if ticket.replies_known or ticket.first_response_at is not None:
            first_response = _target(sla.first_response)
        resolution = _target(sla.resolution)
    requester = ticket.requester
    return TicketFacts(
        key=ticket.id,
        subject=ticket.subject,
        requester=(requester.name or requester.email) if requester else "",
        category=decision.category,
        priority=decision.priority,
        status=status,
        created_at=ticket.created_at,
        first_response_at=ticket.first_response_at,
        solved_at=solved_at,
        csat=ticket.csat,
        url=ticket.url,
        seen_at=now,
        sla_policy=sla.policy if sla else "",
        first_response=first_response,
        resolution=resolution,
        escalation_level=decision.escalation_level,
        escalation_name=decision.escalation_name,
        escalations=_escalations(decision, now, previous),
        assignee_id=ticket.assignee_id or "",
        # Agent names come with issue 14's normalisation; until a source sets them, the id.
        assignee_name=str(getattr(ticket, "assignee_name", "") or ""),
        csat_scale=ticket.csat_scale if ticket.csat is not None else None,
        other_targets=_other_targets(sla),
    )


def _other_targets(sla: SlaStatus | None) -> tuple[tuple[str, Target], ...]:
    """The other measures' targets that apply and can be judged (known)."""
    if sla is None:
        return ()
    out = []
    for measure in OTHER_MEASURES:
        target: SlaTarget = getattr(sla, measure)
        kept = _target(target) if target.known else None
        if kept is not None:
            out.append((measure, kept))
    return tuple(out)


def _target(target: SlaTarget) -> Target | None:
    # The engine reports "no target for this priority" as a target with no due moment and
    # nothing used. A target met while its clock is paused for good has no due moment either,
    # but has used some of its time.
    if target.due is None and not target.breached and target.used <= 0:
        return None
    return Target(target.due, target.met_at, target.breached)


def _escalations(
    decision: Decision, now: datetime, previous: TicketFacts | None
) -> tuple[Escalation, ...]:
    """The levels reached now (from the decision's reasons and actions) merged with those
    reached before, lowest level first."""
    known = {(e.ladder, e.level): e for e in previous.escalations} if previous else {}
    for reason in decision.reasons:
        if reason.decision != "escalation":
            continue
        number, _, name = reason.value.partition(" ")
        level = int(number)
        if (reason.rule, level) in known:
            continue
        prefix = f"escalation:{reason.rule}:{level}:"
        notified = tuple(
            a.target for a in decision.actions if a.kind == "notify" and a.key.startswith(prefix)
        )
        known[reason.rule, level] = Escalation(
            level, name, reason.rule, rule_file(reason.where), standing(decision.sla), notified, now
        )
    return tuple(sorted(known.values(), key=lambda e: (e.reached_at, e.level)))


def rule_file(where: str) -> str:
    """A rule's location relative to the rules folder: "/srv/rules/escalation.yaml:20:5" is
    "escalation.yaml:20" (the folder is flat: rule files are its *.yaml)."""
    path, _, rest = where.partition(".yaml:")
    if not rest and not where.endswith(".yaml"):
        return where  # "built-in" and the like
    line = rest.split(":")[0]
    name = PurePath(path + ".yaml").name
    return f"{name}:{line}" if line else name


def standing(sla: SlaStatus | None) -> str:
    """Where the SLA stood, in words: "first response breached; resolution at risk"."""
    if sla is None:
        return "no SLA policy: the level's own condition"
    parts = []
    for label, target in (("first response", sla.first_response), ("resolution", sla.resolution)):
        if target.breached:
            parts.append(f"{label} breached")
        elif target.at_risk:
            parts.append(f"{label} at risk")
    return "; ".join(parts) or "SLA on track: the level's own condition (e.g. age)"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _dump_target(target: Target | None) -> list[Any] | None:
    if target is None:
        return None
    return [_iso(target.due), _iso(target.met_at), target.breached]


def _load_target(data: list[Any] | None) -> Target | None:
    if data is None:
        return None
    due, met_at, breached = data
    return Target(_moment(due), _moment(met_at), breached)
