"""Issue acceptance: deleted, spam and merged tickets in the sheet and in HubSpot.

A gone ticket is never shown as open: by default (`gone_tickets: mark`) its row and CRM
ticket stay with status deleted/spam/merged, no SLA state, and the closed stage;
`sheets.gone_tickets: remove` deletes the row and `hubspot.gone_tickets: archive` archives
the CRM object, within the sinks' usual request budgets.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from ruamel.yaml import YAML

from connectors.hubspot import HubSpotSink
from connectors.sheets import SheetsSink
from syncd.config import HubSpotConfig, load_config
from syncd.errors import ConfigError
from syncd.model import Decision, SlaStatus, SlaTarget, Status, Ticket
from syncd.pipeline import fingerprint
from syncd.sandbox import HUBSPOT_TOKEN, SPREADSHEET_ID, Sandbox
from syncd.sheet_columns import ticket_columns
from tests.conftest import Syncd, write_config

COLUMNS = [c.title for c in ticket_columns(None, "UTC")]  # the default Tickets columns
STATUS = COLUMNS.index("Status")
SLA_COLUMNS = [
    COLUMNS.index(c) for c in ("SLA", "First response due (UTC)", "Resolution due (UTC)")
]
ESCALATION = COLUMNS.index("Escalation")
NOTES = len(COLUMNS)  # a manager's own column, right of syncd's
OPEN_STATUSES = {"new", "open", "pending", "on_hold"}


def sheet_rows(sandbox: Sandbox) -> list[list[str]]:
    return sandbox.sheets.values(SPREADSHEET_ID, "Tickets")


def rows_by_id(sandbox: Sandbox) -> dict[str, list[str]]:
    return {row[0]: row for row in sheet_rows(sandbox)[1:]}


def hubspot_by_id(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    """Live (unarchived) HubSpot tickets by helpdesk id."""
    return {
        t["properties"]["helpdesk_ticket_id"]: t["properties"]
        for t in sandbox.hubspot.objects("tickets")
    }


def sinks_requests(sandbox: Sandbox, api: str) -> list[tuple[str, str]]:
    """(method, path) of the requests one API served since the counters were reset."""
    with sandbox.server.lock:
        return [(method, path) for name, method, path, _ in sandbox.server.log if name == api]


def archived_ids(syncd: Syncd) -> set[str]:
    """Helpdesk ids of the archived HubSpot tickets, as the API lists them."""
    hubspot = next(s for s in syncd.parts.sinks if isinstance(s, HubSpotSink))
    page = hubspot.client.crm.tickets.basic_api.get_page(
        limit=100, properties=["helpdesk_ticket_id"], archived=True
    )
    return {t.properties["helpdesk_ticket_id"] for t in page.results}


def configured(config_path: Path, tmp_path: Path, **gone: str) -> Syncd:
    """A syncd whose config sets `<sink>.gone_tickets` as given, with HubSpot set up."""
    data = YAML().load(config_path.read_text())
    for sink, choice in gone.items():
        data[sink]["gone_tickets"] = choice
    syncd = Syncd(write_config(tmp_path / "gone.yaml", data))
    syncd.setup()
    return syncd


def add_tickets(sandbox: Sandbox, count: int) -> list[str]:
    """`count` new tickets, ids as strings."""
    return [
        str(
            sandbox.zendesk.add_ticket(
                subject=f"Cannot log in ({i})",
                description="the login page spins",
                requester_email=f"user{i}@globex.example",
                requester_name=f"User {i}",
            )["id"]
        )
        for i in range(count)
    ]


def make_gone(sandbox: Sandbox, ids: list[str]) -> tuple[str, str, str]:
    """Delete ids[0], mark ids[1] as spam, merge ids[2] into ids[3]; returns the three."""
    deleted, spam, merged, target = ids[:4]
    sandbox.zendesk.delete_ticket(int(deleted))
    sandbox.zendesk.mark_spam(int(spam))
    sandbox.zendesk.merge(int(target), [int(merged)])
    return deleted, spam, merged


def test_mark_by_default_keeps_gone_tickets_closed_and_never_open(sandbox: Sandbox, syncd: Syncd):
    ids = add_tickets(sandbox, 6)
    syncd.once()
    assert all(rows_by_id(sandbox)[i][SLA_COLUMNS[0]] for i in ids), "open tickets have an SLA"
    deleted, spam, merged = make_gone(sandbox, ids)
    sandbox.reset_counts()

    report = syncd.once()
    assert report.errors == 0
    counts = sandbox.counts()
    assert counts["sheets"] == 2 and counts["hubspot"] == 1, counts
    rows = rows_by_id(sandbox)
    assert len(rows) == 6, "mark keeps every row"
    expected = {deleted: "deleted", spam: "spam", merged: "merged"}
    hubspot = hubspot_by_id(sandbox)
    for key, status in expected.items():
        row = rows[key]
        assert row[STATUS] == status and row[STATUS] not in OPEN_STATUSES
        assert [row[c] for c in SLA_COLUMNS] == ["", "", ""], f"#{key} shows an SLA: {row}"
        assert row[ESCALATION] == ""
        crm = hubspot[key]
        assert crm["hs_pipeline_stage"] == "4", "the closed stage"
        assert crm["helpdesk_status"] == status
        assert not crm.get("syncd_sla_state")
        assert not crm.get("syncd_first_response_due") and not crm.get("syncd_resolution_due")
    for key in ids[3:]:
        assert rows[key][STATUS] in OPEN_STATUSES and rows[key][SLA_COLUMNS[0]]


def test_remove_and_archive_drop_gone_tickets_in_one_sheet_write(
    sandbox: Sandbox, config_path: Path, tmp_path: Path
):
    syncd = configured(config_path, tmp_path, sheets="remove", hubspot="archive")
    ids = add_tickets(sandbox, 8)
    syncd.once()
    # A manager sorts the tab (newest first) and keeps notes in a column of their own.
    rows = sheet_rows(sandbox)
    body = sorted(rows[1:], key=lambda r: -int(r[0]))
    sandbox.sheets.set_values(SPREADSHEET_ID, "Tickets", [rows[0], *body])
    notes = [["Notes"], *[[f"note for {r[0]}"] for r in body]]
    sandbox.sheets.set_values(SPREADSHEET_ID, "Tickets", notes, start=(0, NOTES))
    deleted, spam, merged = make_gone(sandbox, ids)
    sandbox.zendesk.update_ticket(int(ids[5]), subject="Cannot log in, still")
    sandbox.reset_counts()

    report = syncd.once()
    assert report.errors == 0
    assert report.sinks["sheets"].written == report.sinks["sheets"].changed
    assert sinks_requests(sandbox, "sheets") == [
        ("GET", f"/v4/spreadsheets/{SPREADSHEET_ID}"),
        ("POST", f"/v4/spreadsheets/{SPREADSHEET_ID}:batchUpdate"),
    ]
    # HubSpot: one upsert, one look-up of the gone tickets' object ids, one archive.
    assert sorted(path.rsplit("/", 1)[1] for _, path in sinks_requests(sandbox, "hubspot")) == [
        "archive",
        "read",
        "upsert",
    ]
    rows = sheet_rows(sandbox)
    gone = {deleted, spam, merged}
    assert rows[0][: len(COLUMNS)] == COLUMNS and rows[0][NOTES] == "Notes"
    assert [r[0] for r in rows[1:]] == [r[0] for r in body if r[0] not in gone], "order kept"
    for row in rows[1:]:
        assert row[NOTES] == f"note for {row[0]}", "a manager's column stays with its row"
        assert row[STATUS] in OPEN_STATUSES
    assert next(r for r in rows if r[0] == ids[5])[1] == "Cannot log in, still"
    assert set(hubspot_by_id(sandbox)) == set(ids) - gone
    assert archived_ids(syncd) == gone

    sandbox.reset_counts()
    idle = syncd.once()
    assert idle.changed == 0, "gone tickets were accepted, not retried"
    assert "sheets" not in sandbox.counts() and "hubspot" not in sandbox.counts()


def test_a_gone_ticket_never_synced_is_not_appended_nor_looked_for_twice(
    sandbox: Sandbox, config_path: Path, tmp_path: Path
):
    syncd = configured(config_path, tmp_path, sheets="remove", hubspot="archive")
    kept = add_tickets(sandbox, 2)
    syncd.once()
    (short_lived,) = add_tickets(sandbox, 1)
    sandbox.zendesk.delete_ticket(int(short_lived))
    sandbox.reset_counts()

    report = syncd.once()
    assert report.errors == 0 and report.sinks["sheets"].written == 1
    assert [r[0] for r in sheet_rows(sandbox)[1:]] == kept
    # The sheet is read, and nothing needs writing; HubSpot is asked and holds nothing.
    assert sinks_requests(sandbox, "sheets") == [("GET", f"/v4/spreadsheets/{SPREADSHEET_ID}")]
    assert [p.rsplit("/", 1)[1] for _, p in sinks_requests(sandbox, "hubspot")] == ["read"]
    assert set(hubspot_by_id(sandbox)) == set(kept)


def ticket(key: str, status: Status, **fields: Any) -> Ticket:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    return Ticket(
        id=key,
        source="zendesk",
        subject=f"Refund for order {key}",
        description="charged twice",
        status=status,
        created_at=at,
        updated_at=at,
        **fields,
    )


def breached() -> Decision:
    """What the rules may still say about a ticket merged away late: breached, escalated."""
    due = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    target = SlaTarget(due=due, left=timedelta(hours=-2), used=1.5, breached=True)
    sla = SlaStatus("Standard", "business", target, SlaTarget(due=due + timedelta(days=2)))
    return Decision("Billing", "High", sla=sla, escalation_level=2, escalation_name="Manager")


def test_sheet_row_of_a_gone_ticket_says_what_happened_without_sla(syncd: Syncd):
    sheets = next(s for s in syncd.parts.sinks if isinstance(s, SheetsSink))
    open_row = sheets.render(ticket("7", Status.OPEN), breached()).payload["row"]
    assert open_row[SLA_COLUMNS[0]] == "breached" and open_row[ESCALATION] == "Manager"
    for status, merged_into, shown in [
        (Status.MERGED, "123", "merged into #123"),
        (Status.MERGED, None, "merged"),
        (Status.SPAM, None, "spam"),
        (Status.DELETED, None, "deleted"),
    ]:
        gone = ticket("7", status, merged_into=merged_into)
        row = sheets.render(gone, breached()).payload["row"]
        assert row[STATUS] == shown
        assert [row[c] for c in SLA_COLUMNS] == ["", "", ""] and row[ESCALATION] == ""


def test_hubspot_puts_gone_tickets_in_the_closed_stage_even_when_stages_omit_them():
    config = HubSpotConfig(stages={"new": "1", "open": "3", "closed": "4"})
    sink = HubSpotSink(config, HUBSPOT_TOKEN)
    assert sink.render(ticket("7", Status.OPEN), breached()).payload["hs_pipeline_stage"] == "3"
    for status in (Status.MERGED, Status.SPAM, Status.DELETED):
        props = sink.render(ticket("7", status), breached()).payload
        assert props["hs_pipeline_stage"] == "4" and props["helpdesk_status"] == status.value
        assert props["syncd_sla_state"] == "" and props["syncd_escalation_level"] == "0"


def test_a_restored_ticket_comes_back(sandbox: Sandbox, config_path: Path, tmp_path: Path):
    syncd = configured(config_path, tmp_path, sheets="remove", hubspot="archive")
    add_tickets(sandbox, 2)
    syncd.once()
    live = ticket("900", Status.OPEN)
    gone = ticket("900", Status.DELETED)
    decision = Decision("Billing", "Medium")
    for sink in syncd.parts.sinks:
        records = {s: sink.render(t, decision) for s, t in (("live", live), ("gone", gone))}
        assert fingerprint(records["live"].payload) != fingerprint(records["gone"].payload)
        for step in ("live", "gone", "live"):  # synced, deleted, restored in the helpdesk
            result = sink.write([records[step]])
            assert result.accepted == ["900"] and not result.rejected
            in_sheet = "900" in rows_by_id(sandbox)
            in_crm = "900" in hubspot_by_id(sandbox)
            assert (in_sheet if sink.name == "sheets" else in_crm) is (step == "live")
    assert [r[0] for r in sheet_rows(sandbox)].count("900") == 1


def test_gone_ticket_choices_are_validated(tmp_path: Path, config_path: Path):
    data = YAML().load(config_path.read_text())
    data["sheets"]["gone_tickets"] = "archive"  # HubSpot's word, not the sheet's
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path / "bad.yaml", data))
    assert "sheets.gone_tickets" in str(info.value)
    assert load_config(config_path).sheets.gone_tickets == "mark"
    assert load_config(config_path).hubspot.gone_tickets == "mark"


def test_hubspot_request_count_for_many_gone_tickets(
    sandbox: Sandbox, config_path: Path, tmp_path: Path
):
    syncd = configured(config_path, tmp_path, hubspot="archive")
    hubspot = next(s for s in syncd.parts.sinks if isinstance(s, HubSpotSink))
    decision = Decision("General", "Low")
    tickets = [ticket(str(n), Status.OPEN) for n in range(1000, 1250)]
    hubspot.write([hubspot.render(t, decision) for t in tickets])
    sandbox.reset_counts()
    # 150 of them deleted, plus 30 gone ones HubSpot never had.
    gone = [ticket(t.id, Status.DELETED) for t in tickets[:150]]
    gone += [ticket(str(n), Status.SPAM) for n in range(5000, 5030)]
    result = hubspot.write([hubspot.render(t, decision) for t in gone])
    assert len(result.accepted) == 180 and not result.rejected
    k = len(gone)
    assert sandbox.counts()["hubspot"] <= 2 * math.ceil(k / 100)
    assert len(hubspot_by_id(sandbox)) == 100


class LostFirstResponse:
    """Google's HTTP client, except that the first `:batchUpdate` is applied and its response
    lost (a timeout after Google committed it): the retry must not delete rows again."""

    def __init__(self, http: Any) -> None:
        self.http = http
        self.lost = 0

    def batch_update(self, spreadsheet_id: str, body: dict[str, Any]) -> Any:
        answer = self.http.batch_update(spreadsheet_id, body)
        if not self.lost:
            self.lost += 1
            raise requests.ConnectionError("read timed out")
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.http, name)


def test_a_lost_response_does_not_remove_other_rows(
    sandbox: Sandbox, config_path: Path, tmp_path: Path
):
    syncd = configured(config_path, tmp_path, sheets="remove")
    ids = add_tickets(sandbox, 6)
    syncd.once()
    sheets = next(s for s in syncd.parts.sinks if isinstance(s, SheetsSink))
    sheets.http = LostFirstResponse(sheets.http)
    deleted, spam, merged = make_gone(sandbox, ids)
    sandbox.reset_counts()

    report = syncd.once()
    assert report.errors == 0 and sheets.http.lost == 1
    # The retry read the tab again: the rows were gone already, so nothing else was deleted.
    assert [r[0] for r in sheet_rows(sandbox)[1:]] == [
        i for i in ids if i not in {deleted, spam, merged}
    ]
    # After the fresh read no row was left to delete: the retry sent no batch, only the
    # report tabs' cells (an idempotent rewrite).
    sent = [p.rsplit("/", 1)[1] for _, p in sinks_requests(sandbox, "sheets")]
    batch, values = f"{SPREADSHEET_ID}:batchUpdate", "values:batchUpdate"
    assert sent == [SPREADSHEET_ID, batch, SPREADSHEET_ID, values]
    assert "deleteDimension" in sandbox.sheets.batches(SPREADSHEET_ID)[-1], "the lost one"
