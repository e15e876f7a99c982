"""Messages to customers (issue 14, points 1 and 2): every default action that reaches a
requester uses a customer template and carries no internal wording, level, rule name,
"[syncd]" or agents' link, whether it goes by email (subject with the ticket reference) or as
a public reply in the helpdesk's thread (write-back); `rules check` refuses a customer
action with an internal template, inline text or no text, with file:line."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.email import EmailNotifier
from connectors.freshdesk_writeback import FreshdeskWriteBack
from connectors.zendesk_writeback import ZendeskWriteBack
from syncd.config import EmailConfig, FreshdeskConfig, ZendeskConfig
from syncd.model import Action, Decision, Organization, Person, Status, Ticket
from syncd.rules import load_rules, templates
from syncd.rules.engine import RuleSet
from syncd.sandbox import EMAIL_SENDER, FRESHDESK_API_KEY, ZENDESK_EMAIL, ZENDESK_TOKEN, Sandbox
from tests.conftest import RULES, Syncd, run_cli, write_config

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


def requester_actions(ruleset: RuleSet) -> list[Action]:
    """Every action of the rule set that reaches the requester, walked from the rules."""
    found = [a for ladder in ruleset.ladders for lvl in ladder.levels for a in lvl.actions]
    found += [a for follow_up in ruleset.follow_ups for a in follow_up.actions]
    return [a for a in found if a.to_requester]


def internal_words(ruleset: RuleSet) -> list[str]:
    """What a customer must never read: rule, ladder, level and follow-up names, levels,
    the marker of internal mail and the agents' links."""
    words = ["[syncd]", "/agent/", "/a/tickets/", "escalation level", "level 2", "ladder"]
    for ladder in ruleset.ladders:
        words.append(ladder.name)
        words += [lvl.name for lvl in ladder.levels]
    words += [f.name for f in ruleset.follow_ups]
    words += [r.name for r in ruleset.priorities + ruleset.categories if r.name != r.value]
    words += [p.name for p in ruleset.sla.policies]
    return words


def leaks(text: str, ruleset: RuleSet) -> list[str]:
    lowered = text.lower()
    return [w for w in internal_words(ruleset) if w.strip() and w.lower() in lowered]


def escalated(source: str, ticket_id: str, url: str) -> Ticket:
    """A Critical outage three days old, never answered, later solved without a rating: it
    reaches every escalation level, and the satisfaction check is due."""
    created = NOW - timedelta(days=3)
    return Ticket(
        id=ticket_id,
        source=source,
        subject="Production outage: site is down",
        description="The whole site is down since this morning.",
        status=Status.OPEN,
        created_at=created,
        updated_at=created,
        requester=Person(id="9", name="Ivy Lee", email="ivy@client.example"),
        organization=Organization(id="5", name="Client Co", domain="client.example"),
        url=url,
    )


def decided(ruleset: RuleSet, ticket: Ticket) -> tuple[Ticket, Decision]:
    """The ticket as the rules see it, with what every requester action needs decided."""
    decision = ruleset.evaluate(ticket, NOW)
    assert decision.escalation_level >= 2, decision  # the notice's level fired
    return ticket, decision


def test_the_default_rules_tell_requesters_only_customer_texts():
    ruleset = load_rules(RULES)
    actions = requester_actions(ruleset)
    origins = {a.origin for a in actions}
    assert len(actions) >= 2, "the escalation notice and the satisfaction check at least"
    assert any("escalation" in o for o in origins) and any("follow-up" in o for o in origins)
    by_text = {t.text: t for t in ruleset.templates.values()}
    for action in actions:
        ticket, decision = decided(
            ruleset, escalated("zendesk", "7", "https://acme.zendesk.com/agent/tickets/7")
        )
        text = action.text(ticket, decision)
        assert text.strip() and not leaks(text, ruleset), (action.origin, text)
        assert any(t.audience == templates.CUSTOMER for t in by_text.values())


