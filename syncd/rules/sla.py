"""SLA policies: first-response and resolution targets per priority, on a business calendar.

calendars:
  business:
    timezone: Europe/London
    hours: {mon-fri: "09:00-17:30"}
    holidays: {country: GB, subdivision: ENG, dates: [2026-12-24]}
sla:
  at_risk: 75%                 # share of a target after which a ticket is at risk
  pause_on: [pending, on_hold] # the clock stops while the ticket waits on someone else
  policies:
    - policy: Standard
      calendar: business       # "24/7" is built in
      when: {...}              # optional: which tickets (first matching policy wins)
      targets:
        High: {first_response: 2h, resolution: 24h}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from syncd.durations import parse_duration
from syncd.model import SlaStatus, SlaTarget, Status, Ticket
from syncd.rules.calendar import BusinessCalendar
from syncd.rules.conditions import Compiler, Facts, Predicate
from syncd.rules.loader import Problems, where

ALWAYS = "24/7"
DEFAULT_PAUSE = frozenset({Status.PENDING, Status.ON_HOLD})
Pause = tuple[datetime, datetime | None]


@dataclass(frozen=True, slots=True)
class Targets:
    """First-response and resolution targets for one priority (None: no target)."""

    first_response: timedelta | None
    resolution: timedelta | None


@dataclass(frozen=True, slots=True)
class Policy:
    """One compiled SLA policy."""

    name: str
    when: Predicate | None
    calendar: BusinessCalendar
    targets: dict[str, Targets]
    where: str


@dataclass
class SlaRules:
    """Every SLA policy of the rule set, and how to measure them."""

    policies: list[Policy]
    at_risk: float = 0.75
    pause_on: frozenset[Status] = DEFAULT_PAUSE

    def policy_for(self, facts: Facts) -> Policy | None:
        """The first policy whose condition holds."""
        for policy in self.policies:
            if policy.when is None or policy.when(facts):
                return policy
        return None

    def measure(
        self, policy: Policy, ticket: Ticket, priority: str, now: datetime
    ) -> tuple[SlaStatus, datetime | None]:
        """Where the ticket stands against the policy at `now`, and the next moment that
        changes by the clock alone (a target turning at risk or breached)."""
        targets = policy.targets.get(priority, NO_TARGETS)
        pauses = (
            ticket.pauses(self.pause_on)
            if ticket.status_history or (ticket.status in self.pause_on)
            else []
        )
        resolved = None
        if ticket.status in (Status.SOLVED, Status.CLOSED):
            # Without the helpdesk's solve time, the last update is when it was solved.
            resolved = ticket.solved_at or ticket.updated_at
        calendar = policy.calendar
        first, next_first = self._target(
            calendar,
            ticket.created_at,
            targets.first_response,
            ticket.first_response_at,
            pauses,
            now,
        )
        if not ticket.replies_known and ticket.first_response_at is None:
            first, next_first = SlaTarget(due=first.due), None  # cannot judge: show due only
        resolution, next_resolution = self._target(
            calendar, ticket.created_at, targets.resolution, resolved, pauses, now
        )
        status = SlaStatus(policy.name, calendar.name, first, resolution)
        if not ticket.status.is_open:
            return status, None
        upcoming = [m for m in (next_first, next_resolution) if m is not None]
        return status, min(upcoming, default=None)

    def _target(
        self,
        calendar: BusinessCalendar,
        start: datetime,
        target: timedelta | None,
        met_at: datetime | None,
        pauses: Sequence[Pause],
        now: datetime,
    ) -> tuple[SlaTarget, datetime | None]:
        if target is None or target <= timedelta(0):
            return SlaTarget(due=None, met_at=met_at), None
        until = met_at or now
        if pauses:
            used_time = calendar.elapsed_with_pauses(start, until, pauses)
            due = calendar.add_with_pauses(start, target, pauses)
        else:
            used_time = calendar.elapsed(start, until)
            due = calendar.add(start, target)
        used = used_time / target
        breached = used_time > target
        if met_at is not None:
            return SlaTarget(due=due, met_at=met_at, used=used, breached=breached), None
        at_risk = not breached and used >= self.at_risk
        next_change = None
        if not breached and due is not None:
            # Just past the threshold: at-risk first (if not yet), then the due time.
            if at_risk:
                next_change = due + timedelta(seconds=1)
            elif not pauses or ticket_clock_runs(pauses):
                risk = (
                    calendar.add_with_pauses(start, target * self.at_risk, pauses)
                    if pauses
                    else calendar.add(start, target * self.at_risk)
                )
                next_change = risk + timedelta(seconds=1) if risk else None
        status = SlaTarget(
            due=due, left=target - used_time, used=used, breached=breached, at_risk=at_risk
        )
        return status, next_change


def ticket_clock_runs(pauses: Sequence[Pause]) -> bool:
    """False while the ticket sits in a paused status (an open-ended pause)."""
    return all(end is not None for _start, end in pauses)


NO_TARGETS = Targets(None, None)


def compile_calendars(
    path: Path, data: dict[str, Any], problems: Problems, into: dict[str, BusinessCalendar]
) -> None:
    """The `calendars:` section of one file, added to `into`."""
    section = data.get("calendars")
    if section is None:
        return
    if not isinstance(section, dict):
        problems.add(where(path, data, "calendars"), "calendars must be a mapping of names")
        return
    for name, spec in section.items():
        loc = where(path, section, name)
        if name in into:
            problems.add(loc, f"calendar {name!r} is defined twice")
            continue
        if not isinstance(spec, dict):
            problems.add(
                loc,
                "a calendar needs timezone and hours",
                "e.g. {timezone: UTC, hours: {mon-fri: '09:00-17:00'}}",
            )
            continue
        if not problems.only_keys(path, spec, {"timezone", "hours", "holidays"}, "a calendar"):
            continue
        holidays = spec.get("holidays") or {}
        if not isinstance(holidays, dict) or set(holidays) - {"country", "subdivision", "dates"}:
            problems.add(
                loc,
                f"calendar {name!r}: holidays take country, subdivision and dates",
                "e.g. holidays: {country: GB, subdivision: ENG, dates: [2026-12-24]}",
            )
            continue
        try:
            dates = [
                d if isinstance(d, date) else date.fromisoformat(str(d))
                for d in holidays.get("dates", [])
            ]
            into[str(name)] = BusinessCalendar.build(
                str(name),
                str(spec.get("timezone", "UTC")),
                {str(k): str(v) for k, v in (spec.get("hours") or {}).items()},
                holiday_country=holidays.get("country"),
                holiday_subdivision=holidays.get("subdivision"),
                holiday_dates=dates,
            )
        except (ValueError, TypeError, AttributeError) as exc:
            problems.add(loc, f"calendar {name!r}: {exc}")


def compile_sla(
    path: Path,
    data: dict[str, Any],
    problems: Problems,
    calendars: dict[str, BusinessCalendar],
    levels: Sequence[str],
    into: SlaRules,
    aliases: dict[str, str] | None = None,
) -> None:
    """The `sla:` section of one file, added to `into`; thresholds go to the compiler."""
    section = data["sla"]
    loc = where(path, data, "sla")
    if not isinstance(section, dict):
        problems.add(loc, "sla must be a mapping with policies", "See the README's rule guide")
        return
    for key in section:
        if key not in ("at_risk", "pause_on", "policies"):
            problems.add(
                where(path, section, key),
                f"unknown sla key {key!r}",
                "sla has at_risk, pause_on and policies",
            )
    if "at_risk" in section:
        share = _share(section["at_risk"])
        if share is None:
            problems.add(where(path, section, "at_risk"), "at_risk must be a share like 75%")
        else:
            into.at_risk = share
    if "pause_on" in section:
        statuses = {s.value: s for s in Status}
        names = section["pause_on"] if isinstance(section["pause_on"], list) else []
        bad = [n for n in names if n not in statuses]
        if bad or not names:
            problems.add(
                where(path, section, "pause_on"),
                f"pause_on has {bad or names!r}",
                f"Use statuses among {', '.join(statuses)}",
            )
        else:
            into.pause_on = frozenset(statuses[n] for n in names)
    policies = section.get("policies", [])
    if not isinstance(policies, list):
        problems.add(where(path, section, "policies"), "policies must be a list")
        return
    compiler = Compiler(path, problems, phase=3)
    for index, item in enumerate(policies):
        policy = _policy(
            path, policies, index, item, problems, calendars, levels, compiler, aliases or {}
        )
        if policy is not None:
            into.policies.append(policy)


def _policy(
    path: Path,
    parent: list[Any],
    index: int,
    item: Any,
    problems: Problems,
    calendars: dict[str, BusinessCalendar],
    levels: Sequence[str],
    compiler: Compiler,
    aliases: dict[str, str],
) -> Policy | None:
    loc = where(path, parent, index)
    if not isinstance(item, dict) or not isinstance(item.get("policy"), str):
        problems.add(loc, "each SLA policy needs `policy:` with a name", "e.g. - policy: Standard")
        return None
    if not problems.only_keys(
        path, item, {"policy", "when", "calendar", "targets"}, "an SLA policy"
    ):
        return None
    calendar_name = str(item.get("calendar", ALWAYS))
    calendar = calendars.get(calendar_name)
    if calendar is None:
        problems.add(
            where(path, item, "calendar") if "calendar" in item else loc,
            f"unknown calendar {calendar_name!r}",
            f"Define it under calendars:, or use one of: {', '.join(calendars)}",
        )
        return None
    when = compiler.condition(item["when"], item, "when") if "when" in item else None
    if "when" in item and when is None:
        return None
    targets = _targets(path, item, problems, levels, aliases)
    if targets is None:
        return None
    return Policy(item["policy"], when, calendar, targets, loc)


def _targets(
    path: Path,
    item: dict[str, Any],
    problems: Problems,
    levels: Sequence[str],
    aliases: dict[str, str],
) -> dict[str, Targets] | None:
    section = item.get("targets")
    if not isinstance(section, dict) or not section:
        problems.add(
            where(path, item, "targets"),  # the item itself when the key is missing
            "a policy needs targets per priority",
            "e.g. targets: {High: {first_response: 2h, resolution: 24h}}",
        )
        return None
    out: dict[str, Targets] = {}
    for key, spec in section.items():
        loc = where(path, section, key)
        level = aliases.get(str(key), str(key))
        if level not in levels:
            problems.add(loc, f"unknown priority {key!r}", f"Use one of: {', '.join(levels)}")
            return None
        if not isinstance(spec, dict) or not set(spec) <= {"first_response", "resolution"}:
            problems.add(loc, "targets take first_response and resolution durations")
            return None
        try:
            out[str(level)] = Targets(
                *(
                    timedelta(seconds=parse_duration(spec[k])) if k in spec else None
                    for k in ("first_response", "resolution")
                )
            )
        except ValueError as exc:
            problems.add(loc, str(exc))
            return None
    return out


def _share(value: Any) -> float | None:
    text = str(value).strip()
    try:
        number = float(text.removesuffix("%"))
    except ValueError:
        return None
    share = number / 100 if text.endswith("%") or number > 1 else number
    return share if 0 < share <= 1 else None
