"""Graceful shutdown: SIGTERM while `syncd run` waits out a long Retry-After ends the wait,
saves what was accepted (what a sink did not take is queued), and exits 0 within 10 s; the
next run loses and duplicates nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from syncd.sandbox import Sandbox
from tests.conftest import ROOT, run_cli
from tests.fault_checks import crm_ids, edit_config, figures, lost_and_duplicated, sheet_ids


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("api", ["hubspot", "zendesk"])
def test_sigterm_during_a_retry_after_wait_exits_0_within_10s_and_loses_nothing(
    sandbox: Sandbox, config_path: Path, api: str
):
    edit_config(config_path, ops={"port": 0})
    tickets = sandbox.zendesk.generate(30, seed=6)
    expected = {str(t["id"]) for t in tickets}
    assert run_cli("setup", "--config", str(config_path)).returncode == 0
    sandbox.faults.rate = 1.0
    sandbox.faults.rate_limited_share = 1.0
    sandbox.faults.retry_after = 50  # under a minute: syncd would wait it out
    sandbox.faults.only = {api}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "syncd.cli", "run", "--config", str(config_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        wait_for(lambda: any(a.status == 429 for a in sandbox.arrivals(api)))
        time.sleep(0.5)  # well into the 50-second wait
        asked = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        _out, err = daemon.communicate(timeout=30)
        took = time.monotonic() - asked
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 0, err[-2000:]
    assert took < 10, f"exited {took:.1f}s after SIGTERM"
    assert "daemon stopped" in err

    sandbox.faults.rate = 0.0
    result = run_cli("once", "--config", str(config_path))
    assert result.returncode == 0, result.stderr
    lost_sheet, dup_sheet = lost_and_duplicated(expected, sheet_ids(sandbox))
    lost_crm, dup_crm = lost_and_duplicated(expected, crm_ids(sandbox))
    assert (lost_sheet, dup_sheet, lost_crm, dup_crm) == (0, 0, 0, 0)
    figures(
        f"SIGTERM in a {api} Retry-After wait",
        seconds_to_exit=round(took, 1),
        lost=lost_sheet + lost_crm,
        duplicated=dup_sheet + dup_crm,
    )
