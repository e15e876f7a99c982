"""The Freshdesk source: normalisation and the cursor alone, then pull() against the sandbox.

The sandbox's Freshdesk emulator speaks the v2 API over loopback HTTP; tests that need time to
pass give the emulator and the source one fake clock, so rate limits are proven without
waiting.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog

from connectors.freshdesk import (
    CursorState,
    FreshdeskSource,
    may_be_merged,
    merged_into,
    normalize,
    parse_rating,
)
from syncd.config import FreshdeskConfig
from syncd.errors import CredentialsError, TerminalError, TransientError
from syncd.incremental import Mark, iso
from syncd.model import Status, Ticket
from syncd.ports import Page
from syncd.sandbox import FRESHDESK_API_KEY, Sandbox
from syncd.sandbox.server import SandboxServer
from tests.sandbox.serving import serving

# ------------------------------------------------------------------------ normalisation

BASE: dict[str, Any] = {
    "id": 42,
    "subject": "Invoice is wrong",
    "description": "<div>I was charged twice</div>",
    "description_text": "I was charged twice",
    "status": 2,
    "priority": 3,
    "source": 1,
    "tags": ["billing", "vip"],
    "requester_id": 7,
    "responder_id": 43_000_000_001,
    "company_id": 48_000_000_001,
    "custom_fields": {"cf_plan": "Pro", "cf_product_area": "Billing"},
    "created_at": "2026-11-01T10:00:00Z",
    "updated_at": "2026-11-02T10:00:00Z",
    "spam": False,
    "requester": {"id": 7, "name": "Ann Lee", "email": "ann@x.example"},
    "stats": {
        "first_responded_at": "2026-11-01T11:00:00Z",
        "status_updated_at": "2026-11-01T12:00:00Z",
        "resolved_at": None,
        "closed_at": None,
        "reopened_at": None,
        "pending_since": None,
    },
}
COMPANY = {"id": 48_000_000_001, "name": "Globex", "domains": ["globex.example", "gx.example"]}
LINK = "https://acme.freshdesk.com"


def test_fields_are_normalised():
    ticket = normalize(BASE, COMPANY, LINK, {"plan": "cf_plan", "area": "product_area"})
    assert ticket.id == "42" and ticket.source == "freshdesk" and ticket.status is Status.OPEN
    assert ticket.description == "I was charged twice"
    assert (ticket.helpdesk_priority, ticket.channel) == ("high", "email")
    assert ticket.tags == ("billing", "vip")
    assert ticket.requester.name == "Ann Lee" and ticket.requester.domain == "x.example"
    assert (ticket.organization.name, ticket.organization.domain) == ("Globex", "globex.example")
    assert ticket.assignee_id == "43000000001"
    assert ticket.url == "https://acme.freshdesk.com/a/tickets/42"
    # Raw names stay; rule names are added (with or without the cf_ prefix in the config).
    assert ticket.custom_fields == {
        "cf_plan": "Pro", "cf_product_area": "Billing", "plan": "Pro", "area": "Billing",
    }  # fmt: skip
    assert ticket.first_response_at == datetime(2026, 11, 1, 11, tzinfo=UTC)
    assert ticket.replies_known and ticket.solved_at is None and ticket.reopens == 0
    assert [(c.at.hour, c.status) for c in ticket.status_history] == [(12, Status.OPEN)]


@pytest.mark.parametrize(
    ("status", "extra", "expected"),
    [
        (2, {}, Status.OPEN),
        (3, {}, Status.PENDING),
        (4, {}, Status.SOLVED),
        (5, {}, Status.CLOSED),
        (6, {}, Status.OPEN),  # a custom status
        (12, {}, Status.OPEN),
        (2, {"spam": True}, Status.SPAM),
        (4, {"deleted": True}, Status.DELETED),
        (6, {"deleted": True, "spam": True}, Status.DELETED),
    ],
)
def test_statuses(status, extra, expected):
    assert normalize({**BASE, "status": status, **extra}, None, LINK).status is expected


def test_merged_and_listed_deleted():
    closed = {**BASE, "status": 5}
    merged = normalize(closed, None, LINK, merged_into="7")
    assert merged.status is Status.MERGED and merged.merged_into == "7"
    # Only a closed ticket can be a merge's secondary.
    assert normalize(BASE, None, LINK, merged_into="7").status is Status.OPEN
    assert normalize(BASE, None, LINK, deleted=True).status is Status.DELETED


@pytest.mark.parametrize(
    ("priority", "name"), [(1, "low"), (2, "medium"), (3, "high"), (4, "urgent"), (None, None)]
)
def test_priorities(priority, name):
    assert normalize({**BASE, "priority": priority}, None, LINK).helpdesk_priority == name


@pytest.mark.parametrize(
    ("source", "channel"),
    [(1, "email"), (2, "portal"), (3, "phone"), (7, "chat"), (9, "feedback_widget"),
     (10, "outbound_email"), (13, "source_13"), (None, "")],
)  # fmt: skip
def test_sources(source, channel):
    assert normalize({**BASE, "source": source}, None, LINK).channel == channel


def test_stats_give_solve_time_reopens_and_pending_start():
    stats = {
        **BASE["stats"],
        "resolved_at": None,
        "closed_at": "2026-11-03T09:00:00Z",
        "reopened_at": "2026-11-02T09:00:00Z",
    }
    closed = normalize({**BASE, "status": 5, "stats": stats}, None, LINK)
    assert closed.solved_at == datetime(2026, 11, 3, 9, tzinfo=UTC) and closed.reopens == 1
    pending = {**BASE["stats"], "pending_since": "2026-11-01T13:00:00Z"}
    ticket = normalize({**BASE, "status": 3, "stats": pending}, None, LINK)
    assert ticket.status_history[0].at == datetime(2026, 11, 1, 13, tzinfo=UTC)
    bare = normalize({k: v for k, v in BASE.items() if k not in ("stats", "requester")}, None, "")
    assert not bare.replies_known and bare.status_history == ()
    assert bare.requester.id == "7" and bare.requester.name == ""


def test_nulls_become_empty():
    nulls = ("subject", "description_text", "description", "tags", "custom_fields",
             "company_id", "responder_id")  # fmt: skip
    raw = {**BASE, **dict.fromkeys(nulls)}
    ticket = normalize(raw, None, "")
    assert (ticket.subject, ticket.description, ticket.tags) == ("", "", ())
    assert ticket.organization is None and ticket.assignee_id is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "42"}, "not a positive number"),
        ({"id": None}, "not a positive number"),
        ({"status": "open"}, "unknown status"),
        ({"status": 1}, "unknown status"),
        ({"priority": 9}, "unknown priority"),
        ({"source": "email"}, "not a source code"),
        ({"custom_fields": ["cf_plan"]}, "custom_fields"),
        ({"updated_at": "yesterday"}, "not an ISO-8601 time"),
        ({"created_at": None}, "created_at is missing"),
        ({"created_at": "2026-11-01T10:00:00"}, "no time zone"),
    ],
)
def test_unusable_tickets_are_rejected_with_a_reason(change, message):
    with pytest.raises(ValueError, match=message):
        normalize({**BASE, **change}, None, LINK)


@pytest.mark.parametrize(
    ("value", "csat"),
    [(103, 5.0), (102, 4.5), (101, 4.0), (100, 3.0), (-101, 2.0), (-102, 1.5), (-103, 1.0)],
)
def test_satisfaction_scale(value, csat):
    raw = {"id": 1, "ticket_id": 42, "ratings": {"default_question": value},
           "feedback": "ok", "created_at": "2026-11-04T10:00:00Z"}  # fmt: skip
    rating = parse_rating(raw)
    assert rating.csat == csat
    ticket = normalize(BASE, None, LINK, rating=rating)
    assert (ticket.csat, ticket.csat_comment) == (csat, "ok")
    assert ticket.csat_at == datetime(2026, 11, 4, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="default_question"):
        parse_rating({**raw, "ratings": {"default_question": 5}})


def test_merge_signs():
    closed = {**BASE, "status": 5}
    at = "2026-11-03T09:00:00Z"
    direct = {**closed, "stats": {**BASE["stats"], "resolved_at": at, "closed_at": at}}
    after_resolve = {
        **closed,
        "stats": {**BASE["stats"], "resolved_at": "2026-11-02T09:00:00Z", "closed_at": at},
    }
    assert may_be_merged(direct) and not may_be_merged(after_resolve)
    assert not may_be_merged(BASE) and not may_be_merged({**direct, "deleted": True})
    notes = [
        {"body_text": "hello"},
        {"body_text": "This ticket is closed and merged into ticket #17"},
    ]
    assert merged_into(notes) == "17" and merged_into(notes[:1]) is None
    assert merged_into([{"body": "<div>merged into ticket #9</div>"}]) == "9"


# ------------------------------------------------------------------------------ cursor


def test_cursor_round_trip_and_unreadable_cursor():
    state = CursorState.load(None, 0)
    state.marks["tickets"] = Mark(1_800_000_000, {"5": "abc"}, page=3, recheck=True)
    state.delivered = {9, 8}
    text = state.dump()
    data = json.loads(text)
    assert data["tickets"] == {
        "since": "2027-01-15T08:00:00Z", "seen": {"5": "abc"}, "page": 3, "recheck": 1,
    }  # fmt: skip
    assert data["delivered"] == [8, 9] and data["spam"] == {"since": "1970-01-01T00:00:00Z"}
    again = CursorState.load(text, 0)
    assert again.marks == state.marks and again.delivered == {8, 9}
    for bad in ("not json", '{"v": 2}', '{"v": 1, "tickets": {"page": 2}}'):
        with pytest.raises(TerminalError, match="cursor cannot be read"):
            CursorState.load(bad, 0)


# ------------------------------------------------------------------------ against sandbox


class FakeTime:
    """One clock for the emulator and the source; sleeping moves it on at once."""

    def __init__(self, now: float | None = None) -> None:
        self.now = float(int(now if now is not None else time.time()))
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        self.slept += max(seconds, 0.0)


def make_source(
    sandbox: Sandbox,
    fake: FakeTime | None = None,
    api_key: str = FRESHDESK_API_KEY,
    attempts: int = 3,
    **overrides: Any,
) -> FreshdeskSource:
    """A source configured as `Sandbox.config` configures syncd, with `overrides`."""
    settings = sandbox.config("sqlite://", "rules", Path("sa.json"), helpdesk="freshdesk")
    config = FreshdeskConfig.model_validate({**settings["helpdesk"], **overrides})
    timing: dict[str, Any] = {"clock": fake, "sleep": fake.sleep} if fake else {}
    return FreshdeskSource(config, api_key, attempts=attempts, **timing)


def pull_all(source: FreshdeskSource, cursor: str | None = None) -> tuple[list[Page], str]:
    pages = list(source.pull(cursor))
    assert pages[-1].end_of_stream and not any(p.end_of_stream for p in pages[:-1])
    return pages, pages[-1].cursor


def pull_all_from(pages: Iterable[Page]) -> tuple[list[Page], str]:
    """The rest of a pull already started."""
    rest = list(pages)
    assert rest[-1].end_of_stream
    return rest, rest[-1].cursor


def emitted(pages: Iterable[Page]) -> list[Ticket]:
    return [t for page in pages for t in page.tickets]


def vendor_paths(where: Sandbox | SandboxServer) -> list[str]:
    server = where.server if isinstance(where, Sandbox) else where
    return [path for api, _, path, _ in server.log if api == "freshdesk"]


@pytest.fixture
def freshdesk_alone(sandbox: Sandbox) -> Iterator[SandboxServer]:
    """The sandbox's Freshdesk emulator served alone on a second port.

    `Sandbox` mounts Zendesk first, and Zendesk's routes take an optional ".json", so on
    the shared port GET /api/v2/tickets/{id} reaches the Zendesk emulator (401); see
    test_viewing_one_ticket_through_the_shared_sandbox_port.
    """
    with serving(sandbox.freshdesk) as server:
        yield server


def live_ids(sandbox: Sandbox) -> set[str]:
    return {
        str(t["id"]) for t in sandbox.freshdesk.tickets() if not t.get("deleted") and not t["spam"]
    }


def test_pull_pages_through_250_tickets(sandbox):
    at = int(time.time()) - 3600
    for i in range(250):
        sandbox.freshdesk.add_ticket(
            f"Ticket {i}", "text", requester_email=f"user{i % 10}@globex.example",
            company="Globex", priority=1 + i % 4, custom_fields={"cf_plan": "Pro"},
            created_at=at, updated_at=at + i // 3,
        )  # fmt: skip
    source = make_source(sandbox)
    pages = source.pull(None)
    first = next(pages)
    # Pages come as they are fetched: the first before the rest is asked for.
    assert len(first.tickets) == 100 and not first.end_of_stream
    assert vendor_paths(sandbox).count("/api/v2/tickets") == 1
    rest, cursor = pull_all_from(pages)
    tickets = [*first.tickets, *emitted(rest)]
    assert sorted(int(t.id) for t in tickets) == list(range(1, 251))
    assert all(len(p.tickets) <= 100 for p in rest)
    ticket = tickets[0]
    assert ticket.organization.name == "Globex" and ticket.organization.domain == "globex.example"
    assert ticket.custom_fields["plan"] == "Pro" and ticket.requester.email.endswith(
        "globex.example"
    )
    assert ticket.description == "text"
    # One company, one company request, however many tickets it has.
    assert sum(p.startswith("/api/v2/companies/") for p in vendor_paths(sandbox)) == 1
    sandbox.reset_counts()
    again, _ = pull_all(source, cursor)
    assert emitted(again) == [] and sandbox.counts()["freshdesk"] == 4  # nothing changed


def test_same_second_across_a_page_boundary_loses_and_repeats_nothing(sandbox):
    fd = sandbox.freshdesk
    at = int(time.time()) - 3600
    for i in range(3):
        fd.add_ticket(f"before {i}", created_at=at - 10, updated_at=at - 10 + i)
    for i in range(7):  # one second, straddling the first and second pages
        fd.add_ticket(f"crowd {i}", created_at=at - 10, updated_at=at)
    for i in range(3):
        fd.add_ticket(f"after {i}", created_at=at - 10, updated_at=at + 1 + i)
    pages, cursor = pull_all(make_source(sandbox, page_size=5))
    ids = [t.id for t in emitted(pages)]
    assert len(ids) == len(set(ids)) == 13
    # Twelve tickets in one second, more than two pages of five: paging by page number.
    for i in range(12):
        fd.add_ticket(f"burst {i}", created_at=at + 10, updated_at=at + 20)
    sandbox.reset_counts()
    source = make_source(sandbox, page_size=5)
    pages, cursor = pull_all(source, cursor)
    ids = [t.id for t in emitted(pages)]
    assert len(ids) == len(set(ids)) == 12
    # Page 1 moves `since` to the crowded second; three pages of it, read again from page 1
    # (see `step`); deleted and spam. The hour-old second is closed: no ids kept of it.
    assert vendor_paths(sandbox).count("/api/v2/tickets") == 1 + 3 + 3 + 2
    assert json.loads(cursor)["tickets"] == {"since": iso(at + 21)}
    sandbox.reset_counts()
    assert emitted(pull_all(source, cursor)[0]) == []
    assert sandbox.counts()["freshdesk"] == 4


def test_a_ticket_moving_out_of_a_crowded_second_hides_none(sandbox):
    fd = sandbox.freshdesk
    at = int(time.time()) - 3600
    crowd = [fd.add_ticket(f"crowd {i}", created_at=at, updated_at=at)["id"] for i in range(12)]
    source = make_source(sandbox, page_size=5)
    pages = source.pull(None)
    first = next(pages)
    assert [t.id for t in first.tickets] == [str(i) for i in crowd[:5]]
    # Ticket 1 leaves the second: on page 2 every ticket moves up one place, so the sixth
    # ticket now sits on page 1 (already read) and a plain page 2 would never show it.
    fd.update_ticket(crowd[0], priority=4)
    rest, _ = pull_all_from(pages)
    counts = Counter(t.id for t in [*first.tickets, *emitted(rest)])
    assert set(counts) == {str(i) for i in crowd}
    assert counts[str(crowd[0])] == 2 and all(counts[str(i)] == 1 for i in crowd[1:])


def test_past_the_300_page_cap(sandbox):
    sandbox.freshdesk.generate(1_600, seed=3)
    source = make_source(sandbox, page_size=5)
    pages, _ = pull_all(source)
    tickets = emitted(pages)
    ids = Counter(t.id for t in tickets)
    assert max(ids.values()) == 1
    assert {
        t.id for t in tickets if t.status.is_open or t.status in (Status.SOLVED, Status.CLOSED)
    } == live_ids(sandbox)
    listings = [p for p in vendor_paths(sandbox) if p == "/api/v2/tickets"]
    assert len(listings) > 320  # a plain page walk would have stopped at 300 pages
    assert all(status == 200 for *_, status in sandbox.server.log)
    # Every rating reached its ticket without a per-ticket fetch.
    rated = {r["ticket_id"] for r in sandbox.freshdesk.ratings()}
    assert {int(t.id) for t in tickets if t.csat is not None} == rated
    assert not any(p.startswith("/api/v2/tickets/") for p in vendor_paths(sandbox))


def test_resume_from_a_saved_cursor(sandbox):
    fd = sandbox.freshdesk
    fd.generate(60, seed=5)
    source = make_source(sandbox, page_size=10)
    pages = list(source.pull(None))
    whole = {t.id for t in emitted(pages)}
    # Stopped after three pages (max_tickets_per_cycle), resumed by a new process.
    early = emitted(pages[:3])
    rest, cursor = pull_all(make_source(sandbox, page_size=10), pages[2].cursor)
    assert sorted(t.id for t in [*early, *emitted(rest)]) == sorted(whole)
    live = sorted(live_ids(sandbox), key=int)
    fd.update_ticket(int(live[0]), priority=4)
    fd.reply(int(live[1]))
    again, cursor = pull_all(make_source(sandbox, page_size=10), cursor)
    changed = {t.id: t for t in emitted(again)}
    assert set(changed) == {live[0], live[1]}
    assert changed[live[0]].helpdesk_priority == "urgent"
    assert changed[live[1]].first_response_at is not None
    assert emitted(pull_all(make_source(sandbox, page_size=10), cursor)[0]) == []


def test_deleted_spam_and_merged_tickets(sandbox):
    fd = sandbox.freshdesk
    ids = [fd.add_ticket(f"T{i}", requester_email=f"u{i}@x.example")["id"] for i in range(6)]
    _, cursor = pull_all(make_source(sandbox))
    fd.delete_ticket(ids[0])
    fd.mark_spam(ids[1])
    fd.merge(ids[2], [ids[3], ids[4]])
    fd.close(ids[5])  # a plain close, checked too (closed without being resolved)
    sandbox.reset_counts()
    pages, cursor = pull_all(make_source(sandbox), cursor)
    got = {t.id: t for t in emitted(pages)}
    assert got[str(ids[0])].status is Status.DELETED
    assert got[str(ids[1])].status is Status.SPAM
    for secondary in ids[3:5]:
        assert got[str(secondary)].status is Status.MERGED
        assert got[str(secondary)].merged_into == str(ids[2])
    # The merge stamps the primary's updated_at: when the clock has moved on since the first
    # pull it comes out again, and it stays open, merged into nothing.
    if str(ids[2]) in got:
        assert got[str(ids[2])].status is Status.OPEN and got[str(ids[2])].merged_into is None
    assert got[str(ids[5])].status is Status.CLOSED
    conversations = [p for p in vendor_paths(sandbox) if p.endswith("/conversations")]
    assert len(conversations) == 3  # the three closed tickets, nothing else
    fd.restore_ticket(ids[0])
    pages, _ = pull_all(make_source(sandbox), cursor)
    assert [(t.id, t.status) for t in emitted(pages)] == [(str(ids[0]), Status.OPEN)]


def test_csat_is_attached(sandbox, freshdesk_alone):
    fd = sandbox.freshdesk
    quiet = fd.add_ticket("Quiet", requester_email="q@x.example")["id"]
    busy = fd.add_ticket("Busy", requester_email="b@x.example")["id"]
    fd.resolve(quiet)
    fd.resolve(busy)
    url = freshdesk_alone.base_url
    source = make_source(sandbox, base_url=url)
    _, cursor = pull_all(source)
    fd.add_rating(quiet, 102, "Nice")
    fd.add_rating(busy, -103, "Slow")
    fd.reply(busy, "Sorry about that")
    freshdesk_alone.log.clear()
    pages, cursor = pull_all(source, cursor)
    got = {t.id: t for t in emitted(pages)}
    assert (got[str(quiet)].csat, got[str(quiet)].csat_comment) == (4.5, "Nice")
    assert (got[str(busy)].csat, got[str(busy)].csat_comment) == (1.0, "Slow")
    assert got[str(busy)].csat_at is not None
    # The changed ticket took its rating from the listing; only the quiet one was fetched.
    singles = [p for p in vendor_paths(freshdesk_alone) if p.startswith("/api/v2/tickets/")]
    assert singles == [f"/api/v2/tickets/{quiet}"]
    assert emitted(pull_all(source, cursor)[0]) == []
    # Updated again later, the ticket keeps its rating (this process remembers it).
    fd.update_ticket(quiet, priority=2)
    pages, _ = pull_all(source, cursor)
    assert [(t.id, t.csat) for t in emitted(pages)] == [(str(quiet), 4.5)]
    # So does a new process, from the ratings of the last 30 days.
    pages, _ = pull_all(make_source(sandbox, base_url=url), cursor)
    assert [(t.id, t.csat) for t in emitted(pages)] == [(str(quiet), 4.5)]


def test_viewing_one_ticket_through_the_shared_sandbox_port(sandbox):
    quiet = sandbox.freshdesk.add_ticket("Quiet")["id"]
    source = make_source(sandbox)
    _, cursor = pull_all(source)
    sandbox.freshdesk.add_rating(quiet, 103)
    pages, _ = pull_all(source, cursor)  # the rated ticket is fetched on its own
    assert [t.csat for t in emitted(pages)] == [5.0]


def test_credits_per_minute_is_never_exceeded(sandbox):
    fake = FakeTime()
    sandbox.freshdesk.clock = fake
    sandbox.freshdesk.generate(400, seed=9)
    source = make_source(sandbox, fake, page_size=5, credits_per_minute=50)
    pages, _ = pull_all(source)
    assert len(emitted(pages)) == 400
    log = sandbox.freshdesk.request_log()  # (time, credits): a listing page costs 7
    assert len(log) > 100 and fake.slept >= 60
    busiest = max(sum(c for t, c in log if start <= t < start + 60) for start, _ in log)
    assert 43 < busiest <= 50


def test_a_low_budget_slows_down_instead_of_meeting_429s(sandbox):
    fake = FakeTime()
    sandbox.freshdesk.clock = fake
    sandbox.freshdesk.generate(200, seed=11)
    sandbox.freshdesk.set_requests_per_minute(100)  # credits: a listing page costs 7
    pages, _ = pull_all(make_source(sandbox, fake, page_size=10))
    assert len(emitted(pages)) == 200
    statuses = Counter(status for api, _, _, status in sandbox.server.log if api == "freshdesk")
    assert set(statuses) == {200} and fake.slept >= 60


def test_wrong_api_key_is_a_credentials_error(sandbox):
    source = make_source(sandbox, api_key="wrong")
    with pytest.raises(CredentialsError, match=r"helpdesk\.api_key_env") as info:
        next(source.pull(None))
    assert "FRESHDESK_API_KEY" in str(info.value) and "wrong" not in str(info.value)


class Scripted(random.Random):
    """Fault draws: inject on the first request (a 429), then serve everything."""

    def __init__(self, draws: list[float]) -> None:
        super().__init__(0)
        self.draws = draws

    def random(self) -> float:
        return self.draws.pop(0) if self.draws else 0.99


def test_429_retry_after_is_honoured(sandbox):
    sandbox.freshdesk.add_ticket("Hello")
    sandbox.faults.rate, sandbox.faults.retry_after = 0.5, 1
    sandbox.faults.rng = Scripted([0.0, 0.0])  # fault, and make it a 429
    started = time.monotonic()
    with structlog.testing.capture_logs() as logs:
        pages, _ = pull_all(make_source(sandbox))
    assert [t.subject for t in emitted(pages)] == ["Hello"]
    assert time.monotonic() - started >= 1.0
    assert [e["wait_s"] for e in logs if e["event"] == "retrying"] == [1.0]
    assert [s for *_, s in sandbox.server.log][:2] == [429, 200]


def test_other_refusals_are_terminal_with_freshdesk_s_description(sandbox):
    sandbox.freshdesk.add_ticket("Hello")
    cursor = CursorState.load(None, 0)
    cursor.marks["tickets"] = Mark(0, page=301)
    with pytest.raises(TerminalError, match="beyond the 300th page"):
        list(make_source(sandbox).pull(cursor.dump()))


def test_unreachable_freshdesk_is_transient():
    config = FreshdeskConfig(kind="freshdesk", domain="acme", base_url="http://127.0.0.1:9")
    with pytest.raises(TransientError, match="cannot reach Freshdesk"):
        next(FreshdeskSource(config, "key", attempts=1).pull(None))
