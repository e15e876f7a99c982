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
which of them the ticket holds; each `contains` is then a set lookup. `contains_word`,
`fuzzy` and `similar_to` (syncd.rules.wording) read how customers write: by word stems, with
typos, like example sentences. The stems of a field are computed once per ticket and language
and shared by its `contains_word` and `similar_to` conditions.

    text: {contains_word: ["billed twice", "duplicate charge"]}
    text: {fuzzy: {phrases: ["double charged"], threshold: 85}}
    text: {similar_to: {examples: ["I was billed twice"], threshold: 75, language: english}}
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from pathlib import Path
from typing import Any, TypeVar

import ahocorasick

from syncd.durations import parse_duration
from syncd.model import SlaStatus, Ticket
from syncd.rules.calendar import BusinessCalendar
from syncd.rules.loader import Problems, where
from syncd.rules.wording import (
    DEFAULT_FUZZY_THRESHOLD,
    DEFAULT_LANGUAGE,
    DEFAULT_SIMILARITY_THRESHOLD,
    LANGUAGES,
    MIN_FUZZY_LENGTH,
    Fuzzy,
    Similarity,
    SimilarityIndex,
    WordScanner,
)


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
T = TypeVar("T")
Chooser = Callable[[Facts], T | None]

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
    "status": (lambda f: f.ticket.status._value_, TICKET),  # as .value, without its property
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
# The same getters as Python expressions over the facts `f`, written into the compiled
# conditions instead of a call each (fields not named here, and custom fields, are called).
_INLINE: dict[str, str] = {
    **{
        name: f"f.ticket.{name}"
        for name in (
            "subject", "description", "channel", "tags", "created_at", "updated_at",
            "solved_at", "first_response_at", "csat", "csat_at", "reopens",
        )
    },
    "status": "f.ticket.status._value_",  # Enum's .value is a property: five times slower
    "unresolved": "f.ticket.status.is_open",
    "helpdesk_priority": "(f.ticket.helpdesk_priority or '')",
    **{
        name: f"(f.ticket.{who}.{attr} if f.ticket.{who} else '')"
        for name in FIELDS
        if name.startswith(("requester.", "organization."))
        for who, attr in (name.split("."),)
    },
    "category": "f.decided.get('category', '')",
    "priority": "f.decided.get('priority', '')",
}  # fmt: skip
_ATTRIBUTES = re.compile(r"[a-z_]+(?:\.[a-z_]+)*")


def _inline(name: str) -> str | None:
    """The field's getter as an expression over `f` (None: call the getter)."""
    if name in _INLINE:
        return _INLINE[name]
    if name.startswith("custom."):
        return f"f.ticket.custom_fields.get({name.removeprefix('custom.')!r})"
    path = name.removeprefix("sla.")
    if path != name and _ATTRIBUTES.fullmatch(path):  # sla.<measure>.<attr>, as _sla reads it
        return f"(None if f.sla is None else f.sla.{path})"
    return None


# The ticket's times: a datetime, or None.
_TIMES = {"created_at", "updated_at", "solved_at", "first_response_at", "csat_at"}
_NOT_TEXT = {
    "unresolved", "created_at", "updated_at", "solved_at", "first_response_at", "csat",
    "csat_at", "reopens",
    *(name for name in FIELDS if name.startswith("sla.") and name != "sla.policy"),
}  # fmt: skip
# Text fields the model keeps lower-case: compared as they are.
_LOWER_CASE = {"status", "tags", "helpdesk_priority"}
# Fields lower-cased once per evaluation and kept (`Facts.lowered`): texts that may be long,
# and the decisions (`RuleSet.evaluate` keeps them so). Others are lower-cased where read.
_KEPT_LOWERED = {"text", "subject", "description", "category", "priority"}
OPERATORS = (
    "equals, in, contains, contains_word, fuzzy, similar_to, matches, is_empty, gt, ge, lt, le, "
    "older_than, within"
)
# The wording operators: the key of their list, and whether they take a threshold.
_WORDING = {
    "contains_word": ("words", False),
    "fuzzy": ("phrases", True),
    "similar_to": ("examples", True),
}
_DEFAULT_THRESHOLD = {"fuzzy": DEFAULT_FUZZY_THRESHOLD, "similar_to": DEFAULT_SIMILARITY_THRESHOLD}


