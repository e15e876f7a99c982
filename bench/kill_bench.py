"""Kills survived, failover time, lost and duplicated records: the crash and failover scenarios
of the test suite (tests/kill_scenarios.py), run once each with their figures printed.

    .venv/bin/python bench/kill_bench.py [--tickets 10000] [--kills 30] [--seed N]
                                         [--failover-tickets 3000] [--lease 2]

crash: `syncd run` on SQLite is SIGKILLed at random moments of the sync and restarted, with
tickets edited in the helpdesk between runs; then every ticket must be in the sheet and in
HubSpot once, with its latest values. failover: two replicas on one PostgreSQL state, the
active one SIGKILLed mid-sync; the time until the standby holds the lease and until its first
cycle ends. PostgreSQL: SYNCD_TEST_PG_URL, else a throwaway cluster (as the tests do).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syncd import logs  # noqa: E402
from syncd.sandbox import Sandbox  # noqa: E402
from tests.kill_scenarios import crash_scenario, failover_scenario  # noqa: E402
from tests.pg import PgServer, PgUnavailable, start_cluster  # noqa: E402


def main() -> None:
    """Run both scenarios and print one line of figures for each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--failover-tickets", type=int, default=3000)
    parser.add_argument("--lease", type=float, default=2.0, help="lease seconds (failover)")
    args = parser.parse_args()
    logs.configure("warning")
    with tempfile.TemporaryDirectory() as work:
        crash_dir = Path(work) / "crash"
        crash_dir.mkdir()
        with Sandbox() as sandbox:
            crash = crash_scenario(
                sandbox, crash_dir, tickets=args.tickets, kills=args.kills, seed=args.seed
            )
        print(crash.summary(), flush=True)
        server = _postgres()
        if server is None:
            return
        try:
            failover_dir = Path(work) / "failover"
            failover_dir.mkdir()
            with Sandbox() as sandbox:
                failover = failover_scenario(
                    sandbox,
                    failover_dir,
                    server.database(),
                    tickets=args.failover_tickets,
                    lease_seconds=args.lease,
                )
            print(failover.summary())
        finally:
            server.stop()


def _postgres() -> PgServer | None:
    if os.environ.get("SYNCD_TEST_PG_URL"):
        return PgServer(os.environ["SYNCD_TEST_PG_URL"])
    try:
        return start_cluster()
    except PgUnavailable as exc:
        print(f"failover: skipped, no PostgreSQL: {exc}")
        return None


if __name__ == "__main__":
    main()
