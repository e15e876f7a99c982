"""A compiled rule set and the pure `evaluate(ticket, now) -> Decision`.

Rule files are read and compiled once, in two passes: first what others refer to
(calendars, templates, priority levels), then the rules. Each section then becomes one
generated function with its rules' conditions written into it (`RuleSet.compile`), and
evaluation calls them in SOP order (category, priority, SLA, escalation, follow-ups): first
match wins in each ordered section. No I/O and no clock reads here: `now` is an argument.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from syncd.model import Action, Decision, Reason, Status, Ticket
from syncd.rules import templates
from syncd.rules.actions import (
    FollowUp,
    Ladder,
    Level,
    compile_escalation,
    compile_follow_ups,
)
from syncd.rules.calendar import BusinessCalendar
from syncd.rules.conditions import (
    CATEGORY,
    PRIORITY,
    SLA,
    Chooser,
    Code,
    Compiler,
    Facts,
    PhraseScanner,
    Predicate,
    Threshold,
    check_languages,
    first_of,
)
from syncd.rules.incidents import IncidentRule, compile_incidents
from syncd.rules.loader import Problems, read_rule_file, where
from syncd.rules.sla import ALWAYS, Policy, SlaRules, compile_calendars, compile_sla
from syncd.rules.templates import Template
from syncd.rules.wording import DEFAULT_LANGUAGE

SECTIONS = (
    "name",
    "owner",
    "review_by",
    "description",
    "language",
    "languages",
    "calendars",
    "templates",
    "categories",
    "priority",
    "sla",
    "escalation",
    "follow_ups",
    "incidents",
)
DEFAULT_CATEGORY = "General"
DEFAULT_CATEGORY_REASON = Reason("category", DEFAULT_CATEGORY, "default", "built-in")
_DEFAULT_CATEGORY_LOWERED = DEFAULT_CATEGORY.lower()
_JUST_PAST = timedelta(seconds=1)
DEFAULT_LEVELS = ("Critical", "High", "Medium", "Low")
DEFAULT_ALIASES = {"P1": "Critical", "P2": "High", "P3": "Medium", "P4": "Low"}


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule of an ordered section: a condition and what it sets."""

    value: str  # the category or priority ("" for a tag-only rule)
    when: Predicate | None  # None: always matches (a catch-all)
    name: str
    where: str
    tags: tuple[str, ...]
    reason: Reason  # what `rules explain` shows when it matches; built once, at load
    lowered: str = ""  # `value`, lower-cased once, for the conditions of later sections

    def __post_init__(self) -> None:
        object.__setattr__(self, "lowered", self.value.lower())


@dataclass(frozen=True, slots=True)
class RuleFile:
    """Metadata of one rule file: the SOPs want an owner and a quarterly review. `languages`:
    the stemmers of its contains_word and similar_to conditions (`language:` or `languages:`,
    english when it names none)."""

    path: Path
    name: str
    owner: str
    review_by: date | None
    languages: tuple[str, ...] = (DEFAULT_LANGUAGE,)


# The escalation levels that hold for a ticket: see RuleSet._escalation_function.
Climb = Callable[[Facts, list[Reason], list[Action]], "Level | None"]


def _nothing(facts: Facts) -> None:
    return None


def _no_timers(facts: Facts, actions: list[Action], checks: list[datetime]) -> None:
    return None


def _no_escalation(facts: Facts, reasons: list[Reason], actions: list[Action]) -> None:
    return None


