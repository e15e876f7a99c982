"""Acknowledgment and intake in the pipeline (issue 16, item 3): a new ticket gets the SOP's
receipt once, by email in its thread (or as a public reply with write-back), a Technical one
lacking its account, product area or steps is asked for them; tickets of the first sync and
of a backfill are recorded, never messaged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from syncd.backfill import run_backfill
from syncd.sandbox import Sandbox
from tests.conftest import Syncd, write_config

RECEIPT = "thank you for contacting us"
ASKS = "few details"


def _mail_to(sandbox: Sandbox, address: str) -> list[dict[str, Any]]:
    return [m for m in sandbox.smtp.messages(repeats=False) if address in m["recipients"]]


def test_a_new_ticket_is_acknowledged_once_and_old_ones_never(
    sandbox: Sandbox, syncd: Syncd, config_path: Path
):
    old = datetime.now(UTC) - timedelta(hours=2)
    sandbox.zendesk.add_ticket(
        subject="Question about my March invoice",
        requester_email="old@initech.example",
        created_at=old,
        updated_at=old,
    )
    first = syncd.once()  # the first sync: a baseline, recorded and not sent
    assert first.pulled == 1 and first.actions_fired == 0
    assert _mail_to(sandbox, "old@initech.example") == []

    sandbox.zendesk.add_ticket(
        subject="Question about my March invoice",
        description="Which VAT rate did you apply?",
        requester_email="ann@initech.example",
        requester_name="Ann Lee",
        organization="Initech",
    )
    syncd.once()
    (mail,) = _mail_to(sandbox, "ann@initech.example")
    assert RECEIPT in mail["body"] and mail["body"].startswith("Hi Ann,")
    assert "[syncd]" not in mail["subject"]

    syncd.once()
    for ticket in sandbox.zendesk.tickets():  # a change brings it back: still once
        sandbox.zendesk.update_ticket(ticket["id"], subject=ticket["subject"] + " (more)")
    restarted = Syncd(config_path)
    restarted.once()
    assert len(_mail_to(sandbox, "ann@initech.example")) == 1
    assert _mail_to(sandbox, "old@initech.example") == []


def test_a_technical_ticket_without_account_or_steps_is_asked_for_them(
    sandbox: Sandbox, config_path: Path
):
    syncd = Syncd(config_path)
    syncd.setup()
    syncd.once()
    sandbox.zendesk.add_ticket(
        subject="The reports page is broken", requester_email="bo@nowhere.example"
    )
    syncd.once()
    bodies = [m["body"] for m in _mail_to(sandbox, "bo@nowhere.example")]
    assert len(bodies) == 2
    assert any(RECEIPT in b for b in bodies) and any(ASKS in b for b in bodies)
    asked = next(b for b in bodies if ASKS in b)
    assert "account" in asked and "steps" in asked and "part of the product" in asked


def test_a_backfill_never_acknowledges(sandbox: Sandbox, config_path: Path):
    recent = datetime.now(UTC) - timedelta(minutes=30)
    for n in range(5):
        sandbox.zendesk.add_ticket(
            subject=f"The reports page is broken {n}",
            requester_email=f"r{n}@initech.example",
            created_at=recent,
            updated_at=recent,
        )
    syncd = Syncd(config_path)
    syncd.setup()  # as the README's steps have it: HubSpot's properties first
    done = run_backfill(syncd.parts, datetime.now(UTC) - timedelta(days=1), batch=50)
    assert done.finished
    assert sandbox.smtp.messages() == []
    # The daemon's first cycle after it finds them recorded: still nothing is sent.
    Syncd(config_path).once()
    assert sandbox.smtp.messages() == []


def test_with_write_back_the_receipt_is_a_public_reply(sandbox: Sandbox, config_path: Path):
    data = YAML(typ="safe").load(config_path.read_text())
    data["helpdesk"]["write_back"] = True
    path = write_config(config_path, data)
    syncd = Syncd(path)
    syncd.setup()
    syncd.once()
    ticket = sandbox.zendesk.add_ticket(
        subject="Question about my March invoice",
        requester_email="cy@initech.example",
        requester_name="Cy Young",
        organization="Initech",
    )
    syncd.once()
    syncd.once()
    replies = [
        c
        for c in sandbox.zendesk.comments(ticket["id"])
        if c["author_id"] == sandbox.zendesk.me["id"]
    ]
    assert len(replies) == 1 and replies[0]["public"] and RECEIPT in replies[0]["body"]
    assert _mail_to(sandbox, "cy@initech.example") == []
