"""Escalation ladders and follow-ups: conditions that, once true, ask for actions.

    escalation:
      - ladder: Standard
        when: {...}                 # optional: which tickets use this ladder
        levels:
          - level: 2
            name: Support manager
            when: {sla.breached: true}
            actions:
              - notify: "slack:#support-escalations"
                template: escalation_internal
              - tag: escalated
              - task: "Call {requester.name} about {ticket.subject}"
                due_in: 2h
              - set_priority: urgent    # in the helpdesk (helpdesk.write_back)
              - set_group: Tier 2       # the helpdesk group, by name
    follow_ups:
      - follow_up: Satisfaction check
        after: solved_at            # a ticket time: solved_at, created_at, csat_at...
        wait: 48h
        when: {csat: {is_empty: true}}
        actions: [...]

An action fires once per ticket: its key (ladder, level, index) is remembered by the state
store. Every level whose condition holds fires, so a ticket that jumps straight to level 3
still alerts levels 1 and 2 once each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from syncd.durations import parse_duration
from syncd.model import Action, Decision, Escape, Reason, Ticket, reaches_requester
from syncd.rules import templates
from syncd.rules.conditions import Compiler, Facts, Predicate
from syncd.rules.loader import Problems, where

ACTION_KINDS = ("notify", "tag", "task", "set_priority", "set_group")
# The helpdesk priorities a `set_priority` action may ask for, in Zendesk's words (Freshdesk's
# Low, Medium, High, Urgent: "normal" is its Medium).
HELPDESK_PRIORITIES = ("low", "normal", "high", "urgent")
Renderer = Callable[[Ticket, Decision, Escape | None], str]
EVENT_FIELDS = ("created_at", "updated_at", "solved_at", "first_response_at", "csat_at")


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One compiled action of a rule file; text may hold {placeholders}."""

    kind: str
    target: str
    template: templates.Parsed  # empty: no text
    tags: tuple[str, ...]
    due_in: timedelta | None
    where: str


def prebuild(
    specs: tuple[ActionSpec, ...], prefix: str, origin: str, level: tuple[int, str] | None = None
) -> tuple[Action, ...]:
    """The actions of one escalation level or follow-up, built once at load.

    An Action is the same for every ticket: its key, target, text template and, for a task,
    how long after it fires it is due. So evaluating a ticket allocates nothing for actions,
    and nothing in them refers back to a decision.
    """
    return tuple(
        Action(
            key=f"{prefix}:{i}",
            kind=spec.kind,
            origin=origin,
            target=spec.target,
            tags=spec.tags,
            due_in=spec.due_in,
            where=spec.where,
            render=_renderer(spec.template, level),
        )
        for i, spec in enumerate(specs)
    )


@dataclass(frozen=True, slots=True)
class Level:
    """One rung of a ladder, with what evaluating it reports, built once at load."""

    level: int
    name: str
    when: Predicate
    where: str
    reason: Reason
    actions: tuple[Action, ...]


@dataclass(frozen=True, slots=True)
class Ladder:
    """An escalation ladder, chosen by its condition (first match)."""

    name: str
    when: Predicate | None
    levels: tuple[Level, ...]


@dataclass(frozen=True, slots=True)
class FollowUp:
    """Actions due `wait` after a ticket event, if the condition holds then."""

    name: str
    after: str
    wait: timedelta
    when: Predicate | None
    where: str
    actions: tuple[Action, ...]

    def due_at(self, ticket: Ticket) -> datetime | None:
        """When it becomes due for this ticket (None: the event has not happened)."""
        moment = getattr(ticket, self.after)
        return moment + self.wait if isinstance(moment, datetime) else None


def _renderer(template: templates.Parsed, level: tuple[int, str] | None) -> Renderer | None:
    """Fills the template for a ticket and its decision, each value escaped for the channel
    when it asks; an escalation level's messages speak of that level, not of the highest one
    the ticket reached."""
    if not template:
        return None
    if level is None:

        def render(ticket: Ticket, decision: Decision, escape: Escape | None = None) -> str:
            return templates.render(template, ticket, decision, escape)

        return render
    number, name = level

    def render_level(ticket: Ticket, decision: Decision, escape: Escape | None = None) -> str:
        at_level = replace(decision, escalation_level=number, escalation_name=name)
        return templates.render(template, ticket, at_level, escape)

    return render_level


def escalate(ladders: list[Ladder], facts: Facts) -> list[Level]:
    """The levels whose condition holds, lowest first, on the first ladder that applies."""
    for ladder in ladders:
        if ladder.when is None or ladder.when(facts):
            return [lvl for lvl in ladder.levels if lvl.when(facts)]
    return []


