"""Normalising Zendesk ticket JSON: tolerant of gaps, strict about what cannot be used."""

from __future__ import annotations

import pytest

from connectors.zendesk import normalize
from syncd.model import Person, Status

BASE = {
    "id": 42,
    "subject": "Help",
    "description": "desc",
    "status": "hold",
    "priority": "high",
    "tags": ["vip"],
    "via": {"channel": "email"},
    "custom_fields": [{"id": 360001, "value": "gold"}],
    "created_at": "2026-11-01T10:00:00Z",
    "updated_at": "2026-11-02T10:00:00Z",
}


def test_fields_are_normalised():
    ticket = normalize(
        BASE, Person("7", "Ann Lee", "ann@x.example"), None, "https://acme.zendesk.com"
    )
    assert ticket.id == "42" and ticket.status is Status.ON_HOLD
    assert ticket.channel == "email" and ticket.tags == ("vip",)
    assert ticket.custom_fields == {"360001": "gold"}
    assert ticket.url == "https://acme.zendesk.com/agent/tickets/42"
    assert ticket.requester.first_name == "Ann" and ticket.requester.domain == "x.example"


def test_nulls_become_empty():
    raw = {
        **BASE,
        "subject": None,
        "description": None,
        "tags": None,
        "via": None,
        "custom_fields": None,
        "priority": None,
    }
    ticket = normalize(raw, None, None, "")
    assert (ticket.subject, ticket.description, ticket.tags) == ("", "", ())
    assert ticket.helpdesk_priority is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "abc"}, "not a ticket number"),
        ({"status": "exploded"}, "unknown status"),
        ({"updated_at": "yesterday"}, "not an ISO-8601 time"),
        ({"created_at": None}, "created_at is missing"),
    ],
)
def test_unusable_tickets_are_rejected_with_a_reason(change, message):
    with pytest.raises(ValueError, match=message):
        normalize({**BASE, **change}, None, None, "")
