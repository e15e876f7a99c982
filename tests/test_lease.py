"""Replicas and pipelines sharing a state database: the lease, fencing, namespaces, URLs."""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect

from syncd.config import load_config
from syncd.daemon import Daemon
from syncd.errors import ConfigError, LeaseLost
from syncd.metrics import Metrics
from syncd.pipeline import CycleReport
from syncd.replica import LeaseKeeper
from syncd.state import open_store
from syncd.state.lease import Claimant, Lease, may_claim
from syncd.state.store import masked_url
from tests.conftest import run_cli
from tests.pg import PASSWORD

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _lease(holder: str, expires: datetime) -> Lease:
    return Lease("zendesk-acme", holder, T0, expires, 1)


# --- the decision, without a database --------------------------------------------------------


def test_a_lease_is_taken_when_free_expired_or_already_ours():
    me = Claimant("b:2:x")
    assert may_claim(None, me, T0)
    assert may_claim(_lease("b:2:x", T0 + timedelta(seconds=30)), me, T0)
    assert not may_claim(_lease("a:1:y", T0 + timedelta(seconds=30)), me, T0)
    assert may_claim(_lease("a:1:y", T0), me, T0), "it lapses at expires_at"


def test_each_process_is_a_claimant_of_its_own():
    me = Claimant.this_process()
    assert me.holder.startswith(f"{socket.gethostname()}:{os.getpid()}:")
    assert me != Claimant.this_process(), "a restarted process is not its predecessor"


# --- on both backends -------------------------------------------------------------------------


def test_one_holder_at_a_time_and_a_standby_takes_over_when_it_lapses(state_url: str):
    a, b = Claimant("a:1:x"), Claimant("b:2:y")
    store_a, store_b = open_store(state_url, "zendesk-acme"), open_store(state_url, "zendesk-acme")
    assert store_a.claim_lease(a, 30, now=T0).holder == a.holder
    assert store_b.claim_lease(b, 30, now=T0 + timedelta(seconds=29)).holder == a.holder
    renewed = store_a.claim_lease(a, 30, now=T0 + timedelta(seconds=20))
    assert renewed.expires_at == T0 + timedelta(seconds=50) and renewed.acquired_at == T0
    taken = store_b.claim_lease(b, 30, now=T0 + timedelta(seconds=50))
    assert taken.holder == b.holder and taken.acquired_at == T0 + timedelta(seconds=50)
    assert store_a.claim_lease(a, 30, now=T0 + timedelta(seconds=51)).holder == b.holder


def test_a_replica_that_lost_the_lease_cannot_move_the_cursor_or_save_checkpoints(
    state_url: str,
):
    a, b = Claimant("a:1:x"), Claimant("b:2:y")
    store_a, store_b = open_store(state_url, "zendesk-acme"), open_store(state_url, "zendesk-acme")
    store_a.fence_on(a, 30)
    store_b.fence_on(b, 30)
    store_a.claim_lease(a, 30)
    store_a.set_cursor("zendesk", "A-1")
    # A pauses (a long GC, SIGSTOP, a network partition) and renews nothing for a minute.
    later = datetime.now(UTC) + timedelta(seconds=60)
    assert store_b.claim_lease(b, 30, now=later).holder == b.holder
    store_b.set_cursor("zendesk", "B-7")
    with pytest.raises(LeaseLost, match="another replica holds the lease"):
        store_a.set_cursor("zendesk", "A-2")  # A wakes up and would move the cursor back
    with pytest.raises(LeaseLost):
        store_a.save_fingerprints("hubspot", {"1": "stale"})
    assert store_b.get_cursor("zendesk") == "B-7"
    assert store_b.fingerprints("hubspot", ["1"]) == {}


def test_a_released_lease_is_taken_at_once(state_url: str):
    a, b = Claimant("a:1:x"), Claimant("b:2:y")
    store = open_store(state_url, "zendesk-acme")
    store.claim_lease(a, 30)
    store.release_lease(b)  # not B's to release
    assert store.claim_lease(b, 30).holder == a.holder
    store.release_lease(a)
    assert store.claim_lease(b, 30).holder == b.holder


