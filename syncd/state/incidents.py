"""What incident detection remembers (a mixin of `SqlStateStore`), so that an incident
survives a restart and is announced once.

- `incident_signatures`: the signature (syncd.incidents.Signature) of each ticket created
  recently: its creation time, organization, category and stems. Detection reads those of
  the longest window of the rules; older ones are dropped as the cycles go by.
- `incidents`: each incident as a JSON document (syncd.incidents.Incident), with its state
  (open or over) and what was announced for it (each channel, each company note), so an
  announcement interrupted by a crash is finished, never repeated.

Both are new tables: an older state database gains them when opened (`metadata.create_all`
creates missing tables; columns added to them later go through syncd.state.migrate).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Connection, DateTime, Engine, String, Table, Text, delete, select

from syncd.incidents import OPEN, Incident, Signature
from syncd.state import schema

_CHUNK = 400  # keys per IN (...) query

incident_signatures = Table(
    "incident_signatures",
    schema.metadata,
    Column("ticket_key", String(200), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("payload", Text, nullable=False),
)

incidents = Table(
    "incidents",
    schema.metadata,
    Column("incident_id", String(200), primary_key=True),
    Column("state", String(20), nullable=False, index=True),
    Column("first_at", DateTime(timezone=True), nullable=False),
    Column("payload", Text, nullable=False),
)


class IncidentLedger:
    """Signatures and incidents in the state database (a mixin of `SqlStateStore`)."""

    if TYPE_CHECKING:
        engine: Engine

        def _upsert(self, table: Any, keys: list[str]) -> Any: ...

        def _checkpoint(self) -> AbstractContextManager[Connection]: ...

    def signatures_since(self, moment: datetime) -> list[Signature]:
        """The signatures of tickets created after `moment`."""
        table = incident_signatures
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table.c.payload).where(table.c.created_at > _utc(moment))
            ).scalars()
            return [Signature.from_json(json.loads(row)) for row in rows]

    def signatures(self, ticket_keys: Iterable[str]) -> dict[str, Signature]:
        """ticket -> its signature, for those of `ticket_keys` kept."""
        table = incident_signatures
        keys = list(dict.fromkeys(ticket_keys))
        found: dict[str, Signature] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), _CHUNK):
                rows = conn.execute(
                    select(table.c.ticket_key, table.c.payload).where(
                        table.c.ticket_key.in_(keys[start : start + _CHUNK])
                    )
                )
                found.update({key: Signature.from_json(json.loads(p)) for key, p in rows})
        return found

    def save_signatures(self, items: Iterable[Signature], older_than: datetime) -> None:
        """Keep these signatures and drop those of tickets created before `older_than`."""
        rows = [
            {
                "ticket_key": s.ticket,
                "created_at": _utc(s.created_at),
                "payload": json.dumps(s.to_json(), ensure_ascii=False, sort_keys=True),
            }
            for s in items
        ]
        with self._checkpoint() as conn:
            if rows:
                conn.execute(self._upsert(incident_signatures, ["ticket_key"]), rows)
            conn.execute(
                delete(incident_signatures).where(
                    incident_signatures.c.created_at < _utc(older_than)
                )
            )

    def incidents(self, open_only: bool = False) -> list[Incident]:
        """Every incident (or those still open), oldest first."""
        table = incidents
        stmt = select(table.c.payload).order_by(table.c.first_at, table.c.incident_id)
        if open_only:
            stmt = stmt.where(table.c.state == OPEN)
        with self.engine.connect() as conn:
            return [Incident.from_json(json.loads(p)) for p in conn.execute(stmt).scalars()]

    def save_incidents(self, items: Iterable[Incident]) -> None:
        """Keep these incidents as they are now."""
        rows = [
            {
                "incident_id": i.id,
                "state": i.state,
                "first_at": _utc(i.first_at),
                "payload": json.dumps(i.to_json(), ensure_ascii=False, sort_keys=True),
            }
            for i in items
        ]
        if rows:
            with self._checkpoint() as conn:
                conn.execute(self._upsert(incidents, ["incident_id"]), rows)

    def incident_members(self) -> dict[str, str]:
        """ticket -> the incident it belongs to (the latest one, when several)."""
        members: dict[str, str] = {}
        for incident in self.incidents():
            members.update(dict.fromkeys(incident.tickets, incident.id))
        return members


def _utc(moment: datetime) -> datetime:
    # SQLite keeps no offset: every time in UTC without one, so comparisons in SQL hold.
    return moment.astimezone(UTC).replace(tzinfo=None)