@dataclass(frozen=True, slots=True)
class Threshold:
    """A time condition's moment of change: `field` + `duration` (working time if business)."""

    get: Getter
    duration: timedelta
    business: bool
    # `get` as an expression over `f` naming nothing of a namespace ("": none), for the
    # function `RuleSet.compile` writes.
    expr: str = field(default="", compare=False)
    time: bool = field(default=False, compare=False)  # a ticket time: a datetime or None


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


class Code:
    """The namespace compiled conditions run in, and the Python expression of each: shared by
    the compilers of a rule set, so the conditions of a section can be written into one
    function (`first_of`) instead of one call per rule."""

    def __init__(self) -> None:
        self.env: dict[str, Any] = {}
        self.sources: dict[Callable[..., Any], str] = {}
        self._locals = 0

    def const(self, value: Any) -> str:
        """A name for `value` in the namespace."""
        name = f"_c{len(self.env)}"
        self.env[name] = value
        return name

    def local(self) -> str:
        """A fresh local name for an assignment expression."""
        self._locals += 1
        return f"_v{self._locals}"

    def function(
        self, name: str, lines: list[str], parameters: str = "f"
    ) -> Callable[..., Any] | None:
        """`def name(f):` with these lines as its body, in the namespace (None if Python
        cannot compile it: nested too deeply). The name is what profiles show."""
        source = f"def {name}({parameters}):\n" + "\n".join(f"    {line}" for line in lines)
        scope: dict[str, Any] = {}
        try:
            exec(source, self.env, scope)  # our own pieces only, as `Compiler.condition`
        except (SyntaxError, RecursionError, MemoryError):
            return None
        made: Callable[..., Any] = scope[name]
        return made

    def test(self, when: Predicate) -> str:
        """The condition as an expression over `f`."""
        return self.sources.get(when) or f"{self.const(when)}(f)"


def first_of(
    code: Code, name: str, items: Sequence[T], whens: Sequence[Predicate | None]
) -> Chooser[T]:
    """The first item whose condition holds (None: none does) as one function, the
    conditions written into it in order; a condition of None always holds."""
    lines = []
    for item, when in zip(items, whens, strict=True):
        if when is None:
            lines.append(f"return {code.const(item)}")
            break
        lines.append(f"if {code.test(when)}: return {code.const(item)}")
    else:
        lines.append("return None")
    chooser = code.function(name, lines)
    if chooser is not None:
        return chooser
    pairs = list(zip(items, whens, strict=True))
    return lambda f: next((i for i, w in pairs if w is None or w(f)), None)