@dataclass
class RuleSet:
    """Every rule file of a directory, compiled."""

    files: list[RuleFile] = field(default_factory=list)
    calendars: dict[str, BusinessCalendar] = field(
        default_factory=lambda: {ALWAYS: BusinessCalendar.always(ALWAYS)}
    )
    templates: dict[str, Template] = field(default_factory=dict)
    levels: tuple[str, ...] = DEFAULT_LEVELS
    aliases: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ALIASES))
    categories: list[Rule] = field(default_factory=list)
    tag_rules: list[Rule] = field(default_factory=list)
    priorities: list[Rule] = field(default_factory=list)
    default_priority: Reason = field(
        default_factory=lambda: Reason("priority", "Medium", "default", "built-in")
    )
    sla: SlaRules = field(default_factory=lambda: SlaRules([]))
    ladders: list[Ladder] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)
    incidents: list[IncidentRule] = field(default_factory=list)  # surges (syncd.incidents)
    thresholds: list[Threshold] = field(default_factory=list)
    scanners: dict[str, PhraseScanner] = field(default_factory=dict)  # shared by all sections

    default_calendar: BusinessCalendar = field(default_factory=BusinessCalendar.always)
    code: Code = field(default_factory=Code, repr=False)  # of every compiled condition
    # Each ordered section as one function (`compile`): the first rule that matches.
    _first_category: Chooser[Rule] = field(default=_nothing, init=False, repr=False)
    _first_priority: Chooser[Rule] = field(default=_nothing, init=False, repr=False)
    _first_policy: Chooser[Policy] = field(default=_nothing, init=False, repr=False)
    _escalate: Climb = field(default=_no_escalation, init=False, repr=False)
    _timers: Callable[[Facts, list[Action], list[datetime]], None] = field(
        default=_no_timers, init=False, repr=False
    )

    def _escalation_function(self) -> Climb:
        """A function giving the levels that hold on the first ladder that applies: their
        reasons and actions into the lists it is given, and the highest of them (None: none
        holds, or no ladder applies)."""
        code = self.code
        lines = ["top = None"]
        for ladder in self.ladders:
            lines.append(f"if {'True' if ladder.when is None else code.test(ladder.when)}:")
            for level in ladder.levels:  # lowest first
                lines += [
                    f"    if {code.test(level.when)}:",
                    f"        reasons.append({code.const(level.reason)})",
                    f"        actions.extend({code.const(level.actions)})",
                    f"        top = {code.const(level)}",
                ]
            lines.append("    return top")
        lines.append("return top")
        made: Climb | None = code.function("escalate", lines, "f, reasons, actions")
        return self._escalate_each if made is None else made

    def _escalate_each(
        self, f: Facts, reasons: list[Reason], actions: list[Action]
    ) -> Level | None:
        """`_escalation_function`, the ladders walked one by one."""
        for ladder in self.ladders:
            if ladder.when is None or ladder.when(f):
                top = None
                for level in ladder.levels:
                    if level.when(f):
                        reasons.append(level.reason)
                        actions.extend(level.actions)
                        top = level
                return top
        return None

    def _timers_function(self) -> Callable[[Facts, list[Action], list[datetime]], None]:
        """`_timed` with the follow-ups and thresholds written out, their conditions inline."""
        code = self.code
        is_time = code.const(datetime)
        lines = ["ticket, now = f.ticket, f.now"]
        for follow_up in self.follow_ups:  # as `_timed`
            holds = "True" if follow_up.when is None else code.test(follow_up.when)
            wait = f" + {code.const(follow_up.wait)}" if follow_up.wait else ""
            lines += [
                f"moment = ticket.{follow_up.after}",
                "if moment is not None:",  # a ticket's times are datetimes or None
                f"    due = moment{wait}",
                "    if due > now:",
                "        checks.append(due)",
                f"    elif {holds}:",
                f"        actions.extend({code.const(follow_up.actions)})",
            ]
        if self.thresholds:
            lines.append("if ticket.status.is_open:")
        for threshold in self.thresholds:  # as `_threshold_crossings`
            duration = code.const(threshold.duration)
            crossing = f"moment + {duration}"
            if threshold.business:  # working time of the facts' calendar, when there is one
                crossing = (
                    f"({crossing} if f.calendar is None else f.calendar.add(moment, {duration}))"
                )
            lines += [
                f"    moment = {threshold.expr or code.const(threshold.get) + '(f)'}",
                # A ticket time is a datetime or None; anything else is checked.
                "    if moment is not None:"
                if threshold.time
                else f"    if isinstance(moment, {is_time}):",
                f"        crossing = {crossing}",
                "        if crossing is not None and crossing > now:",
                f"            checks.append(crossing + {code.const(_JUST_PAST)})",
            ]
        made = code.function("timers", lines, "f, actions, checks")
        return self._timed if made is None else made

    def compile(self) -> None:
        """Write each section's conditions into one function (`first_of`,
        `_escalation_function`, `_timers_function`): a ticket then costs one call per
        section, not one per rule. Called by `load_rules` once every rule is compiled."""
        code = self.code
        self._first_category = first_of(
            code, "category", self.categories, [r.when for r in self.categories]
        )
        self._first_priority = first_of(
            code, "priority", self.priorities, [r.when for r in self.priorities]
        )
        policies = self.sla.policies
        self._first_policy = first_of(code, "sla_policy", policies, [p.when for p in policies])
        self._escalate = self._escalation_function()
        self._timers = self._timers_function()

    def choose_default_calendar(self) -> None:
        """The calendar for business-hour durations outside an SLA policy: `business` if
        defined, else the first one defined, else 24/7."""
        named = [c for n, c in self.calendars.items() if n != ALWAYS]
        self.default_calendar = self.calendars.get("business") or (
            named[0] if named else self.calendars[ALWAYS]
        )

    def evaluate(self, ticket: Ticket, now: datetime) -> Decision:
        """Apply the rules to a ticket as of `now` (pure)."""
        # Each section is one generated function (`compile`), and the decisions are written
        # out here rather than called (`Facts.decide`): this runs for every ticket of every
        # cycle, and each call saved is time saved.
        decided: dict[str, str] = {}
        lowered: dict[Any, Any] = {}
        facts = Facts(ticket, now, decided, None, self.default_calendar, lowered)
        category = self._first_category(facts)
        if category is not None:
            reasons = [category.reason]
            decided["category"] = category.value
            lowered["category"] = category.lowered
            tags = category.tags
        else:
            reasons = [DEFAULT_CATEGORY_REASON]
            decided["category"] = DEFAULT_CATEGORY
            lowered["category"] = _DEFAULT_CATEGORY_LOWERED
            tags = ()
        if self.tag_rules:
            tags = self._also_tag(facts, tags, reasons)
        priority = self._first_priority(facts)
        if priority is not None:
            chosen = priority.reason
            lowered["priority"] = priority.lowered
        else:
            chosen = self.default_priority
            lowered["priority"] = chosen.value.lower()
        decided["priority"] = level = chosen.value
        reasons.append(chosen)
        status = ticket.status
        measurable = status.is_open or (
            ticket.solved_at is not None and status is not Status.DELETED
        )
        policy = self._first_policy(facts) if measurable else None
        next_checks: list[datetime] = []
        if policy is not None:
            facts.sla, next_sla, facts.calendar = self.sla.measured(policy, ticket, level, now)
            reasons.append(policy.reason)
            if next_sla:
                next_checks.append(next_sla)
        actions: list[Action] = []
        top = self._escalate(facts, reasons, actions)  # the first ladder's levels that hold
        self._timers(facts, actions, next_checks)
        return Decision(
            decided["category"],
            level,
            tags,
            tuple(reasons),
            facts.sla,
            top.level if top else 0,
            top.name if top else "",
            tuple(actions),
            min(next_checks) if next_checks else None,
        )

    def _also_tag(
        self, facts: Facts, tags: tuple[str, ...], reasons: list[Reason]
    ) -> tuple[str, ...]:
        """The category's tags and those of every tag-only rule that matches (in order, each
        once); the rules' reasons into `reasons`."""
        found = list(tags)
        for rule in self.tag_rules:
            if rule.when is None or rule.when(facts):
                found.extend(t for t in rule.tags if t not in found)
                reasons.append(rule.reason)
        return tuple(found)

    def _timed(self, facts: Facts, actions: list[Action], checks: list[datetime]) -> None:
        """What the clock decides, as `compile` writes it into one function (`_timers`):
        the follow-ups that are due and hold (their actions), and the moments when one
        becomes due or a time condition flips (`checks`)."""
        ticket, now = facts.ticket, facts.now
        for follow_up in self.follow_ups:
            moment = getattr(ticket, follow_up.after)
            if moment is None:
                continue  # the event has not happened
            due = moment + follow_up.wait
            if due > now:
                checks.append(due)
            elif follow_up.when is None or follow_up.when(facts):
                actions.extend(follow_up.actions)
        if self.thresholds and ticket.status.is_open:
            checks.extend(self._threshold_crossings(facts))

    def _threshold_crossings(self, facts: Facts) -> list[datetime]:
        """Future moments when an older_than/within condition flips for an open ticket."""
        out = []
        for threshold in self.thresholds:
            moment = threshold.get(facts)
            if not isinstance(moment, datetime):
                continue
            if threshold.business and facts.calendar is not None:
                crossing = facts.calendar.add(moment, threshold.duration)
            else:
                crossing = moment + threshold.duration
            if crossing is not None and crossing > facts.now:
                out.append(crossing + _JUST_PAST)  # older_than is strict
        return out


