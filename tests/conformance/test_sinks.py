"""The contract every sink keeps (syncd.ports.Sink), proved against each vendor's emulator:
render is pure and its fingerprint stable, describe sends nothing, a write is an idempotent
upsert, one bad record fails alone, and HTTP statuses become syncd's errors."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from syncd.errors import CredentialsError, SyncdError, TransientError
from syncd.model import Decision, Ticket
from syncd.pipeline import fingerprint
from syncd.ports import Sink, SinkRecord
from syncd.sandbox import Sandbox
from tests.conformance.registry import SinkKind
from tests.conformance.support import (
    ATTEMPTS,
    SandboxConfig,
    check_error,
    faulted,
    section,
    unreachable,
)

Batch = list[tuple[Ticket, Decision]]


def build(
    kind: SinkKind, sandbox_config: SandboxConfig, set_up: bool = True, **overrides: Any
) -> Sink:
    """The sink from its section of the sandbox's config, set up as `syncd setup` does."""
    sink = kind.build(section(sandbox_config(), kind.kind, **overrides), ATTEMPTS)
    setup = getattr(sink, "setup", None)  # an optional capability
    if set_up and callable(setup):
        setup()
    return sink


def render(sink: Sink, batch: Batch) -> list[SinkRecord]:
    return [sink.render(ticket, decision) for ticket, decision in batch]


def test_render_is_pure_and_its_fingerprint_stable(
    sink_kind: SinkKind, sandbox: Sandbox, sandbox_config: SandboxConfig, decided: Batch
) -> None:
    sink, fresh = build(sink_kind, sandbox_config), build(sink_kind, sandbox_config)
    assert sink.name == sink_kind.kind
    sandbox.reset_counts()
    first, second, other = render(sink, decided), render(sink, decided), render(fresh, decided)
    assert first == second == other
    assert [r.key for r in first] == [t.id for t, _ in decided]
    prints = [fingerprint(r.payload) for r in first]
    assert prints == [fingerprint(r.payload) for r in other]
    assert len(set(prints)) == len(prints)
    assert sandbox.counts() == {}, "render sent a request"


def test_describe_sends_nothing(
    sink_kind: SinkKind, sandbox: Sandbox, sandbox_config: SandboxConfig, decided: Batch
) -> None:
    sink = build(sink_kind, sandbox_config)
    records = render(sink, decided)
    sandbox.reset_counts()
    assert sink.describe(records).strip()
    assert sandbox.counts() == {}, "describe sent a request"
    assert sink_kind.held(sandbox) == {}


def test_writing_the_same_batch_twice_is_idempotent(
    sink_kind: SinkKind, sandbox: Sandbox, sandbox_config: SandboxConfig, decided: Batch
) -> None:
    sink = build(sink_kind, sandbox_config)
    records = render(sink, decided)
    keys = [r.key for r in records]
    first = sink.write(records)
    assert sorted(first.accepted) == sorted(keys) and not first.rejected
    held = sink_kind.held(sandbox)
    assert set(keys) <= set(held)
    assert all(len(copies) == 1 for copies in held.values()), "a record is held twice"
    second = sink.write(records)
    assert sorted(second.accepted) == sorted(keys) and not second.rejected
    assert sink_kind.held(sandbox) == held, "the second write changed what the vendor holds"
    # A fresh instance (a restarted daemon) writing the same records changes nothing either.
    again = build(sink_kind, sandbox_config).write(render(sink, decided))
    assert sorted(again.accepted) == sorted(keys)
    assert sink_kind.held(sandbox) == held


def test_a_write_updates_in_place(
    sink_kind: SinkKind, sandbox: Sandbox, sandbox_config: SandboxConfig, decided: Batch
) -> None:
    sink = build(sink_kind, sandbox_config)
    sink.write(render(sink, decided))
    before = sink_kind.held(sandbox)
    (ticket, decision), rest = decided[0], decided[1:]
    changed = replace(ticket, subject=f"{ticket.subject} (edited)")
    # The changed ticket named twice in one batch, as a batch may: the later record wins.
    records = render(sink, [(ticket, decision), *rest, (changed, decision)])
    result = sink.write(records)
    assert sorted(set(result.accepted)) == sorted(t.id for t, _ in decided)
    after = sink_kind.held(sandbox)
    assert after.keys() == before.keys()
    assert all(len(copies) == 1 for copies in after.values())
    assert after[ticket.id] != before[ticket.id], "the update is not shown"
    assert {k: v for k, v in after.items() if k != ticket.id} == {
        k: v for k, v in before.items() if k != ticket.id
    }


def test_one_bad_record_fails_alone(
    sink_kind: SinkKind, sandbox: Sandbox, sandbox_config: SandboxConfig, decided: Batch
) -> None:
    bad = sink_kind.bad
    sink = build(sink_kind, sandbox_config, **bad.config)
    spoiled = bad.spoil(*decided[1])
    records = render(sink, [decided[0], spoiled, *decided[2:]])
    good = [r.key for r in records if r.key != spoiled[0].id]
    result = sink.write(records)
    assert set(good) <= set(result.accepted), "a bad record blocked the others"
    held = sink_kind.held(sandbox)
    assert all(len(held.get(key, [])) == 1 for key in good)
    if bad.refused:
        assert spoiled[0].id not in result.accepted
        assert result.rejected.keys() == {spoiled[0].id}
        assert result.rejected[spoiled[0].id].strip(), "a rejection says why"
        assert spoiled[0].id not in held
    else:  # fitted to the vendor's limits, and kept
        assert not result.rejected and spoiled[0].id in result.accepted
        assert len(held[spoiled[0].id]) == 1


# status -> the error a sink's write raises for it.
WRITE_ERRORS: dict[int, type[SyncdError]] = {
    401: CredentialsError,
    403: CredentialsError,
    408: TransientError,
    429: TransientError,
    500: TransientError,
    503: TransientError,
}


@pytest.mark.parametrize("status", list(WRITE_ERRORS))
def test_write_maps_http_statuses_to_errors(
    sink_kind: SinkKind,
    faulty_sandbox: Sandbox,
    faulty_config: SandboxConfig,
    decided: Batch,
    status: int,
) -> None:
    sink = build(sink_kind, faulty_config)
    records = render(sink, decided)
    faulted(faulty_sandbox, sink_kind.api, status)
    with pytest.raises(WRITE_ERRORS[status]) as caught:
        sink.write(records)
    check_error(caught.value, status, sink_kind.vendor)


def test_an_unreachable_vendor_is_a_transient_error(
    sink_kind: SinkKind, sandbox_config: SandboxConfig, decided: Batch
) -> None:
    sink = build(sink_kind, sandbox_config, set_up=False)
    records = render(sink, decided)
    gone = build(sink_kind, sandbox_config, set_up=False, base_url=unreachable())
    with pytest.raises(TransientError) as caught:
        gone.write(records)
    assert caught.value.status is None and caught.value.vendor == sink_kind.vendor
