"""What a rule change would change (the same tickets through two rule sets, pure), and why a
rule matched a ticket (`why`, for `syncd rules explain`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from syncd.errors import RuleError
from syncd.model import Decision, Reason, Ticket
from syncd.rules import conditions
from syncd.rules.conditions import SLA, Compiler, Facts
from syncd.rules.engine import RuleFile, RuleSet
from syncd.rules.loader import Problems
from syncd.yamlfile import load_yaml

EVERYTHING = SLA + 1  # explaining a condition: every field is decided by then
TIME_FIELDS = ("created_at", "updated_at", "solved_at", "first_response_at", "csat_at")
WORDING_OPS = ("contains_word", "fuzzy", "similar_to")

# What an admin cares about in a decision, one name per column of the preview.
FIELDS: dict[str, Callable[[Decision], Any]] = {
    "category": lambda d: d.category,
    "priority": lambda d: d.priority,
    "tags": lambda d: ", ".join(d.tags),
    "sla policy": lambda d: d.sla.policy if d.sla else "",
    "sla state": lambda d: d.sla.state if d.sla else "",
    "first response due": lambda d: _time(d.sla.first_response.due if d.sla else None),
    "resolution due": lambda d: _time(d.sla.resolution.due if d.sla else None),
    "escalation": lambda d: d.escalation_name if d.escalation_level else "",
    "actions": lambda d: ", ".join(sorted({f"{a.kind} {a.target}".strip() for a in d.actions})),
}


@dataclass(frozen=True)
class Change:
    """One decision that differs between the running and the edited rules."""

    ticket: Ticket
    field: str
    before: str
    after: str


def compare(
    tickets: Iterable[Ticket], running: RuleSet, edited: RuleSet, now: datetime
) -> tuple[list[Change], Counter[str], int]:
    """Every change, the count per field, and how many tickets were compared."""
    changes: list[Change] = []
    seen = 0
    for ticket in tickets:
        seen += 1
        before, after = running.evaluate(ticket, now), edited.evaluate(ticket, now)
        for name, get in FIELDS.items():
            old, new = str(get(before)), str(get(after))
            if old != new:
                changes.append(Change(ticket, name, old, new))
    return changes, Counter(c.field for c in changes), seen


def _time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


# ------------------------------------------------------------------ rules explain: why


def why(
    ruleset: RuleSet, ticket: Ticket, now: datetime, decision: Decision, reason: Reason
) -> list[str]:
    """Why the rule behind `reason` matched `ticket`: its condition, part by part, each with
    what made it hold or not: the keyword or phrase found and in which field, the tag, the
    value compared, the SLA figure (due time and share used), the age of a time. [] for a
    decision no condition made (a default, a catch-all).

    For `syncd rules explain` only: it reads the rule file again and compiles each part of the
    condition on its own, so evaluation itself stays as fast as it is (and pure)."""
    if reason.rule == "default":
        return ["no rule matched: the default"]
    node = _rule_node(reason.where)
    if node is None or "when" not in node:
        return ["no condition: catches every ticket left"] if node is not None else []
    facts = _facts(ruleset, ticket, now, decision)
    path = Path(reason.where.rsplit(":", 2)[0])
    # The rule's own file: its conditions stem words in its languages.
    source = next((f for f in ruleset.files if f.path == path), RuleFile(path, "", "", None))
    return _explain(node["when"], facts, source, 0)


def _rule_node(location: str) -> dict[str, Any] | None:
    """The mapping of the rule at file:line:column, read again from its file."""
    parts = location.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    path, line, column = Path(parts[0]), int(parts[1]) - 1, int(parts[2]) - 1
    try:
        document = load_yaml(path, RuleError)
    except RuleError:
        return None
    return _find(document, line, column)


def _find(node: Any, line: int, column: int) -> dict[str, Any] | None:
    lc = getattr(node, "lc", None)
    if isinstance(node, dict):
        if lc is not None and (lc.line, lc.col) == (line, column):
            return node
        children: Iterable[Any] = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _find(child, line, column)
        if found is not None:
            return found
    return None


def _facts(ruleset: RuleSet, ticket: Ticket, now: datetime, decision: Decision) -> Facts:
    facts = Facts(ticket, now, {}, decision.sla, ruleset.default_calendar, {})
    facts.decide("category", decision.category)
    facts.decide("priority", decision.priority)
    if decision.sla is not None:
        policy = next((p for p in ruleset.sla.policies if p.name == decision.sla.policy), None)
        if policy is not None:
            facts.calendar = policy.calendar_for(ticket)
    return facts


def _holds(condition: Any, facts: Facts, source: RuleFile) -> bool | None:
    """Whether a condition holds for the facts (None: it cannot be compiled alone)."""
    problems = Problems()
    compiler = Compiler(source.path, problems, EVERYTHING, languages=source.languages)
    predicate = compiler.condition(condition, {"when": condition}, "when")
    if predicate is None or problems.errors:
        return None
    try:
        return bool(predicate(facts))
    except Exception:  # an explanation never fails the command
        return None


def _mark(held: bool | None) -> str:
    return {True: "yes", False: "no ", None: "?  "}[held]


def _explain(condition: Any, facts: Facts, source: RuleFile, depth: int) -> list[str]:
    lines: list[str] = []
    pad = "  " * depth
    if not isinstance(condition, dict):
        return lines
    for name, value in condition.items():
        if name in ("all", "any") and isinstance(value, list):
            held = _holds({name: value}, facts, source)
            lines.append(f"{pad}{_mark(held)} {name} of:")
            for sub in value:
                lines += _explain(sub, facts, source, depth + 1)
        elif name == "not":
            held = _holds({name: value}, facts, source)
            lines.append(f"{pad}{_mark(held)} not:")
            lines += _explain(value, facts, source, depth + 1)
        else:
            held = _holds({name: value}, facts, source)
            lines.append(f"{pad}{_mark(held)} {_leaf(str(name), value, facts, source, held)}")
    return lines


def _leaf(name: str, value: Any, facts: Facts, source: RuleFile, held: bool | None) -> str:
    """One field's test in words, with what the ticket holds."""
    ops = value if isinstance(value, dict) else {"equals": value}
    said = ", ".join(f"{op} {_short(arg)}" for op, arg in ops.items())
    detail = _detail(name, ops, facts, source)
    return f"{name} {said}: {detail}" if detail else f"{name} {said}"


