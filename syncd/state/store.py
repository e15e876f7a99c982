"""The state store on SQLAlchemy Core: SQLite by default, or PostgreSQL shared by replicas.

On PostgreSQL each pipeline (one helpdesk account and its sinks) keeps its tables in a schema
of its own, `syncd_<pipeline>`, so several pipelines share one database without meeting; a
SQLite file belongs to one pipeline. Replicas of a pipeline compete for its lease
(`syncd.state.lease`); once a replica is fenced (`fence_on`), every checkpoint it writes first
proves in the same transaction that it still holds the lease.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.schema import CreateSchema

from syncd.errors import ConfigError, LeaseLost
from syncd.facts import TicketFacts
from syncd.keys import PIPELINE
from syncd.logs import register_secret
from syncd.model import Action, Status, Ticket
from syncd.ports import FiredAction
from syncd.state import schema
from syncd.state.codec import load_ticket
from syncd.state.crm_memory import CrmMemoryStore
from syncd.state.delivery import DeliveryLedger
from syncd.state.incidents import IncidentLedger
from syncd.state.lease import Claimant, Lease, may_claim
from syncd.state.migrate import add_missing_columns
from syncd.state.rows import fact_rows, fired_rows, snapshot_rows
from syncd.state.summary import StateSummary, read_summary

_CHUNK = 500  # keys per IN (...) query: well under SQLite's bound-parameter limit
_SCHEMA_LOCK = 0x73796E6364  # PostgreSQL advisory lock key ("syncd") held while creating tables


class SqlStateStore(DeliveryLedger, CrmMemoryStore, IncidentLedger):
    """Cursors, fingerprints, dead letters and the lease of one pipeline, in one SQL database.

    `pipeline` None (tests, tools) puts the tables in the database's default schema."""

    def __init__(self, engine: Engine, pipeline: str | None = None) -> None:
        self.pipeline = pipeline or "default"
        self.schema = pipeline_schema(pipeline) if engine.dialect.name == "postgresql" else None
        if self.schema:
            engine = engine.execution_options(schema_translate_map={None: self.schema})
        self.engine = engine
        self.fence: Claimant | None = None
        self.lease_seconds = 30.0
        self._create_tables()
        if pipeline and not self.schema:
            self._claim_file(pipeline)

    def _create_tables(self) -> None:
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                # Replicas starting together would race to create the same tables.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
                if self.schema:
                    conn.execute(CreateSchema(self.schema, if_not_exists=True))
            schema.metadata.create_all(conn)
            add_missing_columns(conn, schema.metadata, self.schema)  # made by an older syncd

    def _claim_file(self, pipeline: str) -> None:
        """A SQLite file holds one pipeline: another's cursors would be taken for its own."""
        owner = self.get_meta(PIPELINE)
        if owner is None:
            self.set_meta(PIPELINE, pipeline)
        elif owner != pipeline:
            raise ConfigError(
                f"the state database holds pipeline {owner!r}, not {pipeline!r}",
                where="state.url",
                hint="Give each pipeline a state file of its own (or share a PostgreSQL "
                "database), or set state.pipeline back",
            )

    # --- the lease: one active replica per pipeline ---------------------------------------

    def lease(self) -> Lease | None:
        """The pipeline's lease as it stands (None if no replica ever claimed it)."""
        table = schema.leases
        with self.engine.connect() as conn:
            row = conn.execute(select(table).where(table.c.pipeline == self.pipeline)).first()
        if row is None:
            return None
        return Lease(
            row.pipeline,
            row.holder,
            _aware(row.acquired_at),
            _aware(row.expires_at),
            row.version,
        )

    def claim_lease(
        self, claimant: Claimant, seconds: float, now: datetime | None = None
    ) -> Lease | None:
        """Take or renew the lease for `seconds` if `may_claim` allows; returns the lease as
        it stands afterwards, held by `claimant` or by another replica."""
        now = now or _now()
        current = self.lease()
        if not may_claim(current, claimant, now):
            return current
        table = schema.leases
        keep = current is not None and current.holder == claimant.holder
        values = {
            "holder": claimant.holder,
            "acquired_at": _utc(current.acquired_at if keep and current else now),
            "expires_at": _utc(now + timedelta(seconds=seconds)),
        }
        if current is None:
            stmt: Any = (
                self._dialect()
                .insert(table)
                .values(pipeline=self.pipeline, version=1, **values)
                .on_conflict_do_nothing(index_elements=["pipeline"])
            )
        else:  # compare-and-set: a replica that changed the row since we read it wins
            stmt = (
                table.update()
                .where(table.c.pipeline == self.pipeline, table.c.version == current.version)
                .values(version=current.version + 1, **values)
            )
        with self.engine.begin() as conn:
            conn.execute(stmt)
        return self.lease()

    def release_lease(self, claimant: Claimant) -> None:
        """Let the lease lapse now, if `claimant` holds it, so a standby takes over at once."""
        table = schema.leases
        with self.engine.begin() as conn:
            conn.execute(
                table.update()
                .where(table.c.pipeline == self.pipeline, table.c.holder == claimant.holder)
                .values(expires_at=_utc(_now()), version=table.c.version + 1)
            )

    def fence_on(self, claimant: Claimant, seconds: float) -> None:
        """From now on, every checkpoint (cursor, fingerprints, snapshots) first proves that
        `claimant` holds the lease, and renews it for `seconds`; else it raises LeaseLost."""
        self.fence, self.lease_seconds = claimant, seconds

    @contextmanager
    def _checkpoint(self) -> Iterator[Connection]:
        """A write transaction; when fenced, its first statement renews the lease (taking
        the row's lock, so no replica can take over before it commits) or finds it lost."""
        with self.engine.begin() as conn:
            if self.fence is not None:
                table = schema.leases
                renewed = conn.execute(
                    table.update()
                    .where(table.c.pipeline == self.pipeline, table.c.holder == self.fence.holder)
                    .values(
                        expires_at=_utc(_now() + timedelta(seconds=self.lease_seconds)),
                        version=table.c.version + 1,
                    )
                )
                if renewed.rowcount != 1:
                    raise LeaseLost(
                        f"pipeline {self.pipeline}: another replica holds the lease now; "
                        "this one stops before saving anything"
                    )
            yield conn

    def get_cursor(self, source: str) -> str | None:
        """The saved cursor of a source (None before the first cycle)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.cursors.c.cursor).where(schema.cursors.c.source == source)
            ).first()
        return row[0] if row else None

    def set_cursor(self, source: str, cursor: str) -> None:
        """Save a source's cursor."""
        with self._checkpoint() as conn:
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
        with self._checkpoint() as conn:
            conn.execute(self._upsert(schema.fingerprints, ["sink", "ticket_key"]), rows)

    def save_snapshots(self, items: Iterable[tuple[Ticket, datetime | None]]) -> None:
        """Keep the latest version of each ticket and when to look at it again."""
        rows = snapshot_rows(items)
        if rows:
            with self._checkpoint() as conn:
                conn.execute(self._upsert(schema.tickets, ["ticket_key"]), rows)

    def save_facts(self, facts: Iterable[TicketFacts]) -> None:
        """Keep the latest report facts of each ticket."""
        rows = fact_rows(facts)
        if rows:
            with self._checkpoint() as conn:
                conn.execute(self._upsert(schema.ticket_facts, ["ticket_key"]), rows)

    def report_facts(self, since: datetime) -> Iterator[TicketFacts]:
        """The facts of every ticket still open or closed at or after `since`, as they are
        read: a backfill's hundred thousand are never all in memory (`list(...)` for a list).
        The connection stays open until the last is read."""
        table = schema.ticket_facts
        query = select(table.c.payload).where(
            or_(table.c.closed_at.is_(None), table.c.closed_at >= _utc(since))
        )
        with self.engine.connect() as conn:
            # _CHUNK rows at a time: a server-side cursor on PostgreSQL (its driver would
            # otherwise fetch every row at once); SQLite's cursor steps through rows anyway.
            for (payload,) in conn.execute(query.execution_options(yield_per=_CHUNK)):
                yield TicketFacts.from_json(payload)

    def facts(self, keys: Iterable[str]) -> dict[str, TicketFacts]:
        """The stored facts of these tickets (those it has)."""
        table = schema.ticket_facts
        keys = list(keys)
        found: dict[str, TicketFacts] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), _CHUNK):
                rows = conn.execute(
                    select(table.c.payload).where(
                        table.c.ticket_key.in_(keys[start : start + _CHUNK])
                    )
                )
                for (payload,) in rows:
                    facts = TicketFacts.from_json(payload)
                    found[facts.key] = facts
        return found

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
        self.record_fired_many([FiredAction(ticket_key, action, outcome)])

    def record_fired_many(self, fired: Iterable[FiredAction]) -> None:
        """Remember actions carried out (or skipped, or recorded as a baseline), in one
        statement and one transaction."""
        rows = fired_rows(fired, _now())
        if rows:
            with self.engine.begin() as conn:
                stmt = self._upsert(schema.fired_actions, ["ticket_key", "action_key"])
                conn.execute(stmt, rows)

    def action_outcomes(self, ticket_keys: Iterable[str]) -> dict[str, dict[str, tuple[str, str]]]:
        """What happened to each action recorded for these tickets: ticket -> action key ->
        (its target, its outcome as recorded: "posted to Slack #support", "baseline: ...",
        "skipped: ..."). An action not listed has not been carried out (yet)."""
        table = schema.fired_actions
        keys = list(ticket_keys)
        found: dict[str, dict[str, tuple[str, str]]] = {}
        columns = (table.c.ticket_key, table.c.action_key, table.c.target, table.c.outcome)
        with self.engine.connect() as conn:
            for start in range(0, len(keys), _CHUNK):
                rows = conn.execute(
                    select(*columns).where(table.c.ticket_key.in_(keys[start : start + _CHUNK]))
                )
                for key, action, target, outcome in rows:
                    found.setdefault(key, {})[action] = (target, outcome)
        return found

    def check_open_now(self, now: datetime) -> int:
        """Make every open ticket's timer due at `now` (its next check, if later or unset, is
        now), so the timers re-evaluate them in bounded batches: what a rule change asks.
        Returns how many were marked."""
        table = schema.tickets
        due = _utc(now)
        marked: list[str] = []
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table.c.ticket_key, table.c.payload).where(
                    or_(table.c.next_check.is_(None), table.c.next_check > due)
                )
            )
            for key, payload in rows:
                if Status(json.loads(payload)["status"]).is_open:
                    marked.append(key)
        with self.engine.begin() as conn:
            for start in range(0, len(marked), _CHUNK):
                conn.execute(
                    table.update()
                    .where(table.c.ticket_key.in_(marked[start : start + _CHUNK]))
                    .values(next_check=due)
                )
        return len(marked)

    def summary(self) -> StateSummary:
        """Counts and times for `syncd status` (see syncd.state.summary)."""
        with self.engine.connect() as conn:
            return read_summary(conn)

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every parked record, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.dead_letters).order_by(schema.dead_letters.c.id))
            return [dict(row._mapping) for row in rows]

    def _upsert(self, table: Any, keys: list[str]) -> Any:
        """INSERT ... ON CONFLICT (keys) DO UPDATE, in this database's dialect."""
        stmt = self._dialect().insert(table)
        updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
        return stmt.on_conflict_do_update(index_elements=keys, set_=updates)

    def _dialect(self) -> Any:
        """The SQLAlchemy dialect module with INSERT ... ON CONFLICT for this database."""
        dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(self.engine.dialect.name)
        if dialect is None:
            raise ConfigError(
                f"state backend {self.engine.dialect.name!r} is not supported",
                where="state.url",
                hint="Use a sqlite:/// or postgresql:// URL",
            )
        return dialect


