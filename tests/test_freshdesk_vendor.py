"""Freshdesk as the vendor documents it, not as syncd once believed (issue 12): custom statuses,
rate-limit headers with decimals, long Retry-Afters, and budgets counted in credits.

Every test runs the real source over HTTP against the sandbox's Freshdesk emulator; the
vendor behaviour each relies on is described, with its source, in syncd/sandbox/freshdesk.py.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.freshdesk import FreshdeskSource
from syncd import retry
from syncd.config import FreshdeskConfig
from syncd.model import Status, Ticket
from syncd.ports import Page
from syncd.sandbox import FRESHDESK_API_KEY, SPREADSHEET_ID, Sandbox
from tests.conftest import RULES, Syncd, write_config
from tests.test_freshdesk_source import FakeTime, make_source

WAITING_ON_CUSTOMER, WAITING_ON_THIRD_PARTY = 6, 7
HOUR = 3600


@pytest.fixture(autouse=True)
def _fresh_retry_state() -> Iterator[None]:
    # A Retry-After is remembered per API for the process: keep one test's out of the next.
    retry.configure()
    yield
    retry.configure()


def pulled(source: FreshdeskSource, cursor: str | None = None) -> tuple[list[Page], list[Ticket]]:
    pages = list(source.pull(cursor))
    return pages, [t for p in pages for t in p.tickets]


def make_syncd(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **helpdesk: Any
) -> Syncd:
    """syncd in this process against the sandbox's Freshdesk, set up, first cycle run."""
    for name, url in sandbox.slack_webhooks().items():
        monkeypatch.setenv(name, url)
    monkeypatch.setenv("FRESHDESK_API_KEY", FRESHDESK_API_KEY)
    key = sandbox.write_service_account(tmp_path / "sa.json")
    data = sandbox.config(f"sqlite:///{tmp_path / 'state.db'}", str(RULES), key, "freshdesk")
    data["helpdesk"].update(helpdesk)
    syncd = Syncd(write_config(tmp_path / "syncd.yaml", data))
    syncd.setup()
    syncd.once()  # the first sync is a baseline: what follows is news
    return syncd


