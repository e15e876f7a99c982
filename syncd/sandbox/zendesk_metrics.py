"""Ticket metrics and ticket metric events, derived from what happened to a sandbox ticket.

The Zendesk emulator keeps a `History` per ticket: its creation and every later change that
matters to the metrics (status changes, comments with who wrote them and whether they were
public, assignments, group and priority changes, ratings). Two pure functions turn a history
into what the API serves, so the numbers always agree with the ticket:

- `ticket_metric` -> the Ticket Metric object ([TM] JSON format): reopens, replies, the
  timestamps, and the durations as {"calendar": minutes, "business": minutes}.
- `metric_events` -> the ticket metric events ([TME], [TMET]): measure, activate, pause,
  fulfill, update_status, apply_sla and breach events for the six documented metrics.

References:

- [TM] Ticket Metrics, https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_metrics/
- [TME] Ticket Metric Events,
  https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_metric_events/
- [TMET] Ticket metric event types reference,
  https://developer.zendesk.com/documentation/ticketing/reference-guides/ticket-metric-event-types-reference
- [NSR] About native system ticket rules,
  https://support.zendesk.com/hc/en-us/articles/4408894213018
- [DUR] About native Support time duration metrics,
  https://support.zendesk.com/hc/en-us/articles/4408834848154
- [BHM] How does Zendesk record its business hour metrics?,
  https://support.zendesk.com/hc/en-us/articles/5654110765338

Documented: the object fields; "replies" counts public agent comments [TM]; the clocks start
when the ticket is created; requester_wait_time pauses in pending, agent_work_time in pending
and on-hold; a public agent reply fulfills reply_time; a solve fulfills resolution_time and
requester_wait_time; `status` ({calendar, business} minutes) is only filled on update_status
events, `sla` only on apply_sla events [TME][TMET]. A measure event with instance_id 0 at
creation precedes each metric's first activate (the [TME] example).

Inferred, to re-check against a live account:
- Business minutes equal calendar minutes: the sandbox has no business-hours schedule.
- Minutes are whole minutes, rounded down, from times cut to whole seconds (as shown).
- requester_wait_time (time in new, open and on-hold) and full_resolution_time are null
  until the ticket is solved, and measured up to the last solve; reply_time is null until the
  first public agent reply; solved_at is null while unsolved.
- agent_wait_time (time pending) and on_hold_time are running totals: a stretch in the status
  is added when the status changes again, so a current stretch is not in them yet, and they
  are null until a first stretch has ended ([DUR]: "null until two required events occur";
  [BHM]: "added to a running total as the ticket statuses change").
- A reopen (solved -> any unsolved status) counts in `reopens` and starts new instances of
  agent_work_time, requester_wait_time and resolution_time; a requester comment after an
  agent's reply starts the next reply_time instance (next reply time); every public agent
  comment fulfills the running periodic/pausable update instance and starts the next one;
  a solve (or a close, e.g. by merge) fulfills every running clock.
- assignee_updated_at is the last update made by any agent; requester_updated_at the last by
  the requester. reply_time_in_seconds (messaging tickets only) is left out.
- SLAs: one sandbox policy (`SLA_POLICY`) applies to tickets with a priority, with calendar
  targets for reply_time and requester_wait_time per priority; a priority change re-applies
  it. A breach event is dated when the running clock crosses the target, and only appears
  in the export once that time has passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncd.sandbox.zendesk_common import iso

METRICS = (
    "agent_work_time",
    "pausable_update_time",
    "periodic_update_time",
    "reply_time",
    "requester_wait_time",
    "resolution_time",
)
DONE = frozenset({"solved", "closed"})
# Statuses in which each metric's clock runs ([TMET] pause events; see module notes).
RUNS_IN: dict[str, frozenset[str]] = {
    "agent_work_time": frozenset({"new", "open"}),
    "requester_wait_time": frozenset({"new", "open", "hold"}),
    "resolution_time": frozenset({"new", "open", "pending", "hold"}),
    "reply_time": frozenset({"new", "open", "pending", "hold"}),
    "periodic_update_time": frozenset({"new", "open", "pending", "hold"}),
    "pausable_update_time": frozenset({"new", "open", "hold"}),
}
# Clocks that start when a ticket is created and start again when it is reopened.
FROM_CREATION = ("agent_work_time", "requester_wait_time", "resolution_time")
UPDATE_METRICS = ("periodic_update_time", "pausable_update_time")

SLA_POLICY = {
    "id": 360_000_000_301,
    "title": "Sandbox SLA",
    "description": "Reply and requester wait targets by priority (sandbox default)",
}
# Calendar-minute targets by priority; tickets without a priority have no SLA.
SLA_TARGETS: dict[str, dict[str, int]] = {
    "reply_time": {"urgent": 60, "high": 240, "normal": 480, "low": 1440},
    "requester_wait_time": {"urgent": 480, "high": 1440, "normal": 2880, "low": 5760},
}

# An event as computed: (time, metric, instance_id, type, extra properties or None).
Event = tuple[float, str, int, str, dict[str, Any] | None]


@dataclass(slots=True)
class History:
    """What happened to one ticket, oldest first, as far as metrics care.

    `events` holds (time, kind, value, actor) tuples; kind is "status" (value: new status),
    "comment" (value: public?), "assign" (assignee id), "group", "priority" or "rating"
    (score); actor is "agent", "end-user" or "system". Times never decrease.
    """

    created: float
    status: str
    priority: str | None = None
    by_agent: bool = False  # the submitter (first comment's author) is an agent
    assignee: int | None = None
    group: int | None = None
    events: list[tuple[float, str, Any, str]] = field(default_factory=list)

    @property
    def last(self) -> float:
        """Time of the latest change (the creation when nothing happened since)."""
        return self.events[-1][0] if self.events else self.created

    def add(self, at: float, kind: str, value: Any, actor: str) -> None:
        """Record a change; `at` must not precede the previous change."""
        if at < self.last:
            raise ValueError("a ticket's history cannot go back in time")
        self.events.append((at, kind, value, actor))

    def status_at_end(self) -> str:
        """The status after the last recorded change."""
        for _at, kind, value, _actor in reversed(self.events):
            if kind == "status":
                return str(value)
        return self.status


def minutes(seconds: float | None) -> dict[str, int | None]:
    """{calendar, business} whole minutes; business equals calendar (no schedule)."""
    value = None if seconds is None else int(max(seconds, 0.0) // 60)
    return {"calendar": value, "business": value}


def ticket_metric(history: History, *, ticket_id: int, metric_id: int, url: str) -> dict[str, Any]:
    """The Ticket Metric object [TM] for a ticket with this history."""
    # Whole seconds throughout, so durations agree with the timestamps shown next to them.
    created = int(history.created)
    status, since = history.status, created
    spent: dict[str, float] = {}
    solves: list[float] = []
    reopens = replies = 0
    first_reply: float | None = None
    latest_comment = created  # the description is the first comment
    requester_updated = None if history.by_agent else created
    assignee_updated: float | None = None
    status_updated = created
    initially = assigned = created if history.assignee is not None else None
    assignees = {history.assignee} - {None}
    groups = {history.group} - {None}
    for moment, kind, value, actor in history.events:
        at = int(moment)
        if actor == "agent":
            assignee_updated = at
        elif actor == "end-user":
            requester_updated = at
        if kind == "status" and value != status:
            spent[status] = spent.get(status, 0.0) + at - since
            if value in DONE and status not in DONE:
                solves.append(at)
            elif status in DONE and value not in DONE:
                reopens += 1
            status, since, status_updated = value, at, at
        elif kind == "comment":
            latest_comment = at
            if value and actor == "agent":
                replies += 1
                first_reply = at if first_reply is None else first_reply
        elif kind == "assign" and value is not None:
            initially = at if initially is None else initially
            assigned = at
            assignees.add(value)
        elif kind == "group" and value is not None:
            groups.add(value)
    solved = status in DONE
    ended = dict(spent)  # stretches closed by a status change: the running totals [BHM]
    if not solved:  # clocks still running count up to the latest change
        spent[status] = spent.get(status, 0.0) + int(history.last) - since

    def when(value: float | None) -> str | None:
        return None if value is None else iso(value)

    def waited(*statuses: str) -> float | None:
        return sum(spent.get(s, 0.0) for s in statuses) if solved else None

    def total(status: str) -> float | None:
        return ended.get(status)  # None until a first stretch in the status has ended

    return {
        "url": url,
        "id": metric_id,
        "ticket_id": ticket_id,
        "created_at": iso(created),
        "updated_at": iso(history.last),
        "group_stations": len(groups),
        "assignee_stations": len(assignees),
        "reopens": reopens,
        "replies": replies,
        "assignee_updated_at": when(assignee_updated),
        "requester_updated_at": when(requester_updated),
        "status_updated_at": iso(status_updated),
        "custom_status_updated_at": iso(status_updated),
        "initially_assigned_at": when(initially),
        "assigned_at": when(assigned),
        "solved_at": when(solves[-1]) if solved and solves else None,
        "latest_comment_added_at": iso(latest_comment),
        "reply_time_in_minutes": minutes(None if first_reply is None else first_reply - created),
        "first_resolution_time_in_minutes": minutes(solves[0] - created if solves else None),
        "full_resolution_time_in_minutes": minutes(
            solves[-1] - created if solved and solves else None
        ),
        "agent_wait_time_in_minutes": minutes(total("pending")),
        "requester_wait_time_in_minutes": minutes(waited("new", "open", "hold")),
        "on_hold_time_in_minutes": minutes(total("hold")),
    }


@dataclass(slots=True)
class _Clock:
    instance: int = 0
    armed: bool = False  # activated and not yet fulfilled
    running: bool = False
    since: float = 0.0
    spent: float = 0.0
    target: int | None = None  # SLA target in minutes
    target_since: float = 0.0
    breached: bool = False


class _Tracker:
    """Replays a history through one clock per metric, collecting the events."""

    def __init__(self, history: History) -> None:
        self.status = history.status
        self.priority = history.priority
        self.clocks = {metric: _Clock() for metric in METRICS}
        self.out: list[Event] = []

    def emit(self, at: float, metric: str, kind: str, extra: dict[str, Any] | None = None) -> None:
        self.out.append((at, metric, self.clocks[metric].instance, kind, extra))

    def arm(self, at: float, metric: str) -> None:
        clock = self.clocks[metric]
        clock.instance += 1
        clock.armed, clock.running, clock.since, clock.spent = True, True, at, 0.0
        clock.target, clock.breached = None, False
        self.emit(at, metric, "activate")
        self.apply_sla(at, metric)
        if self.status not in RUNS_IN[metric]:
            self.pause(at, metric)

    def stop(self, at: float, metric: str) -> None:
        clock = self.clocks[metric]
        if clock.running:
            self.check_breach(metric, at)
            clock.spent += at - clock.since
            clock.running = False

    def check_breach(self, metric: str, until: float) -> None:
        # The clock runs from `since` to `until` (inf: still running at the end).
        clock = self.clocks[metric]
        if clock.target is None or clock.breached or not clock.running:
            return
        left = clock.target * 60 - clock.spent
        if until - clock.since > left:
            clock.breached = True
            self.emit(max(clock.since + max(left, 0.0), clock.target_since), metric, "breach")

    def pause(self, at: float, metric: str) -> None:
        if self.clocks[metric].armed and self.clocks[metric].running:
            self.stop(at, metric)
            self.emit(at, metric, "pause")

    def resume(self, at: float, metric: str) -> None:
        clock = self.clocks[metric]
        if clock.armed and not clock.running:
            clock.running, clock.since = True, at
            self.emit(at, metric, "activate")

    def fulfill(self, at: float, metric: str) -> None:
        clock = self.clocks[metric]
        if not clock.armed:
            return
        self.stop(at, metric)
        clock.armed = False
        self.emit(at, metric, "fulfill")
        self.emit(at, metric, "update_status", {"status": minutes(clock.spent)})

    def apply_sla(self, at: float, metric: str) -> None:
        clock = self.clocks[metric]
        target = SLA_TARGETS.get(metric, {}).get(self.priority or "")
        if target is None or not clock.armed or target == clock.target:
            return
        if clock.running:  # bank the time so far under the old target
            self.check_breach(metric, at)
            clock.spent += at - clock.since
            clock.since = at
        clock.target, clock.target_since = target, at
        sla = {"target": target, "business_hours": False, "policy": dict(SLA_POLICY)}
        self.emit(at, metric, "apply_sla", {"sla": sla})
        if not clock.breached and clock.spent > target * 60:
            clock.breached = True
            self.emit(at, metric, "breach")

    def on_status(self, at: float, new: str) -> None:
        old, self.status = self.status, new
        if new == old:
            return
        if new in DONE and old not in DONE:
            for metric in METRICS:
                self.fulfill(at, metric)
        elif old in DONE and new not in DONE:  # reopened
            for metric in FROM_CREATION:
                self.arm(at, metric)
        else:
            for metric in METRICS:
                if new in RUNS_IN[metric]:
                    self.resume(at, metric)
                else:
                    self.pause(at, metric)

    def on_public_comment(self, at: float, actor: str) -> None:
        if self.status in DONE:
            return
        if actor == "agent":
            self.fulfill(at, "reply_time")
            for metric in UPDATE_METRICS:
                self.fulfill(at, metric)
                self.arm(at, metric)
        elif actor == "end-user" and not self.clocks["reply_time"].armed:
            self.arm(at, "reply_time")  # the next reply is now due

    def on_priority(self, at: float, priority: str | None) -> None:
        self.priority = priority
        for metric in SLA_TARGETS:
            self.apply_sla(at, metric)

    def finish(self) -> list[Event]:
        for metric in METRICS:
            self.check_breach(metric, float("inf"))
        # Stable sort: events at the same instant keep the order they happened in.
        return sorted(self.out, key=lambda event: event[0])


def metric_events(history: History) -> list[Event]:
    """Every metric event of a ticket with this history, oldest first [TME][TMET]."""
    return replay(history).finish()


def replay(history: History) -> _Tracker:
    """The ticket's metric clocks after its whole history (zendesk_sla reads their state)."""
    tracker = _Tracker(history)
    created = int(history.created)  # whole seconds, as in ticket_metric
    for metric in METRICS:
        tracker.emit(created, metric, "measure")
    if history.status in DONE:  # created already solved: nothing is left to measure
        return tracker
    for metric in (*FROM_CREATION, "reply_time"):
        tracker.arm(created, metric)
    for moment, kind, value, actor in history.events:
        at = int(moment)
        if kind == "status":
            tracker.on_status(at, value)
        elif kind == "comment" and value:
            tracker.on_public_comment(at, actor)
        elif kind == "priority":
            tracker.on_priority(at, value)
    return tracker
