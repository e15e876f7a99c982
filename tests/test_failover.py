"""Two `syncd run` replicas on one PostgreSQL state: kill -9 the active one, the standby
resumes within two lease terms, nothing lost or duplicated (run with -s for the figures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.sandbox import Sandbox
from tests.kill_scenarios import failover_scenario

LEASE = 2.0


@pytest.mark.slow
def test_the_standby_takes_over_within_two_lease_terms(
    sandbox: Sandbox, tmp_path: Path, pg_url: str
):
    result = failover_scenario(sandbox, tmp_path, pg_url, tickets=3000, lease_seconds=LEASE)
    print(f"\n{result.summary()}")
    assert result.standby_cycles_before == 0, "the standby synced while the active one lived"
    assert result.failover_seconds < 2 * LEASE
    assert result.first_cycle_seconds < 2 * LEASE + 30
    assert result.tally.counts() == {"lost": 0, "duplicated": 0, "stale": 0, "unknown": 0}, (
        result.tally
    )
