"""rules/schema.json: the JSON Schema editors use to autocomplete and lint rule files.

The compiler (syncd.rules) is the truth; these tests keep the schema in step with it: the
default rule files validate, typical mistakes are rejected at the right spot, and the sections,
fields, operators and other names the schema lists are the ones the compiler knows.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

from syncd.errors import RuleError
from syncd.model import Status
from syncd.rules import actions, conditions, engine, load_rules, templates
from tests.conftest import RULES

SCHEMA_PATH = RULES / "schema.json"
HEAD = "name: Test SOP\nowner: lead@example.com\n"


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def validator() -> Draft202012Validator:
    return Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def as_json(text: str) -> Any:
    # YAML dates (review_by: 2027-02-28) load as date objects; editors see them as strings.
    return json.loads(json.dumps(YAML(typ="safe").load(text), default=str))


def error_paths(text: str) -> set[tuple[Any, ...]]:
    return {tuple(e.absolute_path) for e in validator().iter_errors(as_json(text))}


def compiles(folder: Path, text: str) -> bool:
    (folder / "rule.yaml").write_text(text, encoding="utf-8")
    try:
        load_rules(folder)
    except RuleError:
        return False
    return True


def test_schema_is_a_valid_json_schema():
    Draft202012Validator.check_schema(schema())


@pytest.mark.parametrize("path", sorted(RULES.glob("*.yaml")), ids=lambda p: p.name)
def test_default_rule_files_validate(path: Path):
    errors = [
        f"{list(e.absolute_path)}: {e.message}"
        for e in validator().iter_errors(as_json(path.read_text(encoding="utf-8")))
    ]
    assert errors == []


@pytest.mark.parametrize(
    "text",
    [
        "calendars:\n  office:\n    hours: {Mon-Fri: '08:00-12:00, 13:00-17:30', sat: closed}\n",
        "categories:\n  - category: VIP\n    when: {tags: {in: vip}, custom.plan: gold}\n"
        "  - also_tag: [big]\n    when: {requester.domain: {contains: bigcorp}}\n",
        "priority:\n  default: P3\n  rules:\n"
        "    - priority: P1\n      when: {not: {status: closed}}\n",
        "sla:\n  at_risk: 0.8\n  policies:\n    - policy: All\n"
        "      targets: {High: {first_response: 5400}}\n",
        "follow_ups:\n  - follow_up: Nudge\n    after: updated_at\n    wait: 0\n"
        "    when: {updated_at: {older_than: {business: 2h}}}\n"
        "    actions: [{tag: [a, b]}, {task: 'Call {requester.name} {{now}}', due_in: 1d}]\n",
    ],
    ids=["hours", "categories", "aliases", "sla", "follow_up"],
)
def test_accepts_what_the_compiler_accepts(tmp_path: Path, text: str):
    assert compiles(tmp_path, HEAD + text)
    assert error_paths(HEAD + text) == set()


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("triggers: []\n", ()),
        ("review_by: next quarter\n", ("review_by",)),
        (
            "categories:\n  - category: Billing\n    when: {text: {includes: [refund]}}\n",
            ("categories", 0, "when", "text"),
        ),
        (
            "categories:\n  - category: Billing\n    when: {priority: High}\n",
            ("categories", 0, "when"),
        ),
        (
            "escalation:\n  - ladder: Standard\n    levels:\n      - level: 1\n"
            "        actions: [{tag: escalated}]\n",
            ("escalation", 0, "levels", 0),
        ),
        (
            "follow_ups:\n  - follow_up: Check\n    after: solved_at\n"
            "    actions: [{notify: 'slack:#support', tag: escalated}]\n",
            ("follow_ups", 0, "actions", 0),
        ),
        (
            "follow_ups:\n  - follow_up: Check\n    after: solved_at\n    wait: two hours\n"
            "    actions: [{tag: checked}]\n",
            ("follow_ups", 0, "wait"),
        ),
        ("templates:\n  hello: 'Hi {requester.firstname}'\n", ("templates", "hello")),
        (
            "calendars:\n  business:\n    hours: {mon-fri: '9-5'}\n",
            ("calendars", "business", "hours", "mon-fri"),
        ),
    ],
    ids=[
        "unknown-section",
        "review_by-not-a-date",
        "unknown-operator",
        "priority-in-categories",
        "level-without-when",
        "action-with-two-kinds",
        "duration-in-words",
        "unknown-placeholder",
        "hours-not-times",
    ],
)
def test_rejects_typical_mistakes(tmp_path: Path, text: str, where: tuple[Any, ...]):
    assert not compiles(tmp_path, HEAD + text)  # a real mistake, not just one to the schema
    assert error_paths(HEAD + text) == {where}


def test_rejects_a_file_without_owner(tmp_path: Path):
    assert not compiles(tmp_path, "name: Test SOP\n")
    assert error_paths("name: Test SOP\n") == {()}


def _fields(condition: str) -> set[str]:
    return set(schema()["$defs"][condition]["properties"]) - {"all", "any", "not"}


def test_schema_names_what_the_compiler_knows():
    defs = schema()["$defs"]
    assert list(schema()["properties"]) == list(engine.SECTIONS)
    assert _fields("condition") == set(conditions.FIELDS)
    for condition, phase in [
        ("condition_for_categories", conditions.CATEGORY),
        ("condition_for_priority", conditions.PRIORITY),
        ("condition_for_sla", conditions.SLA),
    ]:
        usable = {name for name, (_get, decided) in conditions.FIELDS.items() if decided < phase}
        assert _fields(condition) == usable, condition
    assert set(defs["operators"]["properties"]) == set(conditions.OPERATORS.split(", "))
    assert set(defs["action"]["properties"]) >= set(actions.ACTION_KINDS)
    assert [b["required"][0] for b in defs["action"]["oneOf"]] == list(actions.ACTION_KINDS)
    follow_up = schema()["properties"]["follow_ups"]["items"]["properties"]
    assert follow_up["after"]["enum"] == list(actions.EVENT_FIELDS)
    pause_on = schema()["properties"]["sla"]["properties"]["pause_on"]
    assert pause_on["items"]["enum"] == [s.value for s in Status]
    placeholders = "".join(f"{{{name}}}" for name in templates.PLACEHOLDERS)
    assert error_paths(HEAD + f"templates:\n  all: '{placeholders}'\n") == set()


def _with_examples(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [found for item in node for found in _with_examples(item)]
    if not isinstance(node, dict):
        return []
    own = [node] if "examples" in node and node is not schema() else []
    return own + [found for value in node.values() for found in _with_examples(value)]


def test_examples_in_the_schema_are_valid():
    # Editors show these in hovers and completions: they must teach valid rules.
    for node in _with_examples(schema()):
        part = {k: v for k, v in node.items() if k != "examples"} | {"$defs": schema()["$defs"]}
        check = Draft202012Validator(part, format_checker=Draft202012Validator.FORMAT_CHECKER)
        for example in node["examples"]:
            assert list(check.iter_errors(example)) == [], (node.get("description"), example)
