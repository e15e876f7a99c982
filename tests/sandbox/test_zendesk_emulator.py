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
from syncd.sandbox.zendesk_common import iso, to_epoch
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


@pytest.mark.slow
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


# ---------------------------------------------------------------- lifecycle and metrics

METRICS = "/api/v2/incremental/ticket_metric_events.json"
MINUTE = 60


class Clock:
    """A settable clock for ZendeskApp(clock=...)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def tick(self, minutes: float) -> float:
        self.now += minutes * MINUTE
        return self.now


@pytest.fixture
def clocked() -> Iterator[tuple[Served, Clock]]:
    clock = Clock(NOW - 30 * 86_400)  # a month ago: zenpy only pages exports older than 5 min
    with serve(ZendeskApp(email=EMAIL, token=TOKEN, clock=clock)) as running:
        yield running, clock


def put(served: Served, ticket_id: int, **ticket: Any) -> requests.Response:
    url = f"{served.url}/api/v2/tickets/{ticket_id}.json"
    return requests.put(url, json={"ticket": ticket}, auth=AUTH, timeout=5)


def lived_ticket(served: Served, clock: Clock) -> tuple[dict[str, Any], dict[str, Any]]:
    """A ticket that was answered, waited on the requester, sat on hold, was solved, reopened
    by the requester and solved again. Returns (ticket, agent)."""
    app = served.app
    agent = app.add_user("Alex Agent", "alex@acme.test", role="agent")
    ticket = app.add_ticket(
        "Printer on fire",
        "It is very colourful.",
        requester_email="ann@globex.example.com",
        assignee_id=agent["id"],
        priority="high",
    )
    assert ticket["status"] == "open"  # [NSR] an assigned new ticket is open
    clock.tick(30)  # the agent's first reply, through the API, waiting on the requester
    reply = {"body": "Have you tried water?", "public": True, "author_id": agent["id"]}
    resp = put(served, ticket["id"], comment=reply, status="pending")
    assert resp.status_code == 200, resp.text
    assert resp.json()["audit"]["author_id"] == agent["id"]
    clock.tick(120)  # the requester answers: the ticket reopens by itself
    assert app.reply(ticket["id"], "Water made it worse", author="requester")["status"] == "open"
    clock.tick(60)
    app.update_ticket(ticket["id"], status="hold")
    clock.tick(60)
    app.update_ticket(ticket["id"], status="open")
    clock.tick(30)
    app.reply(ticket["id"], "Replaced the printer.", status="solved")
    clock.tick(10)  # "it's still on fire": a requester comment reopens a solved ticket
    assert app.reply(ticket["id"], "Still burning", author="requester")["status"] == "open"
    clock.tick(20)
    app.reply(ticket["id"], "Fire brigade called.", status="solved")
    return app.tickets()[-1], agent


def test_ticket_metrics_follow_what_happened_to_the_ticket(
    clocked: tuple[Served, Clock],
) -> None:
    served, clock = clocked
    created = clock.now
    ticket, agent = lived_ticket(served, clock)
    tid = ticket["id"]

    shown = served.get(f"/api/v2/tickets/{tid}/metrics.json")
    assert shown.status_code == 200
    metric = shown.json()["ticket_metric"]
    assert metric["ticket_id"] == tid and metric["id"] != tid
    assert metric["url"] == f"{served.url}/api/v2/ticket_metrics/{metric['id']}"
    assert (metric["replies"], metric["reopens"]) == (3, 1)
    minutes = {k: v["calendar"] for k, v in metric.items() if k.endswith("_in_minutes")}
    assert minutes == {
        "reply_time_in_minutes": 30,
        "first_resolution_time_in_minutes": 300,
        "full_resolution_time_in_minutes": 330,
        "agent_wait_time_in_minutes": 120,  # pending
        "requester_wait_time_in_minutes": 200,  # new, open and on-hold
        "on_hold_time_in_minutes": 60,
    }
    assert all(metric[k]["business"] == metric[k]["calendar"] for k in minutes)
    assert metric["created_at"] == ticket["created_at"] == iso(created)
    assert metric["solved_at"] == metric["status_updated_at"] == ticket["updated_at"]
    assert metric["latest_comment_added_at"] == metric["assignee_updated_at"] == iso(clock.now)
    assert metric["requester_updated_at"] == iso(clock.now - 20 * MINUTE)
    assert metric["initially_assigned_at"] == metric["assigned_at"] == iso(created)
    assert metric["assignee_stations"] == 1
    assert ticket["assignee_id"] == agent["id"]

    # The same record by metric id and by ticket id, and sideloaded with the export.
    assert (
        served.get(f"/api/v2/ticket_metrics/{metric['id']}.json").json()["ticket_metric"] == metric
    )
    assert served.get(f"/api/v2/ticket_metrics/{tid}").json()["ticket_metric"] == metric
    page = served.get(EXPORT, start_time=0, include="users,metric_sets").json()
    assert page["metric_sets"] == [metric]
    listed = served.get("/api/v2/ticket_metrics.json").json()
    assert listed["ticket_metrics"] == [metric] and listed["count"] == 1
    assert served.get("/api/v2/ticket_metrics/999.json").status_code == 404


def test_unanswered_and_agent_created_tickets_have_null_metrics(served: Served) -> None:
    app = served.app
    fresh = app.add_ticket("Hello?", requester_email="bo@initech.example.com")
    own = app.add_ticket("Internal task")  # filed by the API user for themselves
    for ticket in (fresh, own):
        metric = app.metrics(ticket["id"])
        assert metric["replies"] == 0 and metric["reply_time_in_minutes"]["calendar"] is None
        assert metric["solved_at"] is None
        assert metric["full_resolution_time_in_minutes"] == {"calendar": None, "business": None}
        assert metric["assigned_at"] is None and metric["assignee_stations"] == 0
    assert app.metrics(fresh["id"])["requester_updated_at"] == fresh["created_at"]
    assert app.metrics(own["id"])["requester_updated_at"] is None
    # The description is no reply, even an agent's; a later public agent comment is one,
    # a private note is not.
    app.reply(own["id"])
    app.reply(fresh["id"], public=False)  # a private note is no reply either
    assert app.metrics(fresh["id"])["replies"] == 0
    assert app.metrics(own["id"])["replies"] == 1


def test_put_comments_are_replies_or_requester_updates_by_author(served: Served) -> None:
    app = served.app
    ticket = app.add_ticket("Refund", requester_email="cy@hooli.example.com")
    requester = ticket["requester_id"]
    app.update_ticket(ticket["id"], status="solved")
    resp = put(served, ticket["id"], comment={"body": "Not refunded yet", "author_id": requester})
    assert resp.status_code == 200
    body = resp.json()
    assert body["ticket"]["status"] == "open"  # [NSR] the requester's comment reopens it
    changes = [e for e in body["audit"]["events"] if e["type"] == "Change"]
    assert changes == [
        {"id": changes[0]["id"], "type": "Change", "field_name": "status", "value": "open",
         "previous_value": "solved"}
    ]  # fmt: skip
    assert body["audit"]["author_id"] == requester
    assert app.metrics(ticket["id"])["reopens"] == 1
    assert app.metrics(ticket["id"])["replies"] == 0

    unknown = put(served, ticket["id"], comment={"body": "x", "author_id": 999})
    assert unknown.status_code == 422 and "author_id" in unknown.json()["details"]
    back = put(served, ticket["id"], status="new")
    assert back.status_code == 422  # [NSR] a ticket never goes back to New
    with pytest.raises(ValueError, match="future"):
        app.reply(ticket["id"], at=time.time() + 3600)
    with pytest.raises(ValueError, match="precedes"):
        app.reply(ticket["id"], at=0)
    with pytest.raises(ValueError, match="author"):
        app.reply(ticket["id"], author="nobody")
    with pytest.raises(KeyError):
        app.reply(999)


def metric_events_by_time(served: Served, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Follow a time-based metric events export to its end: (unique events, requests)."""
    seen: dict[int, dict[str, Any]] = {}
    page = served.get(METRICS, **params).json()
    requests_made = 1
    while True:
        for event in page["ticket_metric_events"]:
            seen[event["id"]] = event  # pages overlap on their boundary second
        assert page["count"] == len(page["ticket_metric_events"])
        if page["end_of_stream"]:
            return sorted(seen.values(), key=lambda e: (e["time"], e["id"])), requests_made
        page = requests.get(page["next_page"], auth=AUTH, timeout=5).json()
        requests_made += 1


