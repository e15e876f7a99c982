"""Issue 17, item 3: HubSpot at its request floor, pinned by counting the sandbox's requests.

The floor of a first sync is computed from the counts alone: tickets, contacts and companies
at 100 a batch (the objects' batch limit), a company search per 100 new domains (to adopt
companies HubSpot made itself), and associations at 2,000 a batch (the v4 batch create limit,
which the sandbox enforces). A cycle where known tickets changed but their requesters and
organizations did not costs the ticket upserts and nothing else, in this process or after a
restart (the state store remembers contacts, companies and associations).

Everything runs the real sink and hubspot-api-client over real HTTP against the emulator.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from syncd.sandbox import Sandbox
from syncd.state import open_store
from tests.conftest import Syncd
from tests.test_crm_associations import by_property, hubspot_requests, hubspot_ticket

ASSOCIATIONS_PER_REQUEST = 2000  # HubSpot's v4 batch create limit
OBJECTS_PER_REQUEST = 100  # HubSpot's object batch limit
DOMAINS_PER_SEARCH = 100  # one IN filter of the company search


def floor(tickets: int, requesters: int, organizations: int) -> int:
    """HubSpot requests of a first sync, from the counts (organizations all with domains)."""
    return (
        math.ceil(tickets / OBJECTS_PER_REQUEST)
        + math.ceil(requesters / OBJECTS_PER_REQUEST)
        + math.ceil(organizations / OBJECTS_PER_REQUEST)
        + math.ceil(organizations / DOMAINS_PER_SEARCH)
        + 2 * math.ceil(tickets / ASSOCIATIONS_PER_REQUEST)  # contacts, companies
    )


def add_tickets(sandbox: Sandbox, tickets: int, requesters: int, organizations: int) -> list[int]:
    """`tickets` tickets; requester r files tickets r, r + requesters, ... and works for
    organization r % organizations."""
    ids = []
    for i in range(tickets):
        r = i % requesters
        org = r % organizations
        ticket = sandbox.zendesk.add_ticket(
            subject=f"Order {i} has not arrived",
            requester_email=f"user{r}@org{org}.example",
            requester_name=f"Requester {r}",
            organization=f"Organization {org}",
        )
        ids.append(ticket["id"])
    return ids


def test_first_sync_costs_the_floor_then_ten_changes_cost_one_request(
    sandbox: Sandbox, syncd: Syncd, config_path: Path
) -> None:
    n, c, k = 400, 60, 12
    ids = add_tickets(sandbox, n, c, k)
    first = syncd.once()
    assert first.errors == 0 and first.sinks["hubspot"].written == n
    calls = Counter(hubspot_requests(sandbox))
    assert sum(calls.values()) == floor(n, c, k) == 4 + 1 + 1 + 1 + 2, calls

    # Ten known tickets change; their requesters and organizations do not.
    for ticket_id in ids[:10]:
        sandbox.zendesk.update_ticket(ticket_id, status="pending")
    sandbox.reset_counts()
    assert syncd.once().errors == 0
    assert hubspot_requests(sandbox) == ["POST /crm/v3/objects/tickets/batch/upsert"]

    # The same after a restart: a new process with the same state reads nothing again and
    # creates nothing twice.
    for ticket_id in ids[10:20]:
        sandbox.zendesk.update_ticket(ticket_id, subject="Still waiting")
    sandbox.reset_counts()
    restarted = Syncd(config_path)
    report = restarted.once()
    assert report.errors == 0 and report.sinks["hubspot"].written == 10
    assert hubspot_requests(sandbox) == ["POST /crm/v3/objects/tickets/batch/upsert"]
    assert len(sandbox.hubspot.objects("contacts")) == c
    assert len(sandbox.hubspot.objects("companies")) == k
    for ticket_id in ids[:20]:
        hs = hubspot_ticket(sandbox, ticket_id)["id"]
        assert len(sandbox.hubspot.associations("tickets", hs, "contacts")) == 1
        assert len(sandbox.hubspot.associations("tickets", hs, "companies")) == 1


def test_a_renamed_requester_updates_the_contact_and_keeps_the_association(
    sandbox: Sandbox, syncd: Syncd, config_path: Path
) -> None:
    user = sandbox.zendesk.add_user("Jo Doe", "jo@acme.example")
    ticket = sandbox.zendesk.add_ticket(
        subject="Invoice", requester_id=user["id"], organization="Acme"
    )["id"]
    assert syncd.once().errors == 0
    contact = sandbox.hubspot.find("contacts", "email", "jo@acme.example")
    assert contact is not None

    # Renamed in Zendesk (the emulator has no users endpoint for it: its record is changed).
    with sandbox.zendesk._lock:
        sandbox.zendesk._users[user["id"]]["name"] = "Joanna Doe"
    sandbox.zendesk.update_ticket(ticket, status="pending")  # the export carries it again
    sandbox.reset_counts()
    assert Syncd(config_path).once().errors == 0  # after a restart, too
    assert hubspot_requests(sandbox) == [
        "POST /crm/v3/objects/tickets/batch/upsert",
        "POST /crm/v3/objects/contacts/batch/upsert",
    ], "the contact changed, not its association nor the company"
    renamed = sandbox.hubspot.find("contacts", "email", "jo@acme.example")
    assert renamed is not None and renamed["id"] == contact["id"]
    assert renamed["properties"]["firstname"] == "Joanna"
    hs = hubspot_ticket(sandbox, ticket)["id"]
    assert sandbox.hubspot.associations("tickets", hs, "contacts") == [contact["id"]]


def test_a_new_requester_moves_the_contact_association_without_a_read(
    sandbox: Sandbox, syncd: Syncd, config_path: Path
) -> None:
    ticket = sandbox.zendesk.add_ticket(
        subject="Invoice", requester_email="jo@acme.example", organization="Acme"
    )["id"]
    other = sandbox.zendesk.add_ticket(
        subject="Also", requester_email="jo@acme.example", organization="Acme"
    )["id"]
    assert syncd.once().errors == 0
    jo = sandbox.hubspot.find("contacts", "email", "jo@acme.example")
    assert jo is not None
    kim = sandbox.zendesk.add_user("Kim Lee", "kim@acme.example")
    sandbox.zendesk.update_ticket(ticket, requester_id=kim["id"])
    sandbox.reset_counts()

    assert Syncd(config_path).once().errors == 0
    assert hubspot_requests(sandbox) == [
        "POST /crm/v3/objects/tickets/batch/upsert",
        "POST /crm/v3/objects/contacts/batch/upsert",
        "POST /crm/v4/associations/tickets/contacts/batch/archive",
        "POST /crm/v4/associations/tickets/contacts/batch/create",
    ]
    kim_hs = sandbox.hubspot.find("contacts", "email", "kim@acme.example")
    assert kim_hs is not None
    hs = hubspot_ticket(sandbox, ticket)["id"]
    assert sandbox.hubspot.associations("tickets", hs, "contacts") == [kim_hs["id"]]
    assert sandbox.hubspot.associations(
        "tickets", hubspot_ticket(sandbox, other)["id"], "contacts"
    ) == [jo["id"]], "the other ticket keeps Jo"
    (acme,) = by_property(sandbox, "companies", "syncd_company_domain").values()
    assert sandbox.hubspot.associations("tickets", hs, "companies") == [acme["id"]]


def test_an_association_added_by_hand_is_left_when_the_requester_moves(
    sandbox: Sandbox, syncd: Syncd
) -> None:
    ticket = sandbox.zendesk.add_ticket(subject="Hi", requester_email="jo@acme.example")["id"]
    assert syncd.once().errors == 0
    hs = hubspot_ticket(sandbox, ticket)["id"]
    watcher = sandbox.hubspot.add("contacts", {"email": "boss@acme.example"})
    sandbox.hubspot.store.associate("tickets", hs, "contacts", watcher["id"], {16})
    kim = sandbox.zendesk.add_user("Kim Lee", "kim@acme.example")
    sandbox.zendesk.update_ticket(ticket, requester_id=kim["id"])
    assert syncd.once().errors == 0
    kim_hs = sandbox.hubspot.find("contacts", "email", "kim@acme.example")
    assert kim_hs is not None
    assert sorted(sandbox.hubspot.associations("tickets", hs, "contacts")) == sorted(
        [kim_hs["id"], watcher["id"]]
    ), "syncd removes only the association it made"


def test_a_state_from_before_the_memory_reads_associations_once(
    sandbox: Sandbox, syncd: Syncd, config_path: Path, tmp_path: Path
) -> None:
    ids = add_tickets(sandbox, 6, 3, 1)
    assert syncd.once().errors == 0
    # An older syncd kept no memory: the state database has none of its tables.
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("DROP TABLE crm_links")
        db.execute("DROP TABLE crm_objects")
    for ticket_id in ids:
        sandbox.zendesk.update_ticket(ticket_id, status="pending")
    sandbox.reset_counts()
    assert Syncd(config_path).once().errors == 0  # opening the state creates the tables
    assert sorted(hubspot_requests(sandbox)) == [
        "POST /crm/v3/objects/companies/batch/upsert",
        "POST /crm/v3/objects/companies/search",
        "POST /crm/v3/objects/contacts/batch/upsert",
        "POST /crm/v3/objects/tickets/batch/upsert",
        "POST /crm/v4/associations/tickets/companies/batch/read",
        "POST /crm/v4/associations/tickets/contacts/batch/read",
    ], "read once, nothing created that exists"
    assert len(sandbox.hubspot.objects("contacts")) == 3
    assert len(sandbox.hubspot.objects("companies")) == 1

    for ticket_id in ids:
        sandbox.zendesk.update_ticket(ticket_id, status="open")
    sandbox.reset_counts()
    assert Syncd(config_path).once().errors == 0
    assert hubspot_requests(sandbox) == ["POST /crm/v3/objects/tickets/batch/upsert"]


def test_the_memory_lives_in_the_state_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = open_store(url)
    store.save_crm_objects("contacts", {"jo@acme.example": ("101", "f1")})
    store.save_crm_objects("contacts", {"jo@acme.example": ("101", "f2")})
    store.save_crm_links("companies", {"7": "201", "8": "202"})
    again = open_store(url)
    assert again.crm_objects("contacts", ["jo@acme.example", "x@y.example"]) == {
        "jo@acme.example": ("101", "f2")
    }
    assert again.crm_links("companies", ["7", "8", "9"]) == {"7": "201", "8": "202"}
    assert again.crm_links("contacts", ["7"]) == {}
    again.forget_crm_links("companies", ["7"])
    assert again.crm_links("companies", ["7", "8"]) == {"8": "202"}
    again.forget_crm_links(None, ["8"])
    assert again.crm_links("companies", ["8"]) == {}


@pytest.mark.slow
def test_first_sync_of_3000_tickets_300_requesters_60_organizations_costs_39(
    sandbox: Sandbox, syncd: Syncd
) -> None:
    n, c, k = 3000, 300, 60
    add_tickets(sandbox, n, c, k)
    report = syncd.once()
    assert report.errors == 0 and report.sinks["hubspot"].written == n
    calls = Counter(hubspot_requests(sandbox))
    assert calls == {
        "POST /crm/v3/objects/tickets/batch/upsert": 30,
        "POST /crm/v3/objects/contacts/batch/upsert": 3,
        "POST /crm/v3/objects/companies/search": 1,
        "POST /crm/v3/objects/companies/batch/upsert": 1,
        "POST /crm/v4/associations/tickets/contacts/batch/create": 2,
        "POST /crm/v4/associations/tickets/companies/batch/create": 2,
    }
    assert sum(calls.values()) == floor(n, c, k) == 39
