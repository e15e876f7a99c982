"""SIGKILL at random moments of a 10,000-ticket sync, 30 times: nothing lost or duplicated.

The seed of the moments is printed (run with -s to see the summary line); set
SYNCD_CRASH_SEED to replay one.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from syncd.sandbox import SPREADSHEET_ID, Sandbox
from tests.conftest import Syncd
from tests.kill_scenarios import crash_scenario, tally


@pytest.mark.slow
def test_thirty_sigkills_lose_and_duplicate_nothing(sandbox: Sandbox, tmp_path: Path):
    seed = int(os.environ["SYNCD_CRASH_SEED"]) if "SYNCD_CRASH_SEED" in os.environ else None
    result = crash_scenario(sandbox, tmp_path, tickets=10_000, kills=30, seed=seed)
    print(f"\n{result.summary()}")
    tally = result.tally
    assert tally.tickets == 10_000 and result.kills == 30
    assert tally.counts() == {"lost": 0, "duplicated": 0, "stale": 0, "unknown": 0}, (
        f"seed {result.seed}: {tally}"
    )
    assert result.edited > 30, "tickets changed along the way must show their latest values"


def test_the_tally_sees_a_missing_a_doubled_and_a_stale_record(sandbox: Sandbox, syncd: Syncd):
    sandbox.zendesk.generate(20, seed=3)
    syncd.once()
    assert tally(sandbox).clean
    tickets = sandbox.zendesk.tickets()
    rows = sandbox.sheets.values(SPREADSHEET_ID, "Tickets")
    sandbox.sheets.set_values(SPREADSHEET_ID, "Tickets", [rows[1]], start=(len(rows), 0))
    sandbox.zendesk.update_ticket(tickets[1]["id"], subject="changed, not synced yet")
    sandbox.zendesk.add_ticket("new, not synced yet")
    found = tally(sandbox)
    assert found.duplicated == {"sheets": [rows[1][0]], "hubspot": []}
    assert found.stale == {"sheets": [str(tickets[1]["id"])], "hubspot": [str(tickets[1]["id"])]}
    assert len(found.lost["sheets"]) == len(found.lost["hubspot"]) == 1
    assert not found.clean
