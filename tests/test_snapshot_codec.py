"""Snapshots (syncd.state.codec) and Zendesk pages are JSON read and written with orjson, with
json where orjson refuses what JSON allows: a lone surrogate, which a `\\ud83d` escape in a
ticket's text carries in. Such a ticket is kept, not lost."""

from __future__ import annotations

import json
from dataclasses import replace

from connectors.zendesk import _json
from syncd.model import HelpdeskSla, Person
from syncd.state.codec import dump_ticket, load_ticket
from tests.sheets_support import NOW, ticket


def test_a_snapshot_is_the_compact_json_it_always_was() -> None:
    t = replace(ticket(7, subject="Überweisung — ☕"), requester=Person("1", "Ana", "a@x.test"))
    text = dump_ticket(t)
    assert json.loads(text) == json.loads(
        json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
    )
    assert ", " not in text and "Überweisung — ☕" in text
    assert load_ticket(text) == t


def test_a_lone_surrogate_is_kept() -> None:
    page = _json(b'{"tickets": [{"id": 1, "subject": "broken \\ud83d emoji"}]}')
    subject = page["tickets"][0]["subject"]
    assert subject == "broken \ud83d emoji"
    t = ticket(8, subject=subject)
    assert load_ticket(dump_ticket(t)).subject == subject


def test_ordinary_pages_decode_as_json_does() -> None:
    body = b'{"tickets": [{"id": 1, "n": 1.5, "ok": true, "x": null}], "end_of_stream": false}'
    assert _json(body) == json.loads(body)


def test_what_the_sla_clocks_and_sla_check_read_survives_a_snapshot() -> None:
    """`unseen` and the helpdesk's own verdicts came back as text ("frozenset(...)",
    "HelpdeskSla(...)") before: a timer's re-evaluation read them from the snapshot."""
    verdict = HelpdeskSla("first_response", "first_reply_time", "active", NOW, None, "Gold", True)
    t = ticket(9, unseen=frozenset({"next_reply", "periodic_update"}), helpdesk_sla=(verdict,))
    assert load_ticket(dump_ticket(t)) == t
