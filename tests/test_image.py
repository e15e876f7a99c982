"""The image, built and run for real: docker-compose.yml's stack on a Docker engine.

No container registry is reachable from these machines, so neither the Dockerfile's default
base (python:3.11-slim) nor postgres:16-alpine can be pulled. The test builds a base from
Debian's packages (deploy/build-local-base.sh: debootstrap, then `docker import`), builds
syncd's image on it (`--build-arg BASE_IMAGE=...`; pip installs from PyPI) and a PostgreSQL
image from Debian's packages (deploy/local/postgres), then runs docker-compose.yml with host
networking on loopback: the sandbox, PostgreSQL, `syncd setup` and two replicas of
`syncd run` (the compose file's two replicas as two services, each with its own ops port,
on a read-only root filesystem as in deploy/kubernetes). It checks /readyz on both, one
sync into the sandbox (its 200 tickets in the sheet), and a failover: the active container
is killed, the standby takes the lease and syncs a ticket added after the kill.

Docker: an engine already running is used; otherwise, as root with `dockerd` installed, the
test starts one for its run and stops it after. Where none can start, the test is skipped
saying why, except under CI=true, where it fails (.ci/run installs docker.io, debootstrap
and docker-compose). Built images are kept, so a second run reuses them (the base is kept
by name, syncd's layers by Docker's cache).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from syncd.sandbox import SPREADSHEET_ID
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

BASE_IMAGE = "syncd-base:bookworm"
SYNCD_IMAGE = "syncd:image-test"
POSTGRES_IMAGE = "syncd-postgres:image-test"
LEASE_SECONDS = 5
IN_CI = os.environ.get("CI") == "true"


def _unavailable(reason: str) -> None:
    """Skip where Docker cannot run, outside CI; fail under CI, where it must."""
    if IN_CI:
        pytest.fail(f"Docker is needed under CI=true: {reason}")
    pytest.skip(reason)


def _docker_cli() -> list[str]:
    """A docker client that builds with BuildKit (the Dockerfile's RUN --mount): a newer
    CLI only through its buildx plugin, Debian's docker.io (20.10) by itself."""
    docker = shutil.which("docker")
    if docker and _ok([docker, "buildx", "version"]):
        return [docker]
    if Path("/usr/bin/docker").exists():
        return ["/usr/bin/docker"]
    if docker:
        return [docker]
    return []


def _compose_cli(docker: list[str]) -> list[str]:
    if _ok([*docker, "compose", "version"]):
        return [*docker, "compose"]
    found = shutil.which("docker-compose")
    return [found] if found else []


def _ok(command: list[str], timeout: float = 30) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=timeout).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _run(command: list[str], timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a step; on failure, fail with its command and the end of its output."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-4000:]
        pytest.fail(f"{' '.join(command)} exited {result.returncode}:\n{output}")
    return result


@pytest.fixture(scope="module")
def docker() -> Iterator[list[str]]:
    """A docker client whose engine answers; starts dockerd for this module if none runs."""
    cli = _docker_cli()
    if not cli:
        _unavailable("no docker client (apt-get install docker.io)")
    if _ok([*cli, "info"]):
        yield cli
        return
    dockerd = shutil.which("dockerd") or (
        "/usr/sbin/dockerd" if Path("/usr/sbin/dockerd").exists() else None
    )
    if dockerd is None:
        _unavailable("no Docker engine running and no dockerd to start (apt-get install docker.io)")
    if os.geteuid() != 0:
        _unavailable("no Docker engine running, and starting dockerd needs root")
    log = Path(f"/tmp/syncd-test-dockerd-{os.getpid()}.log")
    with log.open("w") as out:
        process = subprocess.Popen([dockerd], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if _ok([*cli, "info"], timeout=10):
                break
            time.sleep(1)
        else:
            tail = log.read_text()[-2000:]
            _unavailable(f"dockerd did not start (exit {process.poll()}); its log ends:\n{tail}")
        yield cli
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def images(docker: list[str]) -> dict[str, float]:
    """The base, syncd's image and PostgreSQL's, built here; seconds each took."""
    if shutil.which("debootstrap") is None and not _ok([*docker, "image", "inspect", BASE_IMAGE]):
        _unavailable("debootstrap is not installed (apt-get install debootstrap)")
    env = {**os.environ, "DOCKER": docker[0], "DOCKER_BUILDKIT": "1"}
    took = {}
    started = time.monotonic()
    _run([str(ROOT / "deploy" / "build-local-base.sh"), BASE_IMAGE], 900, env=env)
    took["base"] = time.monotonic() - started
    builds = {
        "syncd": [SYNCD_IMAGE, str(ROOT)],
        "postgres": [POSTGRES_IMAGE, str(ROOT / "deploy" / "local" / "postgres")],
    }
    build = [*docker, "build", "--network", "host", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}"]
    for name, (tag, context) in builds.items():
        started = time.monotonic()
        _run([*build, "-t", tag, context], 900, env=env)
        took[name] = time.monotonic() - started
    return took


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"null")
        except ValueError:
            return exc.code, None
    except (OSError, ValueError):
        return 0, None


def _wait(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def host_network_stack(workdir: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """docker-compose.yml for host networking on loopback: every service on the host's
    network with free ports, the service names in the config replaced by 127.0.0.1, the
    two replicas as two services (two processes cannot share an ops port on one network),
    the images built here. Everything else is the compose file's own."""
    yaml = YAML(typ="safe")
    compose = yaml.load((ROOT / "docker-compose.yml").read_text())
    compose.pop("name", None)  # the project name is given with -p
    services = compose["services"]
    ports = {"sandbox": _free_port(), "postgres": _free_port()}
    ports |= {"syncd-1": _free_port(), "syncd-2": _free_port()}

    def here(text: str) -> str:
        return (
            text.replace("sandbox:8765", f"127.0.0.1:{ports['sandbox']}")
            .replace("postgres:5432", f"127.0.0.1:{ports['postgres']}")
            .replace("0.0.0.0", "127.0.0.1")
        )

    for service in services.values():
        service["network_mode"] = "host"
        service.pop("ports", None)
        if service.get("image", "").startswith("syncd"):
            service.pop("build", None)
            service["image"] = SYNCD_IMAGE
        volumes = service.get("volumes", [])
        for i, volume in enumerate(volumes):
            source, rest = volume.split(":", 1)
            if source.startswith("."):
                volumes[i] = f"{(ROOT / source).resolve()}:{rest}"
        if service.get("environment"):
            service["environment"] = {k: here(str(v)) for k, v in service["environment"].items()}

    sandbox = services["sandbox"]
    sandbox["command"] = [
        here(str(arg)).replace("8765", str(ports["sandbox"])) for arg in sandbox["command"]
    ]
    sandbox["healthcheck"]["test"] = [
        arg.replace("8765", str(ports["sandbox"])) for arg in sandbox["healthcheck"]["test"]
    ]
    postgres = services["postgres"]
    postgres["image"] = POSTGRES_IMAGE
    postgres["environment"] |= {"PGPORT": str(ports["postgres"]), "POSTGRES_LISTEN": "127.0.0.1"}

    # The mounted config, as the compose file mounts it, with this network's addresses.
    source = (ROOT / "config" / "compose" / "syncd.yaml").read_text()
    replicas = services.pop("syncd")
    assert replicas.pop("deploy")["replicas"] == 2
    for name in ("syncd-1", "syncd-2"):
        config = yaml.load(here(source))
        config["ops"]["port"] = ports[name]
        config["state"]["lease_seconds"] = f"{LEASE_SECONDS}s"  # a quick failover
        config["poll_interval"] = "2s"
        folder = workdir / name
        folder.mkdir()
        with (folder / "syncd.yaml").open("w") as handle:
            YAML().dump(config, handle)
        replica = copy.deepcopy(replicas)
        replica["volumes"] = [
            f"{folder}:/config:ro" if v.endswith(":/config:ro") else v for v in replica["volumes"]
        ]
        replica["healthcheck"]["test"] = [
            arg.replace("127.0.0.1:9102", f"127.0.0.1:{ports[name]}")
            for arg in replica["healthcheck"]["test"]
        ]
        replica["restart"] = "no"  # the killed one stays down: the failover is the survivor's
        replica["read_only"] = True  # as readOnlyRootFilesystem in deploy/kubernetes
        replica["tmpfs"] = ["/tmp"]
        services[name] = replica
    setup = services["setup"]
    setup["volumes"] = [
        f"{workdir / 'syncd-1'}:/config:ro" if v.endswith(":/config:ro") else v
        for v in setup["volumes"]
    ]
    return compose, ports


def test_the_compose_stack_runs_syncs_and_fails_over(
    docker: list[str], images: dict[str, float], tmp_path: Path
):
    compose_cli = _compose_cli(docker)
    if not compose_cli:
        _unavailable("no docker compose (apt-get install docker-compose)")
    compose, ports = host_network_stack(tmp_path)
    file = tmp_path / "docker-compose.host.yml"
    file.write_text(json.dumps(compose, indent=2))  # JSON is YAML
    project = f"syncd-image-test-{uuid.uuid4().hex[:8]}"
    run = [*compose_cli, "-p", project, "-f", str(file)]
    env = dict(os.environ)
    sandbox = f"http://127.0.0.1:{ports['sandbox']}"
    sheet = f"{sandbox}/_sandbox/sheets/spreadsheets/{SPREADSHEET_ID}/values/Tickets"
    ops = {name: f"http://127.0.0.1:{ports[name]}" for name in ("syncd-1", "syncd-2")}
    started = time.monotonic()
    try:
        _run([*run, "up", "-d"], 600, env=env)
        # Both replicas ready: one active after its first cycle, the other a standby.
        roles = {}
        for name, url in ops.items():
            _, body = _wait(
                f"{name}'s /readyz",
                lambda url=url: (r := _get(f"{url}/readyz"))[0] == 200 and r,
                180,
            )
            roles[name] = body["role"]
        assert sorted(roles.values()) == ["active", "standby"], roles
        # One sync into the sandbox: its 200 tickets and the header row in the sheet.
        _wait("the sheet's 201 rows", lambda: len(_get(sheet)[1] or []) == 201, 120)
        metrics = urllib.request.urlopen(f"{ops['syncd-1']}/metrics", timeout=5).read()
        assert b"syncd_lease_held" in metrics

        # Failover: SIGKILL the active container; the standby takes over once the lease
        # lapses and syncs a ticket added after the kill.
        active = next(name for name, role in roles.items() if role == "active")
        standby = next(name for name in ops if name != active)
        container = _run([*run, "ps", "-q", active], 60, env=env).stdout.strip()
        assert container, f"no container for {active}"
        _run([*docker, "kill", container], 60)
        killed = time.monotonic()
        request = urllib.request.Request(
            f"{sandbox}/_sandbox/zendesk/tickets",
            data=json.dumps({"subject": "Filed after the failover"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 201
        _wait(
            f"{standby} to take the lease",
            lambda: (_get(f"{ops[standby]}/readyz")[1] or {}).get("role") == "active",
            LEASE_SECONDS * 1.25 + 30,
        )
        took_over = time.monotonic() - killed
        rows = _wait("the new ticket in the sheet", lambda: _sheet_rows(sheet, 202), 60)
        assert any("Filed after the failover" in json.dumps(row) for row in rows)
        assert _get(f"{ops[active]}/healthz")[0] == 0, "the killed replica is gone"
        print(
            f"\nimages built in {images}; stack up and synced in "
            f"{killed - started:.0f}s; failover took {took_over:.1f}s"
        )
    finally:
        logs = subprocess.run(
            [*run, "logs", "--no-color", "--tail", "40"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        (tmp_path / "compose.log").write_text(logs.stdout + logs.stderr)
        subprocess.run(
            [*run, "down", "-v", "--remove-orphans", "-t", "10"],
            capture_output=True,
            timeout=300,
            env=env,
        )


def _sheet_rows(url: str, count: int) -> list[Any] | None:
    rows = _get(url)[1] or []
    return rows if len(rows) >= count else None
