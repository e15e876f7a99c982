"""The state store: cursors, fingerprints, dead letters; on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from syncd.errors import ConfigError
from syncd.state import open_store


def test_cursor_and_fingerprints_survive_reopen(state_url: str):
    url = state_url
    store = open_store(url)
    assert store.get_cursor("zendesk") is None
    store.set_cursor("zendesk", "abc")
    store.set_cursor("zendesk", "def")
    store.save_fingerprints("sheets", {str(i): f"fp{i}" for i in range(1200)})
    store.save_fingerprints("sheets", {"5": "changed"})
    again = open_store(url)
    assert again.get_cursor("zendesk") == "def"
    found = again.fingerprints("sheets", [str(i) for i in range(1300)])
    assert len(found) == 1200 and found["5"] == "changed" and found["7"] == "fp7"
    assert again.fingerprints("hubspot", ["5"]) == {}


def test_dead_letter_parked_twice_counts_attempts(state_url: str):
    store = open_store(state_url)
    store.add_dead_letter("hubspot", "9", "bad value", {"a": 1})
    store.add_dead_letter("hubspot", "9", "still bad", {"a": 2})
    (letter,) = store.dead_letters()
    assert letter["reason"] == "still bad" and letter["attempts"] == 2


def test_bad_url_is_a_config_error():
    with pytest.raises(ConfigError, match=r"state\.url"):
        open_store("not a url")
