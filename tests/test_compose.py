"""docker-compose.yml and the Dockerfile, checked without a Docker engine.

The compose file is validated against the Compose Specification's JSON schema, vendored in
tests/data/compose-spec.json from github.com/compose-spec/compose-spec (schema/compose-spec.json
at commit 170098b, Apache-2.0). Then what the services would run is run here: the sandbox,
`syncd setup` and `syncd run` with the mounted config (its hosts and container paths mapped
to this machine) on PostgreSQL, and the syncd service's healthcheck command. What this cannot
check: building the image, container networking, volumes and the compose engine itself.
"""

from __future__ import annotations

import copy
import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from syncd.config import load_config
from syncd.sandbox import HUBSPOT_TOKEN, SPREADSHEET_ID, ZENDESK_TOKEN
from tests.conftest import ROOT, write_config

COMPOSE = ROOT / "docker-compose.yml"
SYNCD = [sys.executable, "-m", "syncd.cli"]
SCHEMA = ROOT / "tests" / "data" / "compose-spec.json"


def _compose() -> dict[str, Any]:
    return YAML(typ="safe").load(COMPOSE.read_text())


def _interpolate(value: str) -> str:
    """Compose's ${NAME:-default}, with nothing set in the environment."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path (relative to the compose file) of the bind mounts."""
    found = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            found[target] = source
    return found


def _host_path(service: dict[str, Any], container_path: str) -> Path:
    for target, source in _mounts(service).items():
        if container_path == target or container_path.startswith(target + "/"):
            return (COMPOSE.parent / source / container_path[len(target) :].lstrip("/")).resolve()
    raise AssertionError(f"{container_path} is not bind-mounted")


def test_the_compose_file_follows_the_compose_specification():
    schema = json.loads(SCHEMA.read_text())
    errors = [
        f"{'.'.join(map(str, e.path))}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(_compose())
    ]
    assert errors == []
    broken = copy.deepcopy(_compose())
    broken["services"]["syncd"]["helthcheck"] = {}  # the schema does catch a misspelt key
    assert not jsonschema.Draft7Validator(schema).is_valid(broken)


def test_each_service_is_healthchecked_and_syncd_waits_for_what_it_needs():
    services = _compose()["services"]
    assert set(services) == {"sandbox", "postgres", "setup", "syncd"}
    for name in ("sandbox", "postgres", "syncd"):
        assert services[name].get("healthcheck", {}).get("test"), name
    needs = services["syncd"]["depends_on"]
    assert needs["postgres"]["condition"] == "service_healthy"
    assert needs["setup"]["condition"] == "service_completed_successfully"
    assert services["setup"]["depends_on"]["sandbox"]["condition"] == "service_healthy"
    assert services["syncd"]["deploy"]["replicas"] == 2, "a standby replica"


def test_the_mounted_config_is_valid_and_agrees_with_the_compose_file(
    monkeypatch: pytest.MonkeyPatch,
):
    services = _compose()["services"]
    syncd = services["syncd"]
    command = syncd["command"]
    assert command[:2] == ["run", "--config"]
    config_file = _host_path(syncd, command[2])
    env = {k: _interpolate(str(v)) for k, v in syncd["environment"].items()}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = load_config(config_file)
    # The state is the postgres service's database, with its user and password.
    pg = services["postgres"]["environment"]
    user, password, db = (
        _interpolate(pg[k]) for k in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")
    )
    assert config.state.url == f"postgresql://{user}:{password}@postgres:5432/{db}"
    assert _host_path(syncd, str(config.rules.dir)) == ROOT / "rules"
    # The sandbox serves where the config points, and writes the key where it is read.
    sandbox = services["sandbox"]["command"]
    port = sandbox[sandbox.index("--port") + 1]
    assert config.helpdesk.base_url == f"http://sandbox:{port}"
    assert str(config.sheets.credentials_file) == sandbox[sandbox.index("--credentials-out") + 1]
    # The healthcheck asks the ops endpoint the config opens, on every interface.
    assert config.ops.host == "0.0.0.0"
    assert f"127.0.0.1:{config.ops.port}/healthz" in " ".join(syncd["healthcheck"]["test"])
    assert syncd["ports"] == [f"9102-9103:{config.ops.port}"]


