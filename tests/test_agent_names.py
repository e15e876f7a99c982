"""Agents and groups by name (issue 14, point 3): the sheet's Assignee column shows the
agent's name for both helpdesks (Zendesk: the export's `users` sideload holds the assignees,
`groups` the groups; Freshdesk: List All Agents and List All Groups, read once per process and
again when an unknown id appears), and the Group column the group's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.groups import NameDirectory
from syncd.sandbox import FRESHDESK_API_KEY, SPREADSHEET_ID, Sandbox, freshdesk_data, zendesk_data
from syncd.sheet_columns import DEFAULT_COLUMNS
from tests.conftest import RULES, Syncd, write_config


def _syncd(kind: str, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Syncd:
    for name, url in sandbox.slack_webhooks().items():
        monkeypatch.setenv(name, url)
    monkeypatch.setenv("FRESHDESK_API_KEY", FRESHDESK_API_KEY)
    key = sandbox.write_service_account(tmp_path / "sa.json")
    data = sandbox.config(f"sqlite:///{tmp_path / 'state.db'}", str(RULES), key, helpdesk=kind)
    data["sheets"]["columns"] = [*DEFAULT_COLUMNS, "group"]
    syncd = Syncd(write_config(tmp_path / "syncd.yaml", data))
    syncd.setup()
    return syncd


def _rows(sandbox: Sandbox) -> dict[str, dict[str, str]]:
    rows = sandbox.sheets.values(SPREADSHEET_ID, "Tickets")
    header = rows[0]
    return {r[0]: dict(zip(header, r, strict=False)) for r in rows[1:]}


def _served(sandbox: Sandbox, path: str) -> int:
    with sandbox.server.lock:
        return sum(1 for _api, method, p, _s in sandbox.server.log if p.startswith(path))


def test_the_sheet_names_zendesk_agents_and_groups(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    syncd = _syncd("zendesk", sandbox, tmp_path, monkeypatch)
    agent = sandbox.zendesk.add_user("Ivy Agent", "ivy.agent@acme.test", role="agent")
    assigned = sandbox.zendesk.add_ticket(
        subject="Invoice wrong",
        requester_email="a@client.example",
        assignee_id=agent["id"],
        group_id=zendesk_data.GROUPS["billing"],
    )
    unassigned = sandbox.zendesk.add_ticket(subject="Hello", requester_email="b@client.example")
    sandbox.reset_counts()
    syncd.once()
    rows = _rows(sandbox)
    assert rows[str(assigned["id"])]["Assignee"] == "Ivy Agent"
    assert rows[str(assigned["id"])]["Group"] == "Billing"
    assert rows[str(unassigned["id"])]["Assignee"] == ""
    # Names ride along the export (sideloads): no request of their own.
    assert _served(sandbox, "/api/v2/users") == 0 and _served(sandbox, "/api/v2/groups") == 0


def test_the_sheet_names_freshdesk_agents_and_groups_read_once_per_process(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    syncd = _syncd("freshdesk", sandbox, tmp_path, monkeypatch)
    (sam, alex) = freshdesk_data.AGENTS[0], freshdesk_data.AGENTS[1]
    billing = freshdesk_data.GROUPS["Billing"]
    first = sandbox.freshdesk.add_ticket(
        "Invoice wrong", "", "a@client.example", "Ann", responder_id=alex[0], group_id=billing
    )
    second = sandbox.freshdesk.add_ticket(
        "Login broken", "", "b@client.example", "Bob", responder_id=sam[0]
    )
    nobody = sandbox.freshdesk.add_ticket("Hello", "", "c@client.example", "Cy")
    sandbox.reset_counts()
    syncd.once()
    rows = _rows(sandbox)
    assert rows[str(first["id"])]["Assignee"] == alex[1]
    assert rows[str(first["id"])]["Group"] == "Billing"
    assert rows[str(second["id"])]["Assignee"] == sam[1]
    assert rows[str(nobody["id"])]["Assignee"] == ""
    assert _served(sandbox, "/api/v2/agents") == 1 and _served(sandbox, "/api/v2/groups") == 1

    sandbox.freshdesk.update_ticket(second["id"], responder_id=alex[0])
    syncd.once()
    assert _rows(sandbox)[str(second["id"])]["Assignee"] == alex[1]
    assert _served(sandbox, "/api/v2/agents") == 1, "read once per process, cached"


def test_an_unknown_id_lists_again_at_most_every_ttl():
    listed: list[int] = []
    names = {"1": "Sam"}
    now = [0.0]

    def list_names() -> dict[str, str]:
        listed.append(1)
        return dict(names)

    directory = NameDirectory(list_names, ttl=300, clock=lambda: now[0])
    assert directory.name(None) == "" and listed == []
    assert directory.name("1") == "Sam" and len(listed) == 1
    assert directory.name("1") == "Sam" and len(listed) == 1
    names["2"] = "Alex"  # an agent added later
    assert directory.name("2") == "" and len(listed) == 1  # listed a moment ago
    now[0] = 301
    assert directory.name("2") == "Alex" and len(listed) == 2
    assert directory.name("3") == "" and len(listed) == 2
