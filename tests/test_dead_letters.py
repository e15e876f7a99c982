"""Per-record failures: a record a sink rejects, or a ticket the helpdesk sends malformed,
becomes a dead letter with the reason and the payload while the rest of the batch goes on.
Dead letters are retried automatically with backoff, then parked until `syncd dlq retry`;
once the cause is fixed they are recovered."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.hubspot import invalid_value
from syncd.pipeline import RetryPolicy
from syncd.sandbox import Sandbox
from syncd.state import open_store
from tests.conftest import ROOT, Syncd
from tests.fault_checks import crm_ids, edit_config, figures, lost_and_duplicated, sheet_ids

# An option the portal's hs_ticket_priority does not have: HubSpot refuses such records.
BAD_PRIORITIES = {"Critical": "SEVERE", "High": "HIGH", "Medium": "MEDIUM", "Low": "LOW"}
GOOD_PRIORITIES = {"Critical": "URGENT", "High": "HIGH", "Medium": "MEDIUM", "Low": "LOW"}


def syncd_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The real `syncd` command, with no terminal on stdin (as under cron or CI)."""
    return subprocess.run(
        [sys.executable, "-m", "syncd.cli", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        cwd=ROOT,
    )


def add_tickets(sandbox: Sandbox, urgent: int, normal: int) -> tuple[list[str], list[str]]:
    """`urgent` tickets the rules make Critical (an outage) and `normal` others."""
    hot = [
        sandbox.zendesk.add_ticket(
            f"Site is down for team {i}", "All users affected", f"ops{i}@hot{i}.example"
        )["id"]
        for i in range(urgent)
    ]
    calm = [
        sandbox.zendesk.add_ticket(
            f"Question about invoice {i}", "Where is it?", f"ann{i}@calm.example"
        )["id"]
        for i in range(normal)
    ]
    return [str(t) for t in hot], [str(t) for t in calm]


def letters_of(config_path: Path) -> list[dict]:
    result = syncd_cli("dlq", "list", "--config", str(config_path), "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_records_hubspot_refuses_fail_alone_and_are_recovered_automatically(
    sandbox: Sandbox, config_path: Path
):
    edit_config(
        config_path, hubspot={"priorities": BAD_PRIORITIES}, dead_letters={"first_retry": "1s"}
    )
    hot, calm = add_tickets(sandbox, urgent=5, normal=25)
    syncd = Syncd(config_path)
    syncd.setup()
    sandbox.reset_counts()

    # A fixed clock: "not due yet" must not depend on how fast this machine runs the cycles.
    start = datetime.now(UTC)
    report = syncd.once(at=start)
    hubspot = report.sinks["hubspot"]
    assert (hubspot.written, hubspot.rejected, hubspot.error) == (25, 5, None)
    upserts = [a for a in sandbox.arrivals("hubspot") if a.path.endswith("tickets/batch/upsert")]
    assert len(upserts) == 1, "one request: HubSpot refused the bad records alone (207)"
    letters = syncd.parts.store.dead_letter_rows()
    assert sorted(row["ticket_key"] for row in letters) == sorted(hot)
    for row in letters:
        assert row["sink"] == "hubspot" and row["attempts"] == 1
        assert "property hs_ticket_priority" in row["reason"] and "SEVERE" in row["reason"]
        assert json.loads(row["payload"])["hs_ticket_priority"] == "SEVERE"
        assert row["next_attempt_at"] is not None, "scheduled for an automatic retry"
    assert set(sheet_ids(sandbox)) == {*hot, *calm}, "the sheet is not held back"

    # Not due yet: nothing is sent again.
    sandbox.reset_counts()
    assert syncd.once(at=start).sinks["hubspot"].retried == 0
    assert "hubspot" not in sandbox.counts()

    # The cause is fixed (the mapping); once due, the dead letters go again and are taken.
    edit_config(config_path, hubspot={"priorities": GOOD_PRIORITIES})
    fixed = Syncd(config_path)
    report = fixed.once(at=start + timedelta(seconds=2))
    hubspot = report.sinks["hubspot"]
    assert (hubspot.retried, hubspot.recovered, hubspot.rejected) == (5, 5, 0)
    assert fixed.parts.store.dead_letter_rows() == []
    held = crm_ids(sandbox)
    lost, duplicated = lost_and_duplicated([*hot, *calm], held)
    assert (lost, duplicated) == (0, 0)
    urgent = {
        t["properties"]["helpdesk_ticket_id"]: t["properties"]["hs_ticket_priority"]
        for t in sandbox.hubspot.objects("tickets")
    }
    assert {urgent[key] for key in hot} == {"URGENT"}
    figures(
        "partial batch failure (automatic retry)",
        dead_lettered=5,
        recovered=hubspot.recovered,
        lost=lost,
        duplicated=duplicated,
    )


@pytest.mark.slow
def test_parked_dead_letters_wait_for_syncd_dlq_retry(sandbox: Sandbox, config_path: Path):
    edit_config(
        config_path,
        hubspot={"priorities": BAD_PRIORITIES},
        dead_letters={"retries": 1, "first_retry": "1s"},
    )
    hot, calm = add_tickets(sandbox, urgent=3, normal=5)
    assert syncd_cli("setup", "--config", str(config_path)).returncode == 0
    first = syncd_cli("once", "--config", str(config_path))
    assert first.returncode == 1, "records were dead-lettered"
    letters = letters_of(config_path)
    assert sorted(row["ticket_key"] for row in letters) == sorted(hot)
    assert {row["retried_by"] for row in letters} == {"sent again to hubspot"}

    time.sleep(1.2)  # the one automatic retry comes due, fails, and the letters are parked
    assert syncd_cli("once", "--config", str(config_path)).returncode == 1
    assert {row["next_retry"] for row in letters_of(config_path)} == {"parked: syncd dlq retry"}
    table = syncd_cli("dlq", "list", "--config", str(config_path))
    assert "parked" in table.stdout and "hs_ticket_priority" in table.stdout

    time.sleep(1.2)
    sandbox.reset_counts()
    assert syncd_cli("once", "--config", str(config_path)).returncode == 0
    assert "hubspot" not in sandbox.counts(), "parked letters are not retried automatically"

    ids = [str(row["id"]) for row in letters]
    again = syncd_cli("dlq", "retry", "--config", str(config_path), *ids)
    assert again.returncode == 1 and again.stdout.count("failed again") == 3, again.stdout

    edit_config(config_path, hubspot={"priorities": GOOD_PRIORITIES})
    recovered = syncd_cli("dlq", "retry", "--config", str(config_path))
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert recovered.stdout.count("recovered: hubspot accepted it") == 3
    assert "3 recovered, 0 still dead letters" in recovered.stdout
    assert letters_of(config_path) == []
    lost, duplicated = lost_and_duplicated([*hot, *calm], crm_ids(sandbox))
    assert (lost, duplicated) == (0, 0)
    figures(
        "partial batch failure (syncd dlq retry)",
        dead_lettered=3,
        recovered=3,
        lost=lost,
        duplicated=duplicated,
    )


def test_dropping_a_dead_letter_asks_for_yes_off_a_terminal(sandbox: Sandbox, config_path: Path):
    edit_config(config_path, hubspot={"priorities": BAD_PRIORITIES})
    add_tickets(sandbox, urgent=2, normal=1)
    syncd_cli("setup", "--config", str(config_path))
    syncd_cli("once", "--config", str(config_path))
    first, second = (str(row["id"]) for row in letters_of(config_path))

    refused = syncd_cli("dlq", "drop", "--config", str(config_path), first)
    assert refused.returncode == 2 and "Add --yes" in refused.stderr
    unknown = syncd_cli("dlq", "drop", "--config", str(config_path), "999", "--yes")
    assert unknown.returncode == 2 and "no dead letter with id 999" in unknown.stderr
    dropped = syncd_cli("dlq", "drop", "--config", str(config_path), first, "--yes")
    assert dropped.returncode == 0 and "dropped 1 dead letter(s)" in dropped.stdout
    assert [str(row["id"]) for row in letters_of(config_path)] == [second]


def test_a_ticket_the_helpdesk_sends_malformed_is_read_again_and_recovered(
    sandbox: Sandbox, config_path: Path
):
    edit_config(config_path, dead_letters={"first_retry": "1s"})
    _hot, calm = add_tickets(sandbox, urgent=0, normal=4)
    broken = str(sandbox.zendesk.add_ticket("Refund please", "Charged twice", "b@x.example")["id"])
    edited = str(sandbox.zendesk.add_ticket("Login fails", "Since today", "c@x.example")["id"])
    for key in (broken, edited):
        sandbox.zendesk.garble(int(key), status="escalated")  # a status syncd cannot read
    syncd = Syncd(config_path)
    syncd.setup()

    report = syncd.once()
    assert report.malformed == 2 and report.sinks["hubspot"].written == 4
    letters = {row["ticket_key"]: row for row in letters_of(config_path)}
    assert set(letters) == {broken, edited}
    for row in letters.values():
        assert row["sink"] == "source:zendesk" and "unknown status 'escalated'" in row["reason"]
        assert row["retried_by"] == "read again from zendesk"
        assert row["payload"]["status"] == "escalated", "the raw ticket is kept"

    # One is corrected by an agent (a new version the export brings); Zendesk serves the
    # other correctly again without a new version, which only reading it again finds.
    sandbox.zendesk.garble(int(edited), status="open")
    sandbox.zendesk.update_ticket(int(edited), subject="Login fails (edited)")
    sandbox.zendesk.garble(int(broken), status="open")
    sandbox.reset_counts()
    report = syncd.once(at=datetime.now(UTC) + timedelta(seconds=2))
    assert report.pulled == 1 and report.refetched == 1 and report.malformed == 0
    shows = [a for a in sandbox.arrivals("zendesk") if "show_many" in a.path]
    assert len(shows) == 1, "the due dead letter cost one show_many request"
    assert letters_of(config_path) == []
    expected = [*calm, broken, edited]
    for held in (crm_ids(sandbox), sheet_ids(sandbox)):
        assert lost_and_duplicated(expected, held) == (0, 0)
    figures("malformed ticket read again", dead_lettered=2, recovered=2, lost=0, duplicated=0)


def test_a_dead_letter_is_retried_with_backoff_then_parked():
    policy = RetryPolicy(retries=3, first_retry=60, max_wait=150)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    waits = [policy.next_attempt(n, now) for n in range(1, 5)]
    assert [w - now for w in waits[:3] if w] == [
        timedelta(seconds=60),
        timedelta(seconds=120),
        timedelta(seconds=150),  # capped at max_wait
    ]
    assert waits[3] is None, "after 3 automatic retries it is parked"


def test_hubspot_values_are_checked_against_their_types_before_sending():
    good = {"syncd_escalation_level": "2", "syncd_resolution_due": "2026-01-31T10:00:00Z"}
    assert invalid_value(good) is None
    assert invalid_value({**good, "syncd_first_response_due": ""}) is None, "'' clears"
    bad_number = invalid_value({**good, "syncd_escalation_level": "two"})
    assert bad_number and "syncd_escalation_level" in bad_number and "number" in bad_number
    bad_time = invalid_value({**good, "syncd_resolution_due": "next week"})
    assert bad_time and "syncd_resolution_due" in bad_time


def test_a_state_database_from_an_earlier_version_gains_the_new_columns(tmp_path: Path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE dead_letters (id INTEGER PRIMARY KEY, sink VARCHAR(100) NOT NULL, "
        "ticket_key VARCHAR(200) NOT NULL, reason TEXT NOT NULL, payload TEXT NOT NULL, "
        "attempts INTEGER NOT NULL, created_at DATETIME NOT NULL)"
    )
    old.execute(
        "INSERT INTO dead_letters VALUES (1, 'hubspot', '42', 'bad value', '{}', 3, "
        "'2025-01-01 00:00:00')"
    )
    old.commit()
    old.close()

    store = open_store(f"sqlite:///{path}")
    (row,) = store.dead_letter_rows()
    assert row["ticket_key"] == "42" and row["attempts"] == 3
    assert row["next_attempt_at"] is None, "an old dead letter stays parked"
    store.add_dead_letter("hubspot", "42", "still bad", {"a": 1}, lambda n: datetime.now(UTC))
    (row,) = store.dead_letter_rows()
    assert row["attempts"] == 4 and row["next_attempt_at"] is not None
    store.add_dead_letter("hubspot", "42", "no snapshot", None)  # keeps the payload, parks
    (row,) = store.dead_letter_rows()
    assert row["payload"] == '{"a": 1}' and row["next_attempt_at"] is None
    store.advance("zendesk", "c1", {"hubspot": ["7"]})
    assert store.owed("hubspot", 10) == ["7"] and store.get_cursor("zendesk") == "c1"
    open_store(f"sqlite:///{path}")  # opening again changes nothing


def test_freshdesk_reads_tickets_again_by_id(sandbox: Sandbox):
    from tests.test_freshdesk_source import make_source

    quiet = sandbox.freshdesk.add_ticket("Quiet")["id"]
    page = make_source(sandbox).fetch([str(quiet), "999999", "not-an-id"])
    assert [t.id for t in page.tickets] == [str(quiet)]
    assert [(key, reason) for key, reason, _ in page.rejected] == [
        ("999999", "Freshdesk no longer has this ticket"),
        ("not-an-id", "Freshdesk no longer has this ticket"),
    ]


def test_the_backlog_and_dead_letters_on_both_backends(state_url: str):
    from sqlalchemy import text

    store = open_store(state_url, "zendesk-acme")
    now = datetime.now(UTC)
    store.advance("zendesk", "c1", {"hubspot": ["1", "2"], "sheets": []})
    store.advance("zendesk", None, {"hubspot": ["2", "3"]})  # "2" keeps its place
    assert store.owed("hubspot", 10) == ["1", "2", "3"] and store.get_cursor("zendesk") == "c1"
    store.add_dead_letter("hubspot", "2", "bad", {"x": 1}, lambda attempts: now)
    assert store.owed("hubspot", 10) == ["1", "3"], "the dead letter keeps track of it now"
    assert store.due_dead_letters("hubspot", now, 10) == ["2"]
    assert store.due_dead_letters("hubspot", now - timedelta(seconds=1), 10) == []
    store.settle("hubspot", ["1", "2"])
    assert store.owed("hubspot", 10) == ["3"] and store.dead_letter_rows() == []
    assert store.backlog_sizes() == {"hubspot": 1}

    # A database made before the retry columns existed gains them when opened.
    table = f"{store.schema}.dead_letters" if store.schema else "dead_letters"
    with store.engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {table} DROP COLUMN next_attempt_at"))
        conn.execute(text(f"ALTER TABLE {table} DROP COLUMN failed_at"))
    again = open_store(state_url, "zendesk-acme")
    again.add_dead_letter("hubspot", "3", "bad", {}, lambda attempts: now)
    assert again.due_dead_letters("hubspot", now, 10) == ["3"]