def test_the_dockerfile_is_multi_stage_and_runs_as_a_user():
    lines = [
        line.strip()
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    stages = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    assert len(stages) == 2 and lines[stages[0]].endswith(" AS build")
    final = lines[stages[1] :]
    assert any(re.fullmatch(r"USER (?!root\b|0\b)\S+", line) for line in final)
    assert not any(line.startswith("COPY --from=build") for line in final), "wheels as a layer"
    assert any("--mount=type=bind,from=build" in line for line in final)
    assert not any(re.search(r"\b(gcc|build-essential)\b", line) for line in final)
    assert any("HEALTHCHECK" in line for line in final)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except OSError:
        return 0, None


@pytest.mark.slow
def test_the_services_commands_run_the_system_here(tmp_path: Path, pg_url: str):
    """sandbox -> setup -> run, as compose starts them, with the service names and container
    paths mapped to this machine and the state on the test cluster; then the syncd service's
    healthcheck command passes."""
    services = _compose()["services"]
    sandbox_port, ops_port = _free_port(), _free_port()
    config_file = "/config/syncd.yaml"
    here = {
        "/var/lib/syncd": str(tmp_path),
        "http://sandbox:8765": f"http://127.0.0.1:{sandbox_port}",
        "/rules": str(ROOT / "rules"),
        config_file: str(tmp_path / "syncd.yaml"),
        "127.0.0.1:9102": f"127.0.0.1:{ops_port}",
    }

    def mapped(args: list[str]) -> list[str]:
        text = json.dumps(args)
        for theirs, ours in here.items():
            text = text.replace(theirs, ours)
        return json.loads(text)

    syncd = services["syncd"]
    config = YAML(typ="safe").load(_host_path(syncd, config_file).read_text())
    config = json.loads(json.dumps(mapped([config]))[1:-1])
    config["ops"]["port"] = ops_port
    write_config(tmp_path / "syncd.yaml", config)
    env = {k: _interpolate(str(v)) for k, v in syncd["environment"].items()}
    assert env["ZENDESK_TOKEN"] == ZENDESK_TOKEN and env["HUBSPOT_TOKEN"] == HUBSPOT_TOKEN
    env |= {"SYNCD_STATE_URL": pg_url, "PATH": "/usr/bin:/bin"}  # the test cluster's database

    command = mapped(services["sandbox"]["command"])
    command[command.index("--port") + 1] = str(sandbox_port)
    sandbox = subprocess.Popen([*SYNCD, *command], stdout=subprocess.PIPE, text=True)
    daemon = None
    try:
        assert sandbox.stdout is not None and "listening" in sandbox.stdout.readline()
        setup = subprocess.run(
            [*SYNCD, *mapped(services["setup"]["command"])],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert setup.returncode == 0, setup.stderr
        daemon = subprocess.Popen([*SYNCD, *mapped(syncd["command"])], env=env)
        admin = f"http://127.0.0.1:{sandbox_port}/_sandbox/sheets/spreadsheets"
        sheet = f"{admin}/{SPREADSHEET_ID}/values/Tickets"
        deadline, rows = time.monotonic() + 60, 0
        while time.monotonic() < deadline and rows < 201:
            time.sleep(0.3)
            rows = len(_get(sheet)[1] or [])
        assert rows == 201, "the sandbox's 200 tickets and the header"
        while time.monotonic() < deadline and _get(f"http://127.0.0.1:{ops_port}/readyz")[0] != 200:
            time.sleep(0.2)  # the cycle is recorded just after its last write
        assert _get(f"http://127.0.0.1:{ops_port}/readyz")[0] == 200
        check = mapped(syncd["healthcheck"]["test"])
        assert check[:2] == ["CMD", "python"]
        assert subprocess.run([sys.executable, *check[2:]], timeout=10).returncode == 0
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(timeout=30)
        sandbox.terminate()
        sandbox.wait(timeout=30)