def compile_escalation(
    path: Path,
    data: dict[str, Any],
    problems: Problems,
    known_templates: dict[str, templates.Template],
    compiler: Compiler,
) -> list[Ladder]:
    """The `escalation:` section of one file."""
    section = data["escalation"]
    if not isinstance(section, list):
        problems.add(
            where(path, data, "escalation"),
            "escalation must be a list of ladders",
            "e.g. - ladder: Standard",
        )
        return []
    ladders = []
    for index, item in enumerate(section):
        loc = where(path, section, index)
        if not isinstance(item, dict) or not isinstance(item.get("ladder"), str):
            problems.add(loc, "each ladder needs `ladder:` with a name and `levels:`")
            continue
        if not problems.only_keys(path, item, {"ladder", "when", "levels"}, "a ladder"):
            continue
        when = compiler.condition(item["when"], item, "when") if "when" in item else None
        levels = item.get("levels")
        if not isinstance(levels, list) or not levels:
            problems.add(loc, "a ladder needs a list of levels")
            continue
        compiled = [
            _level(path, levels, i, item["ladder"], problems, known_templates, compiler)
            for i in range(len(levels))
        ]
        numbers = [lvl.level for lvl in compiled if lvl is not None]
        if len(set(numbers)) != len(numbers):
            problems.add(loc, f"ladder {item['ladder']!r} repeats a level number")
        if all(lvl is not None for lvl in compiled):
            ordered = sorted((c for c in compiled if c), key=lambda lvl: lvl.level)
            ladders.append(Ladder(item["ladder"], when, tuple(ordered)))
    return ladders


def _level(
    path: Path,
    levels: list[Any],
    index: int,
    ladder: str,
    problems: Problems,
    known_templates: dict[str, templates.Template],
    compiler: Compiler,
) -> Level | None:
    item = levels[index]
    loc = where(path, levels, index)
    if not isinstance(item, dict) or type(item.get("level")) is not int:
        problems.add(loc, "each level needs `level:` with a number", "e.g. - level: 1")
        return None
    if not problems.only_keys(path, item, {"level", "name", "when", "actions"}, "a level"):
        return None
    if "when" not in item:
        problems.add(loc, f"level {item['level']} needs `when:`", "say what triggers it")
        return None
    when = compiler.condition(item["when"], item, "when")
    actions = _actions(path, item, problems, known_templates)
    if when is None or actions is None:
        return None
    number = item["level"]
    name = str(item.get("name", f"level {number}"))
    built = prebuild(
        actions,
        f"escalation:{ladder}:{number}",
        f"escalation level {number} ({name})",
        level=(number, name),
    )
    reason = Reason("escalation", f"{number} {name}", ladder, loc)
    return Level(number, name, when, loc, reason, built)


def compile_follow_ups(
    path: Path,
    data: dict[str, Any],
    problems: Problems,
    known_templates: dict[str, templates.Template],
    compiler: Compiler,
) -> list[FollowUp]:
    """The `follow_ups:` section of one file."""
    section = data["follow_ups"]
    if not isinstance(section, list):
        problems.add(where(path, data, "follow_ups"), "follow_ups must be a list")
        return []
    out = []
    for index, item in enumerate(section):
        loc = where(path, section, index)
        if not isinstance(item, dict) or not isinstance(item.get("follow_up"), str):
            problems.add(loc, "each follow-up needs `follow_up:` with a name")
            continue
        keys = {"follow_up", "after", "wait", "when", "actions"}
        if not problems.only_keys(path, item, keys, "a follow-up"):
            continue
        after = item.get("after")
        if after not in EVENT_FIELDS:
            problems.add(
                where(path, item, "after") if "after" in item else loc,
                f"after must be a ticket time, got {after!r}",
                f"Use one of: {', '.join(EVENT_FIELDS)}",
            )
            continue
        try:
            wait = timedelta(seconds=parse_duration(item.get("wait", 0)))
        except ValueError as exc:
            problems.add(where(path, item, "wait"), str(exc))
            continue
        when = compiler.condition(item["when"], item, "when") if "when" in item else None
        actions = _actions(path, item, problems, known_templates)
        if ("when" in item and when is None) or actions is None:
            continue
        name = item["follow_up"]
        built = prebuild(actions, f"follow_up:{name}", f"follow-up {name}")
        out.append(FollowUp(name, after, wait, when, loc, built))
    return out


def _actions(
    path: Path,
    item: dict[str, Any],
    problems: Problems,
    known_templates: dict[str, templates.Template],
) -> tuple[ActionSpec, ...] | None:
    section = item.get("actions")
    if not isinstance(section, list) or not section:
        problems.add(
            where(path, item, "actions"),  # the item itself when the key is missing
            "needs a list of actions",
            "e.g. actions: [{notify: 'slack:#support'}]",
        )
        return None
    specs = []
    for index, spec in enumerate(section):
        compiled = _action(path, section, index, spec, problems, known_templates)
        if compiled is None:
            return None
        specs.append(compiled)
    return tuple(specs)


