"""Bad credentials, unreachable APIs, outages and rate limits: clear errors, nothing lost."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from syncd.sandbox import HUBSPOT_TOKEN, SPREADSHEET_ID, ZENDESK_TOKEN, Sandbox
from tests.conftest import Syncd, run_cli, write_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _edit(config_path: Path, **changes: dict) -> Path:
    data = YAML().load(config_path.read_text())
    for section, values in changes.items():
        if isinstance(values, dict):
            data[section].update(values)
        else:
            data[section] = values
    return write_config(config_path, data)


def test_wrong_zendesk_token_is_one_clear_line_and_exit_2(sandbox: Sandbox, config_path):
    sandbox.zendesk.generate(5)
    result = run_cli("once", "--config", str(config_path), env={"ZENDESK_TOKEN": "wrong-token-1"})
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Zendesk refused the API token (401)" in lines[0]
    assert "Traceback" not in result.stderr
    assert "wrong-token-1" not in result.stdout + result.stderr


def test_revoked_hubspot_token_queues_hubspot_s_share_and_the_sheet_still_syncs(
    sandbox: Sandbox, config_path
):
    sandbox.zendesk.generate(20)
    result = run_cli("once", "--config", str(config_path), env={"HUBSPOT_TOKEN": "revoked-xyz"})
    assert result.returncode == 2
    assert "HubSpot refused the access token (401)" in result.stderr
    assert "revoked-xyz" not in result.stdout + result.stderr
    assert len(sandbox.sheets.values(SPREADSHEET_ID, "Tickets")) == 21
    # The cursor moved for the sheet; HubSpot's share waits in its backlog. With the token
    # fixed, HubSpot catches up from there while the sheet, which has these rows, is not written.
    run_cli("setup", "--config", str(config_path))
    sandbox.reset_counts()
    result = run_cli("once", "--config", str(config_path))
    assert result.returncode == 0, result.stderr
    assert '"pulled": 0' in result.stdout, "nothing is pulled twice"
    assert '"crm_upserts": 20' in result.stdout and '"sheet_rows_written": 0' in result.stdout
    assert sandbox.counts().get("sheets", 0) == 0
    assert len(sandbox.hubspot.objects("tickets")) == 20


def test_unreachable_api_is_one_clear_line(tmp_path: Path, config_path):
    port = _free_port()
    _edit(config_path, helpdesk={"base_url": f"http://127.0.0.1:{port}"}, retry_attempts=2)
    result = run_cli("once", "--config", str(config_path))
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert lines == [f"error: cannot reach Zendesk at http://127.0.0.1:{port}: ConnectionError"]
    assert ZENDESK_TOKEN not in result.stderr and HUBSPOT_TOKEN not in result.stderr


def test_sheet_outage_does_not_stop_hubspot_and_the_sheet_catches_up(
    sandbox: Sandbox, syncd: Syncd
):
    syncd.config.retry_attempts = 1
    sandbox.zendesk.generate(40)
    sandbox.faults.outage = {"sheets"}
    for sink in syncd.parts.sinks:
        sink.attempts = 1
    report = syncd.once()
    assert report.sinks["hubspot"].written == 40
    assert report.sinks["sheets"].error and report.sinks["sheets"].backlog == 40
    assert report.cursor_advanced, "the sheet's share is queued, so the cursor moves"
    sandbox.faults.outage = set()
    report = syncd.once()
    assert report.pulled == 0, "nothing pulled twice: the sheet works off its own backlog"
    assert report.sinks["hubspot"].written == 0, "HubSpot already had them"
    assert report.sinks["sheets"].written == 40 and report.sinks["sheets"].backlog == 0
    assert len(sandbox.sheets.values(SPREADSHEET_ID, "Tickets")) == 41


@pytest.mark.slow
def test_rate_limit_storm_completes(sandbox: Sandbox, syncd: Syncd):
    sandbox.zendesk.generate(300, seed=5)
    sandbox.faults.rate = 0.3
    sandbox.faults.retry_after = 0
    sandbox.faults.only = {"zendesk", "hubspot", "sheets", "oauth"}
    for sink in syncd.parts.sinks:
        sink.attempts = 10
    syncd.parts.source.attempts = 10
    report = syncd.once()
    sandbox.faults.rate = 0
    assert report.errors == 0 and report.cursor_advanced
    assert len(sandbox.sheets.values(SPREADSHEET_ID, "Tickets")) == 301
    ids = [t["properties"]["helpdesk_ticket_id"] for t in sandbox.hubspot.objects("tickets")]
    assert len(ids) == len(set(ids)) == 300