def test_metric_events_tell_the_tickets_story(clocked: tuple[Served, Clock]) -> None:
    served, clock = clocked
    ticket, _agent = lived_ticket(served, clock)
    events, _ = metric_events_by_time(served, start_time=0)
    assert {e["ticket_id"] for e in events} == {ticket["id"]}
    assert [e["time"] for e in events] == sorted(e["time"] for e in events)
    assert len({e["id"] for e in events}) == len(events)
    for event in events:
        assert set(event) >= {"id", "ticket_id", "metric", "instance_id", "type", "time"}
        assert event["type"] in ("measure", "activate", "pause", "fulfill", "apply_sla",
                                 "breach", "update_status")  # fmt: skip
        assert ("status" in event) == (event["type"] == "update_status")
        assert ("sla" in event) == (event["type"] == "apply_sla")

    def story(metric: str) -> list[tuple[int, str]]:
        return [(e["instance_id"], e["type"]) for e in events if e["metric"] == metric]

    assert story("reply_time")[:5] == [
        (0, "measure"), (1, "activate"), (1, "apply_sla"), (1, "fulfill"), (1, "update_status")
    ]  # fmt: skip
    first_reply = next(e for e in events if e["metric"] == "reply_time" and e["type"] == "fulfill")
    assert to_epoch(first_reply["time"]) == to_epoch(ticket["created_at"]) + 30 * MINUTE
    status = next(e for e in events if e["metric"] == "reply_time" and e["type"] == "update_status")
    assert status["status"] == {"calendar": 30, "business": 30}
    sla = next(e for e in events if e["type"] == "apply_sla" and e["metric"] == "reply_time")
    assert sla["sla"]["target"] == 240 and sla["sla"]["business_hours"] is False
    assert sla["sla"]["policy"]["id"]
    # requester_wait_time pauses while pending, not on hold; it is fulfilled by each solve.
    waits = story("requester_wait_time")
    assert [kind for _, kind in waits].count("pause") == 1
    assert [kind for _, kind in waits].count("fulfill") == 2
    assert waits[-2:] == [(2, "fulfill"), (2, "update_status")]  # instance 2: the reopen
    work = [kind for _, kind in story("agent_work_time")]
    assert work.count("pause") == 2  # pending and on-hold
    fulfilled = [
        e for e in events if e["metric"] == "resolution_time" and e["type"] == "update_status"
    ]
    assert [e["status"]["calendar"] for e in fulfilled] == [300, 20]


