"""The cycle's named stages (pull → evaluate → deliver per sink → carry out → checkpoint), each
run alone against the sandbox, and the checkpoint's writes in batches (issue 17, item 2)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from syncd.config import load_config
from syncd.cycle import BACKFILL, DAEMON, DRY_RUN, CycleContext
from syncd.model import Action
from syncd.pipeline import (
    carry_out,
    checkpoint,
    deliver,
    evaluate,
    is_baseline,
    pull,
    run_cycle,
)
from syncd.ports import Checkpoint, FiredAction
from syncd.report_tabs import ReportTabs
from syncd.sandbox import Sandbox
from syncd.state import open_store, schema
from syncd.wiring import build
from tests.conftest import Syncd
from tests.fault_checks import edit_config

NOW = datetime.now(UTC).replace(microsecond=0)
FIXED = CycleContext(clock=lambda: NOW)
ACTION = Action(key="a:1", kind="notify", origin="test", target="slack:#x")


@contextmanager
def statements(store: Any) -> Iterator[list[str]]:
    """The SQL statements the store sends, in order, as "VERB table" (an executemany is one
    statement), with "COMMIT" where a transaction ends."""
    seen: list[str] = []
    engine = store.engine.engine  # the Engine under any execution options

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        words = sql.split()
        table = next((w for w in words[1:4] if w.upper() not in ("INTO", "FROM")), "")
        seen.append(f"{words[0].upper()} {table.strip(chr(34))}")

    def commit(_conn: Any) -> None:
        seen.append("COMMIT")

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


def transactions(seen: list[str]) -> list[list[str]]:
    """The statements grouped by the transaction that committed them (reads left out)."""
    groups: list[list[str]] = [[]]
    for item in seen:
        if item == "COMMIT":
            groups.append([])
        elif not item.startswith("SELECT"):
            groups[-1].append(item)
    return [group for group in groups if group]


def stages_until_delivery(syncd: Syncd, mode: Any = DAEMON) -> tuple[Any, ...]:
    """Run pull, evaluate, the report tabs and deliver; nothing of the checkpoint yet."""
    pipeline = syncd.parts.pipeline()
    pulled = pull(pipeline, mode, FIXED)
    evaluated = evaluate(pipeline, pulled, mode)
    tabs = ReportTabs.build(
        pipeline.reporter, pipeline.sinks, evaluated.decided, pipeline.store, NOW, pulled.more
    )
    deliveries = {
        sink.name: deliver(sink, evaluated, tabs, mode, pipeline) for sink in pipeline.sinks
    }
    return pipeline, pulled, evaluated, tabs, deliveries


def test_each_stage_returns_its_result_and_only_the_checkpoint_moves_the_cursor(
    sandbox: Sandbox, syncd: Syncd
):
    sandbox.zendesk.generate(12, seed=3)
    pipeline, pulled, evaluated, tabs, deliveries = stages_until_delivery(syncd)
    store = pipeline.store
    assert pulled.pulled == 12 and len(pulled.tickets) == 12
    assert pulled.start is None and pulled.cursor is not None and not pulled.more
    assert len(evaluated.decided) == 12 and evaluated.now == NOW
    assert set(deliveries) == {"hubspot", "sheets"}
    assert all(d.written == 12 and d.error is None and not d.queue for d in deliveries.values())
    # The sinks hold the tickets, but nothing of the cycle is saved before the checkpoint.
    assert store.get_cursor(pipeline.cursor) is None
    assert store.snapshots([t.id for t in pulled.tickets]) == {}

    baseline = is_baseline(pipeline, DAEMON)
    assert baseline  # the first sync: its actions are a baseline
    carried = carry_out(evaluated, pipeline.notifiers, store, DAEMON, baseline)
    wanted = sum(len(d.actions) for _, d in evaluated.decided)
    assert len(carried.records) == wanted and carried.fired == 0
    assert store.fired([t.id for t in pulled.tickets]) == set()  # returned, not yet written

    saved = checkpoint(pipeline, DAEMON, pulled, evaluated, deliveries, carried, tabs, baseline)
    assert saved.cursor_advanced and store.get_cursor(pipeline.cursor) == pulled.cursor
    assert len(store.snapshots([t.id for t in pulled.tickets])) == 12
    assert len(store.fired([t.id for t in pulled.tickets])) == len(
        {(f.ticket_key, f.action.key) for f in carried.records}
    )
    assert store.get_meta(f"caught_up:{pipeline.source.name}") == NOW.isoformat()


def test_the_report_tabs_are_records_of_their_own_not_a_fix_up_of_the_ticket_counts(
    sandbox: Sandbox, syncd: Syncd
):
    sandbox.zendesk.generate(5, seed=8)
    _, _, _, tabs, deliveries = stages_until_delivery(syncd)
    sheets, hubspot = deliveries["sheets"], deliveries["hubspot"]
    assert tabs.reports and tabs.complete
    # One request carried both, counted apart: ticket rows in `written`, tabs in `reports`.
    assert sheets.written == 5 and sheets.reports == sheets.tabs_sent == len(tabs.reports)
    assert sheets.tabs_taken and sheets.report().reports == len(tabs.reports)
    assert not any(key.startswith("report:") for key in sheets.queue)
    assert hubspot.reports == hubspot.tabs_sent == 0 and hubspot.tabs_taken


def test_a_dry_run_mode_says_what_it_would_do_and_saves_nothing(sandbox: Sandbox, syncd: Syncd):
    sandbox.zendesk.generate(4, seed=2)
    pipeline = syncd.parts.pipeline()
    store = pipeline.store
    with statements(store) as seen:
        report = run_cycle(pipeline, DRY_RUN, FIXED)
    assert report.pulled == 4 and not report.cursor_advanced
    assert all(s.plan and s.written == 0 for s in report.sinks.values())
    assert transactions(seen) == [] and store.get_cursor(pipeline.cursor) is None
    assert sandbox.counts().get("hubspot", 0) == 0


def test_a_shutdown_stops_the_pull_between_pages(sandbox: Sandbox, config_path: Path):
    edit_config(config_path, helpdesk={"page_size": 3})
    sandbox.zendesk.generate(10, seed=6)
    parts = build(load_config(config_path))
    asked: list[bool] = []

    def stopping() -> bool:
        asked.append(True)
        return True  # SIGTERM arrived during the first page

    pulled = pull(parts.pipeline(), DAEMON, CycleContext(lambda: NOW, stopping))
    assert (pulled.pulled, pulled.more, len(asked)) == (3, True, 1)
    # Nothing read is lost: the cursor stays where the pages read end, for the checkpoint.
    assert pulled.cursor is not None and pulled.cursor != pulled.start


def test_a_baseline_cycle_saves_its_checkpoint_in_one_transaction_one_statement_a_table(
    sandbox: Sandbox, syncd: Syncd
):
    sandbox.zendesk.generate(60, seed=11)
    pipeline = syncd.parts.pipeline()
    with statements(pipeline.store) as seen:
        report = run_cycle(pipeline, BACKFILL, FIXED)
    assert report.pulled == 60 and report.cursor_advanced
    fired = pipeline.store.fired([str(t["id"]) for t in sandbox.zendesk.tickets()])
    assert len(fired) > 20  # actions of many tickets, all recorded as a baseline...
    # ... each kind of row in one statement (an executemany), not one per row, and the
    # checkpoint's in the transaction that moves the cursor.
    counts = Counter(seen)
    for table in ("fired_actions", "tickets", "ticket_facts", "cursors", "meta"):
        assert counts[f"INSERT {table}"] == 1, (table, counts)
    (saved,) = [t for t in transactions(seen) if "INSERT cursors" in t]
    kinds = ("tickets", "ticket_facts", "fired_actions", "sink_backlog", "meta", "cursors")
    assert {f"INSERT {kind}" for kind in kinds} >= set(saved) - {"UPDATE leases"}
    assert {"INSERT tickets", "INSERT ticket_facts", "INSERT fired_actions"} <= set(saved)
    # Each sink's fingerprints in one statement, with what leaves its backlog.
    prints = [t for t in transactions(seen) if "INSERT fingerprints" in t]
    assert [t.count("INSERT fingerprints") for t in prints] == [1, 1]


def outcomes(store: Any, ticket: str) -> dict[str, str]:
    """action key -> outcome recorded for a ticket, read from the table itself."""
    table = schema.fired_actions
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(table.c.action_key, table.c.outcome).where(table.c.ticket_key == ticket)
        )
        return dict(rows.all())


def test_a_batch_naming_an_action_twice_keeps_the_last(tmp_path: Path):
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    twice = [FiredAction("1", ACTION, "first"), FiredAction("1", ACTION, "second")]
    store.record_fired_many(twice)
    assert outcomes(store, "1") == {"a:1": "second"}
    store.record_fired("1", ACTION, "third")  # the one-row form is the same statement
    assert outcomes(store, "1") == {"a:1": "third"}


def test_the_checkpoint_on_postgresql_takes_repeats_in_one_statement(pg_url: str):
    # PostgreSQL refuses INSERT ... ON CONFLICT touching a row twice in one statement.
    store = open_store(pg_url, "zendesk-acme")
    twice = [FiredAction("7", ACTION, "one"), FiredAction("7", ACTION, "two")]
    store.save_checkpoint(
        Checkpoint("zendesk", "c1", fired=twice, owed={"hubspot": ["7", "7"]}, meta={"k": "v"})
    )
    assert store.get_cursor("zendesk") == "c1" and store.get_meta("k") == "v"
    assert outcomes(store, "7") == {"a:1": "two"}
    assert store.owed("hubspot", 10) == ["7"]
