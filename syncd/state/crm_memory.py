"""What a CRM sink remembers between processes, so that a cycle sends the CRM only what changed
(the `CrmMemory` port of syncd.ports; `SqlStateStore` mixes this class in).

- `crm_objects`: for each contact and company key (an email; `syncd_company_domain:acme.com`)
  the CRM object it became and a fingerprint of what syncd last wrote to it. A requester or
  organization whose fingerprint did not change is not upserted again, and a domain whose
  company is known needs no search for a company to adopt.
- `crm_links`: for each ticket and kind of association (contacts, companies) the object syncd
  associated the ticket with. A ticket whose requester and organization did not change costs
  no association request; one whose requester moved has exactly the old association removed,
  without reading what the ticket has.

Rows are written only after the CRM confirmed what they say, so the memory is never ahead of
the CRM (a crash in between costs one read of associations the next time, never a wrong or
missing link). It can only fall behind a change made by hand in the CRM (a contact deleted
there is not re-created until its requester changes). These are new tables: an older state
database gains them when opened (`metadata.create_all` creates missing tables; columns added
later go through syncd.state.migrate).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    PrimaryKeyConstraint,
    String,
    Table,
    delete,
    select,
)

from syncd.state import schema

_CHUNK = 400  # keys per IN (...) query: well under SQLite's bound-parameter limit

# kind ("contacts", "companies") and key -> the CRM object id and the fingerprint of what syncd
# last wrote to it.
crm_objects = Table(
    "crm_objects",
    schema.metadata,
    Column("kind", String(50), nullable=False),
    Column("object_key", String(400), nullable=False),
    Column("object_id", String(100), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("kind", "object_key"),
)

# ticket and kind -> the CRM object syncd associated the ticket with.
crm_links = Table(
    "crm_links",
    schema.metadata,
    Column("ticket_key", String(200), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("target_id", String(100), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("ticket_key", "kind"),
)


class CrmMemoryStore:
    """The CRM memory in the state database (a mixin of `SqlStateStore`)."""

    if TYPE_CHECKING:
        engine: Engine

        def _upsert(self, table: Any, keys: list[str]) -> Any: ...

    def crm_objects(self, kind: str, keys: Iterable[str]) -> dict[str, tuple[str, str]]:
        """key -> (CRM object id, fingerprint) for those of `keys` remembered."""
        table = crm_objects
        keys = list(dict.fromkeys(keys))
        found: dict[str, tuple[str, str]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), _CHUNK):
                rows = conn.execute(
                    select(table.c.object_key, table.c.object_id, table.c.fingerprint).where(
                        table.c.kind == kind, table.c.object_key.in_(keys[start : start + _CHUNK])
                    )
                )
                found.update({key: (oid, fp) for key, oid, fp in rows})
        return found

    def save_crm_objects(self, kind: str, objects: Mapping[str, tuple[str, str]]) -> None:
        """Remember CRM objects (key -> (object id, fingerprint)), in one statement."""
        if not objects:
            return
        now = _utc_now()
        rows = [
            {
                "kind": kind,
                "object_key": key,
                "object_id": oid,
                "fingerprint": fp,
                "updated_at": now,
            }
            for key, (oid, fp) in objects.items()
        ]
        with self.engine.begin() as conn:
            conn.execute(self._upsert(crm_objects, ["kind", "object_key"]), rows)

    def crm_links(self, kind: str, ticket_keys: Iterable[str]) -> dict[str, str]:
        """ticket key -> the CRM object of `kind` syncd associated it with, for those known."""
        table = crm_links
        keys = list(dict.fromkeys(ticket_keys))
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), _CHUNK):
                rows = conn.execute(
                    select(table.c.ticket_key, table.c.target_id).where(
                        table.c.kind == kind, table.c.ticket_key.in_(keys[start : start + _CHUNK])
                    )
                )
                found.update({key: target for key, target in rows})
        return found

    def save_crm_links(self, kind: str, links: Mapping[str, str]) -> None:
        """Remember associations (ticket key -> CRM object id of `kind`), in one statement."""
        if not links:
            return
        now = _utc_now()
        rows = [
            {"ticket_key": key, "kind": kind, "target_id": target, "updated_at": now}
            for key, target in links.items()
        ]
        with self.engine.begin() as conn:
            conn.execute(self._upsert(crm_links, ["ticket_key", "kind"]), rows)

    def forget_crm_links(self, kind: str | None, ticket_keys: Iterable[str]) -> None:
        """Forget what these tickets are associated with (of `kind`, or of every kind): the
        next write of each reads its associations from the CRM again."""
        keys = list(dict.fromkeys(ticket_keys))
        if not keys:
            return
        table = crm_links
        with self.engine.begin() as conn:
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                stmt = delete(table).where(table.c.ticket_key.in_(chunk))
                if kind is not None:
                    stmt = stmt.where(table.c.kind == kind)
                conn.execute(stmt)


def _utc_now() -> datetime:
    # SQLite keeps no offset: times are stored in UTC, as everywhere in the store.
    return datetime.now(UTC).replace(tzinfo=None)


__all__ = ["CrmMemoryStore", "crm_links", "crm_objects"]
