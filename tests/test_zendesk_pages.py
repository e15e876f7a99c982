"""Export pages and `max_tickets_per_cycle`. zenpy sends `per_page` only with the first
export request: later pages are built from the cursor and `include` alone (zenpy
lib/endpoint.py, PrimaryEndpoint.__call__ knows no per_page), so Zendesk answers them with
its default of 1,000 tickets. A cycle must still stop near max_tickets_per_cycle, and a cycle
that stops inside a fetched page must resume where it stopped: nothing lost, nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from connectors.zendesk import _slices
from syncd.model import Status, Ticket
from syncd.ports import Page
from syncd.sandbox import SPREADSHEET_ID, Sandbox
from tests.conftest import Syncd, write_config

EXPORT = "/api/v2/incremental/tickets/cursor"


def _configured(config_path: Path, **top: object) -> Syncd:
    data = YAML().load(config_path.read_text())
    data["helpdesk"]["page_size"] = 50
    data.update(top)
    syncd = Syncd(write_config(config_path, data))
    syncd.setup()
    return syncd


@pytest.mark.slow
def test_max_tickets_per_cycle_holds_with_small_pages(sandbox: Sandbox, config_path: Path) -> None:
    sandbox.zendesk.generate(500, seed=3)
    syncd = _configured(config_path, max_tickets_per_cycle=120)
    sandbox.reset_counts()
    reports = [syncd.once()]
    while reports[-1].more and len(reports) < 20:
        reports.append(syncd.once())
    for report in reports:
        # The pipeline stops between pages; a page the source hands over holds at most
        # page_size tickets, however many Zendesk sent in one answer.
        assert report.pulled < 120 + 50, [r.pulled for r in reports]
    rows = sandbox.sheets.values(SPREADSHEET_ID, "Tickets")[1:]
    ids = [row[0] for row in rows]
    assert len(ids) == len(set(ids)) == 500, "every ticket once, none lost"
    assert sum(r.pulled for r in reports) == 500, "none read twice"
    # A cycle that stopped inside a 1,000-ticket answer asks Zendesk again from where it
    # stopped: one export request per cycle, never more than pages * 2.
    exports = [a for a in sandbox.arrivals("zendesk") if a.path.startswith(EXPORT)]
    assert len(exports) <= 2 * len(reports)


def test_later_export_requests_carry_no_per_page(sandbox: Sandbox, config_path: Path) -> None:
    sandbox.zendesk.generate(120, seed=4)
    syncd = _configured(config_path)
    sandbox.reset_counts()
    report = syncd.once()
    assert report.pulled == 120
    exports = [a for a in sandbox.arrivals("zendesk") if a.path.startswith(EXPORT)]
    assert len(exports) == 2, "50 on the first page, the other 70 in the next answer"


def _ticket(number: int) -> Ticket:
    at = datetime(2026, 11, 2, tzinfo=UTC)
    return Ticket(str(number), "zendesk", "s", "", Status.OPEN, at, at)


def _sizes(stamps: list[int], size: int) -> list[tuple[int, str]]:
    page = Page([_ticket(i) for i in range(len(stamps))], "after", True)
    by_id = {str(i): stamp for i, stamp in enumerate(stamps)}
    return [(len(p.tickets), p.cursor) for p in _slices(page, by_id, size)]


def test_a_page_is_cut_only_where_a_start_time_resumes_exactly() -> None:
    assert _sizes([10, 11, 12, 13, 14], 2) == [
        (2, "start_time:12"),
        (2, "start_time:14"),
        (1, "after"),
    ]
    # Tickets sharing a second stay together: resuming at 11 would repeat the first two.
    assert _sizes([10, 11, 11, 11, 12], 2) == [(1 + 3, "start_time:12"), (1, "after")]
    # Out of order (10 after 12): no cut may leave an older ticket behind.
    assert _sizes([11, 12, 10, 13], 2) == [(3, "start_time:13"), (1, "after")]
    assert _sizes([12, 12, 12], 1) == [(3, "after")]