def test_breaches_appear_once_their_time_has_passed(clocked: tuple[Served, Clock]) -> None:
    served, clock = clocked
    ticket = served.app.add_ticket("Site down", requester_email="dee@stark.example.com",
                                   priority="urgent")  # fmt: skip
    start = int(clock.now)

    def breaches() -> list[dict[str, Any]]:
        events, _ = metric_events_by_time(served, start_time=start)
        return [e for e in events if e["type"] == "breach"]

    clock.tick(59)
    assert breaches() == []
    clock.tick(2)  # urgent tickets get a first reply within 60 minutes
    [breach] = breaches()
    assert breach["metric"] == "reply_time" and breach["time"] == iso(start + 60 * MINUTE)
    served.app.reply(ticket["id"])  # a late reply does not undo the breach
    assert [e["metric"] for e in breaches()] == ["reply_time"]


def test_metric_events_export_pages_by_time_and_by_cursor(served: Served) -> None:
    app = served.app
    tickets = app.generate(80, seed=4)
    everything = app.metric_events()
    assert len(everything) > 1000  # more than one time-based page

    first = served.get(METRICS, start_time=0)
    assert first.status_code == 200
    assert first.headers["Zendesk-RateLimit-incremental-exports"].startswith("total=10; ")
    body = first.json()
    assert set(body) == {"ticket_metric_events", "count", "end_time", "next_page", "end_of_stream"}
    assert body["count"] >= 1000 and body["end_of_stream"] is False
    last_second = body["ticket_metric_events"][-1]["time"]
    assert body["end_time"] == int(to_epoch(last_second))
    assert body["next_page"].startswith(served.url + METRICS + "?")
    assert f"start_time={body['end_time']}" in body["next_page"]
    by_time, pages = metric_events_by_time(served, start_time=0)
    assert by_time == everything and pages >= 2

    # Cursor pagination: at most 100 per page, meta/links as elsewhere in the API.
    collected: list[dict[str, Any]] = []
    page = served.get(METRICS, start_time=0, **{"page[size]": 500}).json()
    while True:
        assert len(page["ticket_metric_events"]) <= 100
        collected += page["ticket_metric_events"]
        assert page["end_of_stream"] is not page["meta"]["has_more"]
        if not page["meta"]["has_more"]:
            break
        page = requests.get(page["links"]["next"], auth=AUTH, timeout=5).json()
    assert collected == everything
    back = requests.get(page["links"]["prev"], auth=AUTH, timeout=5).json()
    position = everything.index(page["ticket_metric_events"][0])
    assert back["ticket_metric_events"] == everything[position - 100 : position]

    # exclude_deleted leaves out the events of deleted tickets.
    victim = next(t for t in tickets if t["status"] not in ("deleted", "closed"))
    app.delete_ticket(victim["id"])
    kept, _ = metric_events_by_time(served, start_time=0, exclude_deleted="true")
    assert {e["ticket_id"] for e in kept} == {
        t["id"] for t in app.tickets() if t["status"] != "deleted"
    }
    assert victim["id"] in {e["ticket_id"] for e in metric_events_by_time(served, start_time=0)[0]}

    for params in ({}, {"start_time": "soon"}, {"start_time": int(time.time()) + 600}):
        assert served.get(METRICS, **params).status_code == 422
    assert served.get(METRICS, start_time=0, **{"page[after]": "bogus"}).status_code == 422


