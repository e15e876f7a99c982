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

Speed: text is read once per ticket and field, whatever the number of rules. Every phrase any
`contains` looks for in a field joins one `PhraseScanner`, which finds in a single regex pass
which of them the ticket holds; each `contains` is then a set lookup.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from pathlib import Path
from typing import Any

import ahocorasick

from syncd.durations import parse_duration
from syncd.model import SlaStatus, Ticket
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
    lowered: dict[Any, Any] = field(default_factory=dict)  # per-field work, done once

    def decide(self, name: str, value: str) -> None:
        """Record a decision (category, priority) for the conditions of later sections."""
        self.decided[name] = value
        self.lowered[name] = value.lower()


Predicate = Callable[[Facts], bool]
Getter = Callable[[Facts], Any]

# Phases: a section may use fields of earlier phases only.
TICKET, CATEGORY, PRIORITY, SLA = 0, 1, 2, 3
PHASE_NAMES = {CATEGORY: "categories", PRIORITY: "priority", SLA: "sla", SLA + 1: "escalation"}


def _sla(path: str) -> Getter:
    read = attrgetter(path)
    return lambda f: None if f.sla is None else read(f.sla)


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
        f"sla.{target}.{attr}": (_sla(f"{target}.{attr}"), SLA)
        for target in ("first_response", "resolution")
        for attr in ("breached", "at_risk", "used")
    },
}
_NOT_TEXT = {
    "unresolved", "created_at", "updated_at", "solved_at", "first_response_at", "csat",
    "csat_at", "reopens",
    *(name for name in FIELDS if name.startswith("sla.") and name != "sla.policy"),
}  # fmt: skip
# Text fields the model keeps lower-case: compared as they are.
_LOWER_CASE = {"status", "tags", "helpdesk_priority"}
OPERATORS = "equals, in, contains, matches, is_empty, gt, ge, lt, le, older_than, within"


@dataclass(frozen=True, slots=True)
class Threshold:
    """A time condition's moment of change: `field` + `duration` (working time if business)."""

    get: Getter
    duration: timedelta
    business: bool


class PhraseScanner:
    """Every phrase the rules look for in one field, found in one pass over its text.

    A phrase matches as whole words, plural allowed ("receipt" matches "receipts", "down"
    does not match "download"): exactly where its `_words` regex would match. The pass is an
    Aho-Corasick automaton (pyahocorasick, in C) over every phrase and its plurals; word
    boundaries are then checked at the few places something matched.
    """

    def __init__(self) -> None:
        self.phrases: set[str] = set()
        self._automaton: Any = None

    def add(self, phrases: list[str]) -> frozenset[str]:
        """Register phrases; returns them as `find` reports them (lower-cased, trimmed)."""
        keys = frozenset(_phrase_key(p) for p in phrases)
        if not keys <= self.phrases:
            self.phrases |= keys
            self._automaton = None
        return keys

    def find(self, value: Any) -> set[str] | frozenset[str]:
        """The registered phrases in a lower-cased value (a text, or a tuple of texts)."""
        if value is None:
            return frozenset()
        if value.__class__ is tuple:
            return frozenset().union(*(self.find(v) for v in value))
        text = str(value)
        automaton = self._automaton or self._build()
        found: set[str] = set()
        last = len(text) - 1
        for end, (length, phrases) in automaton.iter(text):
            # Whole words only: no word character (what `\w` matches) just before or after.
            start = end - length + 1
            if start > 0 and ((c := text[start - 1]).isalnum() or c == "_"):
                continue
            if end < last and ((c := text[end + 1]).isalnum() or c == "_"):
                continue
            found |= phrases
        return found

    def _build(self) -> Any:
        spellings: dict[str, set[str]] = {}
        for phrase in self.phrases:
            for spelling in (phrase, phrase + "s", phrase + "es"):  # as `(?:e?s)?` allows
                spellings.setdefault(spelling, set()).add(phrase)
        automaton = ahocorasick.Automaton()
        for spelling, phrases in spellings.items():
            automaton.add_word(spelling, (len(spelling), frozenset(phrases)))
        automaton.make_automaton()
        self._automaton = automaton
        return automaton