def _action(
    path: Path,
    parent: list[Any],
    index: int,
    spec: Any,
    problems: Problems,
    known_templates: dict[str, templates.Template],
) -> ActionSpec | None:
    loc = where(path, parent, index)
    kinds = [k for k in ACTION_KINDS if isinstance(spec, dict) and k in spec]
    if len(kinds) != 1:
        problems.add(
            loc,
            "an action is one of notify, tag, task, set_priority or set_group",
            "e.g. {notify: 'slack:#support', template: escalation_notice}",
        )
        return None
    kind = kinds[0]
    # notify carries a message (a template or inline text); a task's text is the task itself.
    allowed = {
        "notify": {"notify", "template", "message"},
        "tag": {"tag"},
        "task": {"task", "owner", "due_in"},
        "set_priority": {"set_priority"},
        "set_group": {"set_group"},
    }[kind]
    if not problems.only_keys(path, spec, allowed, f"a {kind} action"):
        return None
    text = ""
    if "template" in spec and "message" in spec:
        problems.add(loc, "give either template or message, not both")
        return None
    if "template" in spec:
        name = str(spec["template"])
        if name not in known_templates:
            problems.add(
                where(path, spec, "template"),
                f"unknown template {name!r}",
                f"Define it under templates:, or use one of: "
                f"{', '.join(known_templates) or 'none defined'}",
            )
            return None
        text = known_templates[name].text
    elif "message" in spec or kind == "task":
        text = str(spec.get("message", spec[kind] if kind == "task" else ""))
        problem = templates.check(text)
        if problem:
            problems.add(where(path, spec, "message" if "message" in spec else kind), problem)
            return None
    if reaches_requester(kind, str(spec[kind])) and not _customer_text(
        path, spec, kind, known_templates, problems
    ):
        return None
    due_in = None
    if "due_in" in spec:
        try:
            due_in = timedelta(seconds=parse_duration(spec["due_in"]))
        except ValueError as exc:
            problems.add(where(path, spec, "due_in"), str(exc))
            return None
    value = spec[kind]
    if kind == "notify" and (not isinstance(value, str) or ":" not in value):
        problems.add(
            where(path, spec, kind),
            f"notify needs a target like slack:#channel, "
            f"email:address or webhook:name, got {value!r}",
        )
        return None
    if kind == "set_priority" and str(value).lower() not in HELPDESK_PRIORITIES:
        problems.add(
            where(path, spec, kind),
            f"set_priority needs a helpdesk priority, got {value!r}",
            f"Use one of: {', '.join(HELPDESK_PRIORITIES)}",
        )
        return None
    if kind == "set_group" and (not isinstance(value, str | int) or not str(value).strip()):
        problems.add(
            where(path, spec, kind),
            f"set_group needs the name (or id) of a helpdesk group, got {value!r}",
            "e.g. set_group: Tier 2",
        )
        return None
    tags = (
        tuple(str(t) for t in (value if isinstance(value, list) else [value]))
        if kind == "tag"
        else ()
    )
    if kind == "notify":
        target = str(value)
    elif kind == "set_priority":
        target = str(value).lower()
    elif kind == "set_group":
        target = str(value).strip()
    else:
        target = str(spec.get("owner", ""))
    return ActionSpec(kind, target, templates.parse(text) if text else (), tags, due_in, loc)


def _customer_text(
    path: Path,
    spec: dict[str, Any],
    kind: str,
    known_templates: dict[str, templates.Template],
    problems: Problems,
) -> bool:
    """An action that reaches the requester names a customer template; else the problem is
    recorded at the action (its template:, message: or target line) and False returned."""
    target = spec[kind]
    name = str(spec.get("template", ""))
    template = known_templates.get(name)
    if template is not None and template.audience == templates.CUSTOMER:
        return True
    hint = (
        "Write the text under templates: with `audience: customer` and only what a customer "
        "may read (no levels, rule names, internal links or [syncd]), and name it here with "
        "template:"
    )
    if template is not None:
        problems.add(
            where(path, spec, "template"),
            f"{target} reaches the customer, but template {name!r} is internal "
            f"(defined at {template.where or 'its templates: section'})",
            hint,
        )
    elif "message" in spec:
        problems.add(
            where(path, spec, "message"),
            f"{target} reaches the customer: inline message text is internal",
            hint,
        )
    else:
        problems.add(
            where(path, spec, kind), f"{target} reaches the customer and needs a template", hint
        )
    return False
