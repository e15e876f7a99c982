"""The Zendesk emulator, driven by the real zenpy client and by raw HTTP.

Each test serves a fresh `ZendeskApp` alone on a loopback `SandboxServer`, so these tests do
not depend on the other emulators.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from zenpy import Zenpy
from zenpy.lib.exception import APIException

from syncd.sandbox.server import SandboxServer
from syncd.sandbox.zendesk import ZendeskApp
from tests.sandbox.serving import serving

EMAIL = "ops@acme.test"
TOKEN = "emulator-test-token"
AUTH = (f"{EMAIL}/token", TOKEN)
EXPORT = "/api/v2/incremental/tickets/cursor.json"
NOW = 1_800_000_030.0  # a fixed clock, 30 s into a minute, for lag and rate-limit tests


@dataclass
class Served:
    app: ZendeskApp
    server: SandboxServer

    @property
    def url(self) -> str:
        return self.server.base_url

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(self.url + path, params=params, auth=AUTH, timeout=5)

    def export_requests(self) -> int:
        return sum(1 for _, _, path, _ in self.server.log if path == EXPORT)


@contextmanager
def serve(app: ZendeskApp) -> Iterator[Served]:
    with serving(app) as server:
        yield Served(app, server)


@pytest.fixture
def served() -> Iterator[Served]:
    with serve(ZendeskApp(email=EMAIL, token=TOKEN)) as running:
        yield running


def zenpy_client(served: Served, monkeypatch: pytest.MonkeyPatch, token: str = TOKEN) -> Zenpy:
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", served.url.removeprefix("http://"))
    return Zenpy(subdomain="acme", email=EMAIL, token=token)


def test_zenpy_pages_through_the_export_and_caches_sideloads(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    served.app.generate(25, seed=3)
    client = zenpy_client(served, monkeypatch)

    gen = client.tickets.incremental(start_time=0, include=["users", "organizations"], per_page=10)
    ids = [ticket.id for ticket in gen]

    assert sorted(ids) == sorted(t["id"] for t in served.app.tickets())
    assert served.export_requests() == 3  # 10 + 10 + 5
    assert gen.end_of_stream is True
    assert gen.after_cursor
    for ticket in served.app.tickets():
        assert client.cache.get("user", ticket["requester_id"]) is not None
        if ticket["organization_id"] is not None:
            assert client.cache.get("organization", ticket["organization_id"]) is not None


def test_updates_and_deletes_move_tickets_to_the_end_of_the_stream(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = served.app
    first = app.add_ticket("Printer on fire", requester_email="ann@globex.example.com")
    second = app.add_ticket("Invoice wrong", requester_email="bob@globex.example.com")
    third = app.add_ticket("Cannot log in", requester_email="cy@initech.example.com")
    client = zenpy_client(served, monkeypatch)

    gen = client.tickets.incremental(start_time=0, per_page=2)
    assert [t.id for t in gen] == [first["id"], second["id"], third["id"]]
    cursor = gen.after_cursor

    app.update_ticket(first["id"], priority="urgent", additional_tags=["escalated"])
    app.delete_ticket(second["id"])
    resumed = client.tickets.incremental(cursor=cursor)
    changed = list(resumed)
    assert [t.id for t in changed] == [first["id"], second["id"]]
    assert changed[0].priority == "urgent" and "escalated" in changed[0].tags
    assert changed[1].status == "deleted"

    # Nothing new: an empty page that still hands back a cursor to resume from later.
    idle = client.tickets.incremental(cursor=resumed.after_cursor)
    assert list(idle) == []
    assert idle.end_of_stream is True and idle.after_cursor == resumed.after_cursor


def test_wrong_credentials_are_refused(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    client = zenpy_client(served, monkeypatch, token="wrong")
    with pytest.raises(APIException) as raised:
        list(client.tickets.incremental(start_time=0))
    assert raised.value.response.status_code == 401

    for auth in [(f"{EMAIL}/token", "wrong"), (EMAIL, TOKEN), None]:
        resp = requests.get(served.url + EXPORT, params={"start_time": 0}, auth=auth, timeout=5)
        assert resp.status_code == 401
        assert resp.json() == {"error": "Couldn't authenticate you"}
        assert "X-Rate-Limit" in resp.headers


def test_export_json_shape(served: Served) -> None:
    app = served.app
    ticket = app.add_ticket(
        "Charged twice",
        "I was charged twice for order 123",
        requester_email="dana@northwind.example.com",
        requester_name="Dana Smith",
        organization="Northwind",
        priority="high",
        tags=["billing"],
        channel="email",
        custom_fields=[{"id": 42, "value": "billing"}],
    )
    app.add_ticket("Second", requester_email="eve@northwind.example.com", organization="Northwind")

    first = served.get(EXPORT, start_time=0, per_page=1, include="users,organizations")
    assert first.status_code == 200
    for header in ("X-Rate-Limit", "X-Rate-Limit-Remaining", "ratelimit-remaining"):
        assert first.headers[header].isdigit()
    assert first.headers["Zendesk-RateLimit-incremental-exports"].startswith("total=10; ")
    body = first.json()
    assert set(body) == {
        "tickets", "users", "organizations", "after_url", "after_cursor",
        "before_url", "before_cursor", "end_of_stream",
    }  # fmt: skip
    assert body["end_of_stream"] is False
    assert body["before_url"] is None and body["before_cursor"] is None
    # after_url is absolute and keeps per_page and include alongside the new cursor.
    assert body["after_url"].startswith(served.url + EXPORT + "?")
    assert "per_page=1" in body["after_url"] and "include=users,organizations" in body["after_url"]
    assert f"cursor={body['after_cursor']}" in body["after_url"]

    [got] = body["tickets"]
    assert got["id"] == ticket["id"]
    assert got["url"] == f"{served.url}/api/v2/tickets/{ticket['id']}.json"
    assert got["priority"] == "high" and got["status"] == "new" and got["tags"] == ["billing"]
    assert got["custom_fields"] == [{"id": 42, "value": "billing"}]
    assert got["via"]["channel"] == "email"
    assert got["via"]["source"]["from"]["address"] == "dana@northwind.example.com"
    assert got["created_at"].endswith("Z") and got["updated_at"].endswith("Z")
    assert isinstance(got["generated_timestamp"], int)
    for key in ("external_id", "type", "raw_subject", "description", "recipient", "submitter_id",
                "assignee_id", "group_id", "collaborator_ids", "follower_ids", "problem_id",
                "has_incidents", "is_public", "due_at", "satisfaction_rating", "brand_id",
                "ticket_form_id"):  # fmt: skip
        assert key in got
    [user] = body["users"]
    assert user["id"] == got["requester_id"] and user["email"] == "dana@northwind.example.com"
    assert user["url"].startswith(served.url) and user["role"] == "end-user"
    [org] = body["organizations"]
    assert org["id"] == got["organization_id"] == user["organization_id"]
    assert org["name"] == "Northwind" and org["domain_names"] == ["northwind.example.com"]

    second = requests.get(body["after_url"], auth=AUTH, timeout=5).json()
    assert [t["subject"] for t in second["tickets"]] == ["Second"]
    assert second["end_of_stream"] is True and second["after_cursor"]
    assert second["before_cursor"]  # the first page lies behind it
    back = requests.get(second["before_url"], auth=AUTH, timeout=5).json()
    assert [t["id"] for t in back["tickets"]] == [ticket["id"]]


def test_export_parameter_errors(served: Served) -> None:
    future = int(time.time()) + 3600
    cases = [
        {},
        {"start_time": 0, "cursor": "YXwwfDA"},
        {"start_time": future},
        {"start_time": "yesterday"},
        {"cursor": "not-a-cursor"},
        {"start_time": 0, "per_page": "many"},
    ]
    for params in cases:
        resp = served.get(EXPORT, **params)
        assert resp.status_code == 422, params
        assert resp.json()["error"] == "InvalidValue" and resp.json()["description"]
    assert "Too recent start_time" in served.get(EXPORT, start_time=future).json()["description"]
    # An empty cursor counts as absent (Zendesk's code samples send one), per_page is capped.
    assert served.get(EXPORT, start_time=0, cursor="", per_page=5000).status_code == 200


def test_export_lag_holds_back_recent_changes() -> None:
    clock = [NOW]
    app = ZendeskApp(email=EMAIL, token=TOKEN, export_lag_seconds=60, clock=lambda: clock[0])
    old = app.add_ticket("Old", created_at=NOW - 7200, updated_at=NOW - 7200)
    with serve(app) as served:
        assert served.get(EXPORT, start_time=int(NOW) - 30).status_code == 422  # too recent
        clock[0] += 61  # "old" is now past the lag window
        fresh = app.add_ticket("Fresh")

        page = served.get(EXPORT, start_time=int(NOW) - 3 * 3600).json()
        assert [t["id"] for t in page["tickets"]] == [old["id"]]
        assert page["end_of_stream"] is True  # all results up to the lag cutoff

        clock[0] += 61
        later = requests.get(page["after_url"], auth=AUTH, timeout=5).json()
        assert [t["id"] for t in later["tickets"]] == [fresh["id"]]


def test_rate_limits_answer_429_with_retry_after() -> None:
    app = ZendeskApp(
        email=EMAIL,
        token=TOKEN,
        account_limit_per_minute=5,
        incremental_limit_per_minute=2,
        clock=lambda: NOW,
    )
    with serve(app) as served:
        assert [served.get(EXPORT, start_time=0).status_code for _ in range(3)] == [200, 200, 429]
        limited = served.get(EXPORT, start_time=0)
        assert limited.headers["Retry-After"] == "30"
        assert "remaining=0" in limited.headers["Zendesk-RateLimit-incremental-exports"]
        assert limited.json()["error"] == "TooManyRequests"
        # The account budget (5/min) was spent by those four calls plus this one.
        assert served.get("/api/v2/users/me.json").status_code == 200
        account = served.get("/api/v2/users/me.json")
        assert account.status_code == 429 and account.headers["X-Rate-Limit-Remaining"] == "0"


def test_ticket_user_and_organization_endpoints(served: Served) -> None:
    app = served.app
    ticket = app.add_ticket("Help", requester_email="fay@hooli.example.com", organization="Hooli")

    shown = served.get(f"/api/v2/tickets/{ticket['id']}.json", include="users").json()
    assert (
        shown["ticket"]["subject"] == "Help" and shown["users"][0]["id"] == ticket["requester_id"]
    )
    many = served.get("/api/v2/tickets/show_many.json", ids=f"{ticket['id']},999").json()
    assert [t["id"] for t in many["tickets"]] == [ticket["id"]]
    user = served.get(f"/api/v2/users/{ticket['requester_id']}.json").json()["user"]
    assert user["email"] == "fay@hooli.example.com"
    users = served.get("/api/v2/users/show_many.json", ids=str(user["id"])).json()["users"]
    assert [u["id"] for u in users] == [user["id"]]
    org = served.get(f"/api/v2/organizations/{ticket['organization_id']}.json").json()
    assert org["organization"]["name"] == "Hooli"
    assert served.get("/api/v2/users/me.json").json()["user"]["email"] == EMAIL

    missing = served.get("/api/v2/tickets/999.json")
    assert missing.status_code == 404
    assert missing.json() == {"error": "RecordNotFound", "description": "Not found"}
    many_ids = ",".join(str(i) for i in range(1, 102))
    too_many = served.get("/api/v2/tickets/show_many.json", ids=many_ids)
    assert too_many.status_code == 400 and too_many.json()["error"] == "TooManyValues"


def test_put_ticket_returns_ticket_and_audit(served: Served) -> None:
    app = served.app
    ticket = app.add_ticket("Help", tags=["a"])
    url = f"{served.url}/api/v2/tickets/{ticket['id']}.json"
    before = served.get(EXPORT, start_time=0).json()

    change = {"ticket": {"priority": "urgent", "tags": ["a", "b"], "id": 5, "url": "ignored"}}
    resp = requests.put(url, json=change, auth=AUTH, timeout=5)
    assert resp.status_code == 200
    body = resp.json()
    assert body["ticket"]["priority"] == "urgent" and body["ticket"]["tags"] == ["a", "b"]
    assert body["ticket"]["id"] == ticket["id"]  # read-only fields are ignored
    assert {e["field_name"] for e in body["audit"]["events"]} == {"priority", "tags"}
    after = requests.get(before["after_url"], auth=AUTH, timeout=5).json()
    assert [t["priority"] for t in after["tickets"]] == ["urgent"]

    bad = requests.put(url, json={"ticket": {"status": "archived"}}, auth=AUTH, timeout=5)
    assert bad.status_code == 422 and bad.json()["error"] == "RecordInvalid"
    assert "status" in bad.json()["details"]
    app.update_ticket(ticket["id"], status="closed")
    closed = requests.put(url, json={"ticket": {"priority": "low"}}, auth=AUTH, timeout=5)
    assert closed.status_code == 422


def test_admin_routes(served: Served) -> None:
    admin = served.url + "/_sandbox/zendesk"
    created = requests.post(
        admin + "/tickets",
        json={
            "subject": "Via admin",
            "requester_email": "gil@umbrella.example.com",
            "priority": "low",
        },
        timeout=5,
    )
    assert created.status_code == 201
    tid = created.json()["id"]
    updated = requests.put(f"{admin}/tickets/{tid}", json={"status": "solved"}, timeout=5)
    assert updated.json()["status"] == "solved"
    assert requests.post(admin + "/generate", json={"count": 10, "seed": 1}, timeout=5).json() == {
        "created": 10
    }
    assert requests.delete(f"{admin}/tickets/{tid}", timeout=5).status_code == 204
    listed = requests.get(admin + "/tickets", timeout=5).json()
    assert len(listed) == 11 and listed[0]["status"] == "deleted"
    assert requests.put(f"{admin}/tickets/{tid}", json={}, timeout=5).status_code == 404
    assert served.export_requests() == 0  # admin calls are not vendor traffic


def test_generate_is_deterministic_realistic_and_fast() -> None:
    def subjects(seed: int) -> list[tuple[str, str]]:
        app = ZendeskApp(email=EMAIL, token=TOKEN)
        return [(t["subject"], t["status"]) for t in app.generate(200, seed=seed)]

    assert subjects(7) == subjects(7) != subjects(8)

    app = ZendeskApp(email=EMAIL, token=TOKEN)
    started = time.perf_counter()
    tickets = app.generate(10_000, seed=1)
    assert time.perf_counter() - started < 3
    now = time.time()
    assert len(tickets) == 10_000
    end_users = [u for u in app.users() if u["role"] == "end-user"]
    assert 1_800 <= len(end_users) <= 2_200 and len(app.organizations()) == 500
    assert all(u["email"] and "@" in u["email"] for u in end_users)
    assert {t["status"] for t in tickets} >= {"new", "open", "pending", "solved"}
    assert {t["via"]["channel"] for t in tickets} == {"web", "email", "chat", "api"}
    assert all(t["created_at"] <= t["updated_at"] for t in tickets)
    assert max(t["generated_timestamp"] for t in tickets) <= now
    text = " ".join(t["subject"] + " " + t["description"] for t in tickets).lower()
    for word in ("invoice", "refund", "charged twice", "error 500", "log in", "crash", "down"):
        assert word in text
