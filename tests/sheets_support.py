"""What the sheet tests share: a SheetsSink talking to the sandbox, and tickets made by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.sheets import SheetsSink
from syncd.config import SheetsConfig
from syncd.model import Decision, Organization, Person, SlaStatus, SlaTarget, Status, Ticket
from syncd.ports import SinkRecord
from syncd.sandbox import SPREADSHEET_ID, Sandbox

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def sheets_sink(
    sandbox: Sandbox,
    tmp_path: Path,
    clock: Callable[[], datetime] = lambda: NOW,
    **settings: Any,
) -> SheetsSink:
    """A SheetsSink on the sandbox's spreadsheet, `settings` overriding the config."""
    key = sandbox.write_service_account(tmp_path / "sa.json")
    config = SheetsConfig(
        spreadsheet_id=SPREADSHEET_ID,
        credentials_file=key,
        base_url=sandbox.url,
        token_url=f"{sandbox.url}/token",
        **settings,
    )
    return SheetsSink(config, attempts=2, clock=clock)


def ticket(key: int, **fields: Any) -> Ticket:
    """An open Zendesk ticket created a day before NOW, unless `fields` say otherwise."""
    values: dict[str, Any] = {
        "id": str(key),
        "source": "zendesk",
        "subject": f"Cannot log in ({key})",
        "description": "the login page spins",
        "status": Status.OPEN,
        "created_at": NOW - timedelta(days=1),
        "updated_at": NOW - timedelta(hours=1),
        "requester": Person(str(1000 + key), f"User {key}", f"user{key}@globex.example"),
        "organization": Organization("7", "Globex", "globex.example"),
        "channel": "email",
        "url": f"https://acme.zendesk.com/agent/tickets/{key}",
    }
    values.update(fields)
    return Ticket(**values)


def decision(state: str = "ok", priority: str = "High", level: int = 0) -> Decision:
    """A decision whose SLA stands at `state`: ok, at_risk or breached."""
    due = NOW + timedelta(hours=2)
    first = SlaTarget(due=due, breached=state == "breached", at_risk=state == "at_risk", used=0.5)
    sla = SlaStatus("Standard", "business", first, SlaTarget(due=due + timedelta(days=1)))
    name = "Manager" if level else ""
    return Decision("Billing", priority, sla=sla, escalation_level=level, escalation_name=name)


def records(sink: SheetsSink, tickets: list[Ticket], **how: Any) -> list[SinkRecord]:
    """The sink's records for the tickets, all with the same decision."""
    return [sink.render(t, decision(**how)) for t in tickets]


def rows(sandbox: Sandbox, tab: str = "Tickets") -> list[list[str]]:
    """A tab's cells as a manager sees them."""
    return sandbox.sheets.values(SPREADSHEET_ID, tab)


def sheets_requests(sandbox: Sandbox) -> int:
    """Sheets API requests served since the counters were reset."""
    return sandbox.counts().get("sheets", 0)
