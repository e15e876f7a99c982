"""The real `syncd` command: the daemon's signals, the sandbox server, and no leaked secret."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from syncd.sandbox import HUBSPOT_TOKEN, SPREADSHEET_ID, ZENDESK_TOKEN, Sandbox
from tests.conftest import ROOT, run_cli


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "syncd.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ},
    )


def test_once_prints_one_json_line(sandbox: Sandbox, config_path: Path):
    sandbox.zendesk.generate(12)
    assert run_cli("setup", "--config", str(config_path)).returncode == 0
    result = run_cli("once", "--config", str(config_path))
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert json.loads(line) == {
        "pulled": 12,
        "changed": 12,
        "crm_upserts": 12,
        "sheet_rows_written": 12,
        "errors": 0,
    }


def test_dry_run_prints_what_each_sink_would_get(sandbox: Sandbox, config_path: Path):
    sandbox.zendesk.add_ticket(subject="Refund my invoice", requester_email="x@y.example")
    result = run_cli("once", "--config", str(config_path), "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("hubspot: would upsert 1 tickets")
    assert any(line.startswith("sheets: would write 1 row") for line in lines)
    assert json.loads(lines[-1])["dry_run"] is True
    assert sandbox.counts().get("hubspot", 0) == 0 and sandbox.counts().get("sheets", 0) == 0


def test_run_stops_cleanly_on_sigterm(sandbox: Sandbox, config_path: Path):
    sandbox.zendesk.generate(50)
    run_cli("setup", "--config", str(config_path))
    proc = _start("--log-format", "json", "run", "--config", str(config_path))
    deadline = time.monotonic() + 30
    while (
        time.monotonic() < deadline
        and len(
            sandbox.sheets.values(SPREADSHEET_ID, "Tickets")
            if "Tickets" in sandbox.sheets.sheet_titles(SPREADSHEET_ID)
            else []
        )
        < 51
    ):
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    events = [json.loads(line)["event"] for line in err.splitlines() if line.startswith("{")]
    assert "daemon started" in events and events[-1] == "daemon stopped"


def test_sandbox_command_serves_and_stops(tmp_path: Path):
    key = tmp_path / "key.json"
    proc = _start("sandbox", "--port", "0", "--generate", "7", "--credentials-out", str(key))
    try:
        first = proc.stdout.readline()
        assert first.startswith("sandbox listening on http://127.0.0.1:")
        url = first.split()[3]
        with urllib.request.urlopen(f"{url}/_sandbox/zendesk/tickets") as response:
            assert len(json.load(response)) == 7
        assert json.loads(key.read_text())["token_uri"] == f"{url}/token"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_no_secret_in_any_output_even_at_debug_level(sandbox: Sandbox, config_path: Path):
    sandbox.zendesk.generate(20)
    # Real processes: stdlib logging (urllib3 at debug) prints to the process's own stderr.
    debug = ("--log-level", "debug")
    setup = run_cli(*debug, "setup", "--config", str(config_path), subprocess_=True)
    once = run_cli(*debug, "once", "--config", str(config_path), subprocess_=True)
    assert once.returncode == 0, once.stderr
    key = json.loads((config_path.parent / "sa.json").read_text())
    private_key_body = key["private_key"].splitlines()[1]
    output = setup.stdout + setup.stderr + once.stdout + once.stderr
    assert "cycle" in once.stderr  # the logs were really captured
    for secret in (ZENDESK_TOKEN, HUBSPOT_TOKEN, private_key_body, key["private_key_id"]):
        assert secret not in output
