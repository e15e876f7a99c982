"""Issue acceptance (build item 3): requesters become contacts, organizations companies, and
every ticket is associated with both, through the batch endpoints; counted with the sandbox.

Everything runs the real sink over real HTTP against the HubSpot emulator.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from ruamel.yaml import YAML

from connectors.hubspot import HubSpotSink
from syncd.config import load_config
from syncd.errors import ConfigError, CredentialsError
from syncd.sandbox import Sandbox
from syncd.sandbox.hubspot import SCOPES
from tests.conftest import Syncd, run_cli, write_config

TICKETS, REQUESTERS, ORGANIZATIONS = 1000, 200, 50


def hubspot_requests(sandbox: Sandbox) -> list[str]:
    """`METHOD path` of the HubSpot requests for tickets, contacts and companies served since
    the counters were reset (tasks, which rules may create, are another matter)."""
    with sandbox.server.lock:
        log = list(sandbox.server.log)
    return [f"{m} {path}" for api, m, path, _ in log if api == "hubspot" and "task" not in path]


def links(sandbox: Sandbox, to_type: str) -> dict[str, list[str]]:
    """HubSpot ticket id -> associated `to_type` ids, from the emulator's admin API."""
    url = f"{sandbox.url}/_sandbox/hubspot/associations/tickets/{to_type}"
    pairs = requests.get(url, timeout=10).json()
    out: dict[str, list[str]] = {}
    for ticket_id, other in pairs:
        out.setdefault(str(ticket_id), []).append(str(other))
    return out


def by_property(sandbox: Sandbox, object_type: str, prop: str) -> dict[str, dict[str, Any]]:
    """Live records of a type by one of their properties."""
    return {r["properties"][prop]: r for r in sandbox.hubspot.objects(object_type)}


def hubspot_ticket(sandbox: Sandbox, helpdesk_id: int | str) -> dict[str, Any]:
    found = sandbox.hubspot.find("tickets", "helpdesk_ticket_id", str(helpdesk_id))
    assert found is not None, helpdesk_id
    return found


def configured(config_path: Path, tmp_path: Path, name: str, **hubspot: Any) -> Syncd:
    """A syncd whose `hubspot:` section also has `hubspot` (not set up)."""
    data = YAML().load(config_path.read_text())
    data["hubspot"].update(hubspot)
    return Syncd(write_config(tmp_path / f"{name}.yaml", data))


