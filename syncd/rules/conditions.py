"""Compile declarative conditions (`all`/`any`/`not`, field: {operator: value}) to callables.

A condition is compiled once, at load: field access is resolved to a getter and regexes are
precompiled, so evaluating a ticket does no parsing.

    when:
      any:
        - text: {contains: [invoice, refund]}
        - requester.domain: {in: [bigcorp.com]}
      not: {status: closed}                  # a bare value means `equals`
      created_at: {older_than: 24h}          # or {older_than: {business: 24h}}

Fields are decided in phases (ticket data, then category, then priority, then SLA); a
section may only use what is decided before it, which the compiler checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from syncd.durations import parse_duration
from syncd.model import SlaStatus, SlaTarget, Ticket
from syncd.rules.calendar import BusinessCalendar
from syncd.rules.loader import Problems, where


@dataclass(slots=True)
class Facts:
    """What conditions see: the ticket, the moment, and what was decided so far."""

    ticket: Ticket
    now: datetime
    decided: dict[str, str] = field(default_factory=dict)
    sla: SlaStatus | None = None
    calendar: BusinessCalendar | None = None  # for business-hour durations
    lowered: dict[str, Any] = field(default_factory=dict)  # field -> lower-cased value, once


Predicate = Callable[[Facts], bool]
Getter = Callable[[Facts], Any]

# Phases: a section may use fields of earlier phases only.
TICKET, CATEGORY, PRIORITY, SLA = 0, 1, 2, 3
PHASE_NAMES = {CATEGORY: "categories", PRIORITY: "priority", SLA: "sla", SLA + 1: "escalation"}


def _sla_target(name: str, attr: str) -> Getter:
    def get(f: Facts) -> Any:
        if f.sla is None:
            return None
        target: SlaTarget = getattr(f.sla, name)
        return getattr(target, attr)

    return get


def _sla(attr: str) -> Getter:
    return lambda f: getattr(f.sla, attr) if f.sla is not None else None


def _requester(attr: str) -> Getter:
    return lambda f: getattr(f.ticket.requester, attr) if f.ticket.requester else ""


def _organization(attr: str) -> Getter:
    return lambda f: getattr(f.ticket.organization, attr) if f.ticket.organization else ""


def _ticket(attr: str) -> Getter:
    return lambda f: getattr(f.ticket, attr)


# name -> (getter, phase)
FIELDS: dict[str, tuple[Getter, int]] = {
    "subject": (_ticket("subject"), TICKET),
    "description": (_ticket("description"), TICKET),
    "text": (lambda f: f"{f.ticket.subject}\n{f.ticket.description}", TICKET),
    "status": (lambda f: f.ticket.status.value, TICKET),
    "unresolved": (lambda f: f.ticket.status.is_open, TICKET),
    "channel": (_ticket("channel"), TICKET),
    "tags": (_ticket("tags"), TICKET),
    "helpdesk_priority": (lambda f: f.ticket.helpdesk_priority or "", TICKET),
    "requester.email": (_requester("email"), TICKET),
    "requester.name": (_requester("name"), TICKET),
    "requester.domain": (_requester("domain"), TICKET),
    "organization.name": (_organization("name"), TICKET),
    "organization.domain": (_organization("domain"), TICKET),
    "created_at": (_ticket("created_at"), TICKET),
    "updated_at": (_ticket("updated_at"), TICKET),
    "solved_at": (_ticket("solved_at"), TICKET),
    "first_response_at": (_ticket("first_response_at"), TICKET),
    "csat": (_ticket("csat"), TICKET),
    "csat_at": (_ticket("csat_at"), TICKET),
    "reopens": (_ticket("reopens"), TICKET),
    "category": (lambda f: f.decided.get("category", ""), CATEGORY),
    "priority": (lambda f: f.decided.get("priority", ""), PRIORITY),
    "sla.policy": (_sla("policy"), SLA),
    "sla.breached": (_sla("breached"), SLA),
    "sla.at_risk": (_sla("at_risk"), SLA),
    **{
        f"sla.{target}.{attr}": (_sla_target(target, attr), SLA)
        for target in ("first_response", "resolution")
        for attr in ("breached", "at_risk", "used")
    },
}
OPERATORS = "equals, in, contains, matches, is_empty, gt, ge, lt, le, older_than, within"


@dataclass(frozen=True, slots=True)
class Threshold:
    """A time condition's moment of change: `field` + `duration` (working time if business)."""

    get: Getter
    duration: timedelta
    business: bool


