"""The HubSpot emulator, driven by the real hubspot-api-client and by raw HTTP.

Each test serves a fresh `HubSpotApp` alone on a loopback `SandboxServer`, so these tests
do not depend on the other emulators.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    AssociationSpec,
    BatchInputPublicAssociationMultiPost,
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicAssociationMultiPost,
    PublicFetchAssociationsBatchRequest,
    PublicObjectId,
)
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert as ContactUpsertBatch,
)
from hubspot.crm.contacts import (
    SimplePublicObjectBatchInputUpsert as ContactUpsert,
)
from hubspot.crm.objects import Filter, FilterGroup, PublicObjectSearchRequest
from hubspot.crm.properties import ApiException as PropertiesApiException
from hubspot.crm.properties import PropertyCreate
from hubspot.crm.tickets import (
    ApiException,
    BatchInputSimplePublicObjectBatchInputUpsert,
    SimplePublicObjectBatchInputUpsert,
)
from urllib3.util.retry import Retry

from syncd.sandbox.hubspot import HubSpotApp
from syncd.sandbox.server import SandboxServer
from tests.sandbox.serving import serving

TOKEN = "t"
KEY = "helpdesk_ticket_id"


@dataclass
class Served:
    app: HubSpotApp
    server: SandboxServer

    @property
    def url(self) -> str:
        return self.server.base_url

    def client(self, token: str = TOKEN) -> HubSpot:
        return HubSpot(access_token=token, host=self.url, retry=Retry(total=0))

    def post(self, path: str, body: Any, token: str = TOKEN) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return requests.post(self.url + path, json=body, headers=headers, timeout=5)

    def get(self, path: str, **params: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        return requests.get(self.url + path, params=params, headers=headers, timeout=5)


@contextmanager
def serve(app: HubSpotApp) -> Iterator[Served]:
    with serving(app) as server:
        yield Served(app, server)


@pytest.fixture
def served() -> Iterator[Served]:
    with serve(HubSpotApp(token=TOKEN)) as running:
        yield running


@pytest.fixture
def api(served: Served) -> HubSpot:
    client = served.client()
    client.crm.properties.core_api.create(
        "tickets",
        PropertyCreate(
            name=KEY,
            label="Helpdesk ticket ID",
            type="string",
            field_type="text",
            group_name="ticketinformation",
            has_unique_value=True,
        ),
    )
    return client


def ticket(ident: str, **props: str) -> SimplePublicObjectBatchInputUpsert:
    properties = {KEY: ident, "subject": f"Ticket {ident}", "hs_pipeline_stage": "1", **props}
    return SimplePublicObjectBatchInputUpsert(id=ident, id_property=KEY, properties=properties)


def upsert(api: HubSpot, *inputs: SimplePublicObjectBatchInputUpsert) -> Any:
    batch = BatchInputSimplePublicObjectBatchInputUpsert(inputs=list(inputs))
    return api.crm.tickets.batch_api.upsert(batch)


def error_body(exc: pytest.ExceptionInfo[ApiException]) -> dict[str, Any]:
    return json.loads(exc.value.body)


# -- tickets and properties ----------------------------------------------------------------


def test_upsert_by_unique_property_is_idempotent(api: HubSpot, served: Served) -> None:
    first = upsert(api, ticket("T-1"), ticket("T-2", hs_ticket_priority="HIGH"))
    assert first.status == "COMPLETE"
    assert [r.new for r in first.results] == [True, True]
    created = {r.properties[KEY]: r.id for r in first.results}
    assert all(r.id.isdigit() for r in first.results)

    second = upsert(api, ticket("T-1", subject="Renamed"), ticket("T-2", hs_ticket_priority="HIGH"))
    assert [r.new for r in second.results] == [False, False]
    assert {r.properties[KEY]: r.id for r in second.results} == created

    stored = served.app.objects("tickets")
    assert len(stored) == 2
    one = served.app.find("tickets", KEY, "T-1")
    assert one is not None
    assert one["properties"]["subject"] == "Renamed"
    assert one["properties"]["hs_pipeline"] == "0"  # defaulted to the default pipeline
    # An identical write changes nothing, not even updatedAt.
    two = served.app.find("tickets", KEY, "T-2")
    assert two is not None and two["updatedAt"] == two["createdAt"]


def test_property_definitions_round_trip(api: HubSpot) -> None:
    prop = api.crm.properties.core_api.get_by_name("tickets", KEY)
    assert prop.has_unique_value is True and prop.type == "string"
    names = {p.name for p in api.crm.properties.core_api.get_all("tickets").results}
    assert {"subject", "hs_pipeline_stage", "hs_ticket_priority", KEY} <= names
    priority = api.crm.properties.core_api.get_by_name("tickets", "hs_ticket_priority")
    assert [o.value for o in priority.options] == ["LOW", "MEDIUM", "HIGH", "URGENT"]
    with pytest.raises(PropertiesApiException) as conflict:
        api.crm.properties.core_api.create(
            "tickets",
            PropertyCreate(
                name=KEY,
                label="again",
                type="string",
                field_type="text",
                group_name="ticketinformation",
            ),
        )
    assert conflict.value.status == 409


def test_unknown_property_rejects_the_whole_batch(api: HubSpot, served: Served) -> None:
    with pytest.raises(ApiException) as exc:
        upsert(api, ticket("T-1"), ticket("T-2", nope="x"))
    assert exc.value.status == 400
    body = error_body(exc)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: ")
    detail = json.loads(body["message"].removeprefix("Property values were not valid: "))
    assert detail[0]["error"] == "PROPERTY_DOESNT_EXIST" and detail[0]["name"] == "nope"
    assert body["correlationId"]
    assert served.app.objects("tickets") == []  # nothing in the batch was written


def test_bad_option_stage_and_missing_stage(api: HubSpot) -> None:
    with pytest.raises(ApiException) as exc:
        upsert(api, ticket("T-1", hs_ticket_priority="SOON"))
    assert error_body(exc)["errors"][0]["code"] == "INVALID_OPTION"
    with pytest.raises(ApiException) as exc:
        upsert(api, ticket("T-1", hs_pipeline_stage="9"))
    assert "is not a valid pipeline stage ID" in error_body(exc)["message"]
    bare = SimplePublicObjectBatchInputUpsert(
        id="T-3", id_property=KEY, properties={"subject": "x"}
    )
    with pytest.raises(ApiException) as exc:
        upsert(api, bare)
    assert "required properties were missing: [hs_pipeline_stage]" in error_body(exc)["message"]


def test_duplicate_ids_and_oversized_batches_are_rejected(api: HubSpot, served: Served) -> None:
    with pytest.raises(ApiException) as exc:
        upsert(api, ticket("T-1"), ticket("T-1", subject="twice"))
    body = error_body(exc)
    assert exc.value.status == 400
    assert body["message"] == "Duplicate IDs found in batch input: [T-1]. IDs must be unique"
    assert body["context"] == {"ids": ["T-1"]}

    with pytest.raises(ApiException) as exc:
        upsert(api, *(ticket(f"T-{i}") for i in range(101)))
    assert exc.value.status == 400
    assert served.app.objects("tickets") == []

    non_unique = SimplePublicObjectBatchInputUpsert(
        id="x", id_property="subject", properties={"hs_pipeline_stage": "1"}
    )
    with pytest.raises(ApiException) as exc:
        upsert(api, non_unique)
    assert "non-unique 0-5 property subject" in error_body(exc)["message"]


def test_trace_ids_turn_on_multi_status(api: HubSpot, served: Served) -> None:
    good = ticket("T-1")
    bad = ticket("T-2", hs_ticket_priority="SOON")
    good.object_write_trace_id, bad.object_write_trace_id = "trace-1", "trace-2"
    response = upsert(api, good, bad)
    assert type(response).__name__ == "BatchResponseSimplePublicUpsertObjectWithErrors"
    assert [r.properties[KEY] for r in response.results] == ["T-1"]
    assert response.num_errors == 1
    error = response.errors[0]
    assert error.category == "VALIDATION_ERROR"
    assert error.context["objectWriteTraceId"] == ["trace-2"]
    assert [o["properties"][KEY] for o in served.app.objects("tickets")] == ["T-1"]


def test_contacts_upsert_by_email_and_companies_cannot_use_domain(served: Served) -> None:
    api = served.client()
    batch = api.crm.contacts.batch_api
    first = batch.upsert(
        ContactUpsertBatch(
            inputs=[
                ContactUpsert(
                    id="Ann@Example.com", id_property="email", properties={"firstname": "Ann"}
                )
            ]
        )
    )
    assert first.results[0].new is True
    assert first.results[0].properties["email"] == "ann@example.com"  # stored lowercased
    again = batch.upsert(
        ContactUpsertBatch(
            inputs=[
                ContactUpsert(
                    id="ann@example.com", id_property="email", properties={"lastname": "Lee"}
                )
            ]
        )
    )
    assert again.results[0].new is False and again.results[0].id == first.results[0].id
    assert len(served.app.objects("contacts")) == 1

    resp = served.post(
        "/crm/v3/objects/companies/batch/upsert",
        {"inputs": [{"id": "acme.test", "idProperty": "domain", "properties": {"name": "Acme"}}]},
    )
    assert resp.status_code == 400
    assert (
        resp.json()["message"]
        == "Unable to perform update/upsert by non-unique 0-2 property domain"
    )


# -- associations, pipelines, engagements -------------------------------------------------


def test_associations_v4_batch_create_and_read(api: HubSpot, served: Served) -> None:
    tid = upsert(api, ticket("T-1")).results[0].id
    lonely = upsert(api, ticket("T-2")).results[0].id
    cid = served.app.add("contacts", {"email": "ann@example.com"})["id"]
    company = served.app.add("companies", {"name": "Acme", "domain": "acme.test"})["id"]
    v4 = api.crm.associations.v4.batch_api

    def link(to_type: str, to_id: str, type_id: int) -> Any:
        spec = AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=type_id)
        item = PublicAssociationMultiPost(
            _from=PublicObjectId(id=tid), to=PublicObjectId(id=to_id), types=[spec]
        )
        return v4.create("tickets", to_type, BatchInputPublicAssociationMultiPost(inputs=[item]))

    made = link("contacts", cid, 16)
    assert made.results[0].to_object_id == cid and made.results[0].to_object_type_id == "0-1"
    primary = link("companies", company, 26)  # ticket to primary company
    assert primary.results[0].labels == ["Primary"]

    read = v4.get_page(
        "tickets",
        "companies",
        BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[
                PublicFetchAssociationsBatchRequest(id=tid),
                PublicFetchAssociationsBatchRequest(id=lonely),
            ]
        ),
    )
    assert read.results[0].to[0].to_object_id == company
    types = {(t.type_id, t.label) for t in read.results[0].to[0].association_types}
    assert types == {(26, "Primary"), (339, None)}
    assert read.errors[0].sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND"

    # Stored both ways: the company sees the ticket (primary company -> ticket is 25).
    assert served.app.associations("companies", company, "tickets") == [tid]
    back = served.post(
        "/crm/v4/associations/companies/tickets/batch/read", {"inputs": [{"id": company}]}
    )
    assert {t["typeId"] for t in back.json()["results"][0]["to"][0]["associationTypes"]} == {
        25,
        340,
    }

    unknown = link("contacts", "999999", 16)
    assert unknown.num_errors == 1 and unknown.results == []


def test_default_association_and_v3_associations_on_create(api: HubSpot, served: Served) -> None:
    tid = upsert(api, ticket("T-1")).results[0].id
    cid = served.app.add("contacts", {"email": "ann@example.com"})["id"]
    done = api.crm.associations.v4.basic_api.create_default("contacts", cid, "tickets", tid)
    assert {
        (r._from.id, r.to.id, r.association_spec.association_type_id) for r in done.results
    } == {
        (cid, tid, 15),
        (tid, cid, 16),
    }
    task = served.post(
        "/crm/v3/objects/tasks",
        {
            "properties": {"hs_timestamp": "2030-01-01T09:00:00Z", "hs_task_subject": "Call back"},
            "associations": [
                {
                    "to": {"id": tid},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 230}],
                }
            ],
        },
    )
    assert task.status_code == 201
    assert served.app.associations("tickets", tid, "tasks") == [task.json()["id"]]
    note = served.post("/crm/v3/objects/notes", {"properties": {"hs_note_body": "no time"}})
    assert note.status_code == 400 and "[hs_timestamp]" in note.json()["message"]

    got = served.get(f"/crm/v3/objects/tickets/{tid}", associations="contacts,tasks")
    assoc = got.json()["associations"]
    assert assoc["contacts"]["results"] == [{"id": cid, "type": "ticket_to_contact"}]
    assert assoc["tasks"]["results"][0]["id"] == task.json()["id"]


def test_ticket_pipeline(served: Served) -> None:
    api = served.client()
    pipelines = api.crm.pipelines.pipelines_api.get_all("tickets").results
    assert [(p.id, p.label) for p in pipelines] == [("0", "Support Pipeline")]
    stages = api.crm.pipelines.pipeline_stages_api.get_all("tickets", "0").results
    assert [(s.id, s.label, s.metadata["ticketState"]) for s in stages] == [
        ("1", "New", "OPEN"),
        ("2", "Waiting on contact", "OPEN"),
        ("3", "Waiting on us", "OPEN"),
        ("4", "Closed", "CLOSED"),
    ]
    assert served.get("/crm/v3/pipelines/tickets/nope").status_code == 404


# -- reads ---------------------------------------------------------------------------------


def test_list_get_and_search(api: HubSpot, served: Served) -> None:
    upsert(
        api, *(ticket(f"T-{i}", hs_ticket_priority="HIGH" if i % 2 else "LOW") for i in range(5))
    )
    page = served.get("/crm/v3/objects/tickets", limit=2, properties=f"{KEY},nope").json()
    assert [r["properties"] for r in page["results"]] == [{KEY: "T-0"}, {KEY: "T-1"}]
    rest = served.get("/crm/v3/objects/tickets", limit=100, after=page["paging"]["next"]["after"])
    assert len(rest.json()["results"]) == 3 and "paging" not in rest.json()

    by_key = served.get("/crm/v3/objects/tickets/T-3", idProperty=KEY, properties="content")
    assert by_key.json()["properties"] == {"content": None}  # defined but unset: null
    assert served.get("/crm/v3/objects/tickets/424242").status_code == 404

    request = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(
                filters=[Filter(property_name="hs_ticket_priority", operator="EQ", value="high")]
            )
        ],
        properties=[KEY],
        limit=1,
    )
    found = api.crm.objects.search_api.do_search("tickets", request)
    assert found.total == 2 and found.results[0].properties[KEY] == "T-1"
    assert found.paging.next.after == "1"


# -- auth, limits, admin ------------------------------------------------------------------


def test_wrong_or_revoked_token_is_401(api: HubSpot, served: Served) -> None:
    with pytest.raises(ApiException) as exc:
        upsert(served.client("wrong"), ticket("T-1"))
    assert exc.value.status == 401
    assert error_body(exc)["category"] == "INVALID_AUTHENTICATION"
    served.app.revoke()
    with pytest.raises(ApiException) as exc:
        upsert(api, ticket("T-1"))
    assert exc.value.status == 401


def test_rate_limit_headers_and_rolling_window() -> None:
    now = [1000.0]
    app = HubSpotApp(token=TOKEN, max_per_10s=3, clock=lambda: now[0])
    with serve(app) as served:
        first = served.get("/crm/v3/objects/tickets")
        assert first.headers["X-HubSpot-RateLimit-Max"] == "3"
        assert first.headers["X-HubSpot-RateLimit-Remaining"] == "2"
        assert first.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        assert first.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "649999"
        search = served.post("/crm/v3/objects/tickets/search", {})
        assert "X-HubSpot-RateLimit-Max" not in search.headers  # documented: none on search
        served.get("/crm/v3/objects/tickets")
        now[0] += 4
        limited = served.get("/crm/v3/objects/tickets")
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "6"
        body = limited.json()
        assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", "TEN_SECONDLY_ROLLING")
        now[0] += 6
        assert served.get("/crm/v3/objects/tickets").status_code == 200


def test_admin_routes(api: HubSpot, served: Served) -> None:
    tid = upsert(api, ticket("T-1")).results[0].id
    cid = served.app.add("contacts", {"email": "ann@example.com"})["id"]
    served.app.store.associate("tickets", tid, "contacts", cid, [])
    admin = served.url + "/_sandbox/hubspot"
    assert [o["id"] for o in requests.get(f"{admin}/objects/tickets", timeout=5).json()] == [tid]
    pairs = requests.get(f"{admin}/associations/tickets/contacts", timeout=5).json()
    assert pairs == [[tid, cid]]
    props = requests.get(f"{admin}/properties/tickets", timeout=5).json()
    assert KEY in {p["name"] for p in props}
    assert served.server.counts["hubspot"] >= 2  # vendor calls counted, admin calls not


# -- owners --------------------------------------------------------------------------------


def test_owners_are_found_by_email_paged_and_read_by_id_or_user_id(served: Served) -> None:
    lead = served.app.add_owner("Team-Lead@example.com", "Terry", "Lead")
    for n in range(3):
        served.app.add_owner(f"agent{n}@example.com")
    api = served.client()

    page = api.crm.owners.owners_api.get_page(email="team-lead@EXAMPLE.com")
    (found,) = page.results
    assert (found.id, found.first_name, found.type) == (lead["id"], "Terry", "PERSON")
    assert found.user_id != int(found.id)  # two ids: only `id` may own records
    assert api.crm.owners.owners_api.get_page(email="nobody@example.com").results == []

    first = api.crm.owners.owners_api.get_page(limit=3)
    assert len(first.results) == 3 and first.paging.next.after
    rest = api.crm.owners.owners_api.get_page(limit=3, after=first.paging.next.after)
    assert len(rest.results) == 1 and rest.paging is None

    by_id = api.crm.owners.owners_api.get_by_id(int(lead["id"]))
    by_user = api.crm.owners.owners_api.get_by_id(lead["userId"], id_property="userId")
    assert by_id.email == by_user.email == "Team-Lead@example.com"
    assert served.get("/crm/v3/owners/1").status_code == 404
    assert served.get("/crm/v3/owners/", limit=501).status_code == 400


def test_a_task_owned_and_linked_on_create(api: HubSpot, served: Served) -> None:
    from hubspot.crm.objects.tasks import (
        AssociationSpec as TaskAssociationSpec,
    )
    from hubspot.crm.objects.tasks import (
        PublicAssociationsForObject,
        SimplePublicObjectInputForCreate,
    )
    from hubspot.crm.objects.tasks import PublicObjectId as TaskObjectId

    tid = upsert(api, ticket("T-1")).results[0].id
    owner = served.app.add_owner("lead@example.com")["id"]
    link = PublicAssociationsForObject(
        to=TaskObjectId(id=tid),
        types=[
            TaskAssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=230)
        ],
    )
    task = api.crm.objects.tasks.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={
                "hs_task_subject": "Review #T-1",
                "hs_timestamp": "2030-01-01T09:00:00.000Z",
                "hubspot_owner_id": owner,
                "hs_task_status": "NOT_STARTED",
                "hs_task_priority": "HIGH",
            },
            associations=[link],
        )
    )
    assert task.properties["hubspot_owner_id"] == owner
    assert served.app.associations("tickets", tid, "tasks") == [task.id]
    got = served.get(f"/crm/v3/objects/tickets/{tid}", associations="tasks").json()
    assert got["associations"]["tasks"]["results"] == [{"id": task.id, "type": "ticket_to_task"}]


def test_private_app_token_info_reports_the_scopes(served: Served):
    from syncd.sandbox.hubspot import SCOPES, TOKEN_INFO

    answer = requests.post(served.url + TOKEN_INFO, json={"tokenKey": TOKEN}, timeout=5)
    assert answer.status_code == 200
    info = answer.json()
    assert set(info) == {"userId", "hubId", "appId", "scopes"}
    assert info["hubId"] == served.app.store.portal_id and info["scopes"] == list(SCOPES)
    served.app.set_scopes(["tickets"])
    assert served.post(TOKEN_INFO, {"tokenKey": TOKEN}).json()["scopes"] == ["tickets"]
    wrong = requests.post(served.url + TOKEN_INFO, json={"tokenKey": "other"}, timeout=5)
    assert wrong.status_code == 401 and wrong.json()["category"] == "INVALID_AUTHENTICATION"
    assert requests.post(served.url + TOKEN_INFO, json={}, timeout=5).status_code == 400
    served.app.set_scopes(None)
    assert served.post(TOKEN_INFO, {"tokenKey": TOKEN}).status_code == 404


# -- behaviours of a real portal that clients must live with (issue 12) --------------------


def _new_contacts(api: HubSpot, *emails: str) -> list[str]:
    inputs = [ContactUpsert(id=email, id_property="email", properties={}) for email in emails]
    answer = api.crm.contacts.batch_api.upsert(ContactUpsertBatch(inputs=inputs))
    by_email = {r.properties["email"]: r.id for r in answer.results}
    return [by_email[email.lower()] for email in emails]


def test_a_new_contact_gets_the_company_of_its_email_domain(served: Served) -> None:
    # knowledge.hubspot.com/crm-setup/automatically-create-and-associate-companies-with-contacts
    api = served.client()
    held = served.app.add("companies", {"name": "Initech", "domain": "initech.test"})
    ann, bob, cy, gus = _new_contacts(
        api, "ann@initech.test", "bob@acme.test", "cy@ACME.test", "gus@gmail.com"
    )
    companies = {c["properties"]["domain"]: c for c in served.app.objects("companies")}
    assert set(companies) == {"initech.test", "acme.test"}, "one per business domain"
    assert served.app.associations("contacts", ann, "companies") == [held["id"]]
    acme = companies["acme.test"]["id"]
    assert served.app.associations("contacts", bob, "companies") == [acme]
    assert served.app.associations("contacts", cy, "companies") == [acme]
    assert served.app.associations("contacts", gus, "companies") == [], "free mail: none"
    assert served.app.store.associated("contacts", bob, "companies") == {acme: {1, 279}}


def test_auto_company_creation_can_be_switched_off(served: Served) -> None:
    served.app.set_auto_companies(False)
    (ann,) = _new_contacts(served.client(), "ann@initech.test")
    assert served.app.objects("companies") == []
    assert served.app.associations("contacts", ann, "companies") == []


def test_upsert_by_a_non_unique_property_is_refused_whole(served: Served) -> None:
    # "Unable to perform update/upsert by non-unique ... property": the whole batch, with or
    # without trace ids (a property's hasUniqueValue cannot be changed after it is created).
    api = served.client()
    api.crm.properties.core_api.create(
        "tickets",
        PropertyCreate(
            name=KEY, label="Key", type="string", field_type="text", group_name="ticketinformation"
        ),
    )
    inputs = [ticket(str(i)) for i in range(3)]
    for item in inputs:
        item.object_write_trace_id = item.id
    with pytest.raises(ApiException) as raised:
        upsert(api, *inputs)
    assert raised.value.status == 400
    # rest.py raises ApiException(http_resp=r), whose body is r.data, bytes (exceptions.py);
    # api_client.py's __call_api decodes it to str before the caller sees it.
    assert isinstance(raised.value.body, str)
    assert error_body(raised)["message"] == (
        f"Unable to perform update/upsert by non-unique 0-5 property {KEY}"
    )
    assert served.app.objects("tickets") == []


def test_association_batch_create_can_answer_without_the_echo(api: HubSpot, served: Served):
    served.app.set_association_echo(False)
    tid = upsert(api, ticket("1")).results[0].id
    (cid,) = _new_contacts(api, "ann@gmail.com")
    spec = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}
    body = {"inputs": [{"from": {"id": tid}, "to": {"id": cid}, "types": [spec]}]}
    answer = served.post("/crm/v4/associations/tickets/contacts/batch/create", body)
    assert answer.status_code == 201
    assert answer.json()["status"] == "COMPLETE" and answer.json()["results"] == []
    assert "errors" not in answer.json()
    assert served.app.associations("tickets", tid, "contacts") == [cid]


def test_token_info_reports_granular_scopes(served: Served) -> None:
    from syncd.sandbox.hubspot import GRANULAR_SCOPES, TOKEN_INFO

    with serve(HubSpotApp(token=TOKEN, scopes=GRANULAR_SCOPES)) as granular:
        info = granular.post(TOKEN_INFO, {"tokenKey": TOKEN}).json()
    assert "tickets" not in info["scopes"]
    assert {"crm.objects.tickets.read", "crm.objects.tickets.write"} <= set(info["scopes"])


@pytest.mark.parametrize(("action", "limit"), [("create", 2000), ("archive", 2000), ("read", 1000)])
def test_association_batches_are_refused_past_the_documented_limit(
    served: Served, action: str, limit: int
) -> None:
    """v4 batch create and archive take 2,000 inputs, batch read 1,000 (hubspot_routes)."""

    def body(count: int) -> dict[str, Any]:
        if action == "read":
            return {"inputs": [{"id": str(i)} for i in range(count)]}
        pair = {"from": {"id": "1"}, "to": {"id": "2"}}
        if action == "create":
            pair["types"] = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}]
        else:
            pair["to"] = [{"id": "2"}]
        return {"inputs": [pair] * count}

    path = f"/crm/v4/associations/tickets/contacts/batch/{action}"
    assert served.post(path, body(limit)).status_code < 400
    refused = served.post(path, body(limit + 1))
    assert refused.status_code == 400
    assert f"The maximum batch size is {limit}" in refused.json()["message"]
