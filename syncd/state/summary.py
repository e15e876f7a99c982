"""What `syncd status` shows of the state store: read-only counts and times the pipeline never
needs (so they stay out of the StateStore port), read in one connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, func, select

from syncd.state import schema


@dataclass(frozen=True, slots=True)
class SavedCursor:
    """One saved cursor: whose, its text, and when it last moved (UTC)."""

    source: str
    cursor: str
    moved_at: datetime


@dataclass(frozen=True, slots=True)
class StateSummary:
    """The store at a glance: cursors, tickets known, the next timer, dead letters per sink
    (or `source:<name>`), and the outcome of every action carried out or recorded."""

    cursors: tuple[SavedCursor, ...]
    tickets: int
    next_check: datetime | None
    dead_letters: dict[str, int]
    action_outcomes: tuple[str, ...]


def read_summary(conn: Connection) -> StateSummary:
    """The summary, from the store's tables (times made timezone-aware, UTC)."""
    cursors = schema.cursors.c
    rows = conn.execute(
        select(cursors.source, cursors.cursor, cursors.updated_at).order_by(cursors.source)
    ).all()
    tickets = conn.execute(select(func.count()).select_from(schema.tickets)).scalar() or 0
    next_check = conn.execute(select(func.min(schema.tickets.c.next_check))).scalar()
    letters = schema.dead_letters.c
    counts = conn.execute(
        select(letters.sink, func.count()).group_by(letters.sink).order_by(letters.sink)
    ).all()
    outcomes = conn.execute(select(schema.fired_actions.c.outcome)).scalars().all()
    return StateSummary(
        cursors=tuple(SavedCursor(s, c, _aware(at)) for s, c, at in rows),
        tickets=int(tickets),
        next_check=_aware(next_check) if next_check else None,
        dead_letters={str(sink): int(n) for sink, n in counts},
        action_outcomes=tuple(str(o) for o in outcomes),
    )


def _aware(moment: datetime) -> datetime:
    # SQLite keeps no offset: the store writes UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