@dataclass
class Compiler:
    """Compiles the conditions of one rule file section, collecting problems and thresholds."""

    path: Path
    problems: Problems
    phase: int  # fields of this phase or later are not decided yet
    thresholds: list[Threshold] = field(default_factory=list)

    def condition(self, node: Any, parent: Any, key: Any) -> Predicate | None:
        """Compile `parent[key]`; records problems and returns None when it is wrong."""
        loc = where(self.path, parent, key)
        if not isinstance(node, dict) or not node:
            self.problems.add(loc, "a condition must be a mapping such as {subject: {contains: x}}")
            return None
        parts: list[Predicate] = []
        failed = False
        for name, value in node.items():
            here = where(self.path, node, name)
            if name in ("all", "any"):
                pred = self._group(str(name), value, node, here)
            elif name == "not":
                sub = self.condition(value, node, name)
                pred = None if sub is None else _negate(sub)
            else:
                pred = self._field(str(name), value, here)
            if pred is None:
                failed = True
            else:
                parts.append(pred)
        if failed:
            return None
        return parts[0] if len(parts) == 1 else _all(parts)

    def _group(self, name: str, value: Any, parent: Any, loc: str) -> Predicate | None:
        if not isinstance(value, list) or not value:
            self.problems.add(loc, f"{name} needs a list of conditions")
            return None
        subs = [self.condition(v, value, i) for i, v in enumerate(value)]
        if any(s is None for s in subs):
            return None
        compiled = [s for s in subs if s is not None]
        return _all(compiled) if name == "all" else _any(compiled)

    def _field(self, name: str, value: Any, loc: str) -> Predicate | None:
        if name.startswith("custom."):
            key = name.removeprefix("custom.")
            get: Getter = lambda f: f.ticket.custom_fields.get(key)  # noqa: E731
        elif name in FIELDS:
            get, phase = FIELDS[name]
            if phase >= self.phase:
                section = PHASE_NAMES.get(self.phase, "this section")
                self.problems.add(
                    loc,
                    f"{name!r} cannot be used in {section}: it is decided later",
                    "Categories may use ticket fields; priority also category; SLA also "
                    "priority; escalation and follow-ups everything",
                )
                return None
        else:
            self.problems.add(
                loc,
                f"unknown field {name!r}",
                f"Use one of: {', '.join(FIELDS)}, or custom.<field>",
            )
            return None
        low = _lowered(name, get)
        if not isinstance(value, dict):
            return self._operator("equals", value, get, low, loc, name)
        preds = []
        for op, arg in value.items():
            pred = self._operator(str(op), arg, get, low, where(self.path, value, op), name)
            if pred is None:
                return None
            preds.append(pred)
        if not preds:
            self.problems.add(loc, f"{name} needs an operator", "e.g. {contains: [word]}")
            return None
        return preds[0] if len(preds) == 1 else _all(preds)

    def _operator(
        self, op: str, arg: Any, get: Getter, low: Getter, loc: str, name: str
    ) -> Predicate | None:
        # `low` gives the field lower-cased (computed once per evaluation): text comparisons
        # use it with lower-cased patterns, much faster than case-insensitive regexes.
        if op in ("equals", "in") and (arg is None or arg == "" or arg == []):
            self.problems.add(loc, f"{op} needs a value", "An empty value never matches")
            return None
        if op == "equals":
            if isinstance(arg, list):
                self.problems.add(loc, "equals takes one value", f"For several, write in: {arg}")
                return None
            want = _lower(arg)
            return _each(low, lambda v: v == want)
        if op == "in":
            options = {_lower(v) for v in _as_list(arg)}
            return _each(low, lambda v: v in options)
        if op == "contains":
            values = [str(v) for v in _as_list(arg) if str(v).strip()]
            if not values:
                self.problems.add(loc, "contains needs at least one word", "e.g. [invoice]")
                return None
            search = _words(values).search
            words = _word_getter(name)
            firsts = _first_words(values)
            if firsts is None:  # a phrase starts with punctuation: no cheap pre-check
                return _each(low, lambda v: v is not None and search(str(v)) is not None)

            def contains(f: Facts) -> bool:
                # Most tickets hold none of a rule's words: a set lookup settles that before
                # any regex runs. When one is there, the regex decides (word boundaries).
                present = words(f, low)
                if present.isdisjoint(firsts):
                    return False
                return _each(low, lambda v: v is not None and search(str(v)) is not None)(f)

            return contains
        if op == "matches":
            try:
                regex = re.compile(str(arg), re.IGNORECASE)
            except re.error as exc:
                self.problems.add(loc, f"bad regular expression {arg!r}: {exc}", "Fix the pattern")
                return None
            return _each(get, lambda v: v is not None and regex.search(str(v)) is not None)
        if op == "is_empty":
            expected = bool(arg)
            return lambda f: (get(f) in (None, "", (), [])) == expected
        if op in _COMPARE:
            if not isinstance(arg, int | float) or isinstance(arg, bool):
                self.problems.add(loc, f"{op} needs a number, got {arg!r}")
                return None
            compare = _COMPARE[op]
            return lambda f: (n := _number(get(f))) is not None and compare(n, arg)
        if op in ("older_than", "within"):
            return self._age(op, arg, get, loc)
        self.problems.add(loc, f"unknown operator {op!r}", f"Use one of: {OPERATORS}")
        return None

    def _age(self, op: str, arg: Any, get: Getter, loc: str) -> Predicate | None:
        business = isinstance(arg, dict)
        raw = arg.get("business") if business else arg
        if business and set(arg) != {"business"}:
            self.problems.add(loc, f"{op} takes a duration or {{business: <duration>}}")
            return None
        try:
            duration = timedelta(seconds=parse_duration(raw))
        except ValueError as exc:
            self.problems.add(loc, str(exc))
            return None
        self.thresholds.append(Threshold(get, duration, business))
        older = op == "older_than"

        def age_check(f: Facts) -> bool:
            moment = get(f)
            if not isinstance(moment, datetime):
                return False
            if business and f.calendar is not None:
                age = f.calendar.elapsed(moment, f.now)
            else:
                age = f.now - moment
            return age > duration if older else age <= duration

        return age_check


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


