"""Tickets to JSON and back, for the snapshots the state store keeps."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import orjson

from syncd.model import HelpdeskSla, Organization, Person, Status, StatusChange, Ticket

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
    data["unseen"] = sorted(ticket.unseen)
    data["helpdesk_sla"] = [_verdict(v) for v in ticket.helpdesk_sla]
    # orjson writes what json.dumps(separators=(",", ":"), ensure_ascii=False) writes, several
    # times faster: a snapshot is written for every ticket of every cycle. It refuses text
    # that is not valid Unicode (a lone surrogate, which JSON's \u escapes can carry in).
    try:
        return orjson.dumps(data, default=str).decode()
    except orjson.JSONEncodeError:
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
    data["unseen"] = frozenset(data.get("unseen") or ())
    data["helpdesk_sla"] = tuple(
        _load_verdict(v) for v in data.get("helpdesk_sla") or () if isinstance(v, dict)
    )
    return Ticket(**data)


def _person(person: Person | None) -> dict[str, Any] | None:
    return {"id": person.id, "name": person.name, "email": person.email} if person else None


def _org(org: Organization | None) -> dict[str, Any] | None:
    return {"id": org.id, "name": org.name, "domain": org.domain} if org else None


def _verdict(verdict: HelpdeskSla) -> dict[str, Any]:
    fields = {name: getattr(verdict, name) for name in HelpdeskSla.__dataclass_fields__}
    fields["due"] = verdict.due.isoformat() if verdict.due else None
    return fields


def _load_verdict(fields: dict[str, Any]) -> HelpdeskSla:
    # Snapshots written before verdicts were kept hold their text instead: skipped above.
    due = fields.get("due")
    return HelpdeskSla(**{**fields, "due": datetime.fromisoformat(due) if due else None})
