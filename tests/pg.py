"""A throwaway PostgreSQL cluster for the tests, started once per session.

`SYNCD_TEST_PG_URL` (a superuser's URL, e.g. postgresql://postgres:pw@db:5432/postgres) uses a
server of yours instead. Otherwise the fixture runs `initdb` and `pg_ctl` from the PostgreSQL
binaries on this machine (the PATH, then /usr/lib/postgresql/*/bin) into a temporary folder,
on a free port, as the `postgres` user when run as root (PostgreSQL refuses to run as root).
No PostgreSQL: the tests that need it fail under CI=true and are skipped otherwise, saying why.
Each test gets an empty database of its own (`pg_url`).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

PASSWORD = "syncd-test-pw"  # the cluster's superuser password (host connections need one)


class PgUnavailable(Exception):
    """No PostgreSQL server could be started here."""


@dataclass
class PgServer:
    """A PostgreSQL server the tests may create databases on."""

    url: str  # a superuser's URL to the maintenance database
    folder: Path | None = None  # our own cluster's folder (None: the user's server)
    bin_dir: Path | None = None
    user: str | None = None  # the system user running it, when not us

    def database(self) -> str:
        """Create an empty database; its URL."""
        name = f"syncd_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_libpq(self.url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Drop a database `database()` made, closing its connections."""
        name = make_url(url).database
        with psycopg.connect(_libpq(self.url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop our own cluster and remove its files."""
        if self.folder is None or self.bin_dir is None:
            return
        data = str(self.folder / "data")
        _run(self, [str(self.bin_dir / "pg_ctl"), "-D", data, "-m", "immediate", "stop"], False)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_cluster() -> PgServer:
    """initdb + pg_ctl a new cluster on a free loopback port."""
    bin_dir = _binaries()
    user = _run_as()
    folder = Path(tempfile.mkdtemp(prefix="syncd-pg-"))
    server = PgServer("", folder, bin_dir, user)
    try:
        (folder / "pwfile").write_text(PASSWORD + "\n")
        if user:
            shutil.chown(folder, user)
            shutil.chown(folder / "pwfile", user)
        port = _free_port()
        _run(
            server,
            [
                str(bin_dir / "initdb"),
                "-D",
                str(folder / "data"),
                "-U",
                "postgres",
                "--pwfile",
                str(folder / "pwfile"),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )
        # fsync off: the tests kill syncd, never this server; speed matters more here.
        options = (
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off -c max_connections=200"
        )
        _run(
            server,
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(folder / "data"),
                "-o",
                options,
                "-l",
                str(folder / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
    except PgUnavailable as exc:
        log = folder / "server.log"
        tail = log.read_text()[-800:] if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise PgUnavailable(f"{exc}{' | server log: ' + tail if tail else ''}") from None
    server.url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres"
    return server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The session's PostgreSQL server (see the module's docstring)."""
    url = os.environ.get("SYNCD_TEST_PG_URL")
    if url:
        yield PgServer(url)
        return
    try:
        server = start_cluster()
    except PgUnavailable as exc:
        message = (
            f"no PostgreSQL server for the PostgreSQL tests: {exc}. Install PostgreSQL "
            "(Debian: apt-get install postgresql) or set SYNCD_TEST_PG_URL"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A URL (postgresql://...) to an empty database of this test's own."""
    url = pg_server.database()
    yield url
    pg_server.drop(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty state database on each backend, in turn: a SQLite file in a new folder, then
    a database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'deep' / 'state.db'}"
    return request.getfixturevalue("pg_url")


def _binaries() -> Path:
    """The folder of initdb, pg_ctl and postgres (a link on the PATH leads to it)."""
    found = shutil.which("initdb")
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    linked = [Path(found).resolve().parent] if found else []
    for folder in [*linked, *versions]:
        if all((folder / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    raise PgUnavailable("initdb, pg_ctl and postgres not found (PATH, /usr/lib/postgresql)")


def _run_as() -> str | None:
    """The user to run PostgreSQL as: `postgres` when we are root (created if missing)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        created = subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", "postgres"],
            capture_output=True,
            text=True,
        )
        if created.returncode != 0:
            reason = created.stderr.strip()
            raise PgUnavailable(f"cannot create the postgres user: {reason}") from None
    return "postgres"


def _run(server: PgServer, command: list[str], check: bool = True) -> None:
    if server.user:
        command = ["runuser", "-u", server.user, "--", *command]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PgUnavailable(f"{command[0]} failed: {exc}") from None
    if check and done.returncode != 0:
        output = (done.stderr or done.stdout).strip()[-800:]
        raise PgUnavailable(f"{' '.join(command[:4])} exited {done.returncode}: {output}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _libpq(url: str) -> str:
    """psycopg's connection string for a SQLAlchemy-style URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
