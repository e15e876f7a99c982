"""Tickets to JSON and back, for the snapshots the state store keeps."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from syncd.model import Organization, Person, Status, StatusChange, Ticket

_TIMES = ("created_at", "updated_at", "first_response_at", "solved_at", "csat_at")


def dump_ticket(ticket: Ticket) -> str:
    """A ticket as compact JSON."""
    data: dict[str, Any] = {name: getattr(ticket, name) for name in Ticket.__dataclass_fields__}
    data["status"] = ticket.status.value
    for name in _TIMES:
        data[name] = data[name].isoformat() if data[name] else None
    data["requester"] = _person(ticket.requester)
    data["organization"] = _org(ticket.organization)
    data["custom_fields"] = dict(ticket.custom_fields)
    data["status_history"] = [[c.at.isoformat(), c.status.value] for c in ticket.status_history]
    return json.dumps(data, default=str, ensure_ascii=False, separators=(",", ":"))


def load_ticket(text: str) -> Ticket:
    """The ticket `dump_ticket` wrote."""
    data = json.loads(text)
    for name in _TIMES:
        data[name] = datetime.fromisoformat(data[name]) if data.get(name) else None
    data["status"] = Status(data["status"])
    data["tags"] = tuple(data.get("tags") or ())
    requester, org = data.get("requester"), data.get("organization")
    data["requester"] = Person(**requester) if requester else None
    data["organization"] = Organization(**org) if org else None
    data["status_history"] = tuple(
        StatusChange(datetime.fromisoformat(at), Status(status))
        for at, status in data.get("status_history") or ()
    )
    return Ticket(**data)


def _person(person: Person | None) -> dict[str, Any] | None:
    return {"id": person.id, "name": person.name, "email": person.email} if person else None


def _org(org: Organization | None) -> dict[str, Any] | None:
    return {"id": org.id, "name": org.name, "domain": org.domain} if org else None
