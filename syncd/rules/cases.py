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

from syncd.errors import RuleError, UserError
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
    "group",
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
        now = parse_time(item.get("now", "2026-01-05T09:00:00Z"), "now")
        ticket = ticket_from_data(ticket_data, now)
    except TicketDataError as exc:
        key = exc.key.split(".")[0]
        node, key = (ticket_data, key) if key in ticket_data else (item, "now")
        problems.add(where(path, node, key), f"case {item['case']!r}: {exc}", exc.hint)
        return None
    return Case(item["case"], loc, ticket, now, dict(expect))


class TicketDataError(ValueError):
    """A ticket field (or a case's `now`) that cannot be read; `key` names it."""

    def __init__(self, key: str, message: str, hint: str | None = None) -> None:
        self.key = key
        self.hint = hint
        super().__init__(f"{key}: {message}")


TIME_HINT = "Write an ISO 8601 time, e.g. 2026-01-31T10:00:00Z"


def parse_time(value: Any, key: str = "time") -> datetime:
    """An ISO 8601 time (UTC when it names no zone); TicketDataError naming `key` if not."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise TicketDataError(key, f"{value!r} is not a time", TIME_HINT) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def ticket_from_data(data: dict[str, Any], now: datetime) -> Ticket:
    """A Ticket from a rule test's `ticket:` mapping (or a ticket file); TicketDataError
    names the first key that is unknown or cannot be read."""
    _only_known(data, TICKET_KEYS, "")
    requester = _mapping(data, "requester", {"name", "email"})
    org = _mapping(data, "organization", {"name", "domain"})
    created = parse_time(data.get("created_at", now), "created_at")
    return Ticket(
        id=str(data.get("id", "1")),
        source="test",
        subject=str(data.get("subject", "")),
        description=str(data.get("description", "")),
        status=_status(data.get("status", "open"), "status"),
        created_at=created,
        updated_at=parse_time(data.get("updated_at", created), "updated_at"),
        helpdesk_priority=str(data["helpdesk_priority"]).lower()
        if data.get("helpdesk_priority")
        else None,
        channel=str(data.get("channel", "email")),
        tags=tuple(str(t).lower() for t in _list(data, "tags")),
        requester=Person("1", str(requester.get("name", "")), str(requester.get("email", "")))
        if requester
        else None,
        organization=Organization("1", str(org.get("name", "")), str(org.get("domain", "")))
        if org
        else None,
        custom_fields=dict(_mapping(data, "custom", None)),
        group_name=str(data.get("group") or ""),  # the helpdesk group's name
        first_response_at=_optional_time(data, "first_response_at"),
        solved_at=_optional_time(data, "solved_at"),
        reopens=_number(data, "reopens", int) or 0,
        csat=_number(data, "csat", float),
        csat_at=_optional_time(data, "csat_at"),
        status_history=_history(data),
    )


def _only_known(data: dict[str, Any], known: set[str], prefix: str) -> None:
    import difflib

    for key in data:
        if str(key) not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f"Did you mean {close[0]!r}?" if close else f"Known: {', '.join(sorted(known))}"
            raise TicketDataError(f"{prefix}{key}", "unknown ticket field", hint)


def _mapping(data: dict[str, Any], key: str, known: set[str] | None) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise TicketDataError(key, f"expected a mapping, got {value!r}")
    if known is not None:
        _only_known(value, known, f"{key}.")
    return value


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise TicketDataError(key, f"expected a list, got {value!r}", f"e.g. {key}: [a, b]")
    return value


def _status(value: Any, key: str) -> Status:
    try:
        return Status(str(value))
    except ValueError:
        known = ", ".join(s.value for s in Status)
        raise TicketDataError(key, f"unknown status {value!r}", f"Statuses: {known}") from None


def _optional_time(data: dict[str, Any], key: str) -> datetime | None:
    return parse_time(data[key], key) if data.get(key) else None


def _number(data: dict[str, Any], key: str, kind: type[int] | type[float]) -> Any:
    value = data.get(key)
    if value is None:
        return None
    try:
        number = kind(value)
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else "a number"
        raise TicketDataError(key, f"{value!r} is not {what}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise TicketDataError(key, f"{value!r} is not a number")
    return number


def _history(data: dict[str, Any]) -> tuple[StatusChange, ...]:
    changes = []
    for entry in _list(data, "status_history"):
        if not isinstance(entry, list | tuple) or len(entry) != 2:
            raise TicketDataError("status_history", f"expected [time, status] pairs, got {entry!r}")
        at, status = entry
        changes.append(
            StatusChange(parse_time(at, "status_history"), _status(status, "status_history"))
        )
    return tuple(changes)


def read_ticket_file(
    path: Path, at: datetime | None, now: datetime
) -> list[tuple[Ticket, datetime]]:
    """The tickets of a file for `rules explain`, each with the time to evaluate it at: one
    ticket, one rule-test case, or a list of cases (each at its own `now` unless `at` is
    given). Any mistake is a UserError naming file:line and the key."""
    data = load_yaml(path, UserError)
    subjects: list[tuple[Ticket, datetime]] = []
    for item in data if isinstance(data, list) else [data]:
        if not isinstance(item, dict):
            raise UserError(
                "expected a ticket or rule-test cases",
                where=str(path),
                hint="See rules/tests/*.yaml for the format",
            )
        # A case's ticket, or a bare ticket (whose `now` may sit beside its fields).
        node = item.get("ticket", item)
        if not isinstance(node, dict):
            raise UserError("`ticket:` must be a mapping of fields", where=where(path, item))
        fields = {k: v for k, v in node.items() if node is not item or k != "now"}
        try:
            when = at or (parse_time(item["now"], "now") if "now" in item else now)
            subjects.append((ticket_from_data(fields, when), when))
        except TicketDataError as exc:
            key = exc.key.split(".")[0]
            spot = where(path, node, key) if key in node else where(path, item, "now")
            raise UserError(str(exc), where=spot, hint=exc.hint) from None
    return subjects


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


Getter = Callable[[Decision], Any]

SLA_EXPECTATIONS: dict[str, Getter] = {
    "policy": lambda d: d.sla.policy if d.sla else None,
    "state": lambda d: d.sla.state if d.sla else None,
    "calendar": lambda d: d.sla.calendar if d.sla else None,
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
