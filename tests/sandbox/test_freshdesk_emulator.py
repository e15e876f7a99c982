"""The Freshdesk emulator, driven by raw HTTP as a thin requests-based client would.

Each test serves a fresh `FreshdeskApp` alone on a loopback `SandboxServer` with a settable
clock, so time-based behaviour (the 30-day window, updated_at ordering, per-minute credits)
is exact.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from syncd.sandbox.freshdesk import FreshdeskApp, FreshdeskError
from syncd.sandbox.server import SandboxServer
from tests.sandbox.serving import serving

KEY = "emulator-test-key"
NOW = 1_800_000_030.0  # 30 s into a minute, for rate-limit tests
DAY = 86_400
TICKETS = "/api/v2/tickets"
STATS_KEYS = {
    "agent_responded_at", "requester_responded_at", "first_responded_at", "status_updated_at",
    "reopened_at", "resolved_at", "closed_at", "pending_since",
}  # fmt: skip


class Clock:
    """A settable clock for the app."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@dataclass
class Served:
    app: FreshdeskApp
    server: SandboxServer
    clock: Clock
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.auth = (KEY, "X")

    @property
    def url(self) -> str:
        return self.server.base_url

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.url + path, params=params, timeout=5)

    def put(self, path: str, body: Any) -> requests.Response:
        return self.session.put(self.url + path, json=body, timeout=5)

    def delete(self, path: str) -> requests.Response:
        return self.session.delete(self.url + path, timeout=5)

    def ids(self, **params: Any) -> list[int]:
        resp = self.get(TICKETS, **params)
        assert resp.status_code == 200, resp.text
        return [t["id"] for t in resp.json()]


@contextmanager
def serve(app: FreshdeskApp, clock: Clock) -> Iterator[Served]:
    with serving(app) as server:
        yield Served(app, server, clock)


@pytest.fixture
def served() -> Iterator[Served]:
    clock = Clock()
    with serve(FreshdeskApp(api_key=KEY, clock=clock), clock) as running:
        yield running


def ago(days: float = 0, hours: float = 0) -> float:
    return NOW - days * DAY - hours * 3600


def test_basic_auth_with_api_key_and_dummy_password(served: Served) -> None:
    served.app.add_ticket("Hello")
    for auth in [("wrong-key", "X"), None]:
        resp = requests.get(served.url + TICKETS, auth=auth, timeout=5)
        assert resp.status_code == 401
        assert resp.json() == {
            "code": "invalid_credentials",
            "message": "You have to be logged in to perform this action.",
        }
        assert resp.headers["X-RateLimit-Used-CurrentRequest"] == "0"
    assert served.app.request_times() == []  # refused requests spend nothing
    # The password is a dummy: "X" by convention, anything is accepted.
    for password in ("X", "anything"):
        assert requests.get(served.url + TICKETS, auth=(KEY, password), timeout=5).ok
    assert served.app.request_times() == [NOW, NOW]


def test_list_defaults_order_paging_and_link_header(served: Served) -> None:
    app = served.app
    made = [
        app.add_ticket(f"T{i}", "Body", created_at=ago(hours=10 - i), updated_at=ago(hours=1))
        for i in range(5)
    ]
    ids = [t["id"] for t in made]
    # Defaults: order_by=created_at, order_type=desc, 30 per page.
    assert served.ids() == ids[::-1]
    assert served.ids(order_type="asc") == ids

    first = served.get(TICKETS, per_page=2, order_type="asc", include="requester")
    assert [t["id"] for t in first.json()] == ids[:2]
    next_url = first.links["next"]["url"]
    assert next_url.startswith(served.url + TICKETS + "?")
    assert "per_page=2" in next_url and "include=requester" in next_url
    assert next_url.endswith("page=2")
    second = served.session.get(next_url, timeout=5)
    third = served.session.get(second.links["next"]["url"], timeout=5)
    assert [t["id"] for t in second.json() + third.json()] == ids[2:]
    assert "Link" not in third.headers  # no next page, no link
    assert "Link" not in served.get(TICKETS).headers

    # Accounts created after 2018-11-30 get the description only with include=description.
    listed = served.get(TICKETS).json()[0]
    assert "description" not in listed and "description_text" not in listed
    described = served.get(TICKETS, include="description").json()[0]
    assert described["description"] == "<div>Body</div>" and described["description_text"] == "Body"