def test_every_requester_action_by_email_reaches_them_without_internal_wording(sandbox: Sandbox):
    """Each default requester action, sent through the sandbox's SMTP receiver."""
    ruleset = load_rules(RULES)
    config = EmailConfig(
        host=sandbox.smtp.host,
        port=sandbox.smtp.port,
        starttls=False,
        sender=EMAIL_SENDER,
        timeout=5,
    )
    email = EmailNotifier(config, attempts=1)
    cases = [
        ("zendesk", "https://acme.zendesk.com/agent/tickets/7", "/hc/requests/7"),
        ("freshdesk", "https://acme.freshdesk.com/a/tickets/7", "/support/tickets/7"),
    ]
    sent = 0
    for source, url, customer_link in cases:
        ticket, decision = decided(ruleset, escalated(source, "7", url))
        for action in requester_actions(ruleset):
            outcome = email.deliver(ticket, action, action.text(ticket, decision), decision)
            assert outcome == "emailed ivy@client.example"
            sent += 1
            message = sandbox.smtp.messages()[-1]
            assert message["recipients"] == ["ivy@client.example"]
            assert message["subject"] == "[#7] Production outage: site is down"
            assert message["headers"]["Reply-To"] == EMAIL_SENDER
            whole = f"{message['subject']}\n{message['body']}"
            assert not leaks(whole, ruleset), (action.origin, whole)
            assert ticket.url not in whole  # the agents' link
            assert message["body"].strip().endswith(customer_link)
            assert "Hi Ivy," in message["body"]
    assert sent == 2 * len(requester_actions(ruleset))


def test_requester_messages_are_public_replies_in_the_ticket_thread(sandbox: Sandbox):
    """With write-back, the same actions go out as public replies through the helpdesk API:
    Zendesk's ticket update with a public comment, Freshdesk's reply endpoint."""
    ruleset = load_rules(RULES)
    actions = requester_actions(ruleset)
    zendesk = ZendeskWriteBack(
        ZendeskConfig(subdomain="acme", email=ZENDESK_EMAIL, base_url=sandbox.url), ZENDESK_TOKEN
    )
    raw = sandbox.zendesk.add_ticket(subject="Outage", requester_email="ivy@client.example")
    ticket, decision = decided(
        ruleset, escalated("zendesk", str(raw["id"]), f"{sandbox.url}/agent/tickets/{raw['id']}")
    )
    for action in actions:
        outcome = zendesk.deliver(ticket, action, action.text(ticket, decision), decision)
        assert outcome == f"public reply on Zendesk ticket {raw['id']}"
    comments = sandbox.zendesk.comments(raw["id"])
    replies = [c for c in comments if c["author_id"] == sandbox.zendesk.me["id"]]
    assert len(replies) == len(actions) and all(c["public"] for c in replies)
    for comment in replies:
        assert comment["body"].startswith("Hi Ivy,") and "\n" not in comment["body"]
        assert not leaks(comment["body"], ruleset), comment["body"]
    assert "syncd" in sandbox.zendesk.tickets()[-1]["tags"]  # the marker, in the same update

    freshdesk = FreshdeskWriteBack(
        FreshdeskConfig(kind="freshdesk", domain="acme", base_url=sandbox.url), FRESHDESK_API_KEY
    )
    raw = sandbox.freshdesk.add_ticket("Outage <b>", "", "ivy@client.example", "Ivy Lee")
    ticket, decision = decided(
        ruleset, escalated("freshdesk", str(raw["id"]), f"{sandbox.url}/a/tickets/{raw['id']}")
    )
    ticket = Ticket(**{**_fields(ticket), "subject": "Outage <b>"})
    sandbox.reset_counts()
    for action in actions:
        outcome = freshdesk.deliver(ticket, action, action.text(ticket, decision), decision)
        assert outcome == f"public reply on Freshdesk ticket {raw['id']}"
    assert [m for _a, m, p, _s in sandbox.server.log] == ["POST"] * len(actions)
    assert all(p.endswith(f"/tickets/{raw['id']}/reply") for _a, _m, p, _s in sandbox.server.log)
    conversations = sandbox.freshdesk.conversations(raw["id"])
    assert len(conversations) == len(actions)
    for conv in conversations:
        assert conv["private"] is False and conv["incoming"] is False and conv["source"] == 0
        assert conv["body"].startswith("<p>Hi Ivy,") and "Outage &lt;b&gt;" in conv["body"]
        assert not leaks(conv["body_text"], ruleset), conv["body_text"]
    assert sandbox.freshdesk.tickets()[-1]["stats"]["first_responded_at"] is not None


