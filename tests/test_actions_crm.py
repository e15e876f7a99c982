"""The rules' actions carried out through the real notifiers against the sandbox: HubSpot tasks
and escalation notes, Slack messages and generic webhooks, each once per ticket and action,
also when the process dies halfway through a cycle or HubSpot lacks the ticket for a while."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from connectors.webhook import idempotency_key
from syncd.model import Action, Decision, Ticket
from syncd.notifiers import Notifiers
from syncd.sandbox import Sandbox
from tests.conftest import RULES, Syncd, write_config

LONG_AGO = timedelta(days=3)  # created then and never answered: levels 2, 3 and 4 at once
LEVELS = ("2", "3", "4")  # the default ladder's levels a long-breached Critical ticket reaches


@pytest.fixture
def fast(sandbox: Sandbox) -> Sandbox:
    """The sandbox without HubSpot's 10-second limit: 50 escalations cost ~300 requests,
    which real pacing (100 per 10 s) would spread over half a minute."""
    sandbox.hubspot.max_per_10s = None
    return sandbox


def configure(
    tmp_path: Path,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    rules: Path = RULES,
    **overrides: Any,
) -> Path:
    """A config pointing at the sandbox (as conftest's), with HubSpot pacing lifted."""
    for name, url in sandbox.slack_webhooks().items():
        monkeypatch.setenv(name, url)
    key = sandbox.write_service_account(tmp_path / "sa.json")
    data = sandbox.config(f"sqlite:///{tmp_path / 'state.db'}", str(rules), key)
    data["hubspot"]["requests_per_10s"] = 1000
    for section, values in overrides.items():
        if isinstance(values, dict):
            data.setdefault(section, {}).update(values)
        else:
            data[section] = values
    return write_config(tmp_path / "syncd.yaml", data)


def started(config_path: Path) -> Syncd:
    """A new syncd process (as far as state goes), with HubSpot set up."""
    syncd = Syncd(config_path)
    syncd.setup()
    return syncd


def add_breaches(sandbox: Sandbox, count: int, start: int = 0) -> list[str]:
    """Tickets created long ago and never answered; returns their ids."""
    long_ago = datetime.now(UTC) - LONG_AGO
    return [
        str(
            sandbox.zendesk.add_ticket(
                subject=f"Production outage number {n}",
                requester_email=f"ops{n}@initech.example",
                requester_name=f"Ops {n}",
                created_at=long_ago,
                updated_at=long_ago,
            )["id"]
        )
        for n in range(start, start + count)
    ]


def hubspot_id(sandbox: Sandbox, ticket_id: str) -> str:
    found = sandbox.hubspot.find("tickets", "helpdesk_ticket_id", ticket_id)
    assert found is not None, f"ticket {ticket_id} is not in HubSpot"
    return str(found["id"])


def activities(sandbox: Sandbox, kind: str) -> Counter[str]:
    """Tasks or notes per helpdesk ticket id, through their association with the ticket."""
    by_hubspot = {
        str(t["id"]): str(t["properties"]["helpdesk_ticket_id"])
        for t in sandbox.hubspot.objects("tickets")
    }
    counts: Counter[str] = Counter()
    for record in sandbox.hubspot.objects(kind):
        for linked in sandbox.hubspot.associations(kind, str(record["id"]), "tickets"):
            counts[by_hubspot[linked]] += 1
    return counts


def slack_per_ticket(sandbox: Sandbox, channel: str) -> Counter[str]:
    return Counter(
        m.group(1)
        for msg in sandbox.slack.messages(channel)
        if (m := re.search(r"#(\d+) ", msg["text"]))
    )


class Crash(BaseException):
    """The process dying: not an error the pipeline handles."""


def test_fifty_breaches_make_one_task_and_one_message_per_ticket_and_level_across_restarts(
    tmp_path: Path, fast: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path = configure(tmp_path, fast, monkeypatch)
    first = started(config_path)
    first.once()  # the first sync is a baseline: later changes notify
    tickets = add_breaches(fast, 25)
    half = first.once()  # half the breaches, a whole cycle
    assert (half.pulled, half.actions_failed) == (25, 0)
    tickets += add_breaches(fast, 25, start=25)

    second = started(config_path)  # a restart between cycles
    # The process dies in the 13th new ticket's level-4 action: after Slack #incidents got
    # the message, before HubSpot got the level's note.
    (combined,) = second.parts.notifiers
    assert isinstance(combined, Notifiers)
    hubspot = combined.companions[0]
    annotated: list[str] = []
    write = hubspot.annotate

    def dying(ticket: Ticket, action: Action, text: str, decision: Decision) -> str:
        annotated.append(ticket.id)
        if len(annotated) > 12 * len(LEVELS) + 2:
            raise Crash
        return write(ticket, action, text, decision)

    monkeypatch.setattr(hubspot, "annotate", dying)
    with pytest.raises(Crash):
        second.once()
    victim = annotated[-1]
    assert slack_per_ticket(fast, "#incidents")[victim] == 1
    assert activities(fast, "notes")[victim] == 2

    third = started(config_path)  # a restart after the crash: the cycle runs again
    done = third.once()
    assert done.actions_failed == 0 and done.pulled == 25  # the cursor had not moved

    expected = Counter({ticket: 1 for ticket in tickets})
    assert activities(fast, "tasks") == expected
    for task in fast.hubspot.objects("tasks"):  # each linked to its requester's contact
        (contact,) = fast.hubspot.associations("tasks", str(task["id"]), "contacts")
        (crm_ticket,) = fast.hubspot.associations("tasks", str(task["id"]), "tickets")
        assert fast.hubspot.associations("tickets", crm_ticket, "contacts") == [contact]
    assert activities(fast, "notes") == Counter({t: len(LEVELS) for t in tickets})
    assert slack_per_ticket(fast, "#support-escalations") == expected  # level 2
    assert slack_per_ticket(fast, "#incidents") == expected  # level 4

    # Every ticket changes in the helpdesk, and syncd restarts once more: nothing is repeated.
    for ticket in fast.zendesk.tickets():
        fast.zendesk.update_ticket(ticket["id"], subject=ticket["subject"] + " (still)")
    again = started(config_path).once()
    assert again.pulled == 50 and again.actions_fired == 0
    assert activities(fast, "tasks") == expected
    assert activities(fast, "notes") == Counter({t: len(LEVELS) for t in tickets})
    assert len(fast.slack.messages()) == 100


def test_a_task_has_its_owner_due_date_and_links_and_each_level_a_note(
    tmp_path: Path, fast: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sink writes tickets only: the requester's contact is found by email, when it exists.
    only_tickets = {"contacts": False, "companies": False}
    syncd = started(configure(tmp_path, fast, monkeypatch, hubspot=only_tickets))
    syncd.once()
    contact = fast.hubspot.add("contacts", {"email": "ops0@initech.example", "firstname": "Ops"})
    (with_contact,) = add_breaches(fast, 1)
    (without_contact,) = add_breaches(fast, 1, start=1)  # HubSpot has no such contact yet
    fast.reset_counts()
    before = datetime.now(UTC)
    report = syncd.once()
    after = datetime.now(UTC)
    assert report.actions_failed == 0

    lead = next(o for o in fast.hubspot.owners.owners if o.email == "team-lead@example.com")
    for ticket, contacts in ((with_contact, [str(contact["id"])]), (without_contact, [])):
        crm_ticket = hubspot_id(fast, ticket)
        (task_id,) = fast.hubspot.associations("tickets", crm_ticket, "tasks")
        task = next(t for t in fast.hubspot.objects("tasks") if t["id"] == task_id)
        props = task["properties"]
        assert props["hs_task_subject"].startswith(f"Review escalated ticket #{ticket}: ")
        assert props["hubspot_owner_id"] == lead.id
        assert (props["hs_task_status"], props["hs_task_priority"]) == ("NOT_STARTED", "HIGH")
        due = datetime.fromisoformat(props["hs_timestamp"].replace("Z", "+00:00"))
        assert before + timedelta(hours=2, seconds=-1) <= due <= after + timedelta(hours=2)
        assert fast.hubspot.associations("tasks", task_id, "contacts") == contacts

        notes = fast.hubspot.associations("tickets", crm_ticket, "notes")
        bodies = [
            n["properties"]["hs_note_body"]
            for n in fast.hubspot.objects("notes")
            if n["id"] in notes
        ]
        titles = sorted(re.search(r"<strong>(.*?)</strong>", b).group(1) for b in bodies)
        assert titles == [
            "Escalation level 2 (Team lead) reached",
            "Escalation level 3 (Support manager) reached",
            "Escalation level 4 (CTO/Founder) reached",
        ]
        assert all(f"#{ticket}" in b for b in bodies), "each note says what was sent"

    # Requests for two tickets' actions: per ticket one lookup of its HubSpot id (and
    # contacts), one of the requester's contact by email, one task and three notes; the
    # owner is looked up once.
    requests = Counter(
        (method, re.sub(r"/(\d+|[^/]*(@|%40)[^/]*)$", "/{id}", path))
        for api, method, path, _ in fast.server.log
        if api == "hubspot" and "/batch/" not in path
    )
    assert requests == {
        ("GET", "/crm/v3/objects/tickets/{id}"): 2,
        ("GET", "/crm/v3/objects/contacts/{id}"): 2,
        ("GET", "/crm/v3/owners/"): 1,
        ("POST", "/crm/v3/objects/tasks"): 2,
        ("POST", "/crm/v3/objects/notes"): 6,
    }


def test_a_task_whose_ticket_is_not_in_hubspot_yet_waits_for_it(
    tmp_path: Path, fast: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path = configure(tmp_path, fast, monkeypatch)
    syncd = started(config_path)
    syncd.once()
    (ticket,) = add_breaches(fast, 1)
    syncd.parts.sinks = [s for s in syncd.parts.sinks if s.name != "hubspot"]  # HubSpot lags
    lagging = syncd.once()
    assert lagging.actions_failed == 4  # the task, and the three levels' notes
    assert fast.hubspot.objects("tasks") == [] and fast.hubspot.objects("notes") == []
    assert slack_per_ticket(fast, "#incidents") == {ticket: 1}, "Slack does not wait for HubSpot"

    restarted = started(config_path)  # also across a restart: the state store remembers
    caught_up = restarted.once()  # the ticket is due again at once; the sink writes it first
    assert (caught_up.timers, caught_up.actions_failed) == (1, 0)
    assert activities(fast, "tasks") == {ticket: 1}
    assert activities(fast, "notes") == {ticket: len(LEVELS)}
    assert slack_per_ticket(fast, "#support-escalations") == {ticket: 1}
    assert slack_per_ticket(fast, "#incidents") == {ticket: 1}, "not posted again"
    assert restarted.once().actions_fired == 0


def edited_rules(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the default rules with one edit in escalation.yaml."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    escalation = rules / "escalation.yaml"
    text = escalation.read_text()
    assert text.count(old) == 1
    escalation.write_text(text.replace(old, new))
    return rules


def test_a_webhook_action_posts_once_with_an_idempotency_key(
    tmp_path: Path, fast: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    level_4 = '          - notify: "slack:#incidents"\n            template: internal_escalation\n'
    webhook = '          - notify: "webhook:oncall"\n            template: internal_escalation\n'
    rules = edited_rules(tmp_path, level_4, level_4 + webhook)
    monkeypatch.setenv("ONCALL_WEBHOOK_URL", fast.url + fast.webhooks.path("oncall"))
    config_path = configure(
        tmp_path,
        fast,
        monkeypatch,
        rules,
        notifications={"webhooks": {"oncall": "ONCALL_WEBHOOK_URL"}},
        retry_attempts=2,
    )
    syncd = started(config_path)
    syncd.once()
    (first,) = add_breaches(fast, 1)
    assert syncd.once().actions_failed == 0
    (delivery,) = fast.webhooks.deliveries("oncall")
    body = delivery["body"]
    assert body["ticket_id"] == first and body["escalation_level"] == 4
    assert body["action_key"] == "escalation:Standard:4:1"
    assert body["origin"] == "escalation level 4 (CTO/Founder)"
    assert body["subject"] == "Production outage number 0" and body["url"]
    assert (body["priority"], body["category"], body["sla_state"]) == (
        "Critical",
        "Technical",
        "breached",
    )
    ticket = syncd.parts.store.ticket(first)
    assert ticket is not None
    action = Action(key="escalation:Standard:4:1", kind="notify", origin="")
    assert delivery["headers"]["idempotency-key"] == idempotency_key(ticket, action)

    # The receiver is down for a cycle: the action fails, and is sent once when it is back.
    (second,) = add_breaches(fast, 1, start=1)
    fast.faults.outage = {"webhooks"}
    assert syncd.once().actions_failed == 1
    fast.faults.outage = set()
    assert syncd.once().actions_failed == 0
    assert [d["body"]["ticket_id"] for d in fast.webhooks.deliveries("oncall")] == [first, second]
    assert slack_per_ticket(fast, "#incidents") == {first: 1, second: 1}


def test_a_task_for_an_owner_hubspot_does_not_know_is_left_unassigned(
    tmp_path: Path, fast: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = edited_rules(tmp_path, "owner: team-lead@example.com", "owner: nobody@example.com")
    syncd = started(configure(tmp_path, fast, monkeypatch, rules))
    syncd.once()
    add_breaches(fast, 2)
    with capture_logs() as logs:
        report = syncd.once()
    assert report.actions_failed == 0
    tasks = fast.hubspot.objects("tasks")
    assert len(tasks) == 2
    assert all(not t["properties"].get("hubspot_owner_id") for t in tasks)
    unknown = [e for e in logs if e["event"].startswith("task owner unknown")]
    assert len(unknown) == 1 and unknown[0]["owner"] == "nobody@example.com"
