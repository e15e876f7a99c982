"""The rules engine: the default SOP triage, and errors that point at the line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncd.errors import RuleError
from syncd.model import Person, Status, Ticket
from syncd.rules import load_rules
from tests.conftest import RULES, run_cli

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def ticket(subject: str, description: str = "", **fields) -> Ticket:
    return Ticket(
        id="1",
        source="zendesk",
        subject=subject,
        description=description,
        status=Status.OPEN,
        created_at=NOW,
        updated_at=NOW,
        **fields,
    )


@pytest.fixture(scope="module")
def default_rules():
    return load_rules(RULES)


@pytest.mark.parametrize(
    ("subject", "category", "priority"),
    [
        ("I was charged twice for my invoice", "Billing", "High"),
        ("The site is down for all users", "Technical", "Critical"),
        ("We are seeing data loss after the update", "Technical", "Critical"),
        ("How do I export my data?", "Information request", "Low"),
        ("Feature request: dark mode", "Feature request", "Low"),
        ("Re: my previous ticket", "Follow-up", "Medium"),
        ("This is unacceptable, I want to speak to a manager", "Complaint/Escalation", "High"),
        ("Download of the report fails with error 500", "Technical", "Medium"),
        ("Hello there", "General", "Medium"),
        ("Can I download my receipts?", "Billing", "Medium"),
    ],
)
def test_default_triage(default_rules, subject, category, priority):
    decision = default_rules.evaluate(ticket(subject), NOW)
    assert (decision.category, decision.priority) == (category, priority)


def test_words_match_whole_words_only(default_rules):
    # "down" is an outage word; "download" must not make a ticket Critical.
    assert default_rules.evaluate(ticket("Where is the download link"), NOW).priority != "Critical"


def test_reasons_name_file_and_line(default_rules):
    decision = default_rules.evaluate(ticket("Refund please"), NOW)
    reason = decision.reasons[0]
    assert reason.decision == "category" and reason.value == "Billing"
    assert reason.where.startswith(str(RULES / "triage.yaml") + ":")


def test_conditions_on_requester_tags_and_not(tmp_path: Path):
    (tmp_path / "r.yaml").write_text(
        "name: t\nowner: o\ncategories:\n"
        "  - category: VIP\n    when:\n      requester.domain: {in: [bigcorp.com]}\n"
        "      not: {tags: {contains: spam}}\n"
        "  - category: Other\n"
    )
    rules = load_rules(tmp_path)
    vip = ticket("x", requester=Person("1", "A", "a@BigCorp.com"))
    assert rules.evaluate(vip, NOW).category == "VIP"
    spam = ticket("x", requester=Person("1", "A", "a@bigcorp.com"), tags=("spam",))
    assert rules.evaluate(spam, NOW).category == "Other"


BROKEN = {
    "bad_yaml": (
        "name: t\nowner: o\ncategories:\n  - category: [oops\n",
        ":5:1",
        "flow sequence at line 4, column 15",
    ),
    "unknown_field": (
        "name: t\nowner: o\ncategories:\n  - category: A\n    when: {subjet: x}\n",
        ":5:12",
        "unknown field 'subjet'",
    ),
    "bad_regex": (
        "name: t\nowner: o\ncategories:\n  - category: A\n    when:\n"
        "      subject: {matches: '(unclosed'}\n",
        ":6:",
        "bad regular expression",
    ),
    "unknown_operator": (
        "name: t\nowner: o\ncategories:\n  - category: A\n    when:\n"
        "      subject: {startswith: x}\n",
        ":6:",
        "unknown operator 'startswith'",
    ),
    "missing_value": (
        "name: t\nowner: o\ncategories:\n  - when: {subject: x}\n",
        ":4:",
        "needs `category:`",
    ),
    "unknown_section": ("name: t\nowner: o\ncategoriez: []\n", ":3:1", "unknown section"),
    "missing_owner": ("name: t\ncategories: []\n", ":1:1", "missing 'owner'"),
    "gt_not_number": (
        "name: t\nowner: o\ncategories:\n  - category: A\n    when: {custom.1: {gt: lots}}\n",
        ":5:",
        "gt needs a number",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_rule_files_point_at_the_line(tmp_path: Path, case: str):
    text, location, message = BROKEN[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    with pytest.raises(RuleError) as info:
        load_rules(tmp_path)
    rendered = info.value.render()
    assert f"{path}{location}" in rendered, rendered
    assert message in rendered


def test_rules_check_cli(tmp_path: Path):
    ok = run_cli("rules", "check", str(RULES))
    assert ok.returncode == 0 and ok.stdout.startswith("ok:")
    (tmp_path / "bad.yaml").write_text(BROKEN["unknown_field"][0])
    bad = run_cli("rules", "check", str(tmp_path))
    assert bad.returncode == 1 and "unknown field 'subjet'" in bad.stderr
