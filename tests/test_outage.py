"""Outages: one sink down for a while never stops the other nor the source cursor; the
failed sink catches up from its own backlog when its API is back; while it is down, its
circuit breaker keeps the cost to one probe per interval."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from syncd import metrics
from syncd.pipeline import CycleReport
from syncd.sandbox import Sandbox
from tests.conftest import Syncd
from tests.fault_checks import crm_ids, edit_config, figures, lost_and_duplicated, sheet_ids


def until_caught_up(syncd: Syncd, limit: int = 20) -> list[CycleReport]:
    """Cycles back to back while the daemon would run them so (`more` or `catching_up`)."""
    reports = [syncd.once()]
    while reports[-1].more or reports[-1].catching_up:
        assert len(reports) < limit, "no progress"
        reports.append(syncd.once())
    return reports


@pytest.mark.slow
def test_a_long_hubspot_outage_never_stops_the_sheet_and_hubspot_catches_up(
    sandbox: Sandbox, config_path: Path
):
    # More changes than one cycle takes, so the outage spans several cycles (zenpy asks for
    # page_size only on the export's first page; the source hands the rest over in slices of
    # page_size, so max_tickets_per_cycle holds).
    edit_config(
        config_path,
        helpdesk={"page_size": 20},
        max_tickets_per_cycle=20,
        retry_attempts=2,
        circuit_breaker={"failures": 2, "probe_interval": "1s"},
    )
    tickets = sandbox.zendesk.generate(100, seed=3)
    expected = {str(t["id"]) for t in tickets}
    syncd = Syncd(config_path)
    syncd.setup()
    sandbox.reset_counts()

    sandbox.faults.outage = {"hubspot"}
    during = until_caught_up(syncd)
    assert [r.pulled for r in during] == [20] * 5
    assert all(r.cursor_advanced and r.sinks["hubspot"].error for r in during)
    assert set(sheet_ids(sandbox)) == expected, "the sheet kept syncing"
    assert during[-1].sinks["hubspot"].backlog == 100
    assert sandbox.counts()["hubspot"] == 4, "two failed calls of two attempts each"

    # Tickets change during the outage: the sheet shows it, HubSpot will get the new version.
    # Any ticket not closed can still be edited (the generator solves most of a week's).
    changed = sorted(str(t["id"]) for t in tickets if t["status"] != "closed")[:5]
    assert len(changed) == 5
    for key in changed:
        sandbox.zendesk.update_ticket(int(key), subject=f"Edited during the outage #{key}")
    report = syncd.once()
    assert report.pulled == 5 and report.sinks["sheets"].written == 5
    assert report.sinks["hubspot"].backlog == 100
    # The circuit opened after those two calls: this cycle sent HubSpot nothing.
    assert sandbox.counts()["hubspot"] == 4
    assert "considered down until" in (report.sinks["hubspot"].error or "")

    sandbox.faults.outage = set()
    time.sleep(1.1)  # one probe interval: the next call is the probe
    sandbox.reset_counts()
    after = until_caught_up(syncd)
    assert [r.pulled for r in after] == [0] * 5, "nothing is pulled again"
    # From the backlog, in batches of max_tickets_per_cycle (a few came due as SLA timers).
    assert sum(r.sinks["hubspot"].written for r in after) == 100
    assert after[-1].sinks["hubspot"].backlog == 0
    assert sandbox.counts().get("sheets", 0) == 0, "the sheet, which has them, is left alone"
    held = crm_ids(sandbox)
    lost, duplicated = lost_and_duplicated(expected, held)
    assert (lost, duplicated) == (0, 0)
    subjects = {
        t["properties"]["helpdesk_ticket_id"]: t["properties"]["subject"]
        for t in sandbox.hubspot.objects("tickets")
    }
    assert all(subjects[key] == f"Edited during the outage #{key}" for key in changed)
    figures(
        "hubspot outage",
        tickets=len(expected),
        queued=during[-1].sinks["hubspot"].backlog,
        caught_up_in_cycles=len(after),
        lost=lost,
        duplicated=duplicated,
    )


@pytest.mark.slow
def test_an_outage_costs_one_probe_per_interval_not_a_request_storm(
    sandbox: Sandbox, config_path: Path
):
    edit_config(
        config_path,
        retry_attempts=2,
        circuit_breaker={"failures": 2, "probe_interval": "1s"},
    )
    sandbox.zendesk.generate(10, seed=4)
    syncd = Syncd(config_path)
    syncd.setup()
    measured = metrics.reset()
    sandbox.faults.outage = {"hubspot"}
    sandbox.reset_counts()
    started = time.monotonic()
    cycles = 0
    while time.monotonic() - started < 7:  # a daemon polling every 0.1 s
        syncd.once()
        cycles += 1
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    sent = sandbox.counts()["hubspot"]
    # 2 calls x 2 attempts open the circuit (about 2 s of backoff), then one probe a second.
    assert cycles > 10
    assert 2 * 2 + 1 <= sent <= 2 * 2 + int(elapsed) + 1, (sent, elapsed)
    state = measured.registry.get_sample_value("syncd_circuit_state", {"api": "hubspot"})
    assert state in (1, 2), "half-open or open"
    refused = measured.registry.get_sample_value("syncd_circuit_refusals_total", {"api": "hubspot"})
    assert refused and refused >= cycles - sent
    assert measured.registry.get_sample_value("syncd_circuit_state", {"api": "sheets"}) == 0

    sandbox.faults.outage = set()
    time.sleep(1.1)
    report = syncd.once()
    assert report.sinks["hubspot"].error is None and report.sinks["hubspot"].backlog == 0
    assert measured.registry.get_sample_value("syncd_circuit_state", {"api": "hubspot"}) == 0
    figures("circuit breaker", cycles=cycles, hubspot_requests=sent, seconds=round(elapsed))