def sheet_rows(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    rows = sandbox.sheets.values(SPREADSHEET_ID, "Tickets")
    return {str(r[0]): dict(zip(rows[0], r, strict=False)) for r in rows[1:]}


def waiting_ticket(sandbox: Sandbox, status: int) -> int:
    """A system-down ticket (Critical: resolution due in 4 h, 24/7) created ten hours ago,
    answered at once and then set to `status`: open all along, it would be long breached."""
    fd = sandbox.freshdesk
    now = int(fd.clock())
    created = now - 10 * HOUR
    tid: int = fd.add_ticket(
        "The site is down for all users", "Nothing loads", "ops@initech.example", "Ops",
        company="Initech", created_at=created, updated_at=created,
    )["id"]  # fmt: skip
    fd.reply(tid, "Looking into it", at=created + 300)
    fd.update_ticket(tid, status=status, at=created + 600)
    return tid


# ------------------------------------------------------------------------ custom statuses


def test_a_ticket_waiting_on_the_customer_is_not_breached_nor_escalated(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncd = make_syncd(sandbox, tmp_path, monkeypatch)
    customer = waiting_ticket(sandbox, WAITING_ON_CUSTOMER)
    third_party = waiting_ticket(sandbox, WAITING_ON_THIRD_PARTY)
    report = syncd.once()
    assert report.errors == 0 and report.pulled == 2
    rows = sheet_rows(sandbox)
    # The sheet shows Freshdesk's own name for the status, not "open".
    assert rows[str(customer)]["Status"] == "Waiting on Customer"
    assert rows[str(third_party)]["Status"] == "Waiting on Third Party"
    for tid in (customer, third_party):
        assert rows[str(tid)]["SLA"] != "breached" and rows[str(tid)]["Escalation"] == ""
    assert report.actions_fired == 0
    assert sandbox.slack.messages() == [] and sandbox.smtp.messages() == []
    # The ticket_fields read is once per process: a second cycle does not repeat it.
    sandbox.reset_counts()
    sandbox.freshdesk.update_ticket(customer, priority=3)
    syncd.once()
    paths = [path for api, _, path, _ in sandbox.server.log if api == "freshdesk"]
    assert not any("ticket_fields" in p for p in paths)


def test_the_config_overrides_the_mapping_of_a_custom_status(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An account whose "Waiting on Third Party" is work the team owes: open, so it breaches.
    syncd = make_syncd(sandbox, tmp_path, monkeypatch, statuses={"Waiting on Third Party": "open"})
    tid = waiting_ticket(sandbox, WAITING_ON_THIRD_PARTY)
    assert syncd.once().errors == 0
    row = sheet_rows(sandbox)[str(tid)]
    assert row["Status"] == "Waiting on Third Party" and row["SLA"] == "breached"
    assert sandbox.slack.messages("#incidents")  # the ladder runs, as for any open ticket


def test_custom_statuses_map_by_the_sla_timer_and_by_name(sandbox: Sandbox) -> None:
    fd = sandbox.freshdesk
    ids = {code: fd.add_ticket(f"status {code}", status=code)["id"] for code in (2, 3, 6, 7)}
    got = {t.id: t for t in pulled(make_source(sandbox))[1]}
    assert {code: got[str(i)].status for code, i in ids.items()} == {
        2: Status.OPEN, 3: Status.PENDING, 6: Status.PENDING, 7: Status.ON_HOLD,
    }  # fmt: skip
    assert got[str(ids[6])].status_name == "Waiting on Customer"
    assert got[str(ids[2])].status_name == ""  # the four documented ones need no name
    # A config override, by name (any case).
    source = make_source(sandbox, statuses={"waiting on customer": "on_hold"})
    assert {t.id: t.status for t in pulled(source)[1]}[str(ids[6])] is Status.ON_HOLD
    # An agent's key cannot read the admin view: the names decide, and nothing fails.
    fd.admin_key = False
    got = {t.id: t for t in pulled(make_source(sandbox))[1]}
    assert got[str(ids[6])].status is Status.PENDING
    assert got[str(ids[7])].status is Status.ON_HOLD


def test_an_unknown_status_name_in_the_config_is_refused() -> None:
    with pytest.raises(ValueError, match="statuses"):
        FreshdeskConfig.model_validate(
            {"kind": "freshdesk", "domain": "acme", "statuses": {"Waiting": "later"}}
        )


# ------------------------------------------------------------------- rate-limit headers


def test_decimal_rate_limit_headers_still_slow_syncd_down(sandbox: Sandbox) -> None:
    fake = FakeTime()
    fd = sandbox.freshdesk
    fd.clock, fd.decimal_headers = fake, True  # "X-RateLimit-Remaining: 93.0"
    fd.generate(200, seed=11)
    fd.set_requests_per_minute(100)  # credits: a listing page costs 7
    # One attempt: a 429 fails the pull at once instead of being waited out.
    pages, tickets = pulled(make_source(sandbox, fake, attempts=1, page_size=10))
    assert len(tickets) == 200 and pages[-1].end_of_stream
    statuses = Counter(status for api, _, _, status in sandbox.server.log if api == "freshdesk")
    assert set(statuses) == {200} and fake.slept >= 60


def test_a_long_retry_after_defers_to_a_later_cycle_and_loses_nothing(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fd = sandbox.freshdesk
    syncd = make_syncd(sandbox, tmp_path, monkeypatch, page_size=5)
    base = int(time.time()) - 600
    ids = [
        fd.add_ticket(f"Question {i}", created_at=base + i, updated_at=base + i)["id"]
        for i in range(12)
    ]
    # The hour's credits run out after the ratings and two listing pages (1 + 7 + 7): the
    # third page meets 429 with a Retry-After of many minutes (the hourly limit).
    fd.clock = lambda: float(int(time.time()) // HOUR * HOUR + 5)
    fd.set_credits_per_hour(15)
    started = time.monotonic()
    report = syncd.once()  # neither sleeps for an hour nor fails
    assert time.monotonic() - started < 30
    # Page 2 starts at page 1's last second (inclusive), so it brings four new tickets.
    assert report.errors == 0 and report.pulled == 9 and report.cursor_advanced
    assert set(sheet_rows(sandbox)) == {str(i) for i in ids[:9]}
    retry.configure()  # an hour later: the Retry-After has passed
    fd.set_credits_per_hour(None)
    fd.clock = time.time
    report = syncd.once()
    assert report.errors == 0 and report.pulled >= 2
    assert set(sheet_rows(sandbox)) == {str(i) for i in ids}


# ------------------------------------------------------------------------------ credits


def busiest_minute(log: list[tuple[float, int]]) -> int:
    return max(sum(c for t, c in log if start <= t < start + 60) for start, _ in log)


def test_credits_per_minute_is_a_budget_of_credits(sandbox: Sandbox) -> None:
    fake = FakeTime()
    sandbox.freshdesk.clock = fake
    sandbox.freshdesk.generate(300, seed=9)
    source = make_source(sandbox, fake, page_size=5, credits_per_minute=100)
    assert len(pulled(source)[1]) == 300
    log = sandbox.freshdesk.request_log()
    assert len(log) > 60 and fake.slept >= 60
    assert 90 <= busiest_minute(log) <= 100  # credits, not requests (7 a listing page)


def test_the_old_requests_per_minute_is_read_as_credits_with_a_warning(sandbox: Sandbox) -> None:
    fake = FakeTime()
    sandbox.freshdesk.clock = fake
    sandbox.freshdesk.generate(150, seed=9)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        source = make_source(sandbox, fake, page_size=5, requests_per_minute=50)
    assert any("credits_per_minute" in str(w.message) for w in caught)
    assert len(pulled(source)[1]) == 150
    assert busiest_minute(sandbox.freshdesk.request_log()) <= 50


def test_an_idle_cycle_stays_at_four_requests(sandbox: Sandbox) -> None:
    sandbox.freshdesk.add_ticket("Waiting", status=WAITING_ON_CUSTOMER)
    cursor = pulled(make_source(sandbox, credits_per_minute=200))[0][-1].cursor
    sandbox.reset_counts()
    # A new process, nothing changed: listing, deleted, spam, ratings, and no status read.
    _, tickets = pulled(make_source(sandbox, credits_per_minute=200), cursor)
    assert tickets == [] and sandbox.counts()["freshdesk"] == 4