def test_list_parameter_errors(served: Served) -> None:
    cases = [
        ({"per_page": 101}, "per_page", "invalid_value"),
        ({"per_page": 0}, "per_page", "invalid_value"),
        ({"page": 0}, "page", "invalid_value"),
        ({"order_by": "priority"}, "order_by", "invalid_value"),
        ({"order_type": "up"}, "order_type", "invalid_value"),
        ({"filter": "all"}, "filter", "invalid_value"),
        ({"include": "conversations"}, "include", "invalid_value"),
        ({"updated_since": "yesterday"}, "updated_since", "invalid_value"),
        ({"sort": "x"}, "sort", "invalid_field"),
    ]
    for params, field_name, code in cases:
        resp = served.get(TICKETS, **params)
        assert resp.status_code == 400, params
        body = resp.json()
        assert body["description"] == "Validation failed"
        assert [(e["field"], e["code"]) for e in body["errors"]] == [(field_name, code)], params
        assert resp.headers["X-RateLimit-Used-CurrentRequest"] == "1"  # invalid requests count


def test_page_cap_refuses_pages_past_300(served: Served) -> None:
    refused = served.get(TICKETS, page=301)
    assert refused.status_code == 400
    assert refused.json() == {
        "description": "Validation failed",
        "errors": [
            {
                "field": "page",
                "message": "You cannot access tickets beyond the 300th page. "
                "Please provide a smaller page number.",
                "code": "invalid_value",
            }
        ],
    }
    for i in range(301):
        served.app.add_ticket(f"T{i}")
    last = served.get(TICKETS, per_page=1, page=300)
    assert last.status_code == 200 and len(last.json()) == 1
    # Page 300 still links to 301 (as users report), which is then refused.
    assert served.session.get(last.links["next"]["url"], timeout=5).status_code == 400


def test_updated_since_paging_is_stable_across_ties(served: Served) -> None:
    app = served.app
    # Three tickets share one updated_at: ties must break by id in a stable way.
    tied = [app.add_ticket(f"Tie {i}", created_at=ago(2), updated_at=ago(1)) for i in range(3)]
    early = app.add_ticket("Early", created_at=ago(3), updated_at=ago(2))
    late = app.add_ticket("Late", created_at=ago(3), updated_at=ago(hours=1))
    expected = [early["id"], *(t["id"] for t in tied), late["id"]]
    since = "2020-01-01T00:00:00Z"
    assert served.ids(updated_since=since, order_by="updated_at", order_type="asc") == expected
    desc = served.ids(updated_since=since, order_by="updated_at", order_type="desc")
    assert desc == expected[::-1]

    # A client that moves updated_since (inclusive) to the last updated_at it saw, and pages
    # on while a tie fills the page, sees every ticket, in order.
    seen: dict[int, str] = {}
    cursor, page = since, 1
    while True:
        batch = served.get(
            TICKETS, updated_since=cursor, order_by="updated_at", order_type="asc",
            per_page=2, page=page,
        ).json()  # fmt: skip
        seen.update((t["id"], t["updated_at"]) for t in batch)
        if len(batch) < 2:
            break
        last = batch[-1]["updated_at"]
        cursor, page = (cursor, page + 1) if last == cursor else (last, 1)
    assert list(seen) == expected

    # updated_since compares updated_at (inclusively); the order can be another field.
    cut = tied[0]["updated_at"]
    tied_ids = [t["id"] for t in tied]
    assert served.ids(updated_since=cut, order_by="updated_at", order_type="asc") == [
        *tied_ids, late["id"],
    ]  # fmt: skip
    assert served.ids(updated_since=cut, order_type="asc") == [late["id"], *tied_ids]


def test_default_window_is_tickets_created_in_the_last_30_days(served: Served) -> None:
    app = served.app
    old = app.add_ticket("Old but touched", created_at=ago(40), updated_at=ago(1))
    recent = app.add_ticket("Recent", created_at=ago(10), updated_at=ago(10))
    assert served.ids() == [recent["id"]]
    assert served.ids(updated_since="2020-01-01") == [recent["id"], old["id"]]
    assert served.ids(updated_since="2027-01-14T00:00:00Z") == [old["id"]]


