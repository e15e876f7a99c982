"""Changing the sheet's columns or timezone rewrites the rows already there into the new
layout by itself (issue 14, item 8): a bounded batch per cycle, within the usual requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ruamel.yaml import YAML

from syncd.sandbox import SPREADSHEET_ID, Sandbox
from syncd.sheet_columns import DEFAULT_COLUMNS
from tests.conftest import Syncd, write_config

ZONE = "America/New_York"


def _cycles_until_done(syncd: Syncd, sandbox: Sandbox, at: datetime) -> list[int]:
    """Sheets requests of each cycle until the sheet owes nothing (at most 8 cycles)."""
    costs = []
    for _ in range(8):
        sandbox.reset_counts()
        syncd.once(at=at)
        costs.append(sandbox.counts().get("sheets", 0))
        if not syncd.parts.store.backlog_sizes().get("sheets"):
            break
    return costs


def test_a_column_and_timezone_change_rewrites_every_row(sandbox: Sandbox, config_path: Path):
    data = YAML().load(config_path.read_text())
    data["max_tickets_per_cycle"] = 3
    data["helpdesk"]["page_size"] = 3
    write_config(config_path, data)
    created = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    tickets = [
        sandbox.zendesk.add_ticket(
            subject=f"Cannot log in {n}",
            requester_email=f"user{n}@globex.example",
            created_at=created + timedelta(minutes=n),
            updated_at=created + timedelta(minutes=n),
        )
        for n in range(8)
    ]
    now = datetime.now(UTC).replace(microsecond=0)
    syncd = Syncd(config_path)
    syncd.setup()
    for _ in range(4):  # the first sync, 3 tickets a cycle
        syncd.once(at=now)
    rows = sandbox.sheets.values(SPREADSHEET_ID, "Tickets")
    assert len(rows) == 9 and "Created (UTC)" in rows[0]

    # The admin drops the requester's email column (Status moves left) and changes the zone.
    columns = [c for c in DEFAULT_COLUMNS if c != "requester_email"]
    data["sheets"]["columns"] = columns
    data["sheets"]["timezone"] = ZONE
    write_config(config_path, data)
    restarted = Syncd(config_path)
    costs = _cycles_until_done(restarted, sandbox, now + timedelta(minutes=1))
    assert len(costs) <= 5, costs
    # The first write of a new process reads the tab list first (3); then 2 a cycle.
    assert costs[0] <= 3 and all(c <= 2 for c in costs[1:]), costs

    rows = sandbox.sheets.values(SPREADSHEET_ID, "Tickets")
    header = rows[0]
    assert "Requester email" not in header and f"Created ({ZONE})" in header
    status, when = header.index("Status"), header.index(f"Created ({ZONE})")
    zone = ZoneInfo(ZONE)
    by_id = {str(t["id"]): t for t in tickets}
    assert len(rows) == 9
    for row in rows[1:]:
        assert row[status] in ("new", "open"), row  # not an email left from the old layout
        moment = datetime.fromisoformat(by_id[row[0]]["created_at"].replace("Z", "+00:00"))
        assert row[when] == moment.astimezone(zone).strftime("%Y-%m-%d %H:%M"), row
    # Done: an idle cycle costs the sheet nothing.
    sandbox.reset_counts()
    restarted.once(at=now + timedelta(minutes=2))
    assert "sheets" not in sandbox.counts()
