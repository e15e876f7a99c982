"""`syncd backfill`: every ticket since a date, exactly once in each sink, resumable."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncd.backfill import run_backfill
from syncd.config import load_config
from syncd.errors import TransientError
from syncd.sandbox import FRESHDESK_API_KEY, SPREADSHEET_ID, Sandbox
from syncd.wiring import build
from tests.conftest import RULES, Syncd, run_cli, write_config


def _sheet_ids(sandbox: Sandbox) -> Counter[str]:
    return Counter(row[0] for row in sandbox.sheets.values(SPREADSHEET_ID, "Tickets")[1:])


def _crm_ids(sandbox: Sandbox) -> Counter[str]:
    return Counter(
        t["properties"]["helpdesk_ticket_id"] for t in sandbox.hubspot.objects("tickets")
    )


@pytest.mark.slow
def test_an_interrupted_backfill_resumes_and_writes_each_ticket_once(
    sandbox: Sandbox, syncd: Syncd, tmp_path: Path
):
    data = sandbox.config(f"sqlite:///{tmp_path / 'state.db'}", str(RULES), tmp_path / "sa.json")
    data["helpdesk"]["page_size"] = 60
    data["retry_attempts"] = 1  # the outage below should stop the batch at once
    config_path = write_config(tmp_path / "paged.yaml", data)
    # zenpy sends per_page only with start_time: later export answers hold up to 1000,
    # which the source hands over in pages of 60.
    sandbox.zendesk.generate(2200, seed=5)
    expected = {str(t["id"]) for t in sandbox.zendesk.tickets()}
    since = datetime.now(UTC) - timedelta(days=400)
    parts = build(load_config(config_path))
    seen: list[int] = []

    def crm_goes_down_after_two_batches(progress) -> None:
        seen.append(progress.tickets)
        if len(seen) == 2:
            sandbox.faults.outage = {"hubspot"}

    try:
        run_backfill(parts, since, batch=50, on_progress=crm_goes_down_after_two_batches)
    except TransientError as exc:
        assert "run the same command again" in str(exc)
    else:
        raise AssertionError("the outage should have stopped the backfill")
    assert seen == [60, 120]
    sandbox.faults.outage = set()

    done = run_backfill(build(load_config(config_path)), since, batch=50)
    assert done.finished and done.share == 1.0
    assert done.tickets >= len(expected)
    assert set(_sheet_ids(sandbox)) == expected and max(_sheet_ids(sandbox).values()) == 1
    assert set(_crm_ids(sandbox)) == expected and max(_crm_ids(sandbox).values()) == 1


def test_backfill_command_prints_a_summary_and_refuses_a_bad_date(
    sandbox: Sandbox, config_path: Path
):
    sandbox.zendesk.generate(40, seed=2)
    assert run_cli("setup", "--config", str(config_path)).returncode == 0
    result = run_cli("backfill", "--config", str(config_path), "--since", "2020-01-01")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["backfilled"] == 40 and summary["requests"] >= 1
    assert "backfill 100%: 40 tickets" in result.stderr
    bad = run_cli("backfill", "--config", str(config_path), "--since", "last tuesday")
    assert bad.returncode == 2 and "--since" in bad.stderr and "not a date" in bad.stderr


def test_a_zendesk_backfill_keeps_archived_tickets(sandbox: Sandbox, syncd: Syncd):
    # Zendesk archives tickets closed for 120 days; they stay in the incremental export.
    sandbox.zendesk.generate(300, seed=9, days=400)
    archived = {str(t) for t in sandbox.zendesk.archived()}
    assert archived, "the sample should hold archived tickets"
    since = datetime.now(UTC) - timedelta(days=500)
    run_backfill(build(syncd.config), since)
    assert archived <= set(_sheet_ids(sandbox)) and archived <= set(_crm_ids(sandbox))


def test_a_freshdesk_backfill_shows_its_credit_budget(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    for name, url in sandbox.slack_webhooks().items():
        monkeypatch.setenv(name, url)
    monkeypatch.setenv("FRESHDESK_API_KEY", FRESHDESK_API_KEY)
    key = sandbox.write_service_account(tmp_path / "sa.json")
    data = sandbox.config(f"sqlite:///{tmp_path / 'state.db'}", str(RULES), key, "freshdesk")
    data["helpdesk"]["credits_per_minute"] = 400
    path = write_config(tmp_path / "syncd.yaml", data)
    sandbox.freshdesk.generate(30, seed=2)
    assert run_cli("setup", "--config", str(path)).returncode == 0
    result = run_cli("backfill", "--config", str(path), "--since", "2020-01-01")
    assert result.returncode == 0, result.stderr
    # The budget is Freshdesk's credits a minute, shown beside the requests, not as their cap.
    assert "(budget 400 credits/min)" in result.stderr
