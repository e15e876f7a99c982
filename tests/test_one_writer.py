"""One writer at a time (issue 15, item 5): `syncd once` and `syncd backfill` take the
pipeline's lease as `syncd run` does, so a cycle run by hand never races a live daemon's writes.

A daemon is stood in for by its lease row: a holder "host:pid:token" that another process
claimed, as `syncd run` claims it.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncd.replica import LeaseHeld, LeaseKeeper, describe, one_writer
from syncd.sandbox import SPREADSHEET_ID, Sandbox
from syncd.state import SqlStateStore
from syncd.state.lease import Claimant, Lease
from tests.conftest import Syncd, run_cli

DAEMON = Claimant("web-1:4242:a1b2c3")  # a `syncd run` on host web-1, pid 4242


def _lease(store: SqlStateStore) -> Lease:
    lease = store.lease()
    assert lease is not None
    return lease


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_once_refuses_while_a_daemon_holds_the_lease_naming_it_then_runs_after_release(
    syncd: Syncd, config_path: Path, sandbox: Sandbox
) -> None:
    sandbox.zendesk.generate(5)
    store = syncd.parts.store
    claimed = store.claim_lease(DAEMON, 60)
    assert claimed is not None and claimed.holder == DAEMON.holder

    refused = run_cli("once", "--config", str(config_path))
    assert refused.returncode == 2, refused.stderr
    (line,) = _lines(refused.stderr)
    assert line.startswith("error: pipeline ") and "host web-1, pid 4242" in line, line
    assert "--wait" in line and "Traceback" not in refused.stderr
    assert refused.stdout == ""
    assert sandbox.hubspot.objects("tickets") == [], "nothing written while refused"
    assert store.get_cursor(syncd.parts.source.name) is None, "no cursor moved"
    assert _lease(store).holder == DAEMON.holder, "the daemon's lease is left alone"

    store.release_lease(DAEMON)  # the daemon stops
    ran = run_cli("once", "--config", str(config_path))
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout.splitlines()[-1])["pulled"] > 0
    assert len(sandbox.sheets.values(SPREADSHEET_ID, "Tickets")) > 1
    # ...and lets go of the lease when done, so a daemon takes over at once.
    after = _lease(store)
    assert after.holder != DAEMON.holder and after.expired(datetime.now(UTC))


def test_once_waits_for_the_lease_up_to_wait_seconds(
    syncd: Syncd, config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = syncd.parts.store
    store.claim_lease(DAEMON, 60)
    ask = LeaseKeeper.hold

    def hold(keeper: LeaseKeeper) -> bool:
        held = ask(keeper)
        if not held:
            store.release_lease(DAEMON)  # the daemon stops while `once` waits
        return held

    monkeypatch.setattr(LeaseKeeper, "hold", hold)

    ran = run_cli("once", "--config", str(config_path), "--wait", "20")
    assert ran.returncode == 0, ran.stderr
    assert "waiting up to 20s for the pipeline's lease (held by host web-1, pid 4242" in ran.stderr


def test_a_dry_run_writes_nothing_and_runs_beside_a_daemon(syncd: Syncd, config_path: Path) -> None:
    syncd.parts.store.claim_lease(DAEMON, 60)
    ran = run_cli("once", "--config", str(config_path), "--dry-run")
    assert ran.returncode == 0, ran.stderr
    assert _lease(syncd.parts.store).holder == DAEMON.holder


def test_backfill_refuses_while_a_daemon_holds_the_lease_then_runs_after_release(
    syncd: Syncd, config_path: Path, sandbox: Sandbox
) -> None:
    sandbox.zendesk.generate(5)
    store = syncd.parts.store
    store.claim_lease(DAEMON, 60)
    args = ("backfill", "--config", str(config_path), "--since", "2020-01-01")

    refused = run_cli(*args)
    assert refused.returncode == 2, refused.stderr
    (line,) = _lines(refused.stderr)
    assert "host web-1, pid 4242" in line and "syncd backfill would race" in line, line
    assert sandbox.hubspot.objects("tickets") == []

    store.release_lease(DAEMON)
    ran = run_cli(*args)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout.splitlines()[-1])["backfilled"] > 0
    assert _lease(store).expired(datetime.now(UTC))


def test_the_lease_is_renewed_while_held_and_refused_after_the_wait(syncd: Syncd) -> None:
    store = syncd.parts.store
    with one_writer(store, 30, command="syncd once") as keeper:
        assert keeper.held and _lease(store).holder == keeper.claimant.holder
        # Meanwhile a daemon asks and is a standby.
        standby = store.claim_lease(DAEMON, 30)
        assert standby is not None and standby.holder == keeper.claimant.holder
    assert _lease(store).expired(datetime.now(UTC))

    store.claim_lease(DAEMON, 30)
    started = time.monotonic()
    with (
        pytest.raises(LeaseHeld, match=r"host web-1, pid 4242, until .* UTC"),
        one_writer(store, 30, 0.3, command="syncd once"),
    ):
        pass
    assert time.monotonic() - started >= 0.3, "it waited before refusing"


def test_a_holder_is_described_for_people() -> None:
    assert describe(None, "web-1:4242:a1b2c3") == "held by host web-1, pid 4242"
    assert describe(None, "odd-holder") == "held by odd-holder"
