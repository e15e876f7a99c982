"""What each sink still owes, kept so that one sink's failure never holds back another.

- The backlog (`sink_backlog`): tickets the source cursor moved past while a sink could not
  take them (an outage, an open circuit, a shutdown mid-write). They are queued in the same
  transaction that moves the cursor (`advance`), so a crash loses none: before that
  transaction the cursor has not moved and the tickets are pulled again. A sink works its
  backlog off from the ticket snapshots, a bounded batch per cycle, oldest first.
- Dead letters (`dead_letters`): records a sink rejected, or tickets the helpdesk sent
  malformed, with the reason and the payload. Each failure counts an attempt and sets the
  next automatic one (`schedule`); None parks the record until `syncd dlq retry`.

A ticket a sink accepts leaves both (`settle`). `SqlStateStore` mixes this class in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, delete, func, select

from syncd.model import Ticket
from syncd.ports import Checkpoint
from syncd.state import schema
from syncd.state.codec import load_ticket
from syncd.state.rows import fact_rows, fired_rows, snapshot_rows

_CHUNK = 500  # keys per IN (...) query

# attempts so far (this failure included) -> when to try again, None to park
Schedule = Callable[[int], datetime | None]


class DeliveryLedger:
    """The backlog and dead letters of every sink (a mixin of `SqlStateStore`)."""

    if TYPE_CHECKING:
        engine: Engine

        def _checkpoint(self) -> AbstractContextManager[Connection]: ...

        def _upsert(self, table: Any, keys: list[str]) -> Any: ...

        def _dialect(self) -> Any: ...

    # -- backlog ---------------------------------------------------------------------------

    def advance(
        self,
        cursor_key: str,
        cursor: str | None,
        owed: Mapping[str, Collection[str]],
        settled: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        """In one transaction: queue the tickets each sink still owes (`owed`: sink -> keys;
        a key already queued keeps its place), drop the dead letters `settled` names (sink ->
        keys: tickets the source could read again), and, when `cursor` is given, save it."""
        self.save_checkpoint(Checkpoint(cursor_key, cursor, owed=owed, settled=settled or {}))

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Save a cycle's checkpoint in one transaction (fenced by the lease when the store
        is), each kind of row in one statement: the snapshots, the report facts, the actions
        recorded without a side effect, the backlog, the settled dead letters, the meta and
        the cursor, which moves only with all the rest."""
        now = datetime.now(UTC)
        c = checkpoint
        writes: list[tuple[Any, list[dict[str, Any]]]] = [
            (self._upsert(schema.tickets, ["ticket_key"]), snapshot_rows(c.snapshots)),
            (self._upsert(schema.ticket_facts, ["ticket_key"]), fact_rows(c.facts)),
            (
                self._upsert(schema.fired_actions, ["ticket_key", "action_key"]),
                fired_rows(c.fired, now),
            ),
            # A key queued before keeps its `since`: the oldest debt goes first.
            (
                self._dialect()
                .insert(schema.sink_backlog)
                .on_conflict_do_nothing(index_elements=["sink", "ticket_key"]),
                _backlog_rows(c.owed, now),
            ),
            (
                self._upsert(schema.meta, ["key"]),
                [{"key": key, "value": value} for key, value in c.meta.items()],
            ),
        ]
        if c.cursor is not None:
            cursor = {"source": c.cursor_key, "cursor": c.cursor, "updated_at": _utc(now)}
            writes.append((self._upsert(schema.cursors, ["source"]), [cursor]))
        settled = {sink: list(keys) for sink, keys in c.settled.items() if keys}
        if not settled and not any(rows for _, rows in writes):
            return
        with self._checkpoint() as conn:
            for stmt, rows in writes:
                if rows:
                    conn.execute(stmt, rows)
            for sink, keys in settled.items():
                _delete_keys(conn, schema.dead_letters, sink, keys)

    def owed(self, sink: str, limit: int) -> list[str]:
        """Up to `limit` tickets the sink still owes, oldest debt first."""
        table = schema.sink_backlog
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table.c.ticket_key)
                .where(table.c.sink == sink)
                .order_by(table.c.since, table.c.ticket_key)
                .limit(limit)
            )
            return [key for (key,) in rows]

    def snapshots(self, keys: Iterable[str]) -> dict[str, Ticket]:
        """The latest snapshot of each of these tickets that syncd has seen."""
        table = schema.tickets
        keys = list(keys)
        found: dict[str, Ticket] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), _CHUNK):
                rows = conn.execute(
                    select(table.c.ticket_key, table.c.payload).where(
                        table.c.ticket_key.in_(keys[start : start + _CHUNK])
                    )
                )
                found.update((key, load_ticket(payload)) for key, payload in rows)
        return found

    def backlog_sizes(self) -> dict[str, int]:
        """Tickets each sink still owes (sinks that owe none are left out)."""
        table = schema.sink_backlog
        with self.engine.connect() as conn:
            rows = conn.execute(select(table.c.sink, func.count()).group_by(table.c.sink))
            return {sink: int(count) for sink, count in rows}

    def settle(self, sink: str, keys: Iterable[str]) -> None:
        """The sink holds these tickets now: out of its backlog and its dead letters."""
        self.save_delivery(sink, {}, keys)

    def save_delivery(
        self, sink: str, fingerprints: Mapping[str, str], held: Iterable[str]
    ) -> None:
        """After a write, in one transaction (fenced when the store is): record what the
        sink accepted (`fingerprints`, one statement) and take the tickets it holds now
        (`held`) out of its backlog and dead letters, so that neither is ever saved without
        the other."""
        now = _utc(datetime.now(UTC))
        prints = [
            {"sink": sink, "ticket_key": key, "fingerprint": fp, "updated_at": now}
            for key, fp in fingerprints.items()
        ]
        keys = list(held)
        if not prints and not keys:
            return
        with self._checkpoint() as conn:
            if prints:
                conn.execute(self._upsert(schema.fingerprints, ["sink", "ticket_key"]), prints)
            for table in (schema.sink_backlog, schema.dead_letters):
                _delete_keys(conn, table, sink, keys)

    # -- dead letters ------------------------------------------------------------------------

    def add_dead_letter(
        self, sink: str, key: str, reason: str, payload: Any, schedule: Schedule | None = None
    ) -> None:
        """Park a record a sink rejected (or a ticket the source could not read), with the
        reason; parked again, it counts one more attempt. `schedule` says when to try it
        again from the attempts so far (None, or no schedule: parked until `syncd dlq
        retry`). A `payload` of None keeps the one stored before. The ticket leaves the
        sink's backlog: the dead letter keeps track of it now."""
        table = schema.dead_letters
        text = json.dumps(payload, default=str, ensure_ascii=False)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            found = conn.execute(
                select(table.c.id, table.c.attempts).where(
                    table.c.sink == sink, table.c.ticket_key == key
                )
            ).first()
            attempts = (found[1] if found else 0) + 1
            moment = schedule(attempts) if schedule else None
            values = {
                "reason": reason,
                "attempts": attempts,
                "failed_at": _utc(now),
                "next_attempt_at": _utc(moment) if moment else None,
            }
            if payload is not None or not found:
                values["payload"] = text
            if found:
                conn.execute(table.update().where(table.c.id == found[0]).values(**values))
            else:
                values |= {"sink": sink, "ticket_key": key, "created_at": _utc(now)}
                conn.execute(table.insert(), values)
            backlog = schema.sink_backlog
            conn.execute(delete(backlog).where(backlog.c.sink == sink, backlog.c.ticket_key == key))

    def due_dead_letters(self, sink: str, now: datetime, limit: int) -> list[str]:
        """Keys of the sink's dead letters whose next automatic attempt has come."""
        table = schema.dead_letters
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table.c.ticket_key)
                .where(
                    table.c.sink == sink,
                    table.c.next_attempt_at.is_not(None),
                    table.c.next_attempt_at <= _utc(now),
                )
                .order_by(table.c.next_attempt_at, table.c.id)
                .limit(limit)
            )
            return [key for (key,) in rows]

    def dead_letter_keys(self, sink: str) -> set[str]:
        """Keys of every dead letter of a sink (or of the source, `source:<name>`)."""
        table = schema.dead_letters
        with self.engine.connect() as conn:
            return set(
                conn.execute(select(table.c.ticket_key).where(table.c.sink == sink)).scalars()
            )

    def dead_letter_count(self) -> int:
        """How many records are parked, every sink and the source together."""
        with self.engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(schema.dead_letters)).scalar()
        return int(count or 0)

    def dead_letter_rows(self, ids: Collection[int] = ()) -> list[dict[str, Any]]:
        """Dead letters (all, or those with these ids), oldest first, times in UTC."""
        table = schema.dead_letters
        query = select(table).order_by(table.c.id)
        if ids:
            query = query.where(table.c.id.in_(list(ids)))
        with self.engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
        for row in rows:
            for name in ("created_at", "failed_at", "next_attempt_at"):
                if row.get(name) is not None:
                    row[name] = _aware(row[name])
        return rows

    def retry_dead_letters_now(self, ids: Collection[int], now: datetime) -> None:
        """Make these dead letters (parked or not) due for an attempt at `now`."""
        table = schema.dead_letters
        with self.engine.begin() as conn:
            conn.execute(
                table.update().where(table.c.id.in_(list(ids))).values(next_attempt_at=_utc(now))
            )

    def drop_dead_letters(self, ids: Collection[int]) -> int:
        """Forget these dead letters; returns how many there were."""
        table = schema.dead_letters
        with self.engine.begin() as conn:
            return conn.execute(delete(table).where(table.c.id.in_(list(ids)))).rowcount or 0


def _backlog_rows(owed: Mapping[str, Collection[str]], now: datetime) -> list[dict[str, Any]]:
    return [
        {"sink": sink, "ticket_key": key, "since": _utc(now)}
        for sink, keys in owed.items()
        for key in dict.fromkeys(keys)  # once each: PostgreSQL refuses a repeat in a statement
    ]


def _delete_keys(conn: Connection, table: Any, sink: str, keys: list[str]) -> None:
    """Delete the sink's rows of these keys, a chunk of keys per statement."""
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        conn.execute(delete(table).where(table.c.sink == sink, table.c.ticket_key.in_(chunk)))


def _utc(moment: datetime) -> datetime:
    # SQLite keeps no offset: every time is stored in UTC, as in store.py.
    return moment.astimezone(UTC).replace(tzinfo=None)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
