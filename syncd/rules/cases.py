"""Rule test cases: admins check their SOP rules like code, without a helpdesk.

Each `rules/tests/*.yaml` holds a list of cases:

    - case: A double charge is a High billing ticket
      now: 2026-11-23T10:00:00Z
      ticket:
        subject: I was charged twice
        created_at: 2026-11-23T09:00:00Z
        requester: {name: Ann Lee, email: ann@example.com}
      expect:
        category: Billing
        priority: High
        sla: {policy: Standard, state: ok, first_response_due: 2026-11-23T11:00:00Z}
        escalation_level: 0
        actions: []                     # keys of the actions that fire, in order
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syncd.errors import RuleError
from syncd.model import Decision, Organization, Person, Status, StatusChange, Ticket
from syncd.rules.engine import RuleSet
from syncd.rules.loader import Problems, where
from syncd.yamlfile import load_yaml

TICKET_KEYS = {
    "id",
    "subject",
    "description",
    "status",
    "channel",
    "tags",
    "helpdesk_priority",
    "requester",
    "organization",
    "custom",
    "created_at",
    "updated_at",
    "first_response_at",
    "solved_at",
    "csat",
    "csat_at",
    "reopens",
    "status_history",
}


@dataclass(frozen=True)
class Case:
    """One test case, with where it stands."""

    name: str
    where: str
    ticket: Ticket
    now: datetime
    expect: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """The result of running a case: empty `failures` means it passed."""

    case: Case
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """No expectation was missed."""
        return not self.failures


def load_cases(directory: Path) -> list[Case]:
    """Every case of every *.yaml in `directory`; RuleError lists all problems."""
    problems = Problems()
    cases: list[Case] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = load_yaml(path, RuleError)
        except RuleError as exc:
            problems.errors.append(exc)
            continue
        if not isinstance(data, list):
            problems.add(f"{path}:1:1", "a test file is a list of cases (- case: ...)")
            continue
        for index, item in enumerate(data):
            case = _case(path, data, index, item, problems)
            if case is not None:
                cases.append(case)
    problems.raise_if_any()
    return cases


def run_cases(ruleset: RuleSet, cases: list[Case]) -> list[Outcome]:
    """Evaluate every case and compare with what it expects."""
    outcomes = []
    for case in cases:
        decision = ruleset.evaluate(case.ticket, case.now)
        failures = tuple(
            f"{key}: expected {expected!r}, got {actual!r}"
            for key, expected, actual in _compare(case.expect, decision)
            if expected != actual
        )
        outcomes.append(Outcome(case, failures))
    return outcomes


def _case(path: Path, parent: list[Any], index: int, item: Any, problems: Problems) -> Case | None:
    loc = where(path, parent, index)
    if not isinstance(item, dict) or not isinstance(item.get("case"), str):
        problems.add(loc, "each case needs `case:` with a name, `ticket:` and `expect:`")
        return None
    if not problems.only_keys(path, item, {"case", "now", "ticket", "expect"}, "a case"):
        return None
    ticket_data = item.get("ticket") or {}
    if not problems.only_keys(path, ticket_data, TICKET_KEYS, "a case's ticket"):
        return None
    expect = item.get("expect")
    if not isinstance(expect, dict) or not expect:
        problems.add(loc, "a case needs `expect:` with at least one expectation")
        return None
    if not problems.only_keys(path, expect, set(EXPECTATIONS), "a case's expectations"):
        return None
    try:
        now = parse_time(item.get("now", "2026-01-05T09:00:00Z"))
        ticket = ticket_from_data(ticket_data, now)
    except (ValueError, TypeError) as exc:
        problems.add(loc, f"case {item['case']!r}: {exc}")
        return None
    return Case(item["case"], loc, ticket, now, dict(expect))


def parse_time(value: Any) -> datetime:
    moment = (
        value
        if isinstance(value, datetime)
        else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def ticket_from_data(data: dict[str, Any], now: datetime) -> Ticket:
    requester = data.get("requester") or {}
    org = data.get("organization") or {}
    created = parse_time(data.get("created_at", now))
    return Ticket(
        id=str(data.get("id", "1")),
        source="test",
        subject=str(data.get("subject", "")),
        description=str(data.get("description", "")),
        status=Status(data.get("status", "open")),
        created_at=created,
        updated_at=parse_time(data.get("updated_at", created)),
        helpdesk_priority=str(data["helpdesk_priority"]).lower()
        if data.get("helpdesk_priority")
        else None,
        channel=str(data.get("channel", "email")),
        tags=tuple(str(t).lower() for t in data.get("tags", [])),
        requester=Person("1", str(requester.get("name", "")), str(requester.get("email", "")))
        if requester
        else None,
        organization=Organization("1", str(org.get("name", "")), str(org.get("domain", "")))
        if org
        else None,
        custom_fields=dict(data.get("custom") or {}),
        first_response_at=parse_time(data["first_response_at"])
        if data.get("first_response_at")
        else None,
        solved_at=parse_time(data["solved_at"]) if data.get("solved_at") else None,
        reopens=int(data.get("reopens", 0)),
        csat=float(data["csat"]) if data.get("csat") is not None else None,
        csat_at=parse_time(data["csat_at"]) if data.get("csat_at") else None,
        status_history=tuple(
            StatusChange(parse_time(at), Status(status))
            for at, status in data.get("status_history", [])
        ),
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


Getter = Callable[[Decision], Any]

SLA_EXPECTATIONS: dict[str, Getter] = {
    "policy": lambda d: d.sla.policy if d.sla else None,
    "state": lambda d: d.sla.state if d.sla else None,
    "breached": lambda d: d.sla.breached if d.sla else False,
    "at_risk": lambda d: d.sla.at_risk if d.sla else False,
    "first_response_due": lambda d: _iso(d.sla.first_response.due) if d.sla else None,
    "resolution_due": lambda d: _iso(d.sla.resolution.due) if d.sla else None,
    "first_response_breached": lambda d: d.sla.first_response.breached if d.sla else False,
    "resolution_breached": lambda d: d.sla.resolution.breached if d.sla else False,
}

EXPECTATIONS: dict[str, Getter] = {
    "category": lambda d: d.category,
    "priority": lambda d: d.priority,
    "tags": lambda d: list(d.tags),
    "sla": lambda d: d,  # compared key by key below
    "escalation_level": lambda d: d.escalation_level,
    "escalation": lambda d: d.escalation_name,
    "actions": lambda d: [a.key for a in d.actions],
    "notified": lambda d: [a.target for a in d.actions if a.kind == "notify"],
    "next_check": lambda d: _iso(d.next_check),
}


def _compare(expect: dict[str, Any], decision: Decision) -> list[tuple[str, Any, Any]]:
    rows = []
    for key, expected in expect.items():
        if key == "sla":
            if expected is None:
                rows.append(("sla", None, decision.sla.policy if decision.sla else None))
                continue
            for sub, want in expected.items():
                get = SLA_EXPECTATIONS.get(sub)
                actual = get(decision) if get else f"(unknown sla expectation {sub!r})"
                if isinstance(want, datetime):
                    want = _iso(want)
                rows.append((f"sla.{sub}", want, actual))
            continue
        if isinstance(expected, datetime):
            expected = _iso(expected)
        rows.append((key, expected, EXPECTATIONS[key](decision)))
    return rows