def _words(values: list[str]) -> re.Pattern[str]:
    # Whole words or phrases, plural allowed: "receipt" matches "receipts", but "down" must
    # not match "download". Matched against lower-cased text, so any case matches.
    alternatives = "|".join(
        re.escape(v.strip().lower()) for v in sorted(values, key=len, reverse=True)
    )
    return re.compile(rf"(?<!\w)(?:{alternatives})(?:e?s)?(?!\w)")


_WORD = re.compile(r"\w+")


def _first_words(values: list[str]) -> frozenset[str] | None:
    """The words a text must hold for any phrase to match: each phrase's first word, and for
    one-word phrases their plural too. None when a phrase does not start with a word."""
    firsts: set[str] = set()
    for value in values:
        tokens = _WORD.findall(value.strip().lower())
        if not tokens or not value.strip()[0].isalnum():
            return None
        first = tokens[0]
        firsts.add(first)
        if len(tokens) == 1 and value.strip().lower() == first:
            firsts.update({first + "s", first + "es"})
    return frozenset(firsts)


def _word_getter(name: str) -> Callable[[Facts, Getter], frozenset[str]]:
    """The set of words of a lower-cased field, computed once per evaluation."""
    key = f"words:{name}"

    def words(f: Facts, low: Getter) -> frozenset[str]:
        cache = f.lowered
        if key not in cache:
            value = low(f)
            texts = value if isinstance(value, tuple) else (value,)
            cache[key] = frozenset(
                w for text in texts if text is not None for w in _WORD.findall(str(text))
            )
        return cache[key]

    return words


def _lowered(name: str, get: Getter) -> Getter:
    """`get`, lower-cased, computed once per evaluation and kept on the facts."""

    def low(f: Facts) -> Any:
        cache = f.lowered
        if name not in cache:
            value = get(f)
            if isinstance(value, list | tuple):
                value = tuple(_lower(v) for v in value)
            cache[name] = _lower(value)
        return cache[name]

    return low


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _each(get: Getter, test: Callable[[Any], bool]) -> Predicate:
    """`test` on the field's value; a list field (tags) matches when any item does."""

    def check(f: Facts) -> bool:
        value = get(f)
        if value.__class__ is tuple or value.__class__ is list:
            return any(test(v) for v in value)
        return test(value)

    return check


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _negate(pred: Predicate) -> Predicate:
    return lambda f: not pred(f)


def _all(preds: list[Predicate]) -> Predicate:
    return lambda f: all(p(f) for p in preds)


def _any(preds: list[Predicate]) -> Predicate:
    return lambda f: any(p(f) for p in preds)
