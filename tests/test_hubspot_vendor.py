"""HubSpot as a real portal behaves, and what syncd does about it (issue 12).

Each test runs the real sink and hubspot-api-client over real HTTP against the emulator, which
does what HubSpot's docs and the client's source say (cited in syncd/sandbox/hubspot*.py):
the portal creates companies from contacts' email domains, refuses upserts keyed by a
non-unique property, reports granular scopes for apps created today, and may answer an
association batch without echoing every pair.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from pathlib import Path

import pytest
from hubspot import HubSpot
from hubspot.crm.properties import PropertyCreate
from hubspot.crm.tickets import ApiException
from urllib3.util.retry import Retry

from connectors.hubspot import HubSpotSink
from connectors.hubspot_api import translate
from syncd.errors import ConfigError, CredentialsError, UserError
from syncd.sandbox import HUBSPOT_TOKEN, Sandbox
from syncd.sandbox.hubspot import GRANULAR_SCOPES, SCOPES
from tests.conftest import Syncd, run_cli

TICKETS, REQUESTERS, ORGANIZATIONS = 1000, 200, 50


def sink_of(syncd: Syncd) -> HubSpotSink:
    return next(s for s in syncd.parts.sinks if isinstance(s, HubSpotSink))


def client(sandbox: Sandbox) -> HubSpot:
    return HubSpot(access_token=HUBSPOT_TOKEN, host=sandbox.url, retry=Retry(total=0))


def requests_to_hubspot(sandbox: Sandbox) -> Counter[str]:
    with sandbox.server.lock:
        log = list(sandbox.server.log)
    return Counter(f"{m} {path}" for api, m, path, _ in log if api == "hubspot")


def companies_by_domain(sandbox: Sandbox) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for company in sandbox.hubspot.objects("companies"):
        out.setdefault(company["properties"].get("domain", ""), []).append(company)
    return out


# -- 1. HubSpot creates companies by itself ------------------------------------------------


@pytest.mark.slow
def test_first_sync_with_auto_companies_ends_with_one_company_per_domain(
    sandbox: Sandbox, syncd: Syncd
):
    assert sandbox.hubspot.store.auto_companies, "the portal's default"
    expected: dict[str, tuple[str, str]] = {}  # helpdesk id -> (email, domain)
    for i in range(TICKETS):
        r = i % REQUESTERS
        org = r % ORGANIZATIONS
        email = f"user{r}@org{org}.example"
        ticket = sandbox.zendesk.add_ticket(
            subject=f"Order {i}",
            requester_email=email,
            requester_name=f"Requester {r}",
            organization=f"Organization {org}",
        )
        expected[str(ticket["id"])] = (email, f"org{org}.example")
    report = syncd.once()
    assert report.errors == 0 and report.sinks["hubspot"].written == TICKETS

    by_domain = companies_by_domain(sandbox)
    assert len(sandbox.hubspot.objects("companies")) == ORGANIZATIONS
    assert all(len(found) == 1 for found in by_domain.values()), "one company per domain"
    company_of = {domain: found[0]["id"] for domain, found in by_domain.items()}
    for domain in company_of:
        assert by_domain[domain][0]["properties"]["syncd_company_domain"] == domain
    contacts = {c["properties"]["email"]: c["id"] for c in sandbox.hubspot.objects("contacts")}
    assert len(contacts) == REQUESTERS
    for email, contact_id in contacts.items():
        domain = email.partition("@")[2]
        assert sandbox.hubspot.associations("contacts", contact_id, "companies") == [
            company_of[domain]
        ], email
    for ticket in sandbox.hubspot.objects("tickets"):
        email, domain = expected[ticket["properties"]["helpdesk_ticket_id"]]
        assert sandbox.hubspot.associations("tickets", ticket["id"], "companies") == [
            company_of[domain]
        ]
        assert sandbox.hubspot.associations("tickets", ticket["id"], "contacts") == [
            contacts[email]
        ]


def test_a_company_hubspot_already_holds_for_the_domain_is_adopted(sandbox: Sandbox, syncd: Syncd):
    # Before syncd: a contact came in through a form, and HubSpot created its company.
    held = sandbox.hubspot.add("contacts", {"email": "jo@acme.example", "firstname": "Jo"})
    (auto,) = sandbox.hubspot.objects("companies")
    assert sandbox.hubspot.associations("contacts", held["id"], "companies") == [auto["id"]]
    for email in ("jo@acme.example", "kim@acme.example"):
        sandbox.zendesk.add_ticket(subject="Help", requester_email=email, organization="Acme")
    assert syncd.once().errors == 0

    (company,) = sandbox.hubspot.objects("companies")
    assert company["id"] == auto["id"], "adopted, not duplicated"
    assert company["properties"]["syncd_company_domain"] == "acme.example"
    assert company["properties"]["name"] == "Acme"
    for ticket in sandbox.hubspot.objects("tickets"):
        assert sandbox.hubspot.associations("tickets", ticket["id"], "companies") == [auto["id"]]
    for contact in sandbox.hubspot.objects("contacts"):
        assert sandbox.hubspot.associations("contacts", contact["id"], "companies") == [auto["id"]]

    # A later cycle with a new ticket of that organization asks HubSpot nothing more about it.
    sandbox.zendesk.add_ticket(
        subject="More", requester_email="kim@acme.example", organization="Acme"
    )
    sandbox.reset_counts()
    assert syncd.once().errors == 0
    assert "POST /crm/v3/objects/companies/search" not in requests_to_hubspot(sandbox)
    assert len(sandbox.hubspot.objects("companies")) == 1


# -- 2. a pre-existing, non-unique helpdesk_ticket_id ---------------------------------------


def _non_unique_key(sandbox: Sandbox) -> None:
    api = client(sandbox)
    api.crm.properties.core_api.create(
        "tickets",
        PropertyCreate(
            name="helpdesk_ticket_id",
            label="Helpdesk ticket id (by hand)",
            type="string",
            field_type="text",
            group_name="ticketinformation",
            has_unique_value=False,
        ),
    )


def test_setup_refuses_a_non_unique_id_property(sandbox: Sandbox, config_path: Path):
    _non_unique_key(sandbox)
    sink = sink_of(Syncd(config_path))
    with pytest.raises(ConfigError) as raised:
        sink.setup(dry_run=True)
    assert raised.value.where == "hubspot.id_property"
    text = str(raised.value)
    assert "helpdesk_ticket_id" in text and "unique" in text
    assert "id_property" in (raised.value.hint or "")

    result = run_cli("setup", "--config", str(config_path))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "hubspot.id_property" in result.stderr and "unique" in result.stderr


def test_setup_refuses_a_key_property_of_the_wrong_type(sandbox: Sandbox, config_path: Path):
    client(sandbox).crm.properties.core_api.create(
        "tickets",
        PropertyCreate(
            name="helpdesk_ticket_id",
            label="Helpdesk ticket id",
            type="number",
            field_type="number",
            group_name="ticketinformation",
            has_unique_value=True,
        ),
    )
    with pytest.raises(ConfigError) as raised:
        sink_of(Syncd(config_path)).setup(dry_run=True)
    assert "number" in str(raised.value) and "string" in str(raised.value)


def test_a_non_unique_id_property_costs_one_request_not_one_per_record(
    sandbox: Sandbox, config_path: Path
):
    _non_unique_key(sandbox)
    syncd = Syncd(config_path)
    with contextlib.suppress(ConfigError):  # today's setup does not notice
        syncd.setup()
    for i in range(100):
        sandbox.zendesk.add_ticket(subject=f"Ticket {i}", requester_email=f"u{i}@gmail.com")
    sandbox.reset_counts()
    report = syncd.once()

    calls = requests_to_hubspot(sandbox)
    assert calls["POST /crm/v3/objects/tickets/batch/upsert"] == 1, calls
    hubspot = report.sinks["hubspot"]
    assert hubspot.user_error and "non-unique" in (hubspot.error or "")
    assert "syncd setup" in (hubspot.error or "")
    assert not syncd.parts.store.dead_letters(), "the portal is wrong, not the tickets"


# -- 3. scopes -----------------------------------------------------------------------------


def test_setup_accepts_a_token_with_granular_scopes(sandbox: Sandbox, config_path: Path):
    sandbox.hubspot.set_scopes(GRANULAR_SCOPES)
    sink = sink_of(Syncd(config_path))
    sink.setup()
    assert sink.scope_check is not None and sink.scope_check.ok
    assert "crm.objects.tickets.write" in sink.scope_check.message


def test_a_missing_scope_is_named_in_the_form_the_app_uses(sandbox: Sandbox, config_path: Path):
    sink = sink_of(Syncd(config_path))
    sandbox.hubspot.set_scopes([s for s in GRANULAR_SCOPES if s != "crm.objects.tickets.write"])
    with pytest.raises(CredentialsError) as granular:
        sink.setup(dry_run=True)
    assert "crm.objects.tickets.write" in str(granular.value)
    assert "'tickets'" not in str(granular.value) and " tickets " not in str(granular.value)

    # A legacy app (it shows `tickets`) is told only what it lacks, in its own terms.
    sandbox.hubspot.set_scopes([s for s in SCOPES if s != "crm.objects.companies.write"])
    with pytest.raises(CredentialsError) as legacy:
        sink.setup(dry_run=True)
    assert "scope(s) crm.objects.companies.write (" in str(legacy.value)
    # No ticket scope in either form: named as apps created today show them.
    sandbox.hubspot.set_scopes([s for s in SCOPES if s != "tickets"])
    with pytest.raises(CredentialsError) as neither:
        sink.setup(dry_run=True)
    assert "scope(s) crm.objects.tickets.read, crm.objects.tickets.write (" in str(neither.value)


# -- 4. error bodies -----------------------------------------------------------------------


def test_an_error_body_in_bytes_is_decoded(sandbox: Sandbox, config_path: Path):
    """hubspot-api-client's REST layer raises ApiException(http_resp=r) with body r.data,
    bytes (hubspot/crm/tickets/exceptions.py); its api_client decodes it for the generated
    API methods, but whatever reaches `translate` is read as text either way."""
    api = client(sandbox)
    body = {"inputs": [{"id": "1", "idProperty": "no_such_key", "properties": {}}]}
    with pytest.raises(ApiException) as raised:
        api.crm.tickets.batch_api.api_client.rest_client.POST(
            f"{sandbox.url}/crm/v3/objects/tickets/batch/upsert",
            headers={
                "Authorization": f"Bearer {HUBSPOT_TOKEN}",
                "Content-Type": "application/json",
            },
            body=body,
        )
    assert isinstance(raised.value.body, bytes)
    error = translate(raised.value, sandbox.url)
    # An upsert keyed by a property the portal lacks: setup was not run, the user's to fix.
    assert isinstance(error, UserError) and "syncd setup" in str(error)
    # No bytes literal of the JSON body (a random correlation id may end in "b" before a quote).
    assert "b'{" not in str(error) and 'b"{' not in str(error)
    message = json.loads(raised.value.body)["message"]
    assert message in str(error)


# -- 5. associations that succeed without an echo -------------------------------------------


def test_associations_answered_without_the_echo_are_not_dead_letters(
    sandbox: Sandbox, syncd: Syncd
):
    sandbox.hubspot.set_association_echo(False)
    for i in range(5):
        sandbox.zendesk.add_ticket(
            subject=f"Hello {i}", requester_email=f"ann{i}@initech.example", organization="Initech"
        )
    report = syncd.once()
    assert report.errors == 0
    assert report.sinks["hubspot"].written == 5 and report.sinks["hubspot"].rejected == 0
    assert not syncd.parts.store.dead_letters()
    (company,) = sandbox.hubspot.objects("companies")
    for ticket in sandbox.hubspot.objects("tickets"):
        assert sandbox.hubspot.associations("tickets", ticket["id"], "companies") == [company["id"]]
        assert len(sandbox.hubspot.associations("tickets", ticket["id"], "contacts")) == 1


# -- 6. the search endpoints' own limit ----------------------------------------------------


@pytest.mark.slow
def test_company_searches_keep_to_four_a_second(sandbox: Sandbox, syncd: Syncd):
    assert sandbox.hubspot.search_per_second == 4, "the emulator enforces HubSpot's limit"
    for org in range(600):  # six searches for companies to adopt, back to back
        sandbox.zendesk.add_ticket(
            subject=f"Hello {org}", requester_email=f"a@org{org}.example", organization=f"O{org}"
        )
    sandbox.reset_counts()
    assert syncd.once().errors == 0
    with sandbox.server.lock:
        searches = [s for api, _, path, s in sandbox.server.log if path.endswith("/search")]
    assert len(searches) == 6 and set(searches) == {200}, searches
    assert len(sandbox.hubspot.objects("companies")) == 600
