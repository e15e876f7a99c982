"""A compiled rule set and the pure `evaluate(ticket, now) -> Decision`.

Rule files are read and compiled once; evaluation walks precompiled callables, first match
wins in each ordered section. No I/O and no clock reads here: `now` is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from syncd.model import Decision, Reason, Ticket
from syncd.rules.conditions import Predicate, compile_condition
from syncd.rules.loader import Problems, read_rule_file, where

SECTIONS = ("name", "owner", "review_by", "description", "categories", "priority")
DEFAULT_CATEGORY = "General"


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule: a condition and the value it sets."""

    value: str
    when: Predicate | None  # None: always matches (a catch-all)
    name: str
    where: str


@dataclass(frozen=True, slots=True)
class RuleFile:
    """Metadata of one rule file: the SOPs want an owner and a review date."""

    path: Path
    name: str
    owner: str
    review_by: date | None


@dataclass
class RuleSet:
    """Every rule file of a directory, compiled."""

    files: list[RuleFile] = field(default_factory=list)
    categories: list[Rule] = field(default_factory=list)
    priorities: list[Rule] = field(default_factory=list)
    default_priority: Reason | None = None

    def evaluate(self, ticket: Ticket, now: datetime) -> Decision:
        """Apply the rules to a ticket as of `now` (pure)."""
        decided: dict[str, str] = {}
        facts = (ticket, decided)
        reasons = []
        category = _first(self.categories, facts)
        if category is None:
            decided["category"] = DEFAULT_CATEGORY
            reasons.append(Reason("category", DEFAULT_CATEGORY, "default", "built-in"))
        else:
            decided["category"] = category.value
            reasons.append(Reason("category", category.value, category.name, category.where))
        priority = _first(self.priorities, facts)
        if priority is not None:
            decided["priority"] = priority.value
            reasons.append(Reason("priority", priority.value, priority.name, priority.where))
        else:
            default = self.default_priority or Reason("priority", "Medium", "default", "built-in")
            decided["priority"] = default.value
            reasons.append(default)
        return Decision(
            category=decided["category"], priority=decided["priority"], reasons=tuple(reasons)
        )


def _first(rules: list[Rule], facts: Any) -> Rule | None:
    for rule in rules:
        if rule.when is None or rule.when(facts):
            return rule
    return None


def load_rules(directory: Path) -> RuleSet:
    """Load and compile every *.yaml in `directory`; raises RuleError listing every problem."""
    problems = Problems()
    ruleset = RuleSet()
    paths = sorted(directory.glob("*.yaml")) if directory.is_dir() else []
    if not paths:
        problems.add(
            str(directory),
            "no rule files (*.yaml) found",
            "Point rules.dir at the folder holding your rule files",
        )
    for path in paths:
        data = read_rule_file(path, problems)
        if data is not None:
            _compile_file(path, data, ruleset, problems)
    problems.raise_if_any()
    return ruleset


def _compile_file(path: Path, data: dict[str, Any], ruleset: RuleSet, problems: Problems) -> None:
    for key in data:
        if key not in SECTIONS:
            problems.add(
                where(path, data, key),
                f"unknown section {key!r}",
                f"Known sections: {', '.join(SECTIONS)}",
            )
    for key in ("name", "owner"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            problems.add(
                f"{path}:1:1", f"missing {key!r}", "Every rule file names its SOP and owner"
            )
    review_by = data.get("review_by")
    if review_by is not None and not isinstance(review_by, date):
        problems.add(where(path, data, "review_by"), "review_by must be a date like 2027-03-31")
        review_by = None
    ruleset.files.append(
        RuleFile(path, str(data.get("name", "")), str(data.get("owner", "")), review_by)
    )
    if "categories" in data:
        ruleset.categories += _compile_list(path, data, "categories", "category", problems)
    if "priority" in data:
        section = data["priority"]
        if not isinstance(section, dict):
            problems.add(
                where(path, data, "priority"),
                "priority must be a mapping",
                "It holds `default:` and `rules:`",
            )
            return
        if "default" in section:
            ruleset.default_priority = Reason(
                "priority", str(section["default"]), "default", where(path, section, "default")
            )
        if "rules" in section:
            ruleset.priorities += _compile_list(path, section, "rules", "priority", problems)


def _compile_list(path: Path, parent: Any, key: str, sets: str, problems: Problems) -> list[Rule]:
    items = parent[key]
    if not isinstance(items, list):
        problems.add(where(path, parent, key), f"{key} must be a list of rules")
        return []
    rules = []
    for index, item in enumerate(items):
        loc = where(path, items, index)
        if not isinstance(item, dict) or not isinstance(item.get(sets), str):
            problems.add(loc, f"each rule needs `{sets}:` with a value", f"e.g. - {sets}: Billing")
            continue
        unknown = set(item) - {sets, "when", "name"}
        if unknown:
            bad = sorted(map(str, unknown))[0]
            problems.add(
                where(path, item, bad),
                f"unknown key {bad!r} in a rule",
                f"A rule has {sets}, when and an optional name",
            )
            continue
        when = None
        if "when" in item:
            when = compile_condition(item["when"], path, problems, item, "when")
            if when is None:
                continue
        rules.append(Rule(item[sets], when, str(item.get("name", item[sets])), loc))
    return rules
