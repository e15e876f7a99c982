"""The package carries what it needs (issue 15, item 1), tried as a new user would.

In a fresh venv outside the repository: `pip install <repo>` (pip reaches PyPI for the
dependencies; its wheel cache is reused), then in an empty folder `syncd demo` succeeds, and
`syncd init` then `syncd once --dry-run` against `syncd sandbox` succeed. Slow: the install
takes a minute or more.

The repository is copied first (without .git, .venv and build leftovers), so pip's in-tree
build writes nothing into the checkout other engineers work in.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

LEFT_OUT: tuple[str, ...] = (".git", ".venv", "build", "dist", "demo-output", "*.egg-info")
LEFT_OUT += ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", "*.db")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh venv with syncd installed from (a copy of) the repository."""
    base = tmp_path_factory.mktemp("install")
    source = base / "syncd-src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LEFT_OUT))
    venv = base / "venv"
    python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(source)],
        capture_output=True,
        text=True,
        timeout=1500,
        env=_clean_env(),
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    shutil.rmtree(source)  # nothing may read the copy from here on
    return venv / "bin"


def _clean_env(**extra: str) -> dict[str, str]:
    """The shell of a user outside the repository: no PYTHONPATH, no active venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, **extra}


def _syncd(bin_: Path, *args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(bin_ / "syncd"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=env or _clean_env(),
    )
    assert done.returncode == 0, f"syncd {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_wheel_carries_the_defaults_and_demo_runs_in_an_empty_folder(
    installed: Path, tmp_path: Path
) -> None:
    where = subprocess.run(
        [str(installed / "python"), "-c", "from syncd import defaults; "
         "print(defaults.rules_dir()); print(defaults.example_config())"],
        cwd=tmp_path, capture_output=True, text=True, check=True, env=_clean_env(),
    ).stdout.split()  # fmt: skip
    rules, example = Path(where[0]), Path(where[1])
    assert "site-packages" in rules.parts and not rules.is_relative_to(ROOT)
    assert {"schema.json", "triage.yaml"} <= {p.name for p in rules.iterdir()}
    assert (rules / "tests" / "triage.yaml").is_file() and example.is_file()

    empty = tmp_path / "empty"
    empty.mkdir()
    out = _syncd(installed, "--log-level", "warning", "demo", "--tickets", "30", cwd=empty)
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["sheet_rows"] > 0 and summary["hubspot_tickets"] > 0
    assert (empty / "demo-output" / "syncd.yaml").is_file()


def test_init_then_once_dry_run_against_the_sandbox(installed: Path, tmp_path: Path) -> None:
    sandbox = subprocess.Popen(
        [str(installed / "syncd"), "sandbox", "--port", "0", "--generate", "20",
         "--credentials-out", "key.json", "--config-out", "sandbox.yaml"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=_clean_env(),
    )  # fmt: skip
    try:
        assert sandbox.stdout is not None
        printed: dict[str, str] = {}
        for line in sandbox.stdout:
            key, _, value = line.strip().partition(" ")
            printed[key] = value
            if key == "config:":
                break
        exports = dict(pair.split("=", 1) for pair in shlex.split(printed["export"]))
        served = json.loads(printed["config:"])
        env = _clean_env(**exports)

        out = _syncd(
            installed, "init", "starter",
            "--helpdesk", "zendesk", "--subdomain", served["helpdesk"]["subdomain"],
            "--email", served["helpdesk"]["email"],
            "--spreadsheet-id", served["sheets"]["spreadsheet_id"],
            "--credentials-file", "key.json", cwd=tmp_path, env=env,
        )  # fmt: skip
        assert "syncd once --dry-run --config starter/syncd.yaml" in out
        assert (tmp_path / "starter" / "rules" / "tests").is_dir()
        # Point the starter at the sandbox, as its printed config does (base_url, token_url).
        config = tmp_path / "starter" / "syncd.yaml"
        yaml = YAML()
        data = yaml.load(config)
        data["helpdesk"]["base_url"] = served["helpdesk"]["base_url"]
        data["hubspot"]["base_url"] = served["hubspot"]["base_url"]
        data["sheets"]["base_url"] = served["sheets"]["base_url"]
        data["sheets"]["token_url"] = served["sheets"]["token_url"]
        yaml.dump(data, config)

        dry = _syncd(installed, "once", "--dry-run", "--config", str(config), cwd=tmp_path, env=env)
        assert json.loads(dry.strip().splitlines()[-1])["pulled"] == 20
        _syncd(installed, "setup", "--config", str(config), cwd=tmp_path, env=env)
        real = _syncd(installed, "once", "--config", str(config), cwd=tmp_path, env=env)
        assert json.loads(real.strip().splitlines()[-1])["sheet_rows_written"] == 20
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