def test_zenpy_reads_metrics_metric_sets_and_metric_events(
    clocked: tuple[Served, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    served, clock = clocked
    ticket, _agent = lived_ticket(served, clock)
    # Few enough that the metric events fit one export page: zenpy stops paging when a
    # page ends less than 5 minutes before the real clock, and this test's clock is fixed.
    served.app.generate(20, seed=5)
    clock.tick(60)
    client = zenpy_client(served, monkeypatch)

    metric = client.tickets.metrics(ticket["id"])
    assert metric.ticket_id == ticket["id"] and metric.reopens == 1
    assert metric.reply_time_in_minutes["calendar"] == 30

    # zenpy keeps no object for metric_sets; the page's JSON still carries them.
    gen = client.tickets.incremental(start_time=0, include=["metric_sets"])
    tickets = list(gen)
    metric_sets = gen._response_json["metric_sets"]
    assert {m["ticket_id"] for m in metric_sets} == {t.id for t in tickets if t.status != "deleted"}
    assert next(m for m in metric_sets if m["ticket_id"] == ticket["id"])["replies"] == 3

    events = list(client.tickets.metrics_incremental(start_time=0))
    assert [e.id for e in events] == [e["id"] for e in served.app.metric_events()]
    assert {e.type for e in events} >= {"measure", "activate", "pause", "fulfill",
                                        "update_status", "apply_sla", "breach"}  # fmt: skip
    assert {e.metric for e in events} == {
        "agent_work_time", "pausable_update_time", "periodic_update_time", "reply_time",
        "requester_wait_time", "resolution_time",
    }  # fmt: skip


def test_satisfaction_ratings(
    clocked: tuple[Served, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    served, clock = clocked
    app = served.app
    solved = [
        app.add_ticket(
            f"Question {n}", requester_email=f"q{n}@vandelay.example.com", status="solved"
        )
        for n in range(5)
    ]
    with pytest.raises(ValueError, match="solved"):
        app.rate(app.add_ticket("Open one")["id"], "good")
    with pytest.raises(ValueError, match="score"):
        app.rate(solved[0]["id"], "great")
    cursor = served.get(EXPORT, start_time=0).json()["after_cursor"]

    clock.tick(5)
    first = int(clock.now)
    app.rate(solved[0]["id"], "offered")
    offered = next(t for t in app.tickets() if t["id"] == solved[0]["id"])
    assert offered["satisfaction_rating"] == {"score": "offered"}
    clock.tick(5)
    rating = app.rate(solved[0]["id"], "good", "Lovely")
    assert rating["score"] == "good" and rating["comment"] == "Lovely"
    assert (
        rating["ticket_id"] == solved[0]["id"]
        and rating["requester_id"] == solved[0]["requester_id"]
    )
    assert rating["created_at"] == iso(first) and rating["updated_at"] == iso(clock.now)
    assert rating["url"].endswith(f"/api/v2/satisfaction_ratings/{rating['id']}.json")
    clock.tick(5)
    app.rate(solved[1]["id"], "bad")
    app.rate(solved[2]["id"], "bad", "Too slow")
    clock.tick(60)
    app.rate(solved[3]["id"], "good")

    # Rating changes the ticket: it moves to the end of the export.
    moved = requests.get(
        f"{served.url}{EXPORT}", params={"cursor": cursor}, auth=AUTH, timeout=5
    ).json()["tickets"]
    assert [t["id"] for t in moved] == [t["id"] for t in solved[:4]]
    assert moved[0]["satisfaction_rating"] == {
        "id": rating["id"],
        "score": "good",
        "comment": "Lovely",
    }

    listed = served.get("/api/v2/satisfaction_ratings.json").json()
    assert listed["count"] == 4 and listed["next_page"] is None
    assert [r["ticket_id"] for r in listed["satisfaction_ratings"]] == [t["id"] for t in solved[:4]]
    assert listed["satisfaction_ratings"][0] == rating

    def scores(**params: Any) -> list[int]:
        body = served.get("/api/v2/satisfaction_ratings.json", **params).json()
        return [r["ticket_id"] for r in body["satisfaction_ratings"]]

    ids = [t["id"] for t in solved]
    assert scores(score="bad") == ids[1:3]
    assert scores(score="bad_with_comment") == ids[2:3]
    assert scores(score="received_without_comment") == [ids[1], ids[3]]
    assert scores(start_time=first + 60) == ids[1:4]
    assert scores(start_time=first + 60, end_time=first + 600) == ids[1:3]
    assert scores(sort_order="desc") == ids[3::-1]
    assert served.get("/api/v2/satisfaction_ratings.json", score="meh").status_code == 400

    page = served.get("/api/v2/satisfaction_ratings.json", **{"page[size]": 3}).json()
    assert len(page["satisfaction_ratings"]) == 3 and page["meta"]["has_more"] is True
    rest = requests.get(page["links"]["next"], auth=AUTH, timeout=5).json()
    assert [r["ticket_id"] for r in rest["satisfaction_ratings"]] == ids[3:4]
    assert rest["meta"]["has_more"] is False
    offset = served.get("/api/v2/satisfaction_ratings.json", per_page=3, page=2).json()
    assert [r["ticket_id"] for r in offset["satisfaction_ratings"]] == ids[3:4]
    assert offset["previous_page"] and offset["next_page"] is None

    shown = served.get(f"/api/v2/satisfaction_ratings/{rating['id']}.json").json()
    assert shown["satisfaction_rating"] == rating
    assert served.get("/api/v2/satisfaction_ratings/1.json").status_code == 404

    client = zenpy_client(served, monkeypatch)  # zenpy asks for cursor pages (page[size]=100)
    assert sorted(r.ticket_id for r in client.satisfaction_ratings()) == ids[:4]


def test_merge_closes_sources_and_answers_a_job_status(
    clocked: tuple[Served, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    served, clock = clocked
    app = served.app
    target = app.add_ticket("Printer broken", requester_email="eve@initech.example.com")
    first = app.add_ticket("Printer still broken", requester_email="eve@initech.example.com")
    second = app.add_ticket("Printer!!", requester_email="fred@initech.example.com")
    solved = app.add_ticket("Done", requester_email="eve@initech.example.com", status="solved")
    cursor = served.get(EXPORT, start_time=0).json()["after_cursor"]
    clock.tick(10)

    url = f"{served.url}/api/v2/tickets/{target['id']}/merge.json"
    body = {"ids": [first["id"], second["id"]], "target_comment": "Combined",
            "source_comment": "Closing in favour of the first"}  # fmt: skip
    resp = requests.post(url, json=body, auth=AUTH, timeout=5)
    assert resp.status_code == 200
    job = resp.json()["job_status"]
    assert job["status"] == "completed" and job["total"] == job["progress"] == 3
    assert job["url"] == f"{served.url}/api/v2/job_statuses/{job['id']}.json"
    assert {r["id"] for r in job["results"]} == {target["id"], first["id"], second["id"]}
    polled = served.get(f"/api/v2/job_statuses/{job['id']}.json")
    assert polled.status_code == 200 and polled.json()["job_status"] == job

    moved = requests.get(
        f"{served.url}{EXPORT}", params={"cursor": cursor}, auth=AUTH, timeout=5
    ).json()["tickets"]
    assert [t["id"] for t in moved] == [first["id"], second["id"], target["id"]]
    for source in moved[:2]:
        assert source["status"] == "closed" and "closed_by_merge" in source["tags"]
        assert source["updated_at"] == iso(clock.now)
    assert moved[2]["status"] == "new"  # the target keeps its status
    assert moved[2]["collaborator_ids"] == [second["requester_id"]]  # the other requester
    merged = app.metrics(first["id"])
    assert merged["latest_comment_added_at"] == iso(clock.now) and merged["replies"] == 0
    assert merged["solved_at"] == iso(clock.now)  # closed straight from new by the merge
    assert app.metrics(target["id"])["latest_comment_added_at"] == iso(clock.now)

    # Broken rules give a failed job and change nothing.
    for ids in ([solved["id"]], [first["id"]], [target["id"]], [999]):
        failed = requests.post(url, json={"ids": ids}, auth=AUTH, timeout=5).json()
        assert failed["job_status"]["status"] == "failed" and failed["job_status"]["message"]
    assert next(t for t in app.tickets() if t["id"] == solved["id"])["status"] == "solved"
    closed_target = f"{served.url}/api/v2/tickets/{first['id']}/merge.json"
    assert (
        requests.post(closed_target, json={"ids": [solved["id"]]}, auth=AUTH, timeout=5).json()[
            "job_status"
        ]["status"]
        == "failed"
    )
    assert requests.post(url, json={"ids": []}, auth=AUTH, timeout=5).status_code == 400
    missing = f"{served.url}/api/v2/tickets/999/merge.json"
    assert requests.post(missing, json={"ids": [1]}, auth=AUTH, timeout=5).status_code == 404
    assert served.get("/api/v2/job_statuses/0123abcd.json").status_code == 404
    clock.tick(24 * 60 + 1)  # job statuses are kept for a day
    assert served.get(f"/api/v2/job_statuses/{job['id']}.json").status_code == 404

    client = zenpy_client(served, monkeypatch)
    third = app.add_ticket("Printer again", requester_email="eve@initech.example.com")
    zjob = client.tickets.merge(target["id"], [third["id"]], source_comment="dup")
    assert zjob.status == "completed"
    assert client.job_status(id=zjob.id).status == "completed"
    with pytest.raises(ValueError, match="closed"):
        app.merge(target["id"], [first["id"]])


def test_mark_as_spam_deletes_the_ticket_and_suspends_the_requester(served: Served) -> None:
    app = served.app
    spam = app.add_ticket("Cheap watches", requester_email="spammer@junk.example.net")
    other = app.add_ticket("Real question", requester_email="gil@umbrella.example.com")
    closed = app.add_ticket("Old", requester_email="hal@umbrella.example.com", status="closed")
    own = app.add_ticket("Agent's own")
    cursor = served.get(EXPORT, start_time=0).json()["after_cursor"]

    url = f"{served.url}/api/v2/tickets/{spam['id']}/mark_as_spam.json"
    resp = requests.put(url, json={}, auth=AUTH, timeout=5)
    assert resp.status_code == 200 and resp.content == b""  # documented: an empty body
    assert served.get(f"/api/v2/tickets/{spam['id']}.json").status_code == 404
    assert requests.put(url, json={}, auth=AUTH, timeout=5).status_code == 404

    page = requests.get(
        f"{served.url}{EXPORT}",
        params={"cursor": cursor, "include": "users"},
        auth=AUTH,
        timeout=5,
    ).json()
    [gone] = page["tickets"]
    # Nothing on the ticket says spam: it is a deleted ticket; its requester is suspended.
    assert gone["id"] == spam["id"] and gone["status"] == "deleted" and gone["tags"] == []
    [spammer] = [u for u in page["users"] if u["id"] == spam["requester_id"]]
    assert spammer["suspended"] is True
    deleted = served.get("/api/v2/deleted_tickets.json").json()["deleted_tickets"]
    assert [(d["id"], d["previous_state"]) for d in deleted] == [(spam["id"], "new")]

    for refused in (closed, own):  # closed tickets, and tickets not from an end user
        bad = f"{served.url}/api/v2/tickets/{refused['id']}/mark_as_spam.json"
        assert requests.put(bad, json={}, auth=AUTH, timeout=5).status_code == 422

    many = f"{served.url}/api/v2/tickets/mark_many_as_spam.json"
    ids = f"{other['id']},{closed['id']},999"
    job = requests.put(many, params={"ids": ids}, json={}, auth=AUTH, timeout=5).json()[
        "job_status"
    ]
    assert job["status"] == "completed"
    assert [(r["id"], r["success"]) for r in job["results"]] == [
        (other["id"], True), (closed["id"], False), (999, False)
    ]  # fmt: skip
    with pytest.raises(ValueError, match="end user"):
        app.mark_spam(own["id"])


def test_deleted_tickets_in_the_export_and_the_deleted_list(clocked: tuple[Served, Clock]) -> None:
    served, clock = clocked
    app = served.app
    tickets = [app.add_ticket(f"Ticket {c}", requester_email=f"{c}@a.example") for c in "cab"]
    for ticket in tickets:
        clock.tick(1)
        app.delete_ticket(ticket["id"])
    kept = app.add_ticket("Kept", requester_email="k@a.example")

    everything = served.get(EXPORT, start_time=0, include="metric_sets").json()
    assert [t["status"] for t in everything["tickets"]] == ["deleted"] * 3 + ["new"]
    assert [m["ticket_id"] for m in everything["metric_sets"]] == [kept["id"]]
    live = served.get(EXPORT, start_time=0, exclude_deleted="true").json()["tickets"]
    assert [t["id"] for t in live] == [kept["id"]]
    assert served.get(f"/api/v2/tickets/{tickets[0]['id']}/metrics.json").status_code == 404

    def listed(**params: Any) -> list[int]:
        body = served.get("/api/v2/deleted_tickets.json", **params).json()
        return [d["id"] for d in body["deleted_tickets"]]

    ids = [t["id"] for t in tickets]
    assert listed() == sorted(ids)
    assert listed(sort_by="subject") == [ids[1], ids[2], ids[0]]  # a, b, c
    assert listed(sort_by="deleted_at", sort_order="desc") == ids[::-1]
    first = served.get("/api/v2/deleted_tickets.json", **{"page[size]": 2}).json()
    assert first["meta"]["has_more"] is True
    rest = requests.get(first["links"]["next"], auth=AUTH, timeout=5).json()
    assert [d["id"] for d in first["deleted_tickets"] + rest["deleted_tickets"]] == sorted(ids)
    entry = first["deleted_tickets"][0]
    assert entry["actor"]["id"] == app.me["id"] and entry["deleted_at"].endswith("Z")
    assert served.get("/api/v2/deleted_tickets.json", sort_by="size").status_code == 400


def test_tickets_closed_120_days_ago_are_archived(clocked: tuple[Served, Clock]) -> None:
    served, clock = clocked
    app = served.app
    long_ago, lately = clock.now - 130 * 86_400, clock.now - 10 * 86_400
    old = app.add_ticket("Old", requester_email="o@a.example", status="closed",
                         created_at=long_ago, updated_at=long_ago)  # fmt: skip
    recent = app.add_ticket("Recent", requester_email="r@a.example", status="closed",
                            created_at=lately, updated_at=lately)  # fmt: skip
    open_ = app.add_ticket("Open", requester_email="p@a.example")
    assert app.archived() == [old["id"]]

    def related(ticket: dict[str, Any]) -> bool:
        body = served.get(f"/api/v2/tickets/{ticket['id']}/related.json").json()
        return bool(body["ticket_related"]["from_archive"])

    assert (related(old), related(recent), related(open_)) == (True, False, False)
    # Archived tickets stay in the export and the show endpoints, not in listings.
    exported = served.get(EXPORT, start_time=0).json()["tickets"]
    assert old["id"] in [t["id"] for t in exported]
    assert served.get(f"/api/v2/tickets/{old['id']}.json").status_code == 200
    assert served.get(f"/api/v2/tickets/{old['id']}/metrics.json").status_code == 200
    listed = served.get("/api/v2/ticket_metrics.json").json()["ticket_metrics"]
    assert [m["ticket_id"] for m in listed] == [open_["id"], recent["id"]]  # newest first
    assert put(served, old["id"], priority="low").status_code == 422

    assert app.archive_closed(older_than_days=3) == [recent["id"]]
    assert related(recent) and app.archive_closed() == []
    listed = served.get("/api/v2/ticket_metrics.json").json()["ticket_metrics"]
    assert [m["ticket_id"] for m in listed] == [open_["id"]]
    clock.tick(121 * 24 * 60)  # and time alone archives what gets closed now
    app.update_ticket(open_["id"], status="closed")
    assert app.archived() == [old["id"], recent["id"]]
    clock.tick(121 * 24 * 60)
    assert app.archived() == [old["id"], recent["id"], open_["id"]]


@pytest.mark.slow
def test_generated_histories_exercise_the_lifecycle(served: Served) -> None:
    app = served.app
    tickets = {t["id"]: t for t in app.generate(2_000, seed=11)}
    metrics: dict[int, dict[str, Any]] = {}
    page = served.get(EXPORT, start_time=0, include="metric_sets").json()
    while True:
        metrics.update((m["ticket_id"], m) for m in page["metric_sets"])
        if page["end_of_stream"]:
            break
        page = requests.get(page["after_url"], auth=AUTH, timeout=5).json()
    live = [t for t in tickets.values() if t["status"] != "deleted"]
    assert set(metrics) == {t["id"] for t in live}

    def minutes(metric: dict[str, Any], name: str) -> int | None:
        return metric[f"{name}_in_minutes"]["calendar"]

    done = [t for t in live if t["status"] in ("solved", "closed")]
    assert sum(minutes(metrics[t["id"]], "reply_time") is not None for t in live) > 500
    assert sum(metrics[t["id"]]["reopens"] > 0 for t in done) > 20
    # Pending and on-hold totals are null until a first stretch in the status has ended.
    assert sum((minutes(metrics[t["id"]], "agent_wait_time") or 0) > 0 for t in done) > 50
    # Generated tickets that go on hold stay there: their stretch has not ended, so it is
    # not in the on-hold total yet.
    held = [t for t in live if t["status"] == "hold"]
    assert held and all(minutes(metrics[t["id"]], "on_hold_time") is None for t in held)
    scores = [(t["satisfaction_rating"] or {}).get("score") for t in tickets.values()]
    assert {"offered", "good", "bad"} <= set(scores)
    merged = [t for t in live if "closed_by_merge" in t["tags"]]
    assert merged and all(t["status"] == "closed" for t in merged)
    deleted = [t for t in tickets.values() if t["status"] == "deleted"]
    assert deleted
    assert any(u["suspended"] for u in app.users()), "some were marked as spam"
    for ticket in live:  # metrics agree with the ticket
        metric = metrics[ticket["id"]]
        assert metric["created_at"] == ticket["created_at"]
        assert metric["updated_at"] <= ticket["updated_at"]
        if ticket["status"] in ("solved", "closed"):
            solved_at = to_epoch(metric["solved_at"])
            full = (solved_at - to_epoch(ticket["created_at"])) // 60
            assert minutes(metric, "full_resolution_time") == full
            assert metric["solved_at"] <= ticket["updated_at"]
        else:
            assert metric["solved_at"] is None
        if ticket["status"] != "new" and "closed_by_merge" not in ticket["tags"]:
            assert metric["assigned_at"] is not None  # a merge may close a new ticket
        if minutes(metric, "reply_time") is not None:
            assert metric["replies"] >= 1
    listed = served.get("/api/v2/satisfaction_ratings.json", score="received").json()
    assert listed["count"] == sum(s in ("good", "bad") for s in scores)

    old = ZendeskApp(email=EMAIL, token=TOKEN)
    old.generate(300, seed=2, days=365)
    assert old.archived(), "a year of tickets includes some closed over 120 days ago"

    started = time.perf_counter()
    ZendeskApp(email=EMAIL, token=TOKEN).generate(40_000, seed=3)
    assert time.perf_counter() - started < 8


def test_lifecycle_admin_routes(served: Served) -> None:
    admin = served.url + "/_sandbox/zendesk"
    app = served.app
    ticket = app.add_ticket("Via admin", requester_email="ida@a.example")
    other = app.add_ticket("Duplicate", requester_email="ida@a.example")
    spam = app.add_ticket("Spam", requester_email="junk@b.example")

    replied = requests.post(f"{admin}/tickets/{ticket['id']}/reply",
                            json={"body": "On it", "status": "solved"}, timeout=5)  # fmt: skip
    assert replied.status_code == 200 and replied.json()["status"] == "solved"
    metric = requests.get(f"{admin}/tickets/{ticket['id']}/metrics", timeout=5).json()
    assert metric["replies"] == 1
    rated = requests.post(f"{admin}/tickets/{ticket['id']}/rate",
                          json={"score": "good", "comment": "Fast"}, timeout=5)  # fmt: skip
    assert rated.status_code == 200 and rated.json()["score"] == "good"
    merged = requests.post(f"{admin}/tickets/{ticket['id']}/merge",
                           json={"ids": [other["id"]]}, timeout=5)  # fmt: skip
    assert merged.json()["status"] == "completed"
    assert requests.post(f"{admin}/tickets/{spam['id']}/spam", timeout=5).status_code == 204
    assert requests.post(f"{admin}/tickets/{spam['id']}/spam", timeout=5).status_code == 404
    bad = requests.post(f"{admin}/tickets/{ticket['id']}/rate", json={"score": "meh"}, timeout=5)
    assert bad.status_code == 400
    archived = requests.post(f"{admin}/archive", json={"older_than_days": 0}, timeout=5)
    assert archived.json() == {"archived": [other["id"]]}
    assert served.export_requests() == 0  # admin calls are not vendor traffic


def test_show_metrics_can_answer_the_list_shape_of_the_docs_examples() -> None:
    # [TM]'s examples wrap the one metric in a list; clients may meet either shape.
    app = ZendeskApp(email=EMAIL, token=TOKEN, ticket_metric_as_list=True)
    ticket = app.add_ticket("Shape", requester_email="sh@a.example")
    with serve(app) as served:
        for path in (
            f"/api/v2/tickets/{ticket['id']}/metrics",
            f"/api/v2/ticket_metrics/{ticket['id']}",
        ):
            assert served.get(path).json() == {"ticket_metric": [app.metrics(ticket["id"])]}


def test_assigning_a_new_ticket_opens_it(served: Served) -> None:
    app = served.app
    agent = app.add_user("Kim Agent", "kim@acme.test", role="agent")
    ticket = app.add_ticket("Unassigned", requester_email="lu@a.example")
    resp = put(served, ticket["id"], assignee_id=agent["id"])
    assert resp.json()["ticket"]["status"] == "open"  # [NSR]
    fields = [e["field_name"] for e in resp.json()["audit"]["events"]]
    assert fields == ["assignee_id", "status"]
    metric = app.metrics(ticket["id"])
    assert (
        metric["initially_assigned_at"]
        == metric["assigned_at"]
        == resp.json()["ticket"]["updated_at"]
    )


def test_a_cursor_request_through_zenpy_drops_per_page(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # zenpy builds a cursor request from cursor and include alone (zenpy lib/endpoint.py,
    # PrimaryEndpoint.__call__ has no per_page), so Zendesk's default page of up to 1,000
    # ([IE] per_page "The default is 1,000") answers it.
    served.app.generate(25, seed=3)
    client = zenpy_client(served, monkeypatch)
    first = client.tickets.incremental(start_time=0, include=["users"], per_page=10)
    assert len(first.values) == 10
    later = client.tickets.incremental(cursor=first.after_cursor, include=["users"], per_page=10)
    assert len(later.values) == 15 and later.end_of_stream is True
