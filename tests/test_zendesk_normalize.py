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


def test_metrics_give_reply_and_solve_times_and_reopens():
    metrics = {
        "ticket_id": 42,
        "replies": 2,
        "reopens": 1,
        "reply_time_in_minutes": {"calendar": 90, "business": 30},
        "solved_at": "2026-11-02T09:00:00Z",
    }
    ticket = normalize({**BASE, "status": "solved"}, None, None, "", metrics=metrics)
    assert ticket.replies_known
    assert ticket.first_response_at.isoformat() == "2026-11-01T11:30:00+00:00"
    assert ticket.solved_at.isoformat() == "2026-11-02T09:00:00+00:00"
    assert ticket.reopens == 1


def test_without_replies_there_is_no_first_response_and_without_metrics_it_is_unknown():
    unanswered = normalize(BASE, None, None, "", metrics={"replies": 0})
    assert unanswered.replies_known and unanswered.first_response_at is None
    unknown = normalize(BASE, None, None, "")
    assert not unknown.replies_known


def test_lifecycle_merged_spam_and_deleted():
    merged = normalize({**BASE, "status": "closed", "tags": ["closed_by_merge"]}, None, None, "")
    assert merged.status is Status.MERGED and not merged.status.is_open
    spam = normalize({**BASE, "status": "deleted"}, None, None, "", requester_suspended=True)
    assert spam.status is Status.SPAM
    deleted = normalize({**BASE, "status": "deleted"}, None, None, "")
    assert deleted.status is Status.DELETED


def test_csat_and_named_custom_fields():
    raw = {**BASE, "satisfaction_rating": {"score": "bad", "comment": "Too slow"}}
    ticket = normalize(raw, None, None, "", custom_names={"plan": "360001"})
    assert (ticket.csat, ticket.csat_comment) == (1.0, "Too slow")
    assert ticket.csat_at == ticket.updated_at
    assert ticket.custom_fields["plan"] == "gold"
    offered = normalize({**BASE, "satisfaction_rating": {"score": "offered"}}, None, None, "")
    assert offered.csat is None and offered.csat_at is None
