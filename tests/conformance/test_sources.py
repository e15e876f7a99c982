"""The contract every source keeps (syncd.ports.Source), proved against each helpdesk's
emulator: resuming from any cursor loses and repeats nothing, unknown and malformed tickets
are rejected with a reason instead of raised, and HTTP statuses become syncd's errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syncd.errors import CredentialsError, SyncdError, TerminalError, TransientError
from syncd.ports import Page, Source
from syncd.sandbox import Sandbox
from tests.conformance.registry import SourceKind
from tests.conformance.support import (
    ATTEMPTS,
    SandboxConfig,
    check_error,
    faulted,
    section,
    unreachable,
)

TICKETS = 7  # with pages of 2: four pages and more, so every kind of cursor is met


def plant(
    kind: SourceKind, sandbox: Sandbox, count: int, start: datetime | None = None
) -> list[str]:
    """`count` tickets changed a minute apart from `start` (an hour ago), oldest first."""
    start = start or datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    return [
        kind.plant(sandbox, f"Question {n}", f"person{n}@initech.example", at)
        for n, at in enumerate(start + timedelta(minutes=n) for n in range(count))
    ]


def build(kind: SourceKind, sandbox_config: SandboxConfig) -> Source:
    config = sandbox_config(helpdesk=kind.kind)
    return kind.build(section(config, "helpdesk", **kind.small_pages), ATTEMPTS)


def ids(pages: list[Page]) -> list[str]:
    return [ticket.id for page in pages for ticket in page.tickets]


def test_a_pull_gives_every_ticket_once_in_change_order(
    source_kind: SourceKind, sandbox: Sandbox, sandbox_config: SandboxConfig
) -> None:
    planted = plant(source_kind, sandbox, TICKETS)
    source = build(source_kind, sandbox_config)
    assert source.name == source_kind.kind
    sandbox.reset_counts()
    pages = list(source.pull(None))
    assert ids(pages) == planted
    assert len([p for p in pages if p.tickets]) > 2, "small pages: the stream has several"
    assert [p.end_of_stream for p in pages] == [False] * (len(pages) - 1) + [True]
    assert not [r for p in pages for r in p.rejected]
    times = [t.updated_at for p in pages for t in p.tickets]
    assert times == sorted(times)
    assert source.requests_sent == sandbox.counts()[source_kind.api]


def test_a_pull_resumes_from_any_cursor_without_gap_or_duplicate(
    source_kind: SourceKind, sandbox: Sandbox, sandbox_config: SandboxConfig
) -> None:
    planted = plant(source_kind, sandbox, TICKETS)
    pages = list(build(source_kind, sandbox_config).pull(None))
    for cut in range(1, len(pages)):
        # As after a crash: a new source (a new process) with only the saved cursor.
        resumed = list(build(source_kind, sandbox_config).pull(pages[cut - 1].cursor))
        assert ids(pages[:cut]) + ids(resumed) == planted, f"resumed after page {cut}"
        assert resumed[-1].end_of_stream


def test_a_pull_from_the_last_cursor_gives_nothing_new(
    source_kind: SourceKind, sandbox: Sandbox, sandbox_config: SandboxConfig
) -> None:
    plant(source_kind, sandbox, 3)
    pages = list(build(source_kind, sandbox_config).pull(None))
    again = list(build(source_kind, sandbox_config).pull(pages[-1].cursor))
    assert ids(again) == [] and again[-1].end_of_stream
    more = plant(source_kind, sandbox, 1, start=datetime.now(UTC))  # changed since
    assert ids(list(build(source_kind, sandbox_config).pull(pages[-1].cursor))) == more


def test_fetch_rejects_unknown_ids_with_a_reason(
    source_kind: SourceKind, sandbox: Sandbox, sandbox_config: SandboxConfig
) -> None:
    known = plant(source_kind, sandbox, 2)
    page = build(source_kind, sandbox_config).fetch([known[1], "987654", "not-an-id"])
    assert [t.id for t in page.tickets] == [known[1]]
    reasons = {key: reason for key, reason, _raw in page.rejected}
    assert set(reasons) == {"987654", "not-an-id"}
    assert all(reason.strip() for reason in reasons.values())


def test_a_malformed_ticket_is_rejected_and_the_rest_go_on(
    source_kind: SourceKind, sandbox: Sandbox, sandbox_config: SandboxConfig
) -> None:
    planted = plant(source_kind, sandbox, 5)
    bad = planted[2]
    source_kind.garble(sandbox, bad)
    pages = list(build(source_kind, sandbox_config).pull(None))
    assert ids(pages) == [key for key in planted if key != bad]
    rejected = [r for p in pages for r in p.rejected]
    assert [key for key, _, _ in rejected] == [bad]
    _, reason, raw = rejected[0]
    assert reason.strip() and raw is not None  # the payload, for the dead-letter table
    # Read again by id (as a dead letter is retried), it is still rejected, not raised.
    page = build(source_kind, sandbox_config).fetch([bad, planted[0]])
    assert [t.id for t in page.tickets] == [planted[0]]
    assert [key for key, _, _ in page.rejected] == [bad]


# status -> the error a source raises for it; 404 where the listing itself is missing.
PULL_ERRORS: dict[int, type[SyncdError]] = {
    401: CredentialsError,
    403: CredentialsError,
    404: TerminalError,
    408: TransientError,
    429: TransientError,
    500: TransientError,
    503: TransientError,
}


@pytest.mark.parametrize("status", list(PULL_ERRORS))
def test_pull_maps_http_statuses_to_errors(
    source_kind: SourceKind, faulty_sandbox: Sandbox, faulty_config: SandboxConfig, status: int
) -> None:
    source = build(source_kind, faulty_config)
    faulted(faulty_sandbox, source_kind.api, status)
    with pytest.raises(PULL_ERRORS[status]) as caught:
        list(source.pull(None))
    check_error(caught.value, status, source_kind.vendor)


# By id, a 404 may mean "no longer there" (a rejection) rather than an error: left out.
FETCH_ERRORS = {s: e for s, e in PULL_ERRORS.items() if s != 404}


@pytest.mark.parametrize("status", list(FETCH_ERRORS))
def test_fetch_maps_http_statuses_to_errors(
    source_kind: SourceKind, faulty_sandbox: Sandbox, faulty_config: SandboxConfig, status: int
) -> None:
    source = build(source_kind, faulty_config)
    faulted(faulty_sandbox, source_kind.api, status)
    with pytest.raises(FETCH_ERRORS[status]) as caught:
        source.fetch(["1"])  # whatever the helpdesk holds: it answers `status`
    check_error(caught.value, status, source_kind.vendor)


def test_an_unreachable_helpdesk_is_a_transient_error(
    source_kind: SourceKind, sandbox_config: SandboxConfig
) -> None:
    config = sandbox_config(helpdesk=source_kind.kind)
    source = source_kind.build(section(config, "helpdesk", base_url=unreachable()), ATTEMPTS)
    with pytest.raises(TransientError) as caught:
        list(source.pull(None))
    assert caught.value.status is None and caught.value.vendor == source_kind.vendor


def test_start_cursor_starts_at_a_moment(
    source_kind: SourceKind, sandbox: Sandbox, sandbox_config: SandboxConfig
) -> None:
    planted = plant(source_kind, sandbox, 5)
    source = build(source_kind, sandbox_config)
    since = next(t for t in source.fetch(planted[2:3]).tickets).updated_at
    assert ids(list(source.pull(source.start_cursor(since)))) == planted[2:]