@dataclass
class Compiler:
    """Compiles the conditions of one rule file section, collecting problems and thresholds.

    Compilers of one rule set share `scanners` (field -> PhraseScanner), so a ticket's text
    is scanned once for all sections.
    """

    path: Path
    problems: Problems
    phase: int  # fields of this phase or later are not decided yet
    thresholds: list[Threshold] = field(default_factory=list)
    scanners: dict[str, PhraseScanner] = field(default_factory=dict)
    _env: dict[str, Any] = field(default_factory=dict, repr=False)

    def condition(self, node: Any, parent: Any, key: Any) -> Predicate | None:
        """Compile `parent[key]`; records problems and returns None when it is wrong."""
        expr = self._expr(node, parent, key)
        if expr is None:
            return None
        # One Python function per condition: `all`/`any`/`not` and the common operators run
        # inline, instead of as a tree of closures calling each other (twice as fast).
        try:
            return eval(f"lambda f: {expr}", self._env)  # built from our own pieces only
        except (SyntaxError, RecursionError, MemoryError):
            self.problems.add(
                where(self.path, parent, key),
                "this condition is nested too deeply",
                "Split it into simpler rules",
            )
            return None

    def _expr(self, node: Any, parent: Any, key: Any) -> str | None:
        """`parent[key]` as a Python expression over the facts `f`."""
        loc = where(self.path, parent, key)
        if not isinstance(node, dict) or not node:
            self.problems.add(loc, "a condition must be a mapping such as {subject: {contains: x}}")
            return None
        parts: list[str] = []
        failed = False
        for name, value in node.items():
            here = where(self.path, node, name)
            if name in ("all", "any"):
                part = self._group(str(name), value, here)
            elif name == "not":
                sub = self._expr(value, node, name)
                part = None if sub is None else f"(not {sub})"
            else:
                part = self._field(str(name), value, here)
            if part is None:
                failed = True
            else:
                parts.append(part)
        return None if failed else _join(parts, "and")

    def _group(self, name: str, value: Any, loc: str) -> str | None:
        if not isinstance(value, list) or not value:
            self.problems.add(loc, f"{name} needs a list of conditions")
            return None
        subs = [self._expr(v, value, i) for i, v in enumerate(value)]
        if any(s is None for s in subs):
            return None
        return _join([s for s in subs if s is not None], "and" if name == "all" else "or")

    def _field(self, name: str, value: Any, loc: str) -> str | None:
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
        # Text fields are compared lower-cased; the lowering is done once per evaluation and
        # kept in `f.lowered`, read inline.
        if name in _NOT_TEXT or name in _LOWER_CASE:
            low, low_expr = get, f"{self._const(get)}(f)"
        else:
            low = _lowered(name, get)
            cached = repr(name)
            low_expr = f"(f.lowered[{cached}] if {cached} in f.lowered else {self._const(low)}(f))"
        if not isinstance(value, dict):
            return self._operator("equals", value, get, low, low_expr, loc, name)
        parts = []
        for op, arg in value.items():
            here = where(self.path, value, op)
            part = self._operator(str(op), arg, get, low, low_expr, here, name)
            if part is None:
                return None
            parts.append(part)
        if not parts:
            self.problems.add(loc, f"{name} needs an operator", "e.g. {contains: [word]}")
            return None
        return _join(parts, "and")

    def _operator(
        self, op: str, arg: Any, get: Getter, low: Getter, low_expr: str, loc: str, name: str
    ) -> str | None:
        # `low` gives the field lower-cased (`low_expr` inline): text comparisons use it with
        # lower-cased patterns, much faster than case-insensitive regexes.
        if op in ("equals", "in") and (arg is None or arg == "" or arg == []):
            self.problems.add(loc, f"{op} needs a value", "An empty value never matches")
            return None
        many = _is_list_field(name)
        if op == "equals":
            if isinstance(arg, list):
                self.problems.add(loc, "equals takes one value", f"For several, write in: {arg}")
                return None
            want = self._const(_lower(arg))
            if not many:
                return f"({low_expr} == {want})"
            return f"{self._const(_equals_any)}({low_expr}, {want})"
        if op == "in":
            options = frozenset(_lower(v) for v in _as_list(arg))
            if name == "tags":  # tags are strings: any of them among the options
                return f"(not {self._const(options)}.isdisjoint({low_expr}))"
            if not many:  # the other fields hold strings, numbers, booleans or times
                return f"({low_expr} in {self._const(options)})"
            return f"{self._const(_in_any)}({low_expr}, {self._const(options)})"
        if op == "contains":
            values = [str(v) for v in _as_list(arg) if str(v).strip()]
            if not values:
                self.problems.add(loc, "contains needs at least one word", "e.g. [invoice]")
                return None
            scanner = self.scanners.setdefault(name, PhraseScanner())
            wanted = self._const(scanner.add(values))
            key, scan = self._const(scanner), self._const(_scan(scanner, low))
            found = f"(f.lowered[{key}] if {key} in f.lowered else {scan}(f))"
            return f"(not {found}.isdisjoint({wanted}))"
        if op == "matches":
            try:
                regex = re.compile(str(arg), re.IGNORECASE)
            except re.error as exc:
                self.problems.add(loc, f"bad regular expression {arg!r}: {exc}", "Fix the pattern")
                return None
            search = regex.search
            return self._call(_each(get, lambda v: v is not None and search(str(v)) is not None))
        if op == "is_empty":
            expected = bool(arg)
            return self._call(lambda f: (get(f) in (None, "", (), [])) == expected)
        if op in _COMPARE:
            if not isinstance(arg, int | float) or isinstance(arg, bool):
                self.problems.add(loc, f"{op} needs a number, got {arg!r}")
                return None
            compare = _COMPARE[op]
            return self._call(lambda f: (n := _number(get(f))) is not None and compare(n, arg))
        if op in ("older_than", "within"):
            pred = self._age(op, arg, get, loc)
            return None if pred is None else self._call(pred)
        self.problems.add(loc, f"unknown operator {op!r}", f"Use one of: {OPERATORS}")
        return None

    def _const(self, value: Any) -> str:
        """A name for `value` in the namespace the compiled conditions run in."""
        name = f"_c{len(self._env)}"
        self._env[name] = value
        return name

    def _call(self, predicate: Predicate) -> str:
        return f"{self._const(predicate)}(f)"

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


