"""Helpers shared by the fault-injection tests (outage, rate limits, dead letters, shutdown):
config edits, what each sink holds, and the figures the issue asks for (lost and duplicated
records must be 0), printed as one summary line per scenario (`pytest -s` shows them)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from syncd.sandbox import SPREADSHEET_ID, Sandbox
from tests.conftest import write_config


def edit_config(path: Path, **sections: Any) -> Path:
    """Merge `sections` into the YAML config at `path` (a dict updates a section, anything
    else replaces the key) and write it back."""
    data = YAML().load(path.read_text())
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    return write_config(path, data)


def sheet_ids(sandbox: Sandbox) -> Counter[str]:
    """How many rows each ticket has in the sheet's Tickets tab."""
    return Counter(row[0] for row in sandbox.sheets.values(SPREADSHEET_ID, "Tickets")[1:])


def crm_ids(sandbox: Sandbox) -> Counter[str]:
    """How many HubSpot tickets each helpdesk ticket has."""
    return Counter(
        t["properties"]["helpdesk_ticket_id"] for t in sandbox.hubspot.objects("tickets")
    )


def lost_and_duplicated(expected: Iterable[str], held: Counter[str]) -> tuple[int, int]:
    """(tickets a sink does not hold, extra copies it holds)."""
    wanted = set(expected)
    lost = len(wanted - set(held))
    duplicated = sum(count - 1 for count in held.values() if count > 1)
    return lost, duplicated


def figures(scenario: str, **counts: int) -> None:
    """One summary line of a scenario's figures."""
    text = ", ".join(f"{name.replace('_', ' ')}={value}" for name, value in counts.items())
    print(f"\n[faults] {scenario}: {text}")