def open_store(url: str, pipeline: str | None = None) -> SqlStateStore:
    """Open (and create if needed) the state of `pipeline` in the database at a SQLAlchemy
    URL: sqlite:///path.db, or postgresql://user:password@host:port/database."""
    try:
        parsed = make_url(url)
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3, a dependency
        if parsed.password:
            register_secret(str(parsed.password))  # never in a log line from here on
        if url.startswith("sqlite:///") and ":memory:" not in url:
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = _engine(parsed)
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"{masked_url(url)!r} is not a database URL",
            where="state.url",
            hint="Write e.g. sqlite:///var/syncd/state.db or postgresql://user@host/db",
        ) from None
    except ImportError as exc:
        raise ConfigError(
            f"no driver for {masked_url(url)!r}: {exc}",
            where="state.url",
            hint="Use a sqlite:/// or postgresql:// URL",
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot create the state folder: {exc}", where="state.url") from None
    try:
        return SqlStateStore(engine, pipeline)
    except DBAPIError as exc:
        reason = " ".join(str(exc.orig).split())  # psycopg's messages span lines
        hint = (
            "Check the path exists and is writable"
            if engine.dialect.name == "sqlite"
            else "Check host, port, user, password and database name (state.url or "
            "SYNCD_STATE_URL), that the server runs, and that the user may create schemas"
        )
        raise ConfigError(
            f"cannot open the state database {masked_url(url)}: {reason}",
            where="state.url",
            hint=hint,
        ) from None


def pipeline_schema(pipeline: str | None) -> str | None:
    """The PostgreSQL schema of a pipeline's tables: syncd_zendesk_acme for zendesk-acme."""
    return f"syncd_{pipeline.replace('-', '_')}" if pipeline else None


def masked_url(url: str) -> str:
    """A database URL with its password replaced by ***, for messages."""
    return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", url)


def _engine(url: URL) -> Engine:
    if url.get_backend_name() == "postgresql":
        # Times are stored as UTC whatever the server's TimeZone; give up on an unreachable
        # server after 10 s; a connection the server dropped (a restart) is replaced.
        return create_engine(
            url,
            pool_pre_ping=True,
            connect_args={"connect_timeout": 10, "options": "-c timezone=UTC"},
        )
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


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


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
