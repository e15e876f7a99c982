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
    # Added after the first release (nullable, so older databases gain them when opened):
    # when the record is retried automatically (None: parked until `syncd dlq retry`), and
    # when it last failed.
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("failed_at", DateTime(timezone=True), nullable=True),
)

# Work a sink still owes: tickets the source cursor moved past while that sink was failing
# (an outage, an open circuit, a shutdown mid-write). Written in the transaction that moves
# the cursor; a ticket leaves when the sink accepts it (or rejects it: a dead letter).
sink_backlog = Table(
    "sink_backlog",
    metadata,
    Column("sink", String(100), nullable=False),
    Column("ticket_key", String(200), nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("sink", "ticket_key"),
    Index("ix_sink_backlog_since", "sink", "since"),
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

# Which replica runs the pipeline: the holder renews `expires_at`; once it has passed, a
# standby may take over. `version` grows with every change (compare-and-set); see
# syncd.state.lease.
leases = Table(
    "leases",
    metadata,
    Column("pipeline", String(100), primary_key=True),
    Column("holder", String(300), nullable=False),
    Column("acquired_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
)

# What the report tabs count about each ticket (syncd.facts.TicketFacts as JSON); the reports
# read the facts of tickets still open or closed within their window (`closed_at`).
ticket_facts = Table(
    "ticket_facts",
    metadata,
    Column("ticket_key", String(200), primary_key=True),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=True),  # None while open
    Column("payload", Text, nullable=False),
    Index("ix_ticket_facts_closed_at", "closed_at"),
)
