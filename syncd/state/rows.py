"""The rows a cycle writes, built apart from the statements that write them.

Each kind of row is written with one statement per batch (an executemany), whether a method
of its own writes it (`save_snapshots`, `save_facts`, `record_fired_many`) or a cycle's
checkpoint does with the rest (`save_checkpoint`). A batch may name a key twice (a ticket
read twice, the same action asked for twice): the last row wins, as one statement per row did,
and PostgreSQL's INSERT ... ON CONFLICT, which refuses to touch a row twice in one
statement, never sees the repeat.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from syncd.facts import TicketFacts
from syncd.model import Ticket
from syncd.ports import FiredAction
from syncd.state.codec import dump_ticket

Row = dict[str, Any]


def snapshot_rows(items: Iterable[tuple[Ticket, datetime | None]]) -> list[Row]:
    """`tickets` rows: each ticket's latest version and when to look at it again."""
    rows = (
        {
            "ticket_key": ticket.id,
            "updated_at": utc(ticket.updated_at),
            "next_check": utc(next_check) if next_check else None,
            "payload": dump_ticket(ticket),
        }
        for ticket, next_check in items
    )
    return last_per_key(rows, ("ticket_key",))


def fact_rows(facts: Iterable[TicketFacts]) -> list[Row]:
    """`ticket_facts` rows: each ticket's latest report facts."""
    rows = (
        {
            "ticket_key": f.key,
            "opened_at": utc(f.created_at),
            "closed_at": utc(closed) if (closed := f.closed_at) else None,
            "payload": f.to_json(),
        }
        for f in facts
    )
    return last_per_key(rows, ("ticket_key",))


def fired_rows(fired: Iterable[FiredAction], now: datetime) -> list[Row]:
    """`fired_actions` rows: actions carried out, skipped or recorded as a baseline."""
    rows = (
        {
            "ticket_key": f.ticket_key,
            "action_key": f.action.key,
            "kind": f.action.kind,
            "target": f.action.target,
            "outcome": f.outcome,
            "fired_at": utc(now),
        }
        for f in fired
    )
    return last_per_key(rows, ("ticket_key", "action_key"))


def last_per_key(rows: Iterable[Row], key: Sequence[str]) -> list[Row]:
    """The rows with the last one of each key only, in first-seen order."""
    found: dict[tuple[Any, ...], Row] = {}
    for row in rows:
        found[tuple(row[name] for name in key)] = row
    return list(found.values())


def utc(moment: datetime) -> datetime:
    # SQLite keeps no offset: every time is stored in UTC, as in store.py.
    return moment.astimezone(UTC).replace(tzinfo=None)
