"""Helpdesk write-back (helpdesk.write_back): the rules' `tag:` actions become tags on the
helpdesk ticket, once per ticket and action, and syncd's own update starts no loop."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from connectors.freshdesk_writeback import FreshdeskWriteBack
from connectors.zendesk_writeback import ZendeskWriteBack
from syncd.config import FreshdeskConfig, ZendeskConfig
from syncd.model import Action, Decision, Status, Ticket
from syncd.registry import HELPDESKS
from syncd.sandbox import FRESHDESK_API_KEY, ZENDESK_EMAIL, ZENDESK_TOKEN, Sandbox
from syncd.state import schema
from tests.conftest import RULES, Syncd, write_config

# Every registered helpdesk that can be written back to (syncd.registry).
WRITERS = [kind for kind, entry in HELPDESKS.items() if entry.write_back is not None]
TICKETS = 3
CYCLES = 100
WRITES = ("PUT", "POST")  # Freshdesk's public reply is a POST (issue 14)


def _syncd(
    kind: str,
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    write_back: bool,
    rules: Path = RULES,
) -> Syncd:
    for name, url in sandbox.slack_webhooks().items():
        monkeypatch.setenv(name, url)
    monkeypatch.setenv("FRESHDESK_API_KEY", FRESHDESK_API_KEY)
    key = sandbox.write_service_account(tmp_path / "sa.json")
    data = sandbox.config(f"sqlite:///{tmp_path / 'state.db'}", str(rules), key, helpdesk=kind)
    if write_back:
        data["helpdesk"]["write_back"] = True
    syncd = Syncd(write_config(tmp_path / "syncd.yaml", data))
    syncd.setup()
    return syncd


def _breaching_tickets(kind: str, sandbox: Sandbox) -> list[int]:
    """Tickets three days old, never answered: escalation level 2 (`tag: escalated`)."""
    long_ago = datetime.now(UTC) - timedelta(days=3)
    ids = []
    for n in range(TICKETS):
        subject, email = f"Production outage number {n}", f"ops{n}@initech.example"
        if kind == "zendesk":
            ticket = sandbox.zendesk.add_ticket(
                subject=subject, requester_email=email, created_at=long_ago, updated_at=long_ago
            )
        else:
            ticket = sandbox.freshdesk.add_ticket(
                subject, "", email, f"Ops {n}", created_at=long_ago, updated_at=long_ago
            )
        ids.append(ticket["id"])
    return ids


def _tags(kind: str, sandbox: Sandbox, ticket_id: int) -> list[str]:
    app: Any = sandbox.zendesk if kind == "zendesk" else sandbox.freshdesk
    (ticket,) = [t for t in app.tickets() if t["id"] == ticket_id]
    return list(ticket["tags"])


def _requests(sandbox: Sandbox) -> Counter[str]:
    """Requests served so far, per API, with helpdesk writes counted apart ("<api> PUT")."""
    with sandbox.server.lock:
        log = list(sandbox.server.log)
    return Counter(f"{api} {method}" if method in WRITES else api for api, method, _p, _s in log)


def _tag_actions(syncd: Syncd) -> list[dict[str, Any]]:
    table = schema.fired_actions
    with syncd.parts.store.engine.connect() as conn:
        rows = conn.execute(select(table).where(table.c.kind == "tag"))
        return [dict(row._mapping) for row in rows]


@pytest.mark.parametrize("kind", WRITERS)
def test_write_back_tags_each_ticket_once_and_makes_no_loop(
    kind: str, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    syncd = _syncd(kind, sandbox, tmp_path, monkeypatch, write_back=True)
    now = datetime.now(UTC).replace(microsecond=0)
    syncd.once(at=now)  # the first sync is a baseline: later changes act
    ids = _breaching_tickets(kind, sandbox)
    sandbox.reset_counts()

    per_cycle: list[Counter[str]] = []
    before = _requests(sandbox)
    reports = []
    for _ in range(CYCLES):
        report = syncd.once(at=now)
        assert report.actions_failed == 0 and not report.failed_sinks
        reports.append(report)
        after = _requests(sandbox)
        per_cycle.append(after - before)
        before = after

    actions = _tag_actions(syncd)
    assert len(actions) == TICKETS, "one tag action (escalation level 2) per ticket"
    assert all(a["outcome"].startswith(f"tagged in {kind.title()}") for a in actions), actions
    for ticket_id in ids:
        tags = _tags(kind, sandbox, ticket_id)
        assert "escalated" in tags and "syncd" in tags, tags
    # Level 2 also tells the requester: a public reply on the ticket (issue 14), one write.
    written = [c[f"{kind} PUT"] + c[f"{kind} POST"] for c in per_cycle]
    assert sum(written) == 2 * len(actions), "exactly one helpdesk write per ticket and action"
    assert written[0] == 2 * len(actions), "all of them in the first cycle"
    # The second cycle pulls the tickets syncd updated once more and sends the sinks the new
    # tags; from then on a cycle costs the source's polling and nothing else. (Freshdesk's
    # emulator sets a ticket's escalation flags when a due time passes, without a write by
    # anyone: a new version of the ticket that the source rightly reads once more, at no
    # extra request, and that the sinks already hold.)
    assert (reports[1].pulled, reports[1].actions_fired) == (TICKETS, 0)
    assert written[1] == 0 and per_cycle[1]["sheets"] > 0  # the Tags column
    settled = per_cycle[2:]
    assert all(c == settled[0] for c in settled), "request counters flat after settling"
    assert set(settled[0]) == {kind}, settled[0]  # only the source's own polling (GETs)
    assert all(r.actions_fired == 0 and r.changed == 0 for r in reports[2:])
    assert sum(r.pulled for r in reports[2:]) <= TICKETS, [r.pulled for r in reports]
    assert len(sandbox.slack.messages()) == 2 * TICKETS, "each alert sent once"


def _rules_setting_priority_and_group(tmp_path: Path) -> Path:
    """The default rules, with level 2 of the ladder also raising the helpdesk priority and
    handing the ticket to Engineering (and to a group the helpdesk does not have)."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    ladder = rules / "escalation.yaml"
    text = ladder.read_text()
    level_2 = "          - tag: escalated\n"
    assert text.count(level_2) == 1
    ladder.write_text(
        text.replace(
            level_2,
            level_2
            + "          - set_priority: urgent\n"
            + "          - set_group: Engineering\n"
            + "          - set_group: Night shift\n",
        )
    )
    return rules