def test_deleted_and_spam_are_excluded_unless_filtered(served: Served) -> None:
    app = served.app
    keep = app.add_ticket("Keep")
    gone = app.add_ticket("Gone")
    junk = app.add_ticket("Buy now")
    served.clock.advance(60)

    assert served.delete(f"{TICKETS}/{gone['id']}").status_code == 204
    app.mark_spam(junk["id"])
    assert served.ids() == [keep["id"]]
    deleted = served.get(TICKETS, filter="deleted").json()
    assert [t["id"] for t in deleted] == [gone["id"]]
    assert deleted[0]["deleted"] is True and deleted[0]["updated_at"] == "2027-01-15T08:01:30Z"
    spam = served.get(TICKETS, filter="spam").json()
    assert [(t["id"], t["spam"]) for t in spam] == [(junk["id"], True)]

    # A deleted ticket stays viewable but can't be updated or deleted again.
    shown = served.get(f"{TICKETS}/{gone['id']}")
    assert shown.status_code == 200 and shown.json()["deleted"] is True
    assert "deleted" not in served.get(f"{TICKETS}/{keep['id']}").json()
    assert served.put(f"{TICKETS}/{gone['id']}", {"priority": 2}).status_code == 404
    assert served.delete(f"{TICKETS}/{gone['id']}").status_code == 404
    assert served.put(f"{TICKETS}/{keep['id']}/restore", None).status_code == 404

    assert served.put(f"{TICKETS}/{gone['id']}/restore", None).status_code == 204
    assert sorted(served.ids()) == [keep["id"], gone["id"]]
    assert served.ids(filter="deleted") == []
    missing = served.get(f"{TICKETS}/999")
    assert missing.status_code == 404 and missing.content == b""


def test_includes_embed_and_cost_credits() -> None:
    clock = Clock()
    app = FreshdeskApp(api_key=KEY, requests_per_minute=100, clock=clock)
    ticket = app.add_ticket(
        "Charged twice", "Refund please", requester_email="dana@northwind.example.com",
        requester_name="Dana Smith", company="Northwind",
    )  # fmt: skip
    app.reply(ticket["id"], "Looking into it")
    with serve(app, clock) as served:
        cases = [
            (TICKETS, {}, 1),
            (TICKETS, {"include": "stats"}, 3),  # the docs' example: stats costs 3 in all
            (TICKETS, {"include": "requester,stats"}, 5),
            (TICKETS, {"include": "requester,stats,description"}, 7),
            (f"{TICKETS}/{ticket['id']}", {"include": "requester,company"}, 3),
            (f"{TICKETS}/{ticket['id']}", {"include": "conversations"}, 2),
        ]
        remaining = 100
        for path, params, cost in cases:
            resp = served.get(path, **params)
            remaining -= cost
            assert resp.headers["X-RateLimit-Used-CurrentRequest"] == str(cost), params
            assert resp.headers["X-RateLimit-Remaining"] == str(remaining)
            assert resp.headers["X-RateLimit-Total"] == "100"

        listed = served.get(TICKETS, include="requester,stats").json()[0]
        assert listed["requester"] == {
            "id": ticket["requester_id"], "name": "Dana Smith",
            "email": "dana@northwind.example.com", "mobile": None, "phone": None,
        }  # fmt: skip
        assert set(listed["stats"]) == STATS_KEYS
        assert listed["stats"]["first_responded_at"] == "2027-01-15T08:00:30Z"
        view = served.get(
            f"{TICKETS}/{ticket['id']}", include="requester,stats,company,conversations"
        ).json()
        assert view["company"] == {"id": ticket["company_id"], "name": "Northwind"}
        assert [c["body_text"] for c in view["conversations"]] == ["Looking into it"]
        assert view["description_text"] == "Refund please" and view["attachments"] == []
        assert [cost for _, cost in app.request_log()][-2:] == [5, 5]