def _first(rules: list[Rule], facts: Facts) -> Rule | None:
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
    documents = []
    for path in paths:
        data = read_rule_file(path, problems)
        if data is not None:
            documents.append((path, data))
    for path, data in documents:  # pass 1: what other sections refer to
        _check_metadata(path, data, ruleset, problems)
        compile_calendars(path, data, problems, ruleset.calendars)
        _compile_templates(path, data, ruleset, problems)
        _compile_levels(path, data, ruleset, problems)
    ruleset.choose_default_calendar()
    for (path, data), file in zip(documents, ruleset.files, strict=True):  # pass 2: the rules
        _compile_rules(path, data, ruleset, problems, file.languages)
    _check_reachable(ruleset.categories, "category", problems)
    _check_reachable(ruleset.priorities, "priority", problems)
    _check_policies(ruleset, problems)
    # Several rules may share a time condition (created_at older than / within 24h): its
    # crossing is one moment, so each is computed once per evaluation, not once per rule.
    ruleset.thresholds = list(dict.fromkeys(ruleset.thresholds))
    problems.raise_if_any()
    ruleset.compile()
    return ruleset


def _check_metadata(path: Path, data: dict[str, Any], ruleset: RuleSet, problems: Problems) -> None:
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
                f"{path}:1:1", f"missing {key!r}", "Every rule file names its SOP and its owner"
            )
    review_by = data.get("review_by")
    if review_by is not None and not isinstance(review_by, date):
        problems.add(where(path, data, "review_by"), "review_by must be a date like 2027-03-31")
        review_by = None
    languages = _languages(path, data, problems)
    ruleset.files.append(
        RuleFile(path, str(data.get("name", "")), str(data.get("owner", "")), review_by, languages)
    )


