"""Tables of the state store (SQLAlchemy Core: the same schema on SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Index,
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

# The latest version of every ticket seen, and when its decision may next change by itself
# (an SLA turning at risk or breached, a follow-up falling due): the timers of the daemon.
tickets = Table(
    "tickets",
    metadata,
    Column("ticket_key", String(200), primary_key=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("next_check", DateTime(timezone=True), nullable=True),
    Column("payload", Text, nullable=False),
    Index("ix_tickets_next_check", "next_check"),
    Index("ix_tickets_updated_at", "updated_at"),
)

# Actions the rules asked for and that were carried out: each fires once per ticket.
fired_actions = Table(
    "fired_actions",
    metadata,
    Column("ticket_key", String(200), nullable=False),
    Column("action_key", String(300), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("target", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("fired_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("ticket_key", "action_key"),
)

# Small facts about a pipeline, e.g. that a source has caught up with its backlog once.
meta = Table(
    "meta",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
)
