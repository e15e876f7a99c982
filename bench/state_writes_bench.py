"""The state store's writes in a first cycle, and baseline actions one row at a time against
one statement (issue 17, item 2), in one run:

    .venv/bin/python bench/state_writes_bench.py [--tickets 5000] [--actions 17914]

1. A first cycle of `--tickets` generated Zendesk tickets against `syncd sandbox` in its own
   process (both sinks): wall and CPU seconds, the SQL statements and transactions it sent to
   the state store (SQLite), and the time spent in each write method of the store.
2. `--actions` baseline actions recorded with `record_fired`, one row and one transaction
   each (what a first cycle did before), then with `record_fired_many` (one statement).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import event  # noqa: E402
from sync_bench import RemoteSandbox  # noqa: E402

from syncd import logs  # noqa: E402
from syncd.model import Action  # noqa: E402
from syncd.ports import FiredAction  # noqa: E402
from syncd.sandbox import HUBSPOT_TOKEN, ZENDESK_TOKEN  # noqa: E402
from syncd.state import open_store  # noqa: E402
from syncd.wiring import build  # noqa: E402

WRITES = (
    "record_fired",
    "record_fired_many",
    "save_snapshots",
    "save_fingerprints",
    "save_facts",
    "save_delivery",
    "save_checkpoint",
    "advance",
    "settle",
    "add_dead_letter",
    "set_meta",
)


def timed(store: Any, spent: Counter[str], calls: Counter[str]) -> None:
    """Wrap each write method of this store object to add up its calls and seconds."""
    for name in WRITES:
        method = getattr(store, name, None)
        if method is None:
            continue

        def wrapper(*args: Any, _method: Callable[..., Any] = method, _name: str = name) -> Any:
            started = time.perf_counter()
            try:
                return _method(*args)
            finally:
                spent[_name] += time.perf_counter() - started
                calls[_name] += 1

        setattr(store, name, wrapper)


def first_cycle(tickets: int) -> None:
    """One first cycle of `tickets` tickets; prints the state store's share."""
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = RemoteSandbox(tickets, Path(tmp))
        try:
            parts = build(sandbox.config(Path(tmp)))
            for sink in parts.sinks:
                getattr(sink, "setup", lambda: None)()
            spent: Counter[str] = Counter()
            calls: Counter[str] = Counter()
            timed(parts.store, spent, calls)
            sql: Counter[str] = Counter()
            engine = parts.store.engine.engine
            event.listen(
                engine, "before_cursor_execute", lambda *a: sql.update([a[2].split()[0].upper()])
            )
            event.listen(engine, "commit", lambda _conn: sql.update(["COMMIT"]))
            cpu, wall = time.process_time(), time.perf_counter()
            report = parts.cycle()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        finally:
            sandbox.close()
    print(f"first cycle, {report.pulled} tickets: wall {wall:.2f} s, CPU {cpu:.2f} s")
    print(f"  state store: {dict(sql)}")
    for name in WRITES:
        if calls[name]:
            print(f"  {name:18} {calls[name]:6} call(s) {spent[name]:6.2f} s")
    print(f"  state store writes: {sum(spent.values()):.2f} s")


def baseline_actions(count: int) -> None:
    """`count` baseline actions, one row at a time, then in one statement."""
    action = "baseline: first sync, not sent"
    fired = [
        FiredAction(
            str(i // 3),
            Action(key=f"escalation:Standard:{i % 3}:0", kind="notify", origin="bench"),
            action,
        )
        for i in range(count)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        one = open_store(f"sqlite:///{tmp}/one.db")
        started = time.perf_counter()
        for f in fired:
            one.record_fired(f.ticket_key, f.action, f.outcome)
        single = time.perf_counter() - started
        many = open_store(f"sqlite:///{tmp}/many.db")
        started = time.perf_counter()
        many.record_fired_many(fired)
        batch = time.perf_counter() - started
    print(
        f"{count} baseline actions: record_fired one by one {single:.2f} s, "
        f"record_fired_many {batch:.2f} s ({single / max(batch, 1e-9):.0f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=5_000)
    parser.add_argument("--actions", type=int, default=17_914)
    args = parser.parse_args()
    logs.configure("warning", "console")
    os.environ.setdefault("ZENDESK_TOKEN", ZENDESK_TOKEN)
    os.environ.setdefault("HUBSPOT_TOKEN", HUBSPOT_TOKEN)
    first_cycle(args.tickets)
    baseline_actions(args.actions)


if __name__ == "__main__":
    main()