def _fields(ticket: Ticket) -> dict[str, Any]:
    return {name: getattr(ticket, name) for name in Ticket.__dataclass_fields__}


def test_a_closed_zendesk_ticket_gets_the_message_by_email_instead(sandbox: Sandbox):
    writer = ZendeskWriteBack(
        ZendeskConfig(subdomain="acme", email=ZENDESK_EMAIL, base_url=sandbox.url), ZENDESK_TOKEN
    )
    raw = sandbox.zendesk.add_ticket(subject="Old", requester_email="ivy@client.example")
    ruleset = load_rules(RULES)
    (action, *_) = requester_actions(ruleset)
    ticket = escalated("zendesk", str(raw["id"]), f"{sandbox.url}/agent/tickets/{raw['id']}")
    closed = Ticket(**{**_fields(ticket), "status": Status.CLOSED})
    assert writer.deliver(closed, action, "Hi", Decision("General", "Low")) is None
    spam = Ticket(**{**_fields(ticket), "status": Status.SPAM})
    assert writer.deliver(spam, action, "Hi", Decision("General", "Low")).startswith("skipped")
    assert sandbox.zendesk.comments(raw["id"]) == []


def _pipeline(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_back: bool
) -> Syncd:
    for name, url in sandbox.slack_webhooks().items():
        monkeypatch.setenv(name, url)
    key = sandbox.write_service_account(tmp_path / "sa.json")
    data = sandbox.config(f"sqlite:///{tmp_path / 'state.db'}", str(RULES), key)
    data["helpdesk"]["write_back"] = write_back
    data["retry_attempts"] = 1
    syncd = Syncd(write_config(tmp_path / "syncd.yaml", data))
    syncd.setup()
    syncd.once()  # baseline
    return syncd


@pytest.mark.parametrize("write_back", [False, True])
def test_the_pipeline_sends_the_escalation_notice_in_the_thread(
    write_back: bool, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    syncd = _pipeline(sandbox, tmp_path, monkeypatch, write_back)
    long_ago = datetime.now(UTC) - timedelta(days=3)
    raw = sandbox.zendesk.add_ticket(
        subject="Production outage",
        requester_email="ivy@client.example",
        requester_name="Ivy Lee",
        created_at=long_ago,
        updated_at=long_ago,
    )
    assert syncd.once().actions_failed == 0
    to_requester = [m for m in sandbox.smtp.messages() if m["recipients"] == ["ivy@client.example"]]
    public = [c for c in sandbox.zendesk.comments(raw["id"]) if c["public"]]
    if write_back:
        assert to_requester == [], "the helpdesk emails its own reply"
        (reply,) = public
        assert "has been escalated" in reply["body"] and "[syncd]" not in reply["body"]
    else:
        assert public == []
        (mail,) = to_requester
        assert mail["subject"] == f"[#{raw['id']}] Production outage"
        assert "has been escalated" in mail["body"]
    internal = [m for m in sandbox.smtp.messages() if m not in to_requester]
    assert internal and all(m["subject"].startswith("[syncd] escalation level") for m in internal)


# ------------------------------------------------------------------ rules check refusals


def _rules_with(tmp_path: Path, edit: dict[str, tuple[str, str]]) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules, ignore=shutil.ignore_patterns("tests"))
    for name, (old, new) in edit.items():
        path = rules / name
        text = path.read_text()
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, 1))
    return rules


def _line_of(path: Path, needle: str) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


NOTICE = (
    '          - notify: "email:requester"    # tell the client, in the ticket\'s thread (a\n'
    "            # public reply with write-back, else email): a customer template only\n"
    "            template: escalation_notice"
)