def _languages(path: Path, data: dict[str, Any], problems: Problems) -> tuple[str, ...]:
    """A file's stemming languages: `language: german`, or `languages: [english, german]`
    (a phrase then matches by the stems of any of them); english when it names none."""
    if "language" in data and "languages" in data:
        problems.add(
            where(path, data, "languages"),
            "give language or languages, not both",
            "language: german, or languages: [english, german]",
        )
        return (DEFAULT_LANGUAGE,)
    key = "languages" if "languages" in data else "language"
    if key not in data:
        return (DEFAULT_LANGUAGE,)
    return check_languages(path, data, key, problems) or (DEFAULT_LANGUAGE,)


def _compile_templates(
    path: Path, data: dict[str, Any], ruleset: RuleSet, problems: Problems
) -> None:
    section = data.get("templates")
    if section is None:
        return
    if not isinstance(section, dict):
        problems.add(where(path, data, "templates"), "templates must be a mapping of names")
        return
    for name, value in section.items():
        template, problem, key = templates.compile_template(str(name), value)
        loc = where(path, value, key) if key is not None else where(path, section, name)
        if template is None:
            problems.add(loc, problem or f"template {name!r} must be text")
            continue
        if name in ruleset.templates:
            problems.add(loc, f"template {name!r} is defined twice")
        ruleset.templates[str(name)] = replace(template, where=loc)


def _compile_levels(path: Path, data: dict[str, Any], ruleset: RuleSet, problems: Problems) -> None:
    section = data.get("priority")
    if not isinstance(section, dict):
        if section is not None:
            problems.add(
                where(path, data, "priority"),
                "priority must be a mapping",
                "It holds levels, aliases, default and rules",
            )
        return
    if "levels" in section:
        levels = section["levels"]
        if (
            not isinstance(levels, list)
            or not levels
            or not all(isinstance(v, str) for v in levels)
        ):
            problems.add(where(path, section, "levels"), "levels must be a list of names")
        else:
            ruleset.levels = tuple(levels)
            ruleset.aliases = {}
    if "aliases" in section:
        aliases = section["aliases"]
        if not isinstance(aliases, dict):
            problems.add(where(path, section, "aliases"), "aliases map a name to a level")
        else:
            ruleset.aliases.update({str(k): str(v) for k, v in aliases.items()})


def _level(ruleset: RuleSet, value: Any, loc: str, problems: Problems) -> str | None:
    name = ruleset.aliases.get(str(value), str(value))
    if name not in ruleset.levels:
        problems.add(
            loc,
            f"unknown priority {value!r}",
            f"Use one of: {', '.join(ruleset.levels)} (or {', '.join(ruleset.aliases)})",
        )
        return None
    return name


