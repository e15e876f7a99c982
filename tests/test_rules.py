"""The rules engine: the default SOP triage, and errors that point at the line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
        ("How do I export my data?", "Information request", "Medium"),  # how-to: Medium
        ("Where can I find the documentation about exports?", "Information request", "Low"),
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


H = "name: t\nowner: o\n"  # lines 1-2 of every broken file
ESC = H + "escalation:\n  - ladder: L\n    levels:\n      - level: 1\n"
SLA = H + "sla:\n  policies:\n    - policy: P\n"

# file text -> (where, message): 28 distinct mistakes an admin can make.
BROKEN = {
    "weeks_on_a_business_calendar": (
        H + "calendars:\n  office: {timezone: UTC, hours: {mon-fri: '09:00-17:00'}}\n"
        "sla:\n  policies:\n    - policy: P\n      calendar: office\n"
        "      targets: {High: {resolution: 1w}}\n",
        ":9:17",
        "write business days (5d) or working hours (50h), not weeks",
    ),
    "half_days_on_a_business_calendar": (
        H + "calendars:\n  office: {timezone: UTC, hours: {mon-fri: '09:00-17:00'}}\n"
        "sla:\n  policies:\n    - policy: P\n      calendar: office\n"
        "      targets: {High: {first_response: 1.5d}}\n",
        ":9:17",
        "days are business days; write whole days (1d, 3d) or working hours (15h)",
    ),
    "bad_yaml": (
        H + "categories:\n  - category: [oops\n",
        ":5:1",
        "flow sequence at line 4, column 15",
    ),
    "unknown_field": (
        H + "categories:\n  - category: A\n    when: {subjet: x}\n",
        ":5:12",
        "unknown field 'subjet'",
    ),
    "bad_regex": (
        H + "categories:\n  - category: A\n    when:\n      subject: {matches: '(unclosed'}\n",
        ":6:",
        "bad regular expression",
    ),
    "unknown_operator": (
        H + "categories:\n  - category: A\n    when:\n      subject: {startswith: x}\n",
        ":6:",
        "unknown operator 'startswith'",
    ),
    "missing_value": (H + "categories:\n  - when: {subject: x}\n", ":4:", "needs `category:`"),
    "unknown_section": (H + "categoriez: []\n", ":3:1", "unknown section"),
    "missing_owner": ("name: t\ncategories: []\n", ":1:1", "missing 'owner'"),
    "gt_not_number": (
        H + "categories:\n  - category: A\n    when: {custom.1: {gt: lots}}\n",
        ":5:",
        "gt needs a number",
    ),
    "unknown_template": (
        ESC + "        when: {sla.breached: true}\n        actions:\n"
        "          - notify: 'slack:#x'\n            template: nope\n",
        ":10:13",
        "unknown template 'nope'",
    ),
    "missing_calendar": (
        SLA + "      calendar: office\n      targets: {High: {first_response: 1h}}\n",
        ":6:7",
        "unknown calendar 'office'",
    ),
    "unknown_placeholder": (
        H + "templates:\n  hello: 'Hi {requester.nickname}'\n",
        ":4:3",
        "unknown placeholder {requester.nickname}",
    ),
    "bad_duration": (
        SLA + "      targets: {High: {first_response: two hours}}\n",
        ":6:",
        "is not a duration",
    ),
    "unknown_sla_priority": (
        SLA + "      targets: {Urgent: {first_response: 1h}}\n",
        ":6:",
        "unknown priority 'Urgent'",
    ),
    "decided_later": (
        H + "categories:\n  - category: A\n    when: {priority: High}\n",
        ":5:",
        "'priority' cannot be used in categories",
    ),
    "unreachable_rule": (
        H + "categories:\n  - category: A\n  - category: B\n    when: {subject: x}\n",
        ":5:5",
        "can never match",
    ),
    "overlapping_sla": (
        SLA + "      targets: {High: {first_response: 1h}}\n"
        "    - policy: Q\n      targets: {High: {first_response: 2h}}\n",
        ":7:7",
        "overlaps an earlier one",
    ),
    "bad_timezone": (
        H + "calendars:\n  office:\n    timezone: Mars/Olympus\n"
        "    hours: {mon-fri: '09:00-17:00'}\n",
        ":4:3",
        "Mars/Olympus",
    ),
    "bad_hours": (
        H + "calendars:\n  office:\n    timezone: UTC\n    hours: {mon-fri: '18:00-08:00'}\n",
        ":4:3",
        "calendar 'office'",
    ),
    "two_action_kinds": (
        ESC + "        when: {sla.breached: true}\n        actions:\n"
        "          - {notify: 'slack:#x', tag: y}\n",
        ":9:",
        "an action is one of notify, tag, task, set_priority or set_group",
    ),
    "level_without_when": (ESC + "        actions: [{tag: x}]\n", ":6:", "needs `when:`"),
    "set_priority_value": (
        ESC + "        when: {sla.breached: true}\n        actions:\n"
        "          - set_priority: asap\n",
        ":9:",
        "set_priority needs a helpdesk priority, got 'asap'",
    ),
    "set_group_empty": (
        ESC + "        when: {sla.breached: true}\n        actions:\n          - set_group: ''\n",
        ":9:",
        "set_group needs the name (or id) of a helpdesk group",
    ),
    "follow_up_after": (
        H + "follow_ups:\n  - follow_up: F\n    after: resolved\n    actions: [{tag: x}]\n",
        ":5:5",
        "after must be a ticket time",
    ),
    "notify_target": (
        ESC + "        when: {sla.breached: true}\n        actions:\n          - notify: support\n",
        ":9:",
        "notify needs a target",
    ),
    "review_by": (H + "review_by: soon\n", ":3:1", "review_by must be a date"),
    "not_a_mapping": ("- category: A\n", ":1:1", "must be a mapping"),
    "older_than": (
        H + "categories:\n  - category: A\n    when:\n      created_at: {older_than: forever}\n",
        ":6:",
        "is not a duration",
    ),
    "unknown_priority": (
        H + "priority:\n  rules:\n    - priority: Urgent\n",
        ":5:",
        "unknown priority 'Urgent'",
    ),
    "nested_too_deeply": (
        H
        + "categories:\n  - category: A\n    when: "
        + "{not: " * 210
        + "{subject: x}"
        + "}" * 210
        + "\n",
        ":5:",
        "nested too deeply",
    ),
}


def test_yaml_nested_beyond_reading_is_a_rule_error_naming_the_file(tmp_path: Path):
    path = tmp_path / "deep.yaml"
    path.write_text(H + "categories:\n  - category: A\n    when: " + "{not: " * 2000 + "}" * 2000)
    with pytest.raises(RuleError) as info:
        load_rules(tmp_path)
    assert f"{path}: nested too deeply to read" in info.value.render()


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


def test_the_default_rule_tests_pass():
    from syncd.rules.cases import load_cases, run_cases

    cases = load_cases(RULES / "tests")
    assert len(cases) >= 30
    failures = [
        (o.case.where, o.failures) for o in run_cases(load_rules(RULES), cases) if not o.passed
    ]
    assert failures == []


def test_rules_test_cli_prints_a_summary():
    result = run_cli("rules", "test", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("passed, 0 failed")


WORDS = [
    "down",
    "download",
    "charge",
    "charges",
    "charged",
    "can't",
    "log",
    "in",
    "twice",
    "refund",
    "Refunds",
    "ERROR",
    "500",
    "data",
    "loss",
    "é",
    "naïve",
    "-",
    ",",
    "\n",
]


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(st.sampled_from(WORDS), max_size=12),
    phrases=st.lists(
        st.sampled_from(
            [
                "down",
                "charge",
                "can't log in",
                "charged twice",
                "refund",
                "error 500",
                "data loss",
                "naïve",
                "-x",
            ]
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_the_shared_phrase_scan_matches_exactly_what_each_rules_regex_matches(text, phrases):
    from syncd.rules.conditions import Compiler, Facts, _words
    from syncd.rules.loader import Problems

    subject = " ".join(text)
    compiler = Compiler(Path("t.yaml"), Problems(), phase=1)
    # Other rules' phrases share the scan: overlapping and nested ones must not hide these.
    others = ["charged", "log in", "loss", "error", "500", "can't", "naïve", "x"]
    compiler.condition({"subject": {"contains": others}}, {"w": 0}, "w")
    predicate = compiler.condition({"subject": {"contains": phrases}}, {"w": 0}, "w")
    facts = Facts(ticket(subject), NOW)
    expected = _words(phrases).search(subject.lower()) is not None
    assert predicate(facts) == expected


def test_rules_explain_takes_a_ticket_or_a_file_of_cases(tmp_path: Path):
    single = tmp_path / "ticket.yaml"
    single.write_text("subject: Refund my invoice\ncreated_at: 2026-11-23T09:00:00Z\n")
    one = run_cli(
        "rules",
        "explain",
        "--rules",
        str(RULES),
        "--ticket",
        str(single),
        "--at",
        "2026-11-23T10:00:00Z",
    )
    assert one.returncode == 0, one.stderr
    assert "category   Billing" in one.stdout and "triage.yaml:" in one.stdout
    cases = run_cli(
        "rules", "explain", "--rules", str(RULES), "--ticket", str(RULES / "tests" / "triage.yaml")
    )
    assert cases.returncode == 0, cases.stderr
    assert cases.stdout.count("ticket #") >= 20  # every case of the file, at its own `now`
    broken = tmp_path / "broken.yaml"
    broken.write_text("- 3\n")
    bad = run_cli("rules", "explain", "--rules", str(RULES), "--ticket", str(broken))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