@pytest.mark.parametrize(
    ("how", "replacement", "at", "says"),
    [
        (
            "an internal template",
            NOTICE.replace("escalation_notice", "internal_escalation"),
            "template: internal_escalation",
            "template 'internal_escalation' is internal",
        ),
        (
            "inline text",
            NOTICE.replace("template: escalation_notice", 'message: "Escalated: {ticket.url}"'),
            "message: ",
            "inline message text is internal",
        ),
        (
            "no text",
            '          - notify: "email:requester"',
            'notify: "email:requester"',
            "needs a template",
        ),
    ],
)
def test_rules_check_refuses_a_customer_action_without_a_customer_template(
    how: str, replacement: str, at: str, says: str, tmp_path: Path
):
    rules = _rules_with(tmp_path, {"escalation.yaml": (NOTICE, replacement)})
    result = run_cli("rules", "check", str(rules))
    assert result.returncode != 0, (how, result.stdout)
    out = result.stdout + result.stderr
    notify = _line_of(rules / "escalation.yaml", 'notify: "email:requester"')
    line = notify if at.startswith("notify") else notify + 2
    assert re.search(rf"escalation\.yaml:{line}:\d+", out), (how, out)
    assert says in out and "email:requester reaches the customer" in out, out
    assert "audience: customer" in out  # the fix


def test_an_audience_left_out_is_internal_and_refused_for_the_requester(tmp_path: Path):
    rules = _rules_with(
        tmp_path,
        {"templates.yaml": ("  csat_follow_up:\n    audience: customer\n", "  csat_follow_up:\n")},
    )
    result = run_cli("rules", "check", str(rules))
    out = result.stdout + result.stderr
    line = _line_of(rules / "follow_ups.yaml", "template: csat_follow_up")
    assert result.returncode != 0 and f"follow_ups.yaml:{line}:" in out, out
    assert "template 'csat_follow_up' is internal" in out


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("See {ticket.url}", "{ticket.url} is internal"),
        ("Now at level {escalation.level}", "{escalation.level} is internal"),
        ("Handled by our {escalation.name}", "{escalation.name} is internal"),
        ("[syncd] your ticket", "[syncd] marks internal messages"),
    ],
)
def test_a_customer_template_may_not_hold_internal_values(text: str, says: str, tmp_path: Path):
    rules = _rules_with(
        tmp_path,
        {
            "templates.yaml": (
                "  workaround:\n    audience: customer\n    text: |\n",
                f"  workaround:\n    audience: customer\n    text: |\n      {text}\n",
            )
        },
    )
    result = run_cli("rules", "check", str(rules))
    out = result.stdout + result.stderr
    line = _line_of(rules / "templates.yaml", "  workaround:") + 2  # its text:
    assert result.returncode != 0 and f"templates.yaml:{line}:" in out, out
    assert says in out


def test_a_bad_audience_is_named(tmp_path: Path):
    rules = _rules_with(
        tmp_path, {"templates.yaml": ("    audience: customer\n", "    audience: customers\n")}
    )
    result = run_cli("rules", "check", str(rules))
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "audience must be customer or internal" in out, out
    assert "templates.yaml:" in out


def test_the_default_rules_pass_the_check():
    result = run_cli("rules", "check", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------- empty placeholders (5)


def test_an_empty_bracketed_placeholder_is_left_out_cleanly():
    ruleset = load_rules(RULES)
    text = ruleset.templates["internal_escalation"].text
    base = escalated("zendesk", "7", "https://acme.zendesk.com/agent/tickets/7")
    decision = Decision("Technical", "High", escalation_level=2, escalation_name="Team lead")
    without = Ticket(**{**_fields(base), "organization": None})
    rendered = templates.render(text, without, decision)
    assert "()" not in rendered and "from Ivy Lee, High" in rendered, rendered
    assert "from Ivy Lee\n(Client Co), High" in templates.render(text, base, decision)
    assert templates.render("a [{organization.name}] b", without, decision) == "a b"
    assert templates.render("({organization.name})", without, decision) == ""
    # Only an empty value between its own brackets goes: other brackets stay.
    assert templates.render("x ({priority})", without, decision) == "x (High)"
    assert templates.render("x ({organization.name} y)", without, decision) == "x ( y)"