def _detail(name: str, ops: dict[str, Any], facts: Facts, source: RuleFile) -> str:
    ticket = facts.ticket
    if name.startswith("sla."):
        return _sla_figure(name, facts)
    if "contains" in ops or "matches" in ops or any(op in ops for op in WORDING_OPS):
        return _found_text(name, ops, facts, source)
    if name == "tags":
        wanted = {str(v).lower() for op in ("in", "equals") for v in _as_list(ops.get(op))}
        found = [t for t in ticket.tags if t in wanted]
        if found:
            return "tagged " + ", ".join(found)
        return "tags are " + (", ".join(ticket.tags) or "none")
    if name in TIME_FIELDS:
        moment = getattr(ticket, name, None)
        if not isinstance(moment, datetime):
            return f"{name} not set"
        age = facts.now - moment
        return f"{name} {moment:%Y-%m-%d %H:%M} UTC, {_age(age)} ago"
    got = _value(name, facts)
    return f"the ticket has {_short(got)}"


def _found_text(name: str, ops: dict[str, Any], facts: Facts, source: RuleFile) -> str:
    """Which phrase matched, in which field ("text" is the subject and the description)."""
    fields = ("subject", "description") if name == "text" else (name,)
    found: list[str] = []
    for op, arg in ops.items():
        phrases = [str(v) for v in _as_list(arg.get("words") if isinstance(arg, dict) else arg)]
        if op not in ("contains", "matches") and op not in WORDING_OPS:
            continue
        for phrase in phrases or [str(arg)]:
            for field_name in fields:
                if _holds(
                    {field_name: {op: [phrase] if op != "matches" else phrase}}, facts, source
                ):
                    found.append(f"{phrase!r} in {field_name}")
                    break
    return ("found " + "; ".join(found)) if found else "none found"


def _sla_figure(name: str, facts: Facts) -> str:
    sla = facts.sla
    if sla is None:
        return "no SLA policy applies"
    parts = name.split(".")
    targets = [parts[1]] if len(parts) == 3 else ["first_response", "resolution"]
    figures = []
    for target_name in targets:
        target = getattr(sla, target_name, None)
        if target is None:
            continue
        due = f"{target.due:%Y-%m-%d %H:%M} UTC" if target.due else "no due time"
        state = "breached" if target.breached else "at risk" if target.at_risk else "ok"
        met = f", met {target.met_at:%Y-%m-%d %H:%M}" if target.met_at else ""
        label = target_name.replace("_", " ")
        figures.append(f"{label} due {due}, {target.used:.0%} used, {state}{met}")
    return f"policy {sla.policy}: " + "; ".join(figures)


def _value(name: str, facts: Facts) -> Any:
    if name.startswith("custom."):
        return facts.ticket.custom_fields.get(name.removeprefix("custom."))
    entry = conditions.FIELDS.get(name)
    return entry[0](facts) if entry else None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _short(value: Any) -> str:
    if isinstance(value, list | tuple):
        shown = [str(v) for v in value[:5]]
        more = f", ... {len(value)} in all" if len(value) > 5 else ""
        return "[" + ", ".join(shown) + more + "]"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return str(value)


def _age(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours:.1f}h" if hours < 48 else f"{hours / 24:.1f}d"