@dataclass
class Compiler:
    """Compiles the conditions of one rule file section, collecting problems and thresholds.

    Compilers of one rule set share `scanners` (field -> PhraseScanner; "field words
    language" -> WordScanner; "field similar language" -> SimilarityIndex), so a ticket's text
    is scanned once for all sections, and `code` (the namespace the compiled conditions run
    in, and each condition's expression), so `first_of` can write the conditions
    of a whole section into one function. `languages` are the stemming languages of the
    file's wording operators where a condition names none.
    """

    path: Path
    problems: Problems
    phase: int  # fields of this phase or later are not decided yet
    thresholds: list[Threshold] = field(default_factory=list)
    scanners: dict[str, Any] = field(default_factory=dict)
    languages: tuple[str, ...] = (DEFAULT_LANGUAGE,)
    code: Code = field(default_factory=lambda: Code(), repr=False)
    _get_expr: str = field(default="", repr=False)  # the field being compiled, inline

    def condition(self, node: Any, parent: Any, key: Any) -> Predicate | None:
        """Compile `parent[key]`; records problems and returns None when it is wrong."""
        expr = self._expr(node, parent, key)
        if expr is None:
            return None
        # One Python function per condition: `all`/`any`/`not` and the common operators run
        # inline, instead of as a tree of closures calling each other (twice as fast).
        try:
            # `bool`: some parts are ints (a mask found: truthy); a predicate says True or False.
            predicate: Predicate = eval(f"lambda f: bool({expr})", self.code.env)  # our own
        except (SyntaxError, RecursionError, MemoryError):
            self.problems.add(
                where(self.path, parent, key),
                "this condition is nested too deeply",
                "Split it into simpler rules",
            )
            return None
        self.code.sources[predicate] = expr
        return predicate

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
        get_expr = _inline(name) or f"{self._const(get)}(f)"
        if name in _NOT_TEXT or name in _LOWER_CASE:
            low, low_expr = get, get_expr
        elif name not in _KEPT_LOWERED and (name in _INLINE or name.startswith("custom.")):
            # A short value: lower-cased where it is read, cheaper than keeping it.
            low, n = _lowered(name, get), self._name()
            low_expr = (
                f"({n}.lower() if ({n} := {get_expr}).__class__ is str "
                f"else {self._const(_lower_value)}({n}))"
            )
        else:
            low = _lowered(name, get)
            cached, keep = repr(name), self._const(_keep_lowered)
            low_expr = (
                f"(f.lowered[{cached}] if {cached} in f.lowered "
                f"else {keep}(f.lowered, {cached}, {get_expr}))"
            )
        self._get_expr = get_expr
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
            # A list field (its items) or a single value equals `want`.
            n = self._name()
            return f"({want} in {n} if ({n} := {low_expr}).__class__ is tuple else {n} == {want})"
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
        if op in _WORDING:
            return self._wording(op, arg, name, get, low_expr, loc)
        if op == "matches":
            try:
                regex = re.compile(str(arg), re.IGNORECASE)
            except re.error as exc:
                self.problems.add(loc, f"bad regular expression {arg!r}: {exc}", "Fix the pattern")
                return None
            search = regex.search
            if not _is_list_field(name):  # inline: the value read once, searched as text
                n, find = self._name(), self._const(search)
                return f"(({n} := {self._get_expr}) is not None and {find}(str({n})) is not None)"
            return self._call(_each(get, lambda v: v is not None and search(str(v)) is not None))
        value = self._get_expr  # the field's value, inline
        if op == "is_empty":
            if name in _TIMES:  # a datetime or None: no comparing a time with "", () and []
                return f"(({value}) {'is' if arg else 'is not'} None)"
            empty = self._const((None, "", (), []))
            return f"(({value}) {'in' if arg else 'not in'} {empty})"
        if op in _COMPARE:
            if not isinstance(arg, int | float) or isinstance(arg, bool):
                self.problems.add(loc, f"{op} needs a number, got {arg!r}")
                return None
            n = self._name()
            number, bound = self._const(_number), self._const(arg)
            return f"(({n} := {number}({value})) is not None and {n} {_COMPARE_OP[op]} {bound})"
        if op in ("older_than", "within"):
            return self._age(op, arg, get, value, loc, name in _TIMES)
        self.problems.add(loc, f"unknown operator {op!r}", f"Use one of: {OPERATORS}")
        return None

    def _wording(
        self, op: str, arg: Any, name: str, get: Getter, low_expr: str, loc: str
    ) -> str | None:
        """`contains_word`, `fuzzy` or `similar_to`: a list, or a mapping with the list under
        `words`/`phrases`/`examples`, a `threshold` (fuzzy, similar_to) and a `language`."""
        if name in _NOT_TEXT:
            self.problems.add(
                loc, f"{op} reads text: {name!r} is not", "Use it on text, subject, description..."
            )
            return None
        key, with_threshold = _WORDING[op]
        threshold = _DEFAULT_THRESHOLD.get(op, 0.0)
        languages = self.languages
        values: Any = arg
        if isinstance(arg, dict):
            allowed = {key} | ({"threshold"} if with_threshold else set())
            allowed |= {"language"} if op != "fuzzy" else set()  # fuzzy compares letters
            if not self.problems.only_keys(self.path, arg, allowed, op):
                return None
            if key not in arg:
                self.problems.add(loc, f"{op} needs `{key}:`", f"e.g. {{{key}: [...]}}")
                return None
            values = arg[key]
            loc = where(self.path, arg, key)
            if "threshold" in arg:
                number = self._threshold(arg, op)
                if number is None:
                    return None
                threshold = number
            if "language" in arg:
                named = check_languages(self.path, arg, "language", self.problems)
                if named is None:
                    return None
                languages = named
        items = values if isinstance(values, list) else [values]
        texts = [str(v) for v in items if isinstance(v, str | int | float) and str(v).strip()]
        if not texts or len(texts) != len(items):
            self.problems.add(loc, f"{op} needs a list of texts", f"e.g. {_WORDING_EXAMPLE[op]}")
            return None
        if op == "fuzzy":
            return self._fuzzy(texts, items, threshold, low_expr)
        parts = []
        for language in languages:
            scanner = self.scanners.setdefault(f"{name} words {language}", WordScanner(language))
            # The field's mask of phrases and stems (WordScanner.read), read once per ticket.
            cached, read = self._const(scanner), self._const(_read_words(scanner, get))
            found = f"(f.lowered[{cached}] if {cached} in f.lowered else {read}(f))"
            if op == "contains_word":
                keys = self._words(scanner, texts, items)
                if keys is None:
                    return None
                parts.append(f"({found} & {self._const(scanner.mask(keys))})")  # an int: truthy
                continue
            index = self.scanners.setdefault(f"{name} similar {language}", SimilarityIndex(scanner))
            try:
                similar = Similarity(index, texts, threshold)
            except ValueError as exc:
                bad = next(i for i, t in enumerate(texts) if not _counts(index, t))
                self.problems.add(where(self.path, items, bad), str(exc), "Write a sentence")
                return None
            # Most texts hold too few of the examples' stems: one `&` and a count say so.
            n, call = self._name(), self._const(similar)
            parts.append(
                f"((({n} := {found}) & {self._const(similar.vocabulary_mask)}).bit_count()"
                f" >= {call}.fewest and {call}({n}))"
            )
        return _join(parts, "or")

    def _words(
        self, scanner: WordScanner, texts: list[str], items: list[Any]
    ) -> frozenset[str] | None:
        keys: set[str] = set()
        for index, text in enumerate(texts):
            try:
                keys |= scanner.add([text])
            except ValueError as exc:
                self.problems.add(where(self.path, items, index), str(exc), "Write a word")
                return None
        return frozenset(keys)

    def _fuzzy(
        self, texts: list[str], items: list[Any], threshold: float, low_expr: str
    ) -> str | None:
        for index, text in enumerate(texts):
            if len(text.strip()) < MIN_FUZZY_LENGTH:
                self.problems.add(
                    where(self.path, items, index),
                    f"fuzzy phrase {text!r} is too short: it would match by accident",
                    f"Use phrases of {MIN_FUZZY_LENGTH} characters or more; contains_word "
                    "for short words",
                )
                return None
        return f"{self._const(Fuzzy(texts, threshold))}({low_expr})"

    def _threshold(self, arg: dict[str, Any], op: str) -> float | None:
        value = arg["threshold"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 100:
            self.problems.add(
                where(self.path, arg, "threshold"),
                f"{op} threshold must be a number from 1 to 100 (percent), got {value!r}",
                f"e.g. threshold: {_DEFAULT_THRESHOLD[op]:g}",
            )
            return None
        return float(value)

    def _const(self, value: Any) -> str:
        """A name for `value` in the namespace the compiled conditions run in."""
        return self.code.const(value)

    def _call(self, predicate: Predicate) -> str:
        return f"{self._const(predicate)}(f)"

    def _name(self) -> str:
        """A fresh local name for an assignment expression in a compiled condition."""
        return self.code.local()

    def _age(self, op: str, arg: Any, get: Getter, value: str, loc: str, time: bool) -> str | None:
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
        inline = "" if "_c" in value else value  # a getter's call names a constant: not kept
        self.thresholds.append(Threshold(get, duration, business, inline, time))
        # Inline: `value` is read once; a business duration counts the working time of the
        # facts' calendar when there is one (the SLA policy's, or the default calendar).
        compare = ">" if op == "older_than" else "<="
        moment, limit, is_time = self._name(), self._const(duration), self._const(datetime)
        if business:
            age = (
                f"(f.calendar.elapsed({moment}, f.now) if f.calendar is not None "
                f"else f.now - {moment})"
            )
        else:
            age = f"(f.now - {moment})"
        # A ticket time is a datetime or None; anything else (a custom field) is checked.
        if time:
            test = f"({moment} := {value}) is not None"
        else:
            test = f"isinstance(({moment} := {value}), {is_time})"
        return f"(({test}) and {age} {compare} {limit})"


def check_languages(
    path: Path, parent: dict[str, Any], key: str, problems: Problems
) -> tuple[str, ...] | None:
    """The stemming languages `parent[key]` names (one, or a list): lower-cased, each once,
    every one a Snowball stemmer (`LANGUAGES`). None after recording a problem at the value's
    line, which names the supported languages."""
    value = parent[key]
    named = value if isinstance(value, list) else [value]
    for index, language in enumerate(named):
        if isinstance(language, str) and language.strip().lower() in LANGUAGES:
            continue
        close = difflib.get_close_matches(str(language).lower(), LANGUAGES, n=1)
        problems.add(
            where(path, value, index) if isinstance(value, list) else where(path, parent, key),
            f"unknown language {language!r}",
            (f"Did you mean {close[0]}? " if close else "") + f"Supported: {', '.join(LANGUAGES)}",
        )
        return None
    if not named:
        problems.add(where(path, parent, key), f"{key} needs a name", "e.g. english")
        return None
    return tuple(dict.fromkeys(str(n).strip().lower() for n in named))


_COMPARE_OP = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_COMPARE = frozenset(_COMPARE_OP)


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
        return _keep_lowered(cache, name, get(f))

    return low


def _keep_lowered(cache: dict[Any, Any], name: str, value: Any) -> Any:
    """A field's value lower-cased (`_lower_value`), kept in the facts' cache
    (`Facts.lowered`) under the field's name."""
    found = cache[name] = _lower_value(value)
    return found


def _lower_value(value: Any) -> Any:
    """A text lower-cased, each text of a list lower-cased (as a tuple), anything else as
    it is."""
    if value.__class__ is str:
        return value.lower()
    if isinstance(value, list | tuple):
        return tuple([_lower(v) for v in value])
    return value


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


def _scan(scanner: PhraseScanner, low: Getter) -> Callable[[Facts], set[str] | frozenset[str]]:
    """Finds the scanner's phrases in the field and keeps them on the facts."""

    def scan(f: Facts) -> set[str] | frozenset[str]:
        found = f.lowered[scanner] = scanner.find(low(f))
        return found

    return scan


_WORDING_EXAMPLE = {
    "contains_word": '["billed twice", "duplicate charge"]',
    "fuzzy": '{phrases: ["double charged"], threshold: 85}',
    "similar_to": '{examples: ["I was billed twice"], threshold: 75}',
}


def _read_words(scanner: WordScanner, get: Getter) -> Callable[[Facts], int]:
    """Reads the field's phrases and stems (a mask) and keeps them on the facts. The scanner
    lower-cases the field itself, line by line, only for lines it has not seen before."""

    def read(f: Facts) -> int:
        found = f.lowered[scanner] = scanner.read(get(f))
        return found

    return read


def _counts(index: SimilarityIndex, example: str) -> bool:
    try:
        index.stems(example)
    except ValueError:
        return False
    return True


def _join(parts: list[str], operator: str) -> str:
    return parts[0] if len(parts) == 1 else "(" + f" {operator} ".join(parts) + ")"