def _fired(syncd: Syncd, kind: str) -> list[dict[str, Any]]:
    table = schema.fired_actions
    with syncd.parts.store.engine.connect() as conn:
        rows = conn.execute(select(table).where(table.c.kind == kind))
        return [dict(row._mapping) for row in rows]


@pytest.mark.parametrize("kind", WRITERS)
def test_write_back_sets_priority_and_group_once_and_makes_no_loop(
    kind: str, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    rules = _rules_setting_priority_and_group(tmp_path)
    syncd = _syncd(kind, sandbox, tmp_path, monkeypatch, write_back=True, rules=rules)
    now = datetime.now(UTC).replace(microsecond=0)
    syncd.once(at=now)  # baseline
    ids = _breaching_tickets(kind, sandbox)
    sandbox.reset_counts()
    per_cycle: list[Counter[str]] = []
    before = _requests(sandbox)
    for _ in range(30):
        report = syncd.once(at=now)
        assert report.actions_failed == 0 and not report.failed_sinks
        after = _requests(sandbox)
        per_cycle.append(after - before)
        before = after

    app: Any = sandbox.zendesk if kind == "zendesk" else sandbox.freshdesk
    tickets = {t["id"]: t for t in app.tickets() if t["id"] in ids}
    engineering = 360_000_100_003 if kind == "zendesk" else 44_000_000_003
    urgent = "urgent" if kind == "zendesk" else 4
    for ticket in tickets.values():
        assert ticket["priority"] == urgent and ticket["group_id"] == engineering, ticket
        assert {"escalated", "syncd"} <= set(ticket["tags"])
    priority = _fired(syncd, "set_priority")
    assert [a["outcome"] for a in priority] == [f"priority set to urgent in {kind.title()}"] * 3
    groups = sorted(_fired(syncd, "set_group"), key=lambda a: a["target"])
    outcomes = [a["outcome"] for a in groups]
    assert outcomes[:3] == [f"assigned to group Engineering in {kind.title()}"] * 3
    assert all(
        o.startswith(f"skipped: no {kind.title()} group named 'Night shift' (set_group at ")
        and "escalation.yaml:" in o
        for o in outcomes[3:]
    ), outcomes
    # One update per ticket and action that changes something (tag, priority, group), all in
    # the first cycle, and the public reply to the requester (issue 14); the groups are
    # listed once for the whole run.
    written = [c[f"{kind} PUT"] + c[f"{kind} POST"] for c in per_cycle]
    assert sum(written) == 4 * TICKETS
    assert written[0] == 4 * TICKETS
    settled = per_cycle[2:]
    assert all(c == settled[0] for c in settled), "request counters flat after settling"
    assert set(settled[0]) == {kind}, settled[0]  # only the source's own polling


@pytest.mark.parametrize("kind", WRITERS)
def test_without_write_back_tag_actions_are_skipped_and_the_helpdesk_is_only_read(
    kind: str, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    syncd = _syncd(kind, sandbox, tmp_path, monkeypatch, write_back=False)
    assert syncd.config.helpdesk.write_back is False  # the default
    now = datetime.now(UTC).replace(microsecond=0)
    syncd.once(at=now)
    ids = _breaching_tickets(kind, sandbox)
    sandbox.reset_counts()
    for _ in range(3):
        syncd.once(at=now)
    actions = _tag_actions(syncd)
    assert len(actions) == TICKETS
    assert all(a["outcome"].startswith("skipped: nothing configured") for a in actions), actions
    assert _requests(sandbox)[f"{kind} PUT"] == 0
    for ticket_id in ids:
        assert "syncd" not in _tags(kind, sandbox, ticket_id)


def _ticket(kind: str, ticket_id: int, tags: tuple[str, ...] = ()) -> Ticket:
    at = datetime.now(UTC)
    return Ticket(str(ticket_id), kind, "Outage", "", Status.OPEN, at, at, tags=tags)


TAG = Action(key="escalation:Standard:2:2", kind="tag", origin="level 2", tags=("escalated",))
DECISION = Decision(category="Technical", priority="High")


def test_zendesk_write_back_retries_429s_and_skips_what_is_already_there(sandbox: Sandbox):
    ticket = sandbox.zendesk.add_ticket(subject="Outage", requester_email="a@b.example")
    config = ZendeskConfig(subdomain="acme", email=ZENDESK_EMAIL, base_url=sandbox.url)
    writer = ZendeskWriteBack(config, ZENDESK_TOKEN, attempts=10)
    sandbox.faults.only, sandbox.faults.retry_after, sandbox.faults.rate = {"zendesk"}, 0, 0.6
    outcome = writer.deliver(_ticket("zendesk", ticket["id"]), TAG, "", DECISION)
    sandbox.faults.rate = 0.0
    assert outcome == "tagged in Zendesk: escalated, syncd"
    assert {"escalated", "syncd"} <= set(_tags("zendesk", sandbox, ticket["id"]))
    sandbox.reset_counts()
    tagged = _ticket("zendesk", ticket["id"], ("escalated", "syncd"))
    assert writer.deliver(tagged, TAG, "", DECISION).startswith("tags already on")
    gone = replace(_ticket("zendesk", ticket["id"]), status=Status.CLOSED)
    assert writer.deliver(gone, TAG, "", DECISION).startswith("skipped: Zendesk ticket is closed")
    notify = replace(TAG, kind="notify", target="slack:#support", tags=())
    assert writer.deliver(_ticket("zendesk", ticket["id"]), notify, "", DECISION) is None
    assert sandbox.counts() == {}, "nothing sent"


def test_freshdesk_write_back_keeps_the_tickets_tags(sandbox: Sandbox):
    ticket = sandbox.freshdesk.add_ticket("Outage", "", "a@b.example", "A", tags=["vip"])
    config = FreshdeskConfig(kind="freshdesk", domain="acme", base_url=sandbox.url)
    writer = FreshdeskWriteBack(config, FRESHDESK_API_KEY)
    outcome = writer.deliver(_ticket("freshdesk", ticket["id"]), TAG, "", DECISION)
    assert outcome == "tagged in Freshdesk: escalated, syncd"
    assert _tags("freshdesk", sandbox, ticket["id"]) == ["vip", "escalated", "syncd"]
    assert [m for _a, m, _p, _s in sandbox.server.log] == ["GET", "PUT"]
    other = sandbox.freshdesk.add_ticket("Spam", "", "s@b.example", "S")
    sandbox.freshdesk.delete_ticket(other["id"])  # after syncd pulled it
    outcome = writer.deliver(_ticket("freshdesk", other["id"]), TAG, "", DECISION)
    assert outcome == f"skipped: Freshdesk ticket {other['id']} is deleted or spam"
    assert _tags("freshdesk", sandbox, other["id"]) == []
