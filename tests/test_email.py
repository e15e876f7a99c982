"""`notify: email:` actions sent over SMTP to the sandbox's recording server: once per ticket and
action (also across a restart and an SMTP outage), to the requester for `email:requester`,
permanent refusals failing with the address, and no password in the logs."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog

from connectors.email import EmailNotifier, message_id
from syncd import logs
from syncd.config import EmailConfig
from syncd.errors import TerminalError, TransientError
from syncd.model import Action, Decision, Person, Status, Ticket
from syncd.sandbox import EMAIL_SENDER, SMTP_PASSWORD, SMTP_USERNAME, Sandbox
from tests.conftest import RULES, Syncd, write_config

MANAGER, CTO = "support-manager@example.com", "cto@example.com"


def configure(
    tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, **email: Any
) -> Path:
    """The sandbox config, one attempt per call (an outage fails fast), email overrides."""
    for name, url in sandbox.slack_webhooks().items():
        monkeypatch.setenv(name, url)
    key = sandbox.write_service_account(tmp_path / "sa.json")
    data = sandbox.config(f"sqlite:///{tmp_path / 'state.db'}", str(RULES), key)
    data["notifications"]["email"].update(email)
    data["retry_attempts"] = 1
    data["circuit_breaker"] = {"probe_interval": "1s"}
    return write_config(tmp_path / "syncd.yaml", data)


def started(config_path: Path) -> Syncd:
    syncd = Syncd(config_path)
    syncd.setup()
    syncd.once()  # the first sync is a baseline: later changes notify
    return syncd


def add_breaches(sandbox: Sandbox, count: int) -> dict[str, str]:
    """Critical tickets created long ago and never answered (escalation levels 2-4 at once);
    ticket id -> requester email."""
    long_ago = datetime.now(UTC) - timedelta(days=3)
    ids = {}
    for n in range(count):
        ticket = sandbox.zendesk.add_ticket(
            subject=f"Production outage number {n}",
            requester_email=f"ops{n}@initech.example",
            requester_name=f"Olga Ops{n}",
            created_at=long_ago,
            updated_at=long_ago,
        )
        ids[str(ticket["id"])] = f"ops{n}@initech.example"
    return ids


def expected(requesters: dict[str, str]) -> Counter[str]:
    """One message per ticket and email action: requester (level 2), manager (3), CTO (4)."""
    wanted: Counter[str] = Counter(requesters.values())
    wanted.update({MANAGER: len(requesters), CTO: len(requesters)})
    return wanted


def recipients(sandbox: Sandbox) -> Counter[str]:
    return Counter(r for m in sandbox.smtp.messages() for r in m["recipients"])


def test_escalation_emails_go_once_per_ticket_and_action_also_across_a_restart(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    config_path = configure(tmp_path, sandbox, monkeypatch)
    syncd = started(config_path)
    requesters = add_breaches(sandbox, 3)
    report = syncd.once()
    assert report.actions_failed == 0
    assert recipients(sandbox) == expected(requesters)
    messages = sandbox.smtp.messages()
    assert all(m["sender"] == EMAIL_SENDER for m in messages)
    assert len({m["message_id"] for m in messages}) == len(messages), "one id per action"

    syncd.once()
    restarted = Syncd(config_path)  # a new process: only the state store remembers
    for ticket in sandbox.zendesk.tickets():
        sandbox.zendesk.update_ticket(ticket["id"], subject=ticket["subject"] + " (still)")
    again = restarted.once()
    assert again.pulled == 3 and again.actions_fired == 0
    assert sandbox.smtp.messages() == messages, "nobody is emailed twice"


def test_email_requester_goes_to_the_requester_with_the_text_and_the_link(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    syncd = started(configure(tmp_path, sandbox, monkeypatch))
    ((ticket_id, requester),) = add_breaches(sandbox, 1).items()
    syncd.once()
    (notice,) = [m for m in sandbox.smtp.messages() if m["recipients"] == [requester]]
    assert notice["headers"]["To"] == requester
    # A customer message (issue 14): the ticket reference, no "[syncd]", origin or level.
    assert notice["subject"] == f"[#{ticket_id}] Production outage number 0"
    assert "Hi Olga, your request" in notice["body"]  # the escalation_notice template
    # The helpdesk's customer link (Help Center), never the agents' one.
    assert notice["body"].strip().splitlines()[-1].endswith(f"/hc/requests/{ticket_id}")
    assert "/agent/" not in notice["body"]
    assert notice["message_id"].startswith("<syncd-") and notice["message_id"].endswith(
        "@acme.test>"
    )


def test_an_smtp_outage_fails_the_actions_and_they_are_sent_once_when_it_is_back(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    syncd = started(configure(tmp_path, sandbox, monkeypatch))
    requesters = add_breaches(sandbox, 2)
    sandbox.smtp.stop()
    down = syncd.once()
    assert down.actions_failed == 6 and sandbox.smtp.messages() == []
    assert len(sandbox.slack.messages()) == 4, "other actions are not held up"

    sandbox.smtp.start()  # same port
    time.sleep(1.1)  # five failed sends opened the circuit: the next probe is due
    back = syncd.once()
    assert back.actions_failed == 0 and back.actions_fired == 6
    assert recipients(sandbox) == expected(requesters)
    syncd.once()
    assert recipients(sandbox) == expected(requesters), "sent once"
    assert len(sandbox.slack.messages()) == 4


def test_a_login_is_used_and_the_password_never_logged(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    monkeypatch.setenv("SMTP_USER", SMTP_USERNAME)
    monkeypatch.setenv("SMTP_PASS", SMTP_PASSWORD)
    login = {"username_env": "SMTP_USER", "password_env": "SMTP_PASS"}
    logs.configure("debug", "json")
    try:
        syncd = started(configure(tmp_path, sandbox, monkeypatch, **login))
        add_breaches(sandbox, 1)
        assert syncd.once().actions_fired > 0
        assert sandbox.smtp.logins and len(sandbox.smtp.messages()) == 3

        wrong = "not-the-sandbox-password"
        monkeypatch.setenv("SMTP_PASS", wrong)
        other = tmp_path / "other"
        other.mkdir()
        syncd = started(configure(other, sandbox, monkeypatch, **login))
        add_breaches(sandbox, 1)
        failed = syncd.once()
        assert failed.actions_failed == 3 and len(sandbox.smtp.messages()) == 3
    finally:
        structlog.reset_defaults()
    err = capsys.readouterr().err
    assert "refused the login" in err
    assert SMTP_PASSWORD not in err and wrong not in err


TICKET = Ticket(
    id="42",
    source="zendesk",
    subject="Broken",
    description="",
    status=Status.OPEN,
    created_at=datetime(2025, 1, 1, tzinfo=UTC),
    updated_at=datetime(2025, 1, 1, tzinfo=UTC),
    requester=Person(id="7", name="Ann", email="ann@client.example"),
    url="https://acme.zendesk.com/agent/tickets/42",
)


def notifier(sandbox: Sandbox, **overrides: Any) -> EmailNotifier:
    config = EmailConfig(
        host=sandbox.smtp.host,
        port=sandbox.smtp.port,
        starttls=False,
        sender=EMAIL_SENDER,
        timeout=5,
        **overrides,
    )
    return EmailNotifier(config, attempts=1)


def action(target: str, key: str = "escalation:Standard:3:0") -> Action:
    return Action(key=key, kind="notify", origin="escalation level 3", target=f"email:{target}")


def test_targets_outcomes_and_errors(sandbox: Sandbox):
    email = notifier(sandbox)
    decision = Decision(category="Outage", priority="Critical")
    assert (
        email.deliver(TICKET, Action(key="k", kind="tag", tags=("x",), origin="o"), "", decision)
        is None
    )
    assert (
        email.deliver(TICKET, action("requester"), "Hello", decision)
        == "emailed ann@client.example"
    )
    anonymous = replace(TICKET, requester=None)
    outcome = email.deliver(anonymous, action("requester"), "Hello", decision)
    assert outcome == "skipped: the ticket has no requester email"
    (sent,) = sandbox.smtp.messages()
    assert sent["message_id"] == message_id(TICKET, action("requester"), EMAIL_SENDER)
    # To the requester: the customer link, not the agents' one (issue 14).
    assert sent["body"].strip() == "Hello\n\nhttps://acme.zendesk.com/hc/requests/42"

    sandbox.smtp.reject(CTO)
    with pytest.raises(TerminalError, match=CTO):
        email.deliver(TICKET, action(CTO), "Hello", decision)
    sandbox.smtp.stop()
    with pytest.raises(TransientError, match="cannot reach SMTP server"):
        email.deliver(TICKET, action(MANAGER), "Hello", decision)
