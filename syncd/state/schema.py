"""Tables of the state store (SQLAlchemy Core: the same schema on SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata = MetaData()

cursors = Table(
    "cursors",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("cursor", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# What each sink last accepted for each ticket: a hash of the record it stored.
fingerprints = Table(
    "fingerprints",
    metadata,
    Column("sink", String(100), nullable=False),
    Column("ticket_key", String(200), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("sink", "ticket_key"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sink", String(100), nullable=False),
    Column("ticket_key", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("attempts", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
