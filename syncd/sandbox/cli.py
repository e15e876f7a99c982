"""`syncd sandbox`: serve the emulators until interrupted, and say how to point syncd at them.

What it prints works as printed: one `export` line with every secret the config names (the
helpdesk's token or key, HubSpot's token, one webhook URL per Slack channel), and the path of
a config file it wrote, pointing every vendor at this sandbox.
"""

from __future__ import annotations

import inspect
import json
import shlex
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from ruamel.yaml import YAML

from syncd.sandbox import FRESHDESK_API_KEY, HUBSPOT_TOKEN, ZENDESK_TOKEN, Sandbox

HELPDESKS = ("zendesk", "freshdesk")


def serve(
    port: int,
    tickets: Path | None,
    generate: int,
    fault_rate: float,
    credentials_out: Path | None,
    host: str = "127.0.0.1",
    helpdesk: str = "zendesk",
    config_out: Path | None = None,
    rules_dir: Path = Path("rules"),
) -> None:
    """Start the sandbox in the foreground; SIGINT/SIGTERM stop it. Every mistake in the
    options, and a key or config file that cannot be written, is one line naming the
    option (exit 2), with the servers stopped. The config it writes points at `rules_dir`
    (`syncd sandbox` gives ./rules, else syncd's default rule set)."""
    if not 0 <= fault_rate <= 1:
        raise _bad("--fault-rate", f"{fault_rate} is not a share", "Give 0 to 1")
    if helpdesk not in HELPDESKS:
        raise _bad("--helpdesk", f"unknown helpdesk {helpdesk!r}", "Give zendesk or freshdesk")
    loaded = _read_tickets(tickets) if tickets else []
    sandbox = _bind(port, host, fault_rate)
    temp = Path(tempfile.gettempdir())
    key = credentials_out or temp / "syncd-sandbox-service-account.json"
    config_path = config_out or temp / "syncd-sandbox.yaml"
    try:
        _load_tickets(sandbox, helpdesk, loaded, tickets)
        if generate:
            getattr(sandbox, helpdesk).generate(generate)
    except BaseException:
        sandbox.server.server_close()  # nothing listens yet: release the port
        raise
    sandbox.start()  # before the config: the SMTP server has its port once it listens
    try:
        rules = str(rules_dir.resolve())
        config = sandbox.config("sqlite:///syncd-sandbox-state.db", rules, key, helpdesk)
        _write(key, "--credentials-out", sandbox.write_service_account)
        _write(config_path, "--config-out", lambda path: YAML().dump(config, path))
    except BaseException:
        sandbox.stop()
        raise
    # The signals are caught before the first line is printed: whoever reads that line to
    # know the sandbox is up may stop it at once.
    try:
        with _stop_on_signals() as stop:
            for line in _instructions(sandbox, helpdesk, key, config, config_path):
                typer.echo(line)
            wait_for_stop(stop)
    finally:
        sandbox.stop()


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event that SIGINT or SIGTERM sets, while inside; the former handlers after."""
    stop = threading.Event()
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in before:
        signal.signal(sig, lambda *_: stop.set())
    try:
        yield stop
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def wait_for_stop(stop: threading.Event) -> None:
    """Block until `stop` is set by SIGINT or SIGTERM (tests put a stand-in here)."""
    stop.wait()


def _bad(option: str, message: str, hint: str | None = None) -> typer.BadParameter:
    """A mistake in an option: click prints it as one line naming the option, exit 2 (the
    sandbox imports nothing of syncd outside it, so not syncd's UserError)."""
    return typer.BadParameter(f"{message}. {hint}" if hint else message, param_hint=option)


def _write(path: Path, option: str, write: Callable[[Path], Any]) -> None:
    """Write a file the sandbox hands out; a path that cannot be written names its option."""
    try:
        write(path)
    except OSError as exc:
        raise _bad(
            option,
            f"cannot write {path}: {exc.strerror or exc}",
            "Give a file in a folder that exists and you can write to",
        ) from None


def secrets(sandbox: Sandbox, helpdesk: str) -> dict[str, str]:
    """The environment a config from `sandbox.config(..., helpdesk)` reads its secrets from."""
    names = {"ZENDESK_TOKEN": ZENDESK_TOKEN} if helpdesk == "zendesk" else {}
    if helpdesk == "freshdesk":
        names["FRESHDESK_API_KEY"] = FRESHDESK_API_KEY
    return {**names, "HUBSPOT_TOKEN": HUBSPOT_TOKEN, **sandbox.slack_webhooks()}


def _instructions(
    sandbox: Sandbox, helpdesk: str, key: Path, config: dict[str, Any], config_path: Path
) -> list[str]:
    exports = " ".join(
        f"{name}={shlex.quote(value)}" for name, value in secrets(sandbox, helpdesk).items()
    )
    return [
        f"sandbox listening on {sandbox.url} (Ctrl-C to stop)",
        f"  export {exports}",
        f"  service-account key: {key}",
        f"  config written to {config_path}; try: syncd once --config {config_path} --dry-run",
        f"  config: {json.dumps(config)}",
        f"  request counters: {sandbox.url}/_sandbox/counts",
        f"  SMTP (email actions): {sandbox.smtp.host}:{sandbox.smtp.port}; "
        f"what it received: {sandbox.url}/_sandbox/emails",
    ]


def _bind(port: int, host: str, fault_rate: float) -> Sandbox:
    """The sandbox's servers, bound; a port in use or out of range is named as such."""
    if not 0 <= port <= 65535:
        raise _bad("--port", f"{port} is not a port", "Give 1 to 65535, or 0 for any free one")
    try:
        return Sandbox(port=port, host=host, fault_rate=fault_rate)
    except OverflowError:
        raise _bad("--port", f"{port} is not a port", "Give 1 to 65535") from None
    except OSError as exc:
        raise _bad(
            "--port" if exc.errno in (98, 48, 10048) else "--host",
            f"cannot listen on {host}:{port} ({exc.strerror or exc})",
            "Another program holds that port: pick another, or --port 0 for any free one",
        ) from None


def _read_tickets(path: Path) -> list[dict[str, Any]]:
    if path.is_dir():
        raise _bad("--tickets", f"{path} is a folder", "Give a JSON file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _bad("--tickets", f"cannot read {path}: {exc}") from None
    if not isinstance(data, list) or not all(isinstance(t, dict) for t in data):
        raise _bad(
            "--tickets",
            f"{path} must hold a JSON list of ticket objects",
            'e.g. [{"subject": "Refund please", "requester_email": "ann@example.com"}]',
        )
    return data


def _load_tickets(
    sandbox: Sandbox, helpdesk: str, tickets: list[dict[str, Any]], path: Path | None
) -> None:
    """Add each ticket to the emulated helpdesk; the first one it refuses is named,
    with the ticket, and what the emulator said (an unknown field, a bad date...)."""
    add = getattr(sandbox, helpdesk).add_ticket
    for index, ticket in enumerate(tickets):
        try:
            inspect.signature(add).bind(**ticket)  # a missing subject, before the emulator
            _check_times(ticket)
            add(**ticket)
        # The emulators refuse bad values with their vendor's own errors (TypeError for an
        # unknown field, ValueError for a date, InvalidRecord, FreshdeskError...): any of
        # them is the file's mistake, reported as such.
        except Exception as exc:
            raise _bad(
                "--tickets",
                f"{path}, ticket {index + 1}: {exc or type(exc).__name__}",
                f"Fields as {helpdesk}'s API takes them: subject, description, "
                "requester_email, status, tags, created_at (ISO 8601)...",
            ) from None


def _check_times(ticket: dict[str, Any]) -> None:
    """ValueError naming a time field that is not ISO 8601 (or epoch seconds)."""
    from datetime import datetime

    for key in ("created_at", "updated_at"):
        value = ticket.get(key)
        if isinstance(value, str):
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"{key} {value!r} is not a time") from None
