"""Compile declarative conditions (`all`/`any`/`not`, field: {operator: value}) to callables.

A condition is compiled once, at load: field access is resolved to a getter and regexes are
precompiled, so evaluating a ticket does no parsing.

    when:
      any:
        - text: {contains: [invoice, refund]}
        - requester.domain: {in: [bigcorp.com]}
      not: {status: closed}           # a bare value means `equals`
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from syncd.model import Ticket
from syncd.rules.loader import Problems, where

# What conditions see: the ticket and the decisions made so far (e.g. category for priority).
Facts = tuple[Ticket, dict[str, str]]
Predicate = Callable[[Facts], bool]
Getter = Callable[[Facts], Any]


def _text(facts: Facts) -> str:
    ticket = facts[0]
    return f"{ticket.subject}\n{ticket.description}"


FIELDS: dict[str, Getter] = {
    "subject": lambda f: f[0].subject,
    "description": lambda f: f[0].description,
    "text": _text,
    "status": lambda f: f[0].status.value,
    "channel": lambda f: f[0].channel,
    "tags": lambda f: f[0].tags,
    "helpdesk_priority": lambda f: f[0].helpdesk_priority or "",
    "requester.email": lambda f: f[0].requester.email if f[0].requester else "",
    "requester.name": lambda f: f[0].requester.name if f[0].requester else "",
    "requester.domain": lambda f: f[0].requester.domain if f[0].requester else "",
    "organization.name": lambda f: f[0].organization.name if f[0].organization else "",
    "organization.domain": lambda f: f[0].organization.domain if f[0].organization else "",
    "category": lambda f: f[1].get("category", ""),
}


def _custom_field(name: str) -> Getter:
    return lambda f: f[0].custom_fields.get(name)


def _words(values: list[str]) -> re.Pattern[str]:
    # Whole words or phrases, any case, plural allowed: "receipt" matches "receipts", but
    # "down" must not match "download".
    alternatives = "|".join(re.escape(v.strip()) for v in sorted(values, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?:e?s)?(?!\w)", re.IGNORECASE)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _operator(op: str, arg: Any, get: Getter, loc: str, problems: Problems) -> Predicate | None:
    if op == "equals":
        want = _lower(arg)
        return lambda f: _matches_any(get(f), lambda v: _lower(v) == want)
    if op == "in":
        options = {_lower(v) for v in _as_list(arg)}
        return lambda f: _matches_any(get(f), lambda v: _lower(v) in options)
    if op == "contains":
        values = [str(v) for v in _as_list(arg) if str(v).strip()]
        if not values:
            problems.add(loc, "contains needs at least one word", "e.g. contains: [invoice]")
            return None
        pattern = _words(values)
        return lambda f: _matches_any(get(f), lambda v: bool(pattern.search(str(v))))
    if op == "matches":
        try:
            regex = re.compile(str(arg), re.IGNORECASE)
        except re.error as exc:
            problems.add(loc, f"bad regular expression {arg!r}: {exc}", "Fix the pattern")
            return None
        return lambda f: _matches_any(get(f), lambda v: bool(regex.search(str(v))))
    if op == "is_empty":
        expected = bool(arg)
        return lambda f: (get(f) in (None, "", (), [])) == expected
    if op in ("gt", "lt"):
        if not isinstance(arg, int | float) or isinstance(arg, bool):
            problems.add(loc, f"{op} needs a number, got {arg!r}")
            return None
        if op == "gt":
            return lambda f: _number(get(f)) is not None and _number(get(f)) > arg  # type: ignore[operator]
        return lambda f: _number(get(f)) is not None and _number(get(f)) < arg  # type: ignore[operator]
    problems.add(
        loc,
        f"unknown operator {op!r}",
        "Use one of: equals, in, contains, matches, is_empty, gt, lt",
    )
    return None


def _matches_any(value: Any, test: Callable[[Any], bool]) -> bool:
    # A list field (tags) matches when any of its items does.
    if isinstance(value, list | tuple):
        return any(test(v) for v in value)
    return value is not None and test(value)


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def compile_condition(
    node: Any, path: Path, problems: Problems, parent: Any = None, key: Any = None
) -> Predicate | None:
    """Compile one condition node; records problems and returns None when it is wrong."""
    loc = where(path, parent, key) if parent is not None else where(path, node)
    if not isinstance(node, dict) or not node:
        problems.add(loc, "a condition must be a mapping such as {subject: {contains: [x]}}")
        return None
    parts: list[Predicate] = []
    failed = False
    for name, value in node.items():
        here = where(path, node, name)
        if name in ("all", "any"):
            if not isinstance(value, list) or not value:
                problems.add(here, f"{name} needs a list of conditions")
                continue
            subs = [compile_condition(v, path, problems, value, i) for i, v in enumerate(value)]
            if any(s is None for s in subs):
                failed = True
                continue
            compiled = [s for s in subs if s is not None]
            parts.append(_all(compiled) if name == "all" else _any(compiled))
        elif name == "not":
            sub = compile_condition(value, path, problems, node, name)
            if sub is None:
                failed = True
            else:
                parts.append(lambda f, s=sub: not s(f))
        else:
            pred = _field_condition(str(name), value, here, path, problems)
            if pred is None:
                failed = True
            else:
                parts.append(pred)
    if failed:
        return None
    return parts[0] if len(parts) == 1 else _all(parts)


def _field_condition(
    name: str, value: Any, loc: str, path: Path, problems: Problems
) -> Predicate | None:
    if name.startswith("custom."):
        get = _custom_field(name.removeprefix("custom."))
    elif name in FIELDS:
        get = FIELDS[name]
    else:
        problems.add(
            loc,
            f"unknown field {name!r}",
            f"Use one of: {', '.join(FIELDS)}, or custom.<field>",
        )
        return None
    if not isinstance(value, dict):
        return _operator("equals", value, get, loc, problems)
    preds = []
    for op, arg in value.items():
        pred = _operator(str(op), arg, get, where(path, value, op), problems)
        if pred is None:
            return None
        preds.append(pred)
    if not preds:
        problems.add(loc, f"{name} needs an operator", "e.g. {contains: [word]}")
        return None
    return preds[0] if len(preds) == 1 else _all(preds)


def _all(preds: list[Predicate]) -> Predicate:
    return lambda f: all(p(f) for p in preds)


def _any(preds: list[Predicate]) -> Predicate:
    return lambda f: any(p(f) for p in preds)
