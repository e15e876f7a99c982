"""A newcomer's first hour (issue 15, point 4): `syncd status` after `syncd once`, what a first
dry run says about notifications, the sandbox's printed config and its emails read back, and
the demo beside production secrets. The CLI runs in this process (typer's CliRunner)."""

from __future__ import annotations

import json
import os
import smtplib
import subprocess
import sys
import urllib.request
from email.message import EmailMessage
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from syncd.cli import app
from syncd.sandbox import Sandbox
from tests.conftest import ROOT, write_config


def syncd(*args: str) -> tuple[int, str]:
    """Exit code and output (stdout and stderr) of a `syncd` command run in this process."""
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_status_shows_the_cycle_syncd_once_ran(sandbox: Sandbox, config_path: Path) -> None:
    sandbox.zendesk.generate(5)
    data = YAML().load(config_path)
    data["hubspot"]["enabled"] = False  # the sheet alone: no `syncd setup` needed
    write_config(config_path, data)
    code, output = syncd("once", "--config", str(config_path))
    assert code == 0, output
    code, output = syncd("status", "--config", str(config_path), "--url", "http://127.0.0.1:9")
    assert code == 0, output
    row = next(line for line in output.splitlines() if "last cycle" in line)
    assert "ok" in row and "pulled 5" in row, output


def test_a_first_dry_run_says_its_actions_would_be_a_baseline(
    sandbox: Sandbox, config_path: Path
) -> None:
    sandbox.zendesk.add_ticket(
        "URGENT: the site is down for all users", requester_email="ann@example.com"
    )
    sandbox.zendesk.generate(20)
    code, output = syncd("once", "--config", str(config_path), "--dry-run")
    assert code == 0, output
    assert "would be recorded as a baseline, not sent" in output, output
    assert "actions: would record #" in output and "actions: would carry out" not in output


def test_the_sandbox_serves_what_its_smtp_server_received() -> None:
    with Sandbox() as sandbox:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@x.test", "b@y.test", "Hello"
        message.set_content("Your ticket was solved.")
        with smtplib.SMTP(sandbox.smtp.host, sandbox.smtp.port) as client:
            client.send_message(message)
        with urllib.request.urlopen(f"{sandbox.url}/_sandbox/emails") as response:
            (got,) = json.load(response)
    assert got["subject"] == "Hello" and got["recipients"] == ["b@y.test"]
    assert "solved" in got["body"]


@pytest.mark.slow
def test_the_sandbox_prints_a_config_that_works_as_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`syncd sandbox --helpdesk freshdesk --generate N`: its export line and config file, as
    printed, give a cycle without errors."""
    config = tmp_path / "sandbox.yaml"
    command = [sys.executable, "-m", "syncd.cli", "sandbox", "--port", "0"]
    command += ["--helpdesk", "freshdesk", "--generate", "6", "--config-out", str(config)]
    command += ["--credentials-out", str(tmp_path / "key.json")]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        exports = next(line for line in lines if line.strip().startswith("export "))
        for pair in exports.split()[1:]:
            name, _, value = pair.partition("=")
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("ZENDESK_TOKEN")  # only what the export line gives
        assert os.environ["FRESHDESK_API_KEY"] and os.environ["SLACK_WEBHOOK_SUPPORT"]
        code, output = syncd("setup", "--config", str(config))
        assert code == 0, output
        code, output = syncd("once", "--config", str(config))
        assert code == 0, output
        summary = json.loads(output.strip().splitlines()[-1])
        assert summary["pulled"] == 6 and summary["errors"] == 0
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@pytest.mark.slow
def test_the_demo_ignores_production_secrets_in_the_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZENDESK_TOKEN", "production-zendesk-token")
    monkeypatch.setenv("HUBSPOT_TOKEN", "pat-na1-production")
    monkeypatch.setenv("SYNCD_STATE_URL", "postgresql://syncd@db.invalid/syncd")
    code, output = syncd(
        "--log-level", "warning", "demo", "--output", str(tmp_path), "--tickets", "8"
    )
    assert code == 0, output
    assert json.loads(output.strip().splitlines()[-1])["hubspot_tickets"] > 8
    assert (tmp_path / "state.db").is_file()
