"""A Freshdesk rating older than the source's look-back is not lost when its ticket changes
after a restart: the source says it may have missed the rating (csat_known False) and the
pipeline keeps the score it stored before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncd.sandbox import FRESHDESK_API_KEY, SPREADSHEET_ID, Sandbox
from tests.conftest import RULES, Syncd, write_config


def _syncd(sandbox: Sandbox, tmp_path: Path) -> Syncd:
    """A new syncd process on the same state: a new source, with no ratings in memory."""
    key = sandbox.write_service_account(tmp_path / "sa.json")
    data = sandbox.config(
        f"sqlite:///{tmp_path / 'state.db'}", str(RULES), key, helpdesk="freshdesk"
    )
    syncd = Syncd(write_config(tmp_path / "syncd.yaml", data))
    syncd.setup()
    return syncd


def _csat_shown(sandbox: Sandbox, ticket_id: int) -> str:
    header, *rows = sandbox.sheets.values(SPREADSHEET_ID, "Tickets")
    (row,) = [r for r in rows if r[0] == str(ticket_id)]
    return row[header.index("CSAT")]


def test_an_old_rating_survives_a_restart_and_a_later_change(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("FRESHDESK_API_KEY", FRESHDESK_API_KEY)
    for name, url in sandbox.slack_webhooks().items():
        monkeypatch.setenv(name, url)
    fd = sandbox.freshdesk
    long_ago = datetime.now(UTC) - timedelta(days=40)  # before the 30-day ratings look-back
    ticket = fd.add_ticket(
        "Refund arrived, thanks", requester_email="ana@globex.example", created_at=long_ago
    )["id"]
    fd.resolve(ticket, at=long_ago + timedelta(hours=1))
    fd.add_rating(ticket, 103, "Great help", at=long_ago + timedelta(hours=2))
    _syncd(sandbox, tmp_path).once()
    assert _csat_shown(sandbox, ticket) == "5.0"

    fd.update_ticket(ticket, priority=2)  # a change long after the rating
    restarted = _syncd(sandbox, tmp_path)
    report = restarted.once()
    assert report.pulled == 1
    assert _csat_shown(sandbox, ticket) == "5.0", "the stored score is kept"
    stored = restarted.parts.store.snapshots([str(ticket)])[str(ticket)]
    assert (stored.csat, stored.csat_comment) == (5.0, "Great help")
