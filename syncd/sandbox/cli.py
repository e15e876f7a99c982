"""`syncd sandbox`: serve the emulators until interrupted, and say how to point syncd at them."""

from __future__ import annotations

import json
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any

import typer

from syncd.sandbox import HUBSPOT_TOKEN, ZENDESK_TOKEN, Sandbox


def serve(
    port: int,
    tickets: Path | None,
    generate: int,
    fault_rate: float,
    credentials_out: Path | None,
    host: str = "127.0.0.1",
) -> None:
    """Start the sandbox in the foreground; SIGINT/SIGTERM stop it."""
    sandbox = Sandbox(port=port, host=host, fault_rate=fault_rate)
    if tickets:
        for ticket in _read_tickets(tickets):
            sandbox.zendesk.add_ticket(**ticket)
    if generate:
        sandbox.zendesk.generate(generate)
    sandbox.start()
    key = credentials_out or Path(tempfile.gettempdir()) / "syncd-sandbox-service-account.json"
    sandbox.write_service_account(key)
    config = sandbox.config("sqlite:///syncd-sandbox-state.db", "rules", key)
    typer.echo(f"sandbox listening on {sandbox.url} (Ctrl-C to stop)")
    typer.echo(f"  export ZENDESK_TOKEN={ZENDESK_TOKEN} HUBSPOT_TOKEN={HUBSPOT_TOKEN}")
    typer.echo(f"  service-account key: {key}")
    typer.echo(f"  config: {json.dumps(config)}")
    typer.echo(f"  request counters: {sandbox.url}/_sandbox/counts")
    typer.echo(f"  SMTP (email actions): {sandbox.smtp.host}:{sandbox.smtp.port}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    sandbox.stop()


def _read_tickets(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}") from None
    if not isinstance(data, list) or not all(isinstance(t, dict) for t in data):
        raise typer.BadParameter(f"{path} must hold a JSON list of ticket objects")
    return data