def _compile_rules(
    path: Path,
    data: dict[str, Any],
    ruleset: RuleSet,
    problems: Problems,
    languages: tuple[str, ...],
) -> None:
    def compiler_for(phase: int) -> Compiler:  # the file's conditions share what they can
        return Compiler(
            path, problems, phase, scanners=ruleset.scanners, languages=languages, code=ruleset.code
        )

    if "categories" in data:
        compiler = compiler_for(CATEGORY)
        for rule in _compile_list(path, data, "categories", "category", compiler, ruleset):
            (ruleset.categories if rule.value else ruleset.tag_rules).append(rule)
        ruleset.thresholds += compiler.thresholds
    section = data.get("priority")
    if isinstance(section, dict):
        for key in section:
            if key not in ("levels", "aliases", "default", "rules"):
                problems.add(
                    where(path, section, key),
                    f"unknown priority key {key!r}",
                    "priority has levels, aliases, default and rules",
                )
        if "default" in section:
            loc = where(path, section, "default")
            level = _level(ruleset, section["default"], loc, problems)
            if level:
                ruleset.default_priority = Reason("priority", level, "default", loc)
        if "rules" in section:
            compiler = compiler_for(PRIORITY)
            ruleset.priorities += _compile_list(
                path, section, "rules", "priority", compiler, ruleset
            )
            ruleset.thresholds += compiler.thresholds
    if "sla" in data:
        compiler = compiler_for(SLA)
        compile_sla(
            path,
            data,
            problems,
            ruleset.calendars,
            ruleset.levels,
            ruleset.sla,
            ruleset.aliases,
            compiler,
        )
        ruleset.thresholds += compiler.thresholds
    later = compiler_for(SLA + 1)
    if "escalation" in data:
        ruleset.ladders += compile_escalation(path, data, problems, ruleset.templates, later)
    if "follow_ups" in data:
        ruleset.follow_ups += compile_follow_ups(path, data, problems, ruleset.templates, later)
    ruleset.thresholds += later.thresholds
    if "incidents" in data:
        for incident in compile_incidents(path, data, problems):
            if any(r.name == incident.name for r in ruleset.incidents):
                problems.add(incident.where, f"incident rule {incident.name!r} is defined twice")
            else:
                ruleset.incidents.append(incident)


def _compile_list(
    path: Path, parent: Any, key: str, sets: str, compiler: Compiler, ruleset: RuleSet
) -> list[Rule]:
    problems = compiler.problems
    items = parent[key]
    if not isinstance(items, list):
        problems.add(where(path, parent, key), f"{key} must be a list of rules")
        return []
    rules = []
    for index, item in enumerate(items):
        loc = where(path, items, index)
        tag_only = sets == "category" and isinstance(item, dict) and sets not in item
        if not isinstance(item, dict) or not (
            isinstance(item.get(sets), str | int) or (tag_only and "also_tag" in item)
        ):
            problems.add(loc, f"each rule needs `{sets}:` with a value", f"e.g. - {sets}: Billing")
            continue
        allowed = {sets, "when", "name"} | ({"also_tag"} if sets == "category" else set())
        if not problems.only_keys(path, item, allowed, "a rule"):
            continue
        when = None
        if "when" in item:
            when = compiler.condition(item["when"], item, "when")
            if when is None:
                continue
        value = str(item.get(sets, ""))
        if sets == "priority":
            value = _level(ruleset, value, where(path, item, sets), problems) or ""
            if not value:
                continue
        tags = item.get("also_tag", [])
        tags = tuple(str(t) for t in (tags if isinstance(tags, list) else [tags]))
        name = str(item.get("name", value or ", ".join(tags)))
        reason = (
            Reason(sets, value, name, loc) if value else Reason("tags", ", ".join(tags), name, loc)
        )
        rules.append(Rule(value, when, name, loc, tags, reason))
    return rules


def _check_reachable(rules: list[Rule], what: str, problems: Problems) -> None:
    """A rule after a catch-all can never match: say so instead of silently ignoring it."""
    for index, rule in enumerate(rules):
        if rule.when is None and index + 1 < len(rules):
            later = rules[index + 1]
            problems.add(
                later.where,
                f"this {what} rule can never match",
                f"The rule at {rule.where} has no `when:` and catches every ticket "
                "first; move it last",
            )
            return


def _check_policies(ruleset: RuleSet, problems: Problems) -> None:
    policies = ruleset.sla.policies
    for index, policy in enumerate(policies):
        if policy.when is None and index + 1 < len(policies):
            problems.add(
                policies[index + 1].where,
                "this SLA policy overlaps an earlier one and can never apply",
                f"The policy at {policy.where} has no `when:` and covers every ticket; "
                "move it last",
            )
            return