def test_standbys_racing_for_a_lapsed_lease_elect_one(state_url: str):
    stores = [open_store(state_url, "zendesk-acme") for _ in range(6)]
    stores[0].claim_lease(Claimant("old:1:x"), 30, now=T0)
    start, won = threading.Barrier(len(stores)), []

    def race(i: int) -> None:
        me = Claimant(f"s:{i}:z")
        start.wait()
        lease = stores[i].claim_lease(me, 30)
        if lease.holder == me.holder:
            won.append(i)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1, won
    assert stores[0].lease().holder == f"s:{won[0]}:z"


def test_the_keeper_renews_in_the_background_and_reports_its_role(state_url: str):
    active, standby = Metrics(), Metrics()
    keeper_a = LeaseKeeper(open_store(state_url, "zendesk-acme"), 1.0, active)
    keeper_b = LeaseKeeper(open_store(state_url, "zendesk-acme"), 1.0, standby)
    try:
        assert keeper_a.hold() and not keeper_b.hold()
        time.sleep(2.5)  # more than two lease terms with no hold() but the renewer's
        assert not keeper_b.hold(), "the renewer kept the lease"
        assert active.lease_held._value.get() == 1 and standby.lease_held._value.get() == 0
        ready = standby.readiness(60)
        assert ready.ready and ready.role == "standby"
        assert ready.lease_holder == keeper_a.claimant.holder
        assert active.readiness(60).role == "active"
        keeper_a.release()
        assert keeper_b.hold() and standby.lease_held._value.get() == 1
    finally:
        keeper_a.release()
        keeper_b.release()


# --- pipelines sharing one PostgreSQL database ------------------------------------------------


def test_two_pipelines_in_one_postgresql_database_stay_apart(pg_url: str):
    acme, globex = open_store(pg_url, "zendesk-acme"), open_store(pg_url, "freshdesk-globex")
    acme.set_cursor("zendesk", "acme-cursor")
    globex.set_cursor("zendesk", "globex-cursor")
    acme.save_fingerprints("sheets", {"1": "acme"})
    globex.save_fingerprints("sheets", {"1": "globex"})
    me = Claimant("r:1:x")
    assert acme.claim_lease(me, 30).holder == me.holder
    assert globex.claim_lease(Claimant("r:2:y"), 30).holder == "r:2:y", "a lease per pipeline"
    assert open_store(pg_url, "zendesk-acme").get_cursor("zendesk") == "acme-cursor"
    assert open_store(pg_url, "freshdesk-globex").fingerprints("sheets", ["1"]) == {"1": "globex"}
    schemas = inspect(acme.engine).get_schema_names()
    assert {"syncd_zendesk_acme", "syncd_freshdesk_globex"} <= set(schemas)