@pytest.mark.slow
def test_1000_tickets_of_200_requesters_in_50_organizations_cost_16_requests_then_none(
    sandbox: Sandbox, syncd: Syncd
):
    # Requester r works for organization r % 50; each requester files five tickets.
    expected: dict[str, tuple[str, str]] = {}  # helpdesk id -> (email, domain)
    for i in range(TICKETS):
        r = i % REQUESTERS
        org = r % ORGANIZATIONS
        email = f"user{r}@org{org}.example"
        ticket = sandbox.zendesk.add_ticket(
            subject=f"Order {i} has not arrived",
            description="Where is my parcel?",
            requester_email=email,
            requester_name=f"Requester {r} Smith",
            organization=f"Organization {org}",
        )
        expected[str(ticket["id"])] = (email, f"org{org}.example")
    plan = syncd.once(dry_run=True).sinks["hubspot"].plan or ""
    assert f"link {TICKETS} ticket(s) to {REQUESTERS} contact(s) and 50 companies" in plan
    sandbox.reset_counts()

    first = syncd.once()
    assert first.errors == 0 and first.sinks["hubspot"].written == TICKETS
    calls = Counter(hubspot_requests(sandbox))
    assert calls == {
        "POST /crm/v3/objects/tickets/batch/upsert": 10,
        "POST /crm/v3/objects/contacts/batch/upsert": 2,  # many tickets, one input each
        "POST /crm/v3/objects/companies/search": 1,  # companies HubSpot holds, to adopt
        "POST /crm/v3/objects/companies/batch/upsert": 1,
        # 2,000 associations a request (HubSpot's v4 batch limit)
        "POST /crm/v4/associations/tickets/contacts/batch/create": 1,
        "POST /crm/v4/associations/tickets/companies/batch/create": 1,
    }, "new tickets: nothing to read first"
    assert sum(calls.values()) == 16

    contacts = by_property(sandbox, "contacts", "email")
    companies = by_property(sandbox, "companies", "syncd_company_domain")
    assert len(contacts) == REQUESTERS and len(companies) == ORGANIZATIONS
    assert contacts["user7@org7.example"]["properties"]["firstname"] == "Requester"
    assert contacts["user7@org7.example"]["properties"]["lastname"] == "7 Smith"
    assert companies["org7.example"]["properties"]["name"] == "Organization 7"
    assert companies["org7.example"]["properties"]["domain"] == "org7.example"
    contact_links, company_links = links(sandbox, "contacts"), links(sandbox, "companies")
    tickets = sandbox.hubspot.objects("tickets")
    assert len(tickets) == TICKETS
    for ticket in tickets:
        email, domain = expected[ticket["properties"]["helpdesk_ticket_id"]]
        assert contact_links[ticket["id"]] == [contacts[email]["id"]], ticket["id"]
        assert company_links[ticket["id"]] == [companies[domain]["id"]], ticket["id"]
    # The company is the ticket's primary company (type 26, with the unlabelled 339).
    some = tickets[0]["id"]
    types = sandbox.hubspot.store.associated("tickets", some, "companies")
    assert list(types.values()) == [{26, 339}]

    sandbox.reset_counts()
    second = syncd.once()
    assert (second.pulled, second.changed) == (0, 0)
    assert "hubspot" not in sandbox.counts(), "no change, no HubSpot request"


def test_a_changed_organization_moves_the_company_association(sandbox: Sandbox, syncd: Syncd):
    acme = sandbox.zendesk.add_organization("Acme", "acme.example")
    globex = sandbox.zendesk.add_organization("Globex", "globex.example")
    moved, stays = (
        sandbox.zendesk.add_ticket(
            subject=f"Invoice question {i}",
            requester_email="jo@acme.example",
            requester_name="Jo Doe",
            organization=acme["id"],
        )["id"]
        for i in range(2)
    )
    syncd.once()
    companies = by_property(sandbox, "companies", "syncd_company_domain")
    acme_id, jo = companies["acme.example"]["id"], sandbox.hubspot.objects("contacts")[0]["id"]
    moved_hs = hubspot_ticket(sandbox, moved)["id"]

    # A status change alone: HubSpot gets the ticket upsert and nothing else.
    sandbox.zendesk.update_ticket(stays, status="pending")
    sandbox.reset_counts()
    assert syncd.once().errors == 0
    assert hubspot_requests(sandbox) == ["POST /crm/v3/objects/tickets/batch/upsert"]

    # Jo moved to Globex, and the agent moved the ticket with them.
    sandbox.zendesk.update_ticket(moved, organization_id=globex["id"])
    sandbox.reset_counts()
    report = syncd.once()
    assert report.errors == 0 and report.sinks["hubspot"].written == 1
    globex_id = by_property(sandbox, "companies", "syncd_company_domain")["globex.example"]["id"]
    assert sandbox.hubspot.associations("tickets", moved_hs, "companies") == [globex_id]
    assert sandbox.hubspot.associations("tickets", moved_hs, "contacts") == [jo]
    assert sandbox.hubspot.associations("companies", acme_id, "tickets") == [
        hubspot_ticket(sandbox, stays)["id"]
    ], "the other ticket keeps Acme"
    assert hubspot_requests(sandbox) == [
        "POST /crm/v3/objects/tickets/batch/upsert",
        "POST /crm/v3/objects/companies/search",  # a domain syncd never wrote
        "POST /crm/v3/objects/companies/batch/upsert",
        # syncd remembers the association it made: it removes that one, with no read
        "POST /crm/v4/associations/tickets/companies/batch/archive",
        "POST /crm/v4/associations/tickets/companies/batch/create",
    ], "the requester did not change: the contact is left alone"


