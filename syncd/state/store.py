"""The state store on SQLAlchemy Core: SQLite by default, any SQLAlchemy URL accepted."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import ArgumentError, OperationalError

from syncd.errors import ConfigError
from syncd.model import Action, Ticket
from syncd.state import schema
from syncd.state.codec import dump_ticket, load_ticket

_CHUNK = 500  # keys per IN (...) query: well under SQLite's bound-parameter limit


class SqlStateStore:
    """Cursors, fingerprints and dead letters in one SQL database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        schema.metadata.create_all(engine)

    def get_cursor(self, source: str) -> str | None:
        """The saved cursor of a source (None before the first cycle)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.cursors.c.cursor).where(schema.cursors.c.source == source)
            ).first()
        return row[0] if row else None

    def set_cursor(self, source: str, cursor: str) -> None:
        """Save a source's cursor."""
        with self.engine.begin() as conn:
            conn.execute(
                self._upsert(schema.cursors, ["source"]),
                [{"source": source, "cursor": cursor, "updated_at": _now()}],
            )

    def get_meta(self, key: str) -> str | None:
        """A small remembered fact (None if never set)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.meta.c.value).where(schema.meta.c.key == key)).first()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Remember a small fact."""
        with self.engine.begin() as conn:
            conn.execute(self._upsert(schema.meta, ["key"]), [{"key": key, "value": value}])

    def fingerprints(self, sink: str, keys: Iterable[str]) -> dict[str, str]:
        """What the sink last accepted, for those of `keys` it has seen."""
        table = schema.fingerprints
        keys = list(keys)
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                rows = conn.execute(
                    select(table.c.ticket_key, table.c.fingerprint).where(
                        table.c.sink == sink, table.c.ticket_key.in_(chunk)
                    )
                )
                found.update({key: fp for key, fp in rows})
        return found

    def save_fingerprints(self, sink: str, fingerprints: Mapping[str, str]) -> None:
        """Record what a sink accepted, in one transaction."""
        if not fingerprints:
            return
        now = _now()
        rows = [
            {"sink": sink, "ticket_key": key, "fingerprint": fp, "updated_at": now}
            for key, fp in fingerprints.items()
        ]
        with self.engine.begin() as conn:
            conn.execute(self._upsert(schema.fingerprints, ["sink", "ticket_key"]), rows)

    def add_dead_letter(self, sink: str, key: str, reason: str, payload: Any) -> None:
        """Park a record a sink rejected; a record parked again counts one more attempt."""
        table = schema.dead_letters
        text = json.dumps(payload, default=str, ensure_ascii=False)
        with self.engine.begin() as conn:
            found = conn.execute(
                select(table.c.id).where(table.c.sink == sink, table.c.ticket_key == key)
            ).first()
            if found:
                conn.execute(
                    table.update()
                    .where(table.c.id == found[0])
                    .values(reason=reason, payload=text, attempts=table.c.attempts + 1)
                )
            else:
                conn.execute(
                    table.insert(),
                    {
                        "sink": sink,
                        "ticket_key": key,
                        "reason": reason,
                        "payload": text,
                        "attempts": 1,
                        "created_at": _now(),
                    },
                )

    def save_snapshots(self, items: Iterable[tuple[Ticket, datetime | None]]) -> None:
        """Keep the latest version of each ticket and when to look at it again."""
        rows = [
            {
                "ticket_key": ticket.id,
                "updated_at": _utc(ticket.updated_at),
                "next_check": _utc(next_check) if next_check else None,
                "payload": dump_ticket(ticket),
            }
            for ticket, next_check in items
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(self._upsert(schema.tickets, ["ticket_key"]), rows)

    def due_tickets(self, now: datetime, limit: int) -> list[Ticket]:
        """Tickets whose decision may have changed by itself by `now` (oldest timer first)."""
        table = schema.tickets
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table.c.payload)
                .where(table.c.next_check.is_not(None), table.c.next_check <= _utc(now))
                .order_by(table.c.next_check)
                .limit(limit)
            )
            return [load_ticket(payload) for (payload,) in rows]

    def tickets_since(self, since: datetime) -> Iterator[Ticket]:
        """Every ticket seen that changed at or after `since`."""
        table = schema.tickets
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table.c.payload)
                .where(table.c.updated_at >= _utc(since))
                .order_by(table.c.updated_at)
            )
            for (payload,) in rows:
                yield load_ticket(payload)

    def ticket(self, key: str) -> Ticket | None:
        """The latest snapshot of one ticket."""
        table = schema.tickets
        with self.engine.connect() as conn:
            row = conn.execute(select(table.c.payload).where(table.c.ticket_key == key)).first()
        return load_ticket(row[0]) if row else None

    def fired(self, ticket_keys: Iterable[str]) -> set[tuple[str, str]]:
        """(ticket, action) pairs already carried out, for these tickets."""
        table = schema.fired_actions
        keys = list(ticket_keys)
        found: set[tuple[str, str]] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(keys), _CHUNK):
                rows = conn.execute(
                    select(table.c.ticket_key, table.c.action_key).where(
                        table.c.ticket_key.in_(keys[start : start + _CHUNK])
                    )
                )
                found.update((k, a) for k, a in rows)
        return found

    def record_fired(self, ticket_key: str, action: Action, outcome: str) -> None:
        """Remember that an action was carried out (or deliberately skipped)."""
        with self.engine.begin() as conn:
            conn.execute(
                self._upsert(schema.fired_actions, ["ticket_key", "action_key"]),
                [
                    {
                        "ticket_key": ticket_key,
                        "action_key": action.key,
                        "kind": action.kind,
                        "target": action.target,
                        "outcome": outcome,
                        "fired_at": _now(),
                    }
                ],
            )

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every parked record, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.dead_letters).order_by(schema.dead_letters.c.id))
            return [dict(row._mapping) for row in rows]

    def _upsert(self, table: Any, keys: list[str]) -> Any:
        """INSERT ... ON CONFLICT (keys) DO UPDATE, in this database's dialect."""
        dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(self.engine.dialect.name)
        if dialect is None:
            raise ConfigError(
                f"state backend {self.engine.dialect.name!r} is not supported",
                where="state.url",
                hint="Use a sqlite:/// or postgresql:// URL",
            )
        stmt = dialect.insert(table)
        updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
        return stmt.on_conflict_do_update(index_elements=keys, set_=updates)


def open_store(url: str) -> SqlStateStore:
    """Open (and create if needed) the state database at a SQLAlchemy URL."""
    try:
        if url.startswith("sqlite:///") and ":memory:" not in url:
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
    except ArgumentError:
        raise ConfigError(
            f"{url!r} is not a database URL",
            where="state.url",
            hint="Write e.g. sqlite:///var/syncd/state.db or postgresql://user@host/db",
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot create the state folder: {exc}", where="state.url") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        return SqlStateStore(engine)
    except OperationalError as exc:
        raise ConfigError(
            f"cannot open the state database: {exc.orig}",
            where="state.url",
            hint="Check the path exists and is writable",
        ) from None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL keeps readers (syncd status) from blocking the daemon; NORMAL sync is durable
    # enough with WAL and much faster for per-cycle fingerprint batches.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(moment: datetime) -> datetime:
    # SQLite keeps no offset: store every time in UTC so that comparisons in SQL hold.
    return moment.astimezone(UTC).replace(tzinfo=None)