def test_a_sqlite_file_belongs_to_one_pipeline(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    open_store(url, "zendesk-acme").set_cursor("zendesk", "c")
    with pytest.raises(ConfigError, match="holds pipeline 'zendesk-acme', not 'zendesk-globex'"):
        open_store(url, "zendesk-globex")


def test_replicas_starting_together_create_the_tables_once(pg_url: str):
    errors: list[BaseException] = []

    def start() -> None:
        try:
            open_store(pg_url, "zendesk-acme")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


# --- URLs and connection errors ---------------------------------------------------------------


def test_a_postgresql_url_is_used_with_psycopg(pg_url: str):
    assert pg_url.startswith("postgresql://")
    store = open_store(pg_url.replace("postgresql://", "postgres://", 1), "zendesk-acme")
    assert store.engine.dialect.name == "postgresql" and store.engine.dialect.driver == "psycopg"


def test_a_refused_connection_is_a_config_error_without_the_password():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    url = f"postgresql://syncd:hunter2-secret@127.0.0.1:{port}/syncd"
    with pytest.raises(ConfigError) as caught:
        open_store(url, "zendesk-acme")
    message = caught.value.render()
    assert message.startswith("state.url: cannot open the state database")
    assert "refused" in message and "syncd:***@127.0.0.1" in message
    assert "hunter2-secret" not in message


def test_a_wrong_password_is_a_config_error_without_the_password(pg_url: str):
    wrong = pg_url.replace(f":{PASSWORD}@", ":not-the-password@")
    if wrong == pg_url:
        pytest.skip("SYNCD_TEST_PG_URL has no password to get wrong")
    with pytest.raises(ConfigError) as caught:
        open_store(wrong, "zendesk-acme")
    message = caught.value.render()
    assert "password authentication failed" in message
    assert "not-the-password" not in message and PASSWORD not in message


def test_a_url_that_is_no_url_names_the_setting():
    with pytest.raises(ConfigError, match=r"state\.url: 'postgresql://u:\*\*\*@h:port/db'"):
        open_store("postgresql://u:pw@h:port/db")
    assert masked_url("postgresql://u:s3cret@h/db") == "postgresql://u:***@h/db"


def test_status_with_a_wrong_password_is_one_line_and_exit_2(config_path: Path, pg_url: str):
    wrong = pg_url.replace(f":{PASSWORD}@", ":wrong-pw-123@")
    result = run_cli("status", "--config", str(config_path), env={"SYNCD_STATE_URL": wrong})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: state.url: cannot open"), lines
    assert "wrong-pw-123" not in result.stdout + result.stderr and "Traceback" not in lines[0]


def test_status_shows_the_lease_holder(config_path: Path, pg_url: str):
    store = open_store(pg_url, "zendesk-acme")
    store.claim_lease(Claimant("replica-a:7:abc"), 30)
    result = run_cli("status", "--config", str(config_path), env={"SYNCD_STATE_URL": pg_url})
    assert result.returncode == 0, result.stderr
    assert "pipeline zendesk-acme: held by replica-a:7:abc" in result.stdout


# --- config -------------------------------------------------------------------------------------

CONFIG = """\
helpdesk: {kind: freshdesk, domain: Globex.Support}
hubspot: {}
sheets: {spreadsheet_id: abc, credentials_file: sa.json}
"""


def test_the_pipeline_is_named_after_the_helpdesk_account_unless_set(tmp_path: Path):
    path = tmp_path / "syncd.yaml"
    path.write_text(CONFIG)
    config = load_config(path)
    assert config.state.pipeline == "freshdesk-globex-support"
    assert config.state.lease_seconds == 30
    path.write_text(CONFIG + "state: {pipeline: emea-desk, lease_seconds: 10s}\n")
    config = load_config(path)
    assert (config.state.pipeline, config.state.lease_seconds) == ("emea-desk", 10)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("{pipeline: Acme_Desk}", ":4: state.pipeline must be 1 to 48 lower-case letters"),
        ("{lease_seconds: 0.5s}", ":4: state.lease_seconds must be at least 1 second"),
        ("{lease_seconds: soon}", ":4: state.lease_seconds 'soon' is not a duration"),
    ],
)
def test_a_bad_pipeline_or_lease_names_file_line_and_key(tmp_path: Path, state: str, expected: str):
    path = tmp_path / "syncd.yaml"
    path.write_text(CONFIG + f"state: {state}\n")
    with pytest.raises(ConfigError, match=expected):
        load_config(path)


def test_a_daemon_that_loses_its_lease_mid_cycle_aborts_it_and_stands_by(state_url: str):
    metrics = Metrics()
    store = open_store(state_url, "zendesk-acme")
    keeper = LeaseKeeper(store, 30, metrics)
    rival = open_store(state_url, "zendesk-acme")
    recorded: list[str | None] = []

    def cycle() -> CycleReport:
        # Mid-cycle, the rival takes over (as if this replica had been paused for a minute)
        # and moves the cursor; this replica then tries to save its own.
        later = datetime.now(UTC) + timedelta(seconds=60)
        rival.claim_lease(Claimant("rival:9:z"), 30, now=later)
        rival.set_cursor("zendesk", "rival's")
        store.set_cursor("zendesk", "stale")
        return CycleReport()

    daemon = Daemon(cycle, 0.05, after_cycle=lambda r, s, e: recorded.append(e), lease=keeper)
    threading.Timer(1.0, daemon.stopping.set).start()  # daemon.stop() would also stop retries
    daemon.run()
    assert len(recorded) == 1 and "another replica holds the lease" in (recorded[0] or "")
    assert rival.get_cursor("zendesk") == "rival's"
    assert not keeper.held and metrics.readiness(60).role == "standby"
    assert metrics.readiness(60).lease_holder == "rival:9:z"
