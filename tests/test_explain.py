"""`syncd rules explain` says why each condition matched (issue 14, point 10): the phrase
found and in which field, the tag, the value compared, the age of a time, the SLA figure; a
condition that did not hold says so; and `--rules` is honoured with `--ticket ID`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncd.sandbox import Sandbox
from tests.conftest import RULES, Syncd, run_cli, write_config

RULE_FILE = """\
name: Explain me
owner: lead@example.com
categories:
  - category: Billing
    name: money words
    when:
      any:
        - text: {contains: [invoice, refund, "charged twice"]}
        - tags: {in: [billing]}
  - category: General
priority:
  default: Medium
  rules:
    - priority: Critical
      name: down
      when:
        all:
          - text: {contains: ["site is down", outage]}
          - not: {requester.domain: {in: [test.example]}}
calendars:
  business:
    timezone: UTC
    hours: {mon-sun: "00:00-24:00"}
sla:
  policies:
    - policy: Everyone
      calendar: business
      when: {priority: {in: [Critical, High, Medium, Low]}}
      targets:
        Critical: {first_response: 1h, resolution: 4h}
        Medium: {first_response: 8h, resolution: 2d}
escalation:
  - ladder: Standard
    levels:
      - level: 1
        name: Team lead
        when:
          any:
            - sla.first_response.breached: true
            - created_at: {older_than: 24h}
        actions:
          - tag: escalated
"""

TICKET_FILE = """\
subject: Charged twice on my invoice
description: Since this morning the site is down for us.
status: open
created_at: 2026-03-02T09:00:00Z
tags: [billing, vip]
requester: {email: ann@client.example, name: Ann}
"""


def _rules(tmp_path: Path, text: str = RULE_FILE) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yaml").write_text(text)
    return folder


def test_explain_says_why_each_condition_matched(tmp_path: Path):
    rules = _rules(tmp_path)
    ticket = tmp_path / "ticket.yaml"
    ticket.write_text(TICKET_FILE)
    result = run_cli(
        "rules", "explain", "--ticket", str(ticket), "--rules", str(rules),
        "--at", "2026-03-02T12:00:00Z",
    )  # fmt: skip
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    lines = [line.strip() for line in out.splitlines()]
    # Category: which phrase, in which field; which tag.
    assert "yes any of:" in lines
    assert any(
        line.startswith("yes text contains [invoice, refund, charged twice]")
        and "'invoice' in subject" in line
        and "'charged twice' in subject" in line
        for line in lines
    ), out
    assert "yes tags in [billing]: tagged billing" in lines, out
    # Priority: the phrase in the description, and a `not` that held, with the value.
    assert any("'site is down' in description" in line for line in lines), out
    assert "yes not:" in lines
    assert any(
        line.startswith("no  requester.domain in [test.example]") and "'client.example'" in line
        for line in lines
    ), out
    # SLA policy: the value compared.
    assert any(
        line.startswith("yes priority in [Critical, High, Medium, Low]") and "'Critical'" in line
        for line in lines
    ), out
    # Escalation: the SLA figure (due, share used, state) and the age of a time.
    assert any(
        line.startswith("yes sla.first_response.breached equals True")
        and "first response due 2026-03-02 10:00 UTC, 300% used, breached" in line
        for line in lines
    ), out
    assert "no  created_at older_than '24h': created_at 2026-03-02 09:00 UTC, 3.0h ago" in lines


def test_a_catch_all_and_a_default_are_said_so(tmp_path: Path):
    rules = _rules(tmp_path)
    ticket = tmp_path / "ticket.yaml"
    ticket.write_text(TICKET_FILE.replace("Charged twice on my invoice", "Hello").replace(
        "[billing, vip]", "[]"
    ).replace("the site is down for us", "all is fine"))  # fmt: skip
    result = run_cli("rules", "explain", "--ticket", str(ticket), "--rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    category = lines.index(next(line for line in lines if line.startswith("category")))
    assert lines[category].split()[1] == "General"
    assert lines[category + 1] == "no condition: catches every ticket left"
    priority = next(i for i, line in enumerate(lines) if line.startswith("priority"))
    assert "by 'default'" in lines[priority]
    assert lines[priority + 1] == "no rule matched: the default"


@pytest.fixture
def seen(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A config whose state store has seen one ticket (through the default rules)."""
    for name, url in sandbox.slack_webhooks().items():
        monkeypatch.setenv(name, url)
    key = sandbox.write_service_account(tmp_path / "sa.json")
    data = sandbox.config(f"sqlite:///{tmp_path / 'state.db'}", str(RULES), key)
    config = write_config(tmp_path / "syncd.yaml", data)
    syncd = Syncd(config)
    syncd.setup()
    old = datetime.now(UTC) - timedelta(hours=2)
    ticket = sandbox.zendesk.add_ticket(
        subject="Please refund my invoice",
        requester_email="ann@client.example",
        created_at=old,
        updated_at=old,
    )
    syncd.once()
    return config, str(ticket["id"])


def test_rules_is_honoured_with_a_ticket_id(seen: tuple[Path, str], tmp_path: Path):
    config, ticket_id = seen
    running = run_cli("rules", "explain", "--ticket", ticket_id, "--config", str(config))
    assert running.returncode == 0, running.stdout + running.stderr
    assert f"{RULES}/triage.yaml" in running.stdout

    edited = _rules(tmp_path / "edited", RULE_FILE.replace("category: Billing", "category: Money"))
    result = run_cli(
        "rules", "explain", "--ticket", ticket_id, "--config", str(config), "--rules", str(edited)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Money" in result.stdout and f"{edited}/rules.yaml" in result.stdout
    assert f"{RULES}/" not in result.stdout, "the edited rules, not the config's"
    assert "'refund' in subject" in result.stdout