def test_after_a_restart_nothing_is_read_again_nor_created_twice(
    sandbox: Sandbox, config_path: Path, syncd: Syncd
):
    ids = [
        sandbox.zendesk.add_ticket(
            subject=f"Broken widget {i}",
            requester_email=f"buyer{i % 3}@initech.example",
            organization="Initech",
        )["id"]
        for i in range(6)
    ]
    syncd.once()
    for ticket_id in ids:
        sandbox.zendesk.update_ticket(ticket_id, subject="Broken widget, still")
    sandbox.reset_counts()

    restarted = Syncd(config_path)  # a new process: the state store remembers the links
    assert restarted.once().errors == 0
    assert hubspot_requests(sandbox) == ["POST /crm/v3/objects/tickets/batch/upsert"]
    assert len(sandbox.hubspot.objects("contacts")) == 3
    assert len(sandbox.hubspot.objects("companies")) == 1
    for ticket in sandbox.hubspot.objects("tickets"):
        assert len(sandbox.hubspot.associations("tickets", ticket["id"], "contacts")) == 1
        assert len(sandbox.hubspot.associations("tickets", ticket["id"], "companies")) == 1


def test_a_bad_requester_email_does_not_block_the_ticket_nor_the_batch(
    sandbox: Sandbox, syncd: Syncd
):
    good = [
        sandbox.zendesk.add_ticket(
            subject=f"Login fails {i}",
            requester_email=f"ann{i}@umbrella.example",
            organization="Umbrella",
        )["id"]
        for i in range(6)
    ]
    # HubSpot refuses the first (no dot in the domain); the second is not an address at all
    # and is never sent.
    refused = sandbox.zendesk.add_ticket(
        subject="Login fails", requester_email="ops@localhost", organization="Umbrella"
    )["id"]
    malformed = sandbox.zendesk.add_ticket(
        subject="Login fails", requester_email="ops at umbrella", organization="Umbrella"
    )["id"]
    report = syncd.once()

    assert report.sinks["hubspot"].written == 6 and report.sinks["hubspot"].rejected == 2
    emails = {c["properties"]["email"] for c in sandbox.hubspot.objects("contacts")}
    assert emails == {f"ann{i}@umbrella.example" for i in range(6)}
    (umbrella,) = sandbox.hubspot.objects("companies")
    for ticket_id in [*good, refused, malformed]:
        hs = hubspot_ticket(sandbox, ticket_id)["id"]  # every ticket is in HubSpot
        assert sandbox.hubspot.associations("tickets", hs, "companies") == [umbrella["id"]]
        has_contact = bool(sandbox.hubspot.associations("tickets", hs, "contacts"))
        assert has_contact == (ticket_id in good)
    letters = {row["ticket_key"]: row["reason"] for row in syncd.parts.store.dead_letters()}
    assert set(letters) == {str(refused), str(malformed)}
    assert "written but not linked" in letters[str(refused)]
    assert "Email address ops@localhost is invalid" in letters[str(refused)]
    assert "'ops at umbrella' is not an email address" in letters[str(malformed)]

    # The requester is corrected in the helpdesk: the next cycle links the ticket.
    fixed = sandbox.zendesk.add_user("Ops Team", "ops@umbrella.example")
    sandbox.zendesk.update_ticket(refused, requester_id=fixed["id"])
    sandbox.reset_counts()
    again = syncd.once()
    assert again.errors == 0 and again.sinks["hubspot"].written == 1
    hs = hubspot_ticket(sandbox, refused)["id"]
    contact = sandbox.hubspot.find("contacts", "email", "ops@umbrella.example")
    assert contact is not None
    assert sandbox.hubspot.associations("tickets", hs, "contacts") == [contact["id"]]