def test_rate_limit_answers_429_with_retry_after_and_records_requests() -> None:
    clock = Clock()
    app = FreshdeskApp(api_key=KEY, requests_per_minute=5, clock=clock)
    ticket = app.add_ticket("Hello")
    with serve(app, clock) as served:
        view = f"{TICKETS}/{ticket['id']}"
        assert served.get(TICKETS, include="stats").headers["X-RateLimit-Remaining"] == "2"
        assert served.get(view).headers["X-RateLimit-Remaining"] == "1"
        # A request costing more credits than remain is refused whole.
        limited = served.get(TICKETS, include="stats")
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "30"
        assert limited.headers["X-RateLimit-Remaining"] == "1"
        assert limited.headers["X-RateLimit-Used-CurrentRequest"] == "0"
        assert limited.json()["code"] == "rate_limit_exceeded"
        assert served.get(view).status_code == 200
        assert served.get(view).status_code == 429

        clock.advance(31)  # the next minute brings a fresh budget
        fresh = served.get(view)
        assert fresh.status_code == 200 and fresh.headers["X-RateLimit-Remaining"] == "4"

    assert app.request_times() == [NOW, NOW, NOW, NOW + 31]
    per_minute = Counter[int]()
    for at, credits in app.request_log():
        per_minute[int(at // 60)] += credits
    assert max(per_minute.values()) <= 5


def test_unlimited_reports_a_nominal_budget(served: Served) -> None:
    for _ in range(3):
        resp = served.get(TICKETS, include="stats")
    assert resp.headers["X-RateLimit-Total"] == "700"
    assert resp.headers["X-RateLimit-Remaining"] == "700"  # polite clients never wait
    assert resp.headers["X-RateLimit-Used-CurrentRequest"] == "3"
    served.app.set_requests_per_minute(2)
    assert served.get(TICKETS).headers["X-RateLimit-Remaining"] == "1"
    assert served.get(TICKETS, include="stats").status_code == 429


def test_a_listing_with_three_includes_costs_seven_credits(served: Served) -> None:
    # [List]: each include costs 2 more credits, so requester,stats,company costs 1 + 3 * 2.
    served.app.add_ticket("Hello", company="Initech")
    resp = served.get(TICKETS, include="requester,stats,company")
    assert resp.status_code == 200 and resp.headers["X-RateLimit-Used-CurrentRequest"] == "7"
    assert resp.json()[0]["company"]["name"] == "Initech"


def test_rate_limit_headers_may_carry_decimals(served: Served) -> None:
    served.app.decimal_headers = True
    resp = served.get(TICKETS, include="stats")
    assert resp.headers["X-RateLimit-Total"] == "700.0"
    assert resp.headers["X-RateLimit-Used-CurrentRequest"] == "3.0"


def test_an_hourly_cap_answers_429_with_a_long_retry_after(served: Served) -> None:
    served.app.set_credits_per_hour(4)
    assert served.get(TICKETS, include="stats").status_code == 200
    limited = served.get(TICKETS, include="stats")
    assert limited.status_code == 429
    # NOW is 30 s into a minute and 1830 s into its hour: the wait runs to the hour's end.
    assert int(limited.headers["Retry-After"]) == 3600 - int(NOW % 3600) > 60
    assert served.get(TICKETS).status_code == 200  # one credit still fits this hour
    served.clock.advance(3600)
    assert served.get(TICKETS, include="stats").status_code == 200


def test_the_status_field_s_admin_view_says_which_statuses_stop_the_sla_timer(
    served: Served,
) -> None:
    fields = {f["name"]: f for f in served.get("/api/v2/ticket_fields").json()}
    detail = served.get(f"/api/v2/admin/ticket_fields/{fields['status']['id']}")
    assert detail.status_code == 200
    choices = {c["id"]: c for c in detail.json()["choices"]}
    assert choices[6]["value"] == "Waiting on Customer" and choices[6]["stop_sla_timer"]
    assert not choices[2]["stop_sla_timer"] and choices[3]["stop_sla_timer"]
    assert not choices[6]["default"] and choices[2]["default"]
    served.app.admin_key = False  # an agent's key: the admin endpoints refuse it
    refused = served.get(f"/api/v2/admin/ticket_fields/{fields['status']['id']}")
    assert refused.status_code == 403 and refused.json()["code"] == "access_denied"
    ticket = served.app.add_ticket("Waiting")
    assert served.put(f"{TICKETS}/{ticket['id']}", {"status": 6}).json()["status"] == 6


def test_put_ticket_updates_fields_and_validates(served: Served) -> None:
    ticket = served.app.add_ticket("Help", tags=["a"], custom_fields={"cf_plan": "Free"})
    url = f"{TICKETS}/{ticket['id']}"
    served.clock.advance(120)
    change = {
        "priority": 4, "status": 3, "tags": ["a", "b"], "group_id": 44_000_000_003,
        "custom_fields": {"cf_product_area": "API"}, "type": "Incident",
    }  # fmt: skip
    resp = served.put(url, change)
    assert resp.status_code == 200
    body = resp.json()
    assert (body["priority"], body["status"], body["tags"]) == (4, 3, ["a", "b"])
    assert body["custom_fields"] == {"cf_plan": "Free", "cf_product_area": "API"}
    assert body["updated_at"] == "2027-01-15T08:02:30Z" != body["created_at"]

    served.clock.advance(60)
    assert served.put(url, {"priority": 4}).json()["updated_at"] == body["updated_at"]  # no-op

    bad = served.put(
        url,
        {"status": 9, "id": 5, "custom_fields": {"cf_plan": "Gold", "cf_nope": 1}, "tags": "x"},
    )
    assert bad.status_code == 400
    errors = {(e["field"], e["code"]) for e in bad.json()["errors"]}
    assert errors == {
        ("status", "invalid_value"), ("id", "invalid_field"), ("cf_plan", "invalid_value"),
        ("cf_nope", "invalid_field"), ("tags", "invalid_value"),
    }  # fmt: skip
    assert "'2,3,4,5,6,7'" in next(
        e["message"] for e in bad.json()["errors"] if e["field"] == "status"
    )
    assert served.put(f"{TICKETS}/999", {"priority": 1}).status_code == 404
    with pytest.raises(FreshdeskError):
        served.app.update_ticket(ticket["id"], priority=7)


def test_stats_follow_the_status_history(served: Served) -> None:
    app, clock = served.app, served.clock
    ticket = app.add_ticket("Printer on fire", requester_email="ann@globex.example.com")
    tid = ticket["id"]

    def stats() -> dict[str, Any]:
        return served.get(f"{TICKETS}/{tid}", include="stats").json()["stats"]

    created = ticket["created_at"]
    assert stats() == {**dict.fromkeys(STATS_KEYS), "status_updated_at": created}
    t1 = app.reply(tid, at=clock.advance(60))["stats"]["agent_responded_at"]
    app.reply(tid, at=clock.advance(60))
    s = stats()
    assert s["first_responded_at"] == t1 != s["agent_responded_at"]

    pending = app.update_ticket(tid, status=3, at=clock.advance(60))["stats"]
    assert pending["pending_since"] == pending["status_updated_at"] != created
    resolved = app.resolve(tid, at=clock.advance(60))["stats"]
    assert resolved["resolved_at"] == resolved["status_updated_at"]
    assert resolved["pending_since"] is None and resolved["closed_at"] is None

    # A customer reply reopens: reopened_at set, resolution times cleared.
    clock.advance(60)
    reopened = app.customer_reply(tid)
    s = reopened["stats"]
    assert reopened["status"] == 2
    assert s["reopened_at"] == s["requester_responded_at"] == s["status_updated_at"]
    assert s["resolved_at"] is None and s["closed_at"] is None

    # Closing straight from open also sets resolved_at.
    closed = app.close(tid, at=clock.advance(60))["stats"]
    assert closed["resolved_at"] == closed["closed_at"] == closed["status_updated_at"]
    assert stats() == closed


def test_merge_closes_secondaries_and_leaves_notes(served: Served) -> None:
    app = served.app
    primary = app.add_ticket("Login broken", requester_email="ann@globex.example.com")
    second = app.add_ticket("Still cannot log in", requester_email="bob@globex.example.com")
    third = app.add_ticket("Login?", requester_email="cy@globex.example.com")
    app.customer_reply(second["id"], "Any update?")
    served.clock.advance(60)

    resp = served.put(
        f"{TICKETS}/merge",
        {
            "primary_id": primary["id"],
            "ticket_ids": [primary["id"], second["id"], third["id"]],
            "note_in_primary": {"body": "Merged duplicates", "private": True},
            "convert_recepients_to_cc": True,
        },
    )
    assert resp.status_code == 204 and resp.content == b""
    for secondary in (second, third):
        shown = served.get(f"{TICKETS}/{secondary['id']}", include="stats,conversations").json()
        assert shown["status"] == 5 and shown["stats"]["closed_at"] == shown["updated_at"]
        [note] = shown["conversations"]  # its own conversations moved to the primary
        assert note["private"] is True and note["source"] == 2
        assert note["body_text"] == f"This ticket is closed and merged into ticket #{primary['id']}"
    merged = served.get(f"{TICKETS}/{primary['id']}", include="conversations").json()
    assert merged["status"] == 2
    assert merged["cc_emails"] == ["bob@globex.example.com", "cy@globex.example.com"]
    texts = [c["body_text"] for c in merged["conversations"]]
    assert texts == ["Any update?", "Merged duplicates", "Merged duplicates"]
    listed = served.get(f"{TICKETS}/{primary['id']}/conversations").json()
    assert all(c["ticket_id"] == primary["id"] for c in listed)

    bad = served.put(f"{TICKETS}/merge", {"primary_id": primary["id"], "ticket_ids": [999]})
    assert bad.status_code == 400
    assert bad.json()["errors"] == [
        {
            "field": "ticket_ids",
            "message": "There are no records matching the ids: '999'",
            "code": "invalid_value",
        }
    ]
    missing = served.put(f"{TICKETS}/merge", {"ticket_ids": [1]}).json()["errors"]
    assert missing == [
        {"field": "primary_id", "message": "Mandatory attribute missing", "code": "missing_field"}
    ]


def test_satisfaction_ratings_filter_and_paging(served: Served) -> None:
    app = served.app
    ticket = app.add_ticket("Thanks", responder_id=43_000_000_002, group_id=44_000_000_001)
    values = [103, 100, -103, 101, 102]
    ratings = [
        app.add_rating(ticket["id"], v, f"feedback {i}", at=ago(days=5 - i))
        for i, v in enumerate(values)
    ]
    with pytest.raises(ValueError):
        app.add_rating(ticket["id"], 5)
    path = "/api/v2/surveys/satisfaction_ratings"
    first = served.get(path, per_page=2)
    assert [r["id"] for r in first.json()] == [r["id"] for r in ratings[:2]]
    rest = served.session.get(first.links["next"]["url"], timeout=5)
    assert len(rest.json()) == 2 and "next" in rest.links
    since = served.get(path, created_since=ratings[3]["created_at"]).json()
    assert [r["ratings"]["default_question"] for r in since] == [101, 102]
    assert set(since[0]) == {
        "id", "survey_id", "user_id", "agent_id", "group_id", "ticket_id", "feedback",
        "ratings", "created_at", "updated_at",
    }  # fmt: skip
    assert (since[0]["user_id"], since[0]["agent_id"], since[0]["group_id"]) == (
        ticket["requester_id"], 43_000_000_002, 44_000_000_001,
    )  # fmt: skip


def test_contacts_companies_and_ticket_fields(served: Served) -> None:
    app = served.app
    company = app.add_company("Hooli", ["hooli.example.com"], custom_fields={"plan": "Pro"})
    for i in range(3):
        app.add_company(f"Extra {i}")
    contact = app.add_contact("Fay Chen", "fay@hooli.example.com", company["id"], phone="+1555")

    shown = served.get(f"/api/v2/contacts/{contact['id']}").json()
    assert (shown["email"], shown["company_id"], shown["phone"]) == (
        "fay@hooli.example.com", company["id"], "+1555",
    )  # fmt: skip
    got = served.get(f"/api/v2/companies/{company['id']}").json()
    assert got["domains"] == ["hooli.example.com"] and got["custom_fields"] == {"plan": "Pro"}
    page = served.get("/api/v2/companies", per_page=3)
    assert [c["name"] for c in page.json()] == ["Hooli", "Extra 0", "Extra 1"]
    assert served.session.get(page.links["next"]["url"], timeout=5).json()[0]["name"] == "Extra 2"
    assert served.get("/api/v2/contacts/1").status_code == 404
    assert served.get(f"/api/v2/companies/{contact['id']}").status_code == 404

    fields = {f["name"]: f for f in served.get("/api/v2/ticket_fields").json()}
    assert fields["cf_plan"]["type"] == "custom_dropdown" and not fields["cf_plan"]["default"]
    assert fields["cf_plan"]["choices"] == ["Free", "Pro", "Enterprise"]
    # [Fields]: {code: [agent label, customer label]}, with a new account's custom statuses.
    assert fields["status"]["choices"]["4"] == ["Resolved", "This ticket has been Resolved"]
    assert fields["status"]["choices"]["6"] == ["Waiting on Customer", "Awaiting your Reply"]
    assert fields["status"]["choices"]["7"][0] == "Waiting on Third Party"
    assert fields["priority"]["choices"]["Urgent"] == 4


def test_admin_routes(served: Served) -> None:
    admin = served.url + "/_sandbox/freshdesk"
    created = requests.post(
        admin + "/tickets",
        json={"subject": "Via admin", "requester_email": "gil@umbrella.example.com", "priority": 2},
        timeout=5,
    )
    assert created.status_code == 201
    tid = created.json()["id"]
    assert (
        requests.put(f"{admin}/tickets/{tid}", json={"status": 4}, timeout=5).json()["status"] == 4
    )
    replied = requests.post(f"{admin}/tickets/{tid}/reply", json={"body": "Hi"}, timeout=5)
    assert replied.json()["stats"]["first_responded_at"] is not None
    assert requests.post(f"{admin}/tickets/{tid}/reopen", timeout=5).json()["status"] == 2
    assert requests.post(f"{admin}/tickets/{tid}/fly", timeout=5).status_code == 404
    rating = requests.post(admin + "/ratings", json={"ticket_id": tid, "value": 103}, timeout=5)
    assert rating.status_code == 201
    generated = requests.post(admin + "/generate", json={"count": 10, "seed": 1}, timeout=5)
    assert generated.json() == {"created": 10}
    other = requests.post(admin + "/tickets", json={"subject": "Dup"}, timeout=5).json()["id"]
    merged = requests.post(
        admin + "/merge", json={"primary_id": tid, "ticket_ids": [other]}, timeout=5
    )
    assert merged.status_code == 200
    assert requests.delete(f"{admin}/tickets/{tid}", timeout=5).status_code == 204
    assert requests.put(f"{admin}/tickets/{tid}", json={}, timeout=5).status_code == 404
    listed = requests.get(admin + "/tickets", timeout=5).json()
    assert len(listed) == 12 and listed[0]["deleted"] is True
    assert requests.get(admin + "/requests", timeout=5).json() == {"times": [], "credits": []}
    assert served.server.counts["freshdesk"] == 0  # admin calls are not vendor traffic


@pytest.mark.slow
def test_generate_is_deterministic_realistic_and_fast() -> None:
    def subjects(seed: int) -> list[tuple[str, int]]:
        app = FreshdeskApp(api_key=KEY, clock=Clock())
        return [(t["subject"], t["status"]) for t in app.generate(200, seed=seed)]

    assert subjects(7) == subjects(7) != subjects(8)

    clock = Clock()
    app = FreshdeskApp(api_key=KEY, clock=clock)
    started = time.perf_counter()
    tickets = app.generate(40_000, seed=1)
    assert time.perf_counter() - started < 8  # about 2 s on a laptop
    assert len(tickets) == 40_000 and len(app.companies()) == 2_000
    assert len({t["requester_id"] for t in tickets}) > 5_000
    assert len({t["company_id"] for t in tickets}) > 1_500
    assert all(c["domains"] for c in app.companies())
    assert {t["status"] for t in tickets} == {2, 3, 4, 5, 6, 7}  # with the custom ones
    assert {t["source"] for t in tickets} == {1, 2, 3, 7, 9, 10}
    assert {t["custom_fields"]["cf_plan"] for t in tickets} == {"Free", "Pro", "Enterprise"}
    assert 100 < sum(t["spam"] for t in tickets) < 800
    assert 100 < sum(t.get("deleted", False) for t in tickets) < 800
    assert sum(t["created_at"] < "2026-12-16" for t in tickets) > 10_000  # older than 30 days
    text = " ".join(t["subject"] + " " + t["description_text"] for t in tickets).lower()
    for word in ("invoice", "refund", "error", "log in", "crash", "down", "feature request",
                 "disappointed", "how do i"):  # fmt: skip
        assert word in text
    for t in tickets:
        s = t["stats"]
        assert t["created_at"] <= t["updated_at"] <= "2027-01-15T08:00:30Z"
        assert (s["resolved_at"] is not None) == (t["status"] in (4, 5))
        assert (s["closed_at"] is not None) == (t["status"] == 5)
        assert (s["pending_since"] is not None) == (t["status"] == 3)
        if s["first_responded_at"] is not None:
            assert t["created_at"] <= s["first_responded_at"] <= s["agent_responded_at"]
        if s["resolved_at"] and s["closed_at"]:
            assert s["resolved_at"] <= s["closed_at"]
        if s["reopened_at"]:
            assert t["status"] in (2, 3) and s["first_responded_at"] is not None
    assert len(app.ratings()) > 2_000

    # Listing stays cheap on a big account: a deep page answers without sorting everything.
    with serve(app, clock) as served:
        params = {"updated_since": "2020-01-01", "order_by": "updated_at", "order_type": "asc"}
        started = time.perf_counter()
        for page in range(290, 300):
            assert len(served.ids(**params, per_page=100, page=page)) == 100
        assert time.perf_counter() - started < 1.5
