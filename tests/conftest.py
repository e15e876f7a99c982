"""Shared fixtures: a live sandbox on loopback and a syncd config pointing at it."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from syncd import metrics, retry
from syncd.config import load_config
from syncd.pipeline import CycleReport
from syncd.rules import RuleSet, load_rules
from syncd.sandbox import HUBSPOT_TOKEN, ZENDESK_TOKEN, Sandbox
from syncd.wiring import Parts, build
from tests.pg import pg_server, pg_url, state_url  # noqa: F401  (fixtures: PostgreSQL)

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The Zendesk source sets zenpy's process-wide URL override; undo it after each test.
    monkeypatch.delenv("ZENPY_FORCE_SCHEME", raising=False)
    monkeypatch.delenv("ZENPY_FORCE_NETLOC", raising=False)
    monkeypatch.delenv("SYNCD_STATE_URL", raising=False)
    monkeypatch.setenv("ZENDESK_TOKEN", ZENDESK_TOKEN)
    monkeypatch.setenv("HUBSPOT_TOKEN", HUBSPOT_TOKEN)
    # Circuits, Retry-After waits and metrics are process-wide: each test starts afresh, so
    # one test's open circuit or pending wait never reaches the next.
    retry.configure()
    metrics.reset()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


def write_config(path: Path, data: dict[str, Any]) -> Path:
    """Dump a config dict as YAML."""
    with path.open("w") as handle:
        YAML().dump(data, handle)
    return path


@pytest.fixture
def config_path(tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, url in sandbox.slack_webhooks().items():
        monkeypatch.setenv(name, url)
    key = sandbox.write_service_account(tmp_path / "sa.json")
    data = sandbox.config(f"sqlite:///{tmp_path / 'state.db'}", str(RULES), key)
    return write_config(tmp_path / "syncd.yaml", data)


def rules_from(folder: Path, text: str) -> RuleSet:
    """A rule set of one SLA rule file holding `text`, in its own folder under `folder`."""
    directory = folder / f"rules{abs(hash(text))}"
    directory.mkdir(exist_ok=True)
    (directory / "sla.yaml").write_text(text)
    return load_rules(directory)


class Syncd:
    """A configured syncd in this process, set up against the sandbox."""

    def __init__(self, config_path: Path) -> None:
        self.config = load_config(config_path)
        self.parts: Parts = build(self.config)

    def setup(self) -> None:
        from syncd.ports import SetsUp

        for sink in self.parts.sinks:
            if isinstance(sink, SetsUp):
                sink.setup()

    def once(self, dry_run: bool = False, at: datetime | None = None) -> CycleReport:
        """One cycle, as `syncd once` runs it; `at` fixes the clock."""
        return self.parts.cycle(dry_run=dry_run, clock=(lambda: at) if at else None)


@pytest.fixture
def syncd(config_path: Path, sandbox: Sandbox) -> Syncd:
    s = Syncd(config_path)
    s.setup()
    sandbox.reset_counts()
    return s


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    subprocess_: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run the `syncd` command line as a user would, and return its exit code and output.

    In this process by default (typer's CliRunner streams, the same `main()` the console
    script calls: the exit code, the one-line errors and anything printed are the same), which
    costs milliseconds instead of an interpreter start; `subprocess_=True` starts the real
    command instead, for what only a process shows (signals, stdlib logging's own stream).
    """
    if subprocess_:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "syncd.cli", *args],
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            cwd=ROOT,
        )
    return _run_in_process(list(args), env or {})


def _run_in_process(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    from syncd.cli import main

    runner = CliRunner()
    argv, cwd = sys.argv, os.getcwd()
    with runner.isolation(env=env) as (out, err, _):
        sys.argv = ["syncd", *args]
        os.chdir(ROOT)
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception:  # what the console script would print before exiting 1
            traceback.print_exc()
            code = 1
        finally:
            sys.argv = argv
            os.chdir(cwd)
            sys.stdout.flush()
            sys.stderr.flush()
        stdout = out.getvalue().decode("utf-8", "replace")
        stderr = err.getvalue().decode("utf-8", "replace")
    return subprocess.CompletedProcess(["syncd", *args], code, stdout, stderr)