def test_an_organization_without_a_domain_is_keyed_by_its_helpdesk_id(
    sandbox: Sandbox, syncd: Syncd
):
    org = sandbox.zendesk.add_organization("Hooli (no domain)")
    ticket = sandbox.zendesk.add_ticket(
        subject="Question", requester_email="gavin@mail.example", organization=org["id"]
    )
    nobody = sandbox.zendesk.add_ticket(subject="Filed by an agent")  # no requester email, no org
    assert syncd.once().errors == 0
    # HubSpot made its own company from the contact's email domain; syncd's is the one
    # keyed by the organization.
    domains = {c["properties"].get("domain") for c in sandbox.hubspot.objects("companies")}
    assert "mail.example" in domains
    (company,) = [
        c for c in sandbox.hubspot.objects("companies") if "domain" not in c["properties"]
    ]
    assert company["properties"]["helpdesk_organization_id"] == str(org["id"])
    assert company["properties"]["name"] == "Hooli (no domain)"
    assert "syncd_company_domain" not in company["properties"]
    hs = hubspot_ticket(sandbox, ticket["id"])["id"]
    assert sandbox.hubspot.associations("tickets", hs, "companies") == [company["id"]]
    lone = hubspot_ticket(sandbox, nobody["id"])["id"]
    assert sandbox.hubspot.associations("tickets", lone, "companies") == []


def test_contacts_and_companies_can_be_turned_off(
    sandbox: Sandbox, config_path: Path, tmp_path: Path
):
    syncd = configured(config_path, tmp_path, "off", contacts=False, companies=False)
    assert syncd.parts.sinks[0].setup() == [
        "create property group syncd",
        "create property helpdesk_ticket_id",
        *[f"create property {name}" for name in _ticket_properties()],
    ], "no company properties"
    sandbox.zendesk.add_ticket(subject="Hi", requester_email="a@b.example", organization="B")
    sandbox.reset_counts()
    assert syncd.once().errors == 0
    assert hubspot_requests(sandbox) == ["POST /crm/v3/objects/tickets/batch/upsert"]
    assert sandbox.hubspot.objects("contacts") == sandbox.hubspot.objects("companies") == []


def _ticket_properties() -> list[str]:
    from connectors.hubspot import CUSTOM_PROPERTIES

    return list(CUSTOM_PROPERTIES)


def test_setup_creates_the_company_keys_once_and_dry_run_only_plans(
    sandbox: Sandbox, config_path: Path
):
    syncd = Syncd(config_path)
    sink = next(s for s in syncd.parts.sinks if isinstance(s, HubSpotSink))
    plan = sink.setup(dry_run=True)
    assert "create company property group syncd" in plan
    assert "create company property syncd_company_domain" in plan
    assert "create company property helpdesk_organization_id" in plan
    assert not any(
        p["name"] == "syncd_company_domain" for p in sandbox.hubspot.properties("companies")
    )
    assert sink.setup() == plan
    unique = {p["name"] for p in sandbox.hubspot.properties("companies") if p["hasUniqueValue"]}
    assert {"syncd_company_domain", "helpdesk_organization_id"} <= unique
    assert sink.setup() == [], "idempotent"


@pytest.mark.parametrize(
    ("hubspot", "where", "valid"),
    [
        ({"stages": {"open": "99"}}, "hubspot.stages.open", "1 (New), 2 (Waiting on contact)"),
        ({"pipeline": "7"}, "hubspot.pipeline", "0 (Support Pipeline)"),
    ],
)
def test_setup_refuses_a_pipeline_or_stage_the_portal_lacks(
    sandbox: Sandbox, config_path: Path, tmp_path: Path, hubspot: dict, where: str, valid: str
):
    data = YAML().load(config_path.read_text())
    data["hubspot"].update(hubspot)
    syncd = Syncd(write_config(tmp_path / "bad.yaml", data))
    with pytest.raises(ConfigError) as raised:
        syncd.parts.sinks[0].setup(dry_run=True)
    assert raised.value.where == where
    assert valid in str(raised.value)
    assert sandbox.hubspot.properties("tickets") and not any(
        p["name"] == "helpdesk_ticket_id" for p in sandbox.hubspot.properties("tickets")
    ), "nothing was created"