def _phrase_key(phrase: str) -> str:
    return phrase.strip().lower()


def _is_list_field(name: str) -> bool:
    """Fields whose value may be a list (a condition holds when any item matches)."""
    return name == "tags" or name.startswith("custom.")


def _equals_any(value: Any, want: Any) -> bool:
    """A list field (its items) or a single value equals `want`."""
    if value.__class__ is tuple:
        return want in value
    return value == want


def _in_any(value: Any, options: frozenset[Any]) -> bool:
    """A list field has an item among the options, or a single value is one of them."""
    values = value if value.__class__ is tuple else (value,)
    for item in values:
        try:
            if item in options:
                return True
        except TypeError:  # a custom field may hold a mapping: it is no option
            continue
    return False


def _lowered(name: str, get: Getter) -> Getter:
    """`get`, lower-cased, computed once per evaluation and kept on the facts."""

    def low(f: Facts) -> Any:
        cache = f.lowered
        if name in cache:
            return cache[name]
        value = get(f)
        if value.__class__ is str:
            value = value.lower()
        elif isinstance(value, list | tuple):
            value = tuple([_lower(v) for v in value])
        cache[name] = value
        return value

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


def _scan(scanner: PhraseScanner, low: Getter) -> Predicate:
    """Finds the scanner's phrases in the field and keeps them on the facts."""

    def scan(f: Facts) -> frozenset[str]:
        found = f.lowered[scanner] = scanner.find(low(f))
        return found

    return scan


def _join(parts: list[str], operator: str) -> str:
    return parts[0] if len(parts) == 1 else "(" + f" {operator} ".join(parts) + ")"