def test_a_misspelt_status_in_stages_is_a_config_error(config_path: Path, tmp_path: Path):
    data = YAML().load(config_path.read_text())
    data["hubspot"]["stages"] = {"opne": "3"}
    with pytest.raises(ConfigError) as raised:
        load_config(write_config(tmp_path / "typo.yaml", data))
    assert "hubspot.stages" in str(raised.value) and "'opne'" in str(raised.value)


def test_first_sync_request_count_formula(sandbox: Sandbox, syncd: Syncd):
    """The module docstring's formula for new tickets: ceil(n/100) + 2*ceil(n/2000) +
    ceil(c/100) + 2*ceil(k/100) (the company search and upsert)."""
    for i in range(250):
        r = i % 120  # requester r works for shop r % 7
        sandbox.zendesk.add_ticket(
            subject=f"Refund {i}",
            requester_email=f"c{r}@shop{r % 7}.example",
            organization=f"Shop {r % 7}",
        )
    report = syncd.once()
    n, c, k = 250, 120, 7
    # upserts 100 a request; contact and company associations 2,000 a request
    per_ticket = math.ceil(n / 100) + 2 * math.ceil(n / 2000)
    assert report.errors == 0
    companies = 2 * math.ceil(k / 100)  # the search for companies to adopt, the upsert
    assert len(hubspot_requests(sandbox)) == per_ticket + math.ceil(c / 100) + companies


def test_setup_checks_the_token_scopes_first(sandbox: Sandbox, config_path: Path):
    syncd = Syncd(config_path)
    sink = next(s for s in syncd.parts.sinks if isinstance(s, HubSpotSink))
    sink.setup(dry_run=True)
    assert sink.scope_check is not None and sink.scope_check.ok
    assert "crm.schemas.companies.write" in sink.scope_check.message
    sandbox.hubspot.set_scopes([s for s in SCOPES if s != "crm.schemas.companies.write"])
    with pytest.raises(CredentialsError) as raised:
        sink.setup()
    assert "crm.schemas.companies.write" in str(raised.value)
    assert not any(
        p["name"] == "helpdesk_ticket_id" for p in sandbox.hubspot.properties("tickets")
    ), "nothing was created"


def test_setup_cli_names_a_missing_scope_and_exits_2(sandbox: Sandbox, config_path: Path):
    sandbox.hubspot.set_scopes([s for s in SCOPES if s != "crm.schemas.tickets.write"])
    result = run_cli("setup", "--config", str(config_path), "--dry-run")
    assert result.returncode == 2, result.stderr
    assert "crm.schemas.tickets.write" in result.stderr
    assert "Traceback" not in result.stderr
    sandbox.hubspot.set_scopes(SCOPES)
    result = run_cli("setup", "--config", str(config_path), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "hubspot: token scopes ok: tickets, crm.schemas.tickets.write" in result.stdout
    assert "would create property helpdesk_ticket_id" in result.stdout


def test_setup_without_token_info_warns_and_goes_on(sandbox: Sandbox, config_path: Path):
    sandbox.hubspot.set_scopes(None)  # a token the token-info endpoints do not know
    result = run_cli("setup", "--config", str(config_path))
    assert result.returncode == 0, result.stderr
    assert "warning: hubspot: cannot read the token's scopes" in result.stderr
    assert any(p["name"] == "helpdesk_ticket_id" for p in sandbox.hubspot.properties("tickets"))


def test_required_scopes_follow_the_config(config_path: Path):
    from connectors.hubspot_setup import required_scopes

    hubspot = load_config(config_path).hubspot
    off = hubspot.model_copy(update={"contacts": False, "companies": False})
    assert list(required_scopes(off)) == ["tickets", "crm.schemas.tickets.write"]
    assert "crm.objects.owners.read" in required_scopes(off, tasks=True)
    assert "crm.objects.contacts.write" in required_scopes(off, notes=True)
