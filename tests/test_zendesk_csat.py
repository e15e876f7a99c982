"""Zendesk's updated CSAT: 2-, 3- or 5-point scales whose ticket `satisfaction_rating` only
says good or bad (on 5 points, 1-3 are bad); the real score is in the CSAT Survey Responses
API (GET /api/v2/guide/survey_responses, developer.zendesk.com/api-reference/ticketing/
ticket-management/csat_survey_responses/). syncd reads it where the account has it, keeps
good/bad where it has not, and says which scale a score came from (Ticket.csat_scale);
Ticket.csat stays on syncd's 1-5 scale."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from syncd.model import Ticket
from syncd.sandbox import SPREADSHEET_ID, ZENDESK_EMAIL, ZENDESK_TOKEN, Sandbox
from syncd.sandbox.zendesk_surveys import binary
from tests.conftest import Syncd

SURVEYS = "/api/v2/guide/survey_responses"


def _solved(sandbox: Sandbox, n: int) -> int:
    ticket = sandbox.zendesk.add_ticket(
        subject=f"Question {n}", requester_email=f"r{n}@initech.example", status="solved"
    )
    return int(ticket["id"])


def _pulled(syncd: Syncd) -> dict[str, Ticket]:
    source: Any = syncd.parts.source
    return {t.id: t for page in source.pull(None) for t in page.tickets}


def _csat_cell(sandbox: Sandbox, ticket_id: int) -> str:
    rows = sandbox.sheets.values(SPREADSHEET_ID, "Tickets")
    column = rows[0].index("CSAT")
    (row,) = [r for r in rows[1:] if r[0] == str(ticket_id)]
    return row[column] if column < len(row) else ""


@pytest.mark.parametrize(
    ("scale", "rating", "score"),
    [(5, 3, 3.0), (5, 1, 1.0), (5, 4, 4.0), (3, 2, 3.0), (3, 3, 5.0), (2, 1, 1.0), (2, 2, 5.0)],
)
def test_the_survey_score_is_read_on_its_scale(
    sandbox: Sandbox, syncd: Syncd, scale: int, rating: int, score: float
) -> None:
    sandbox.zendesk.use_updated_csat(scale)
    ticket_id = _solved(sandbox, 1)
    sandbox.zendesk.answer_survey(ticket_id, rating, comment="Took a while")
    assert sandbox.zendesk.tickets()[0]["satisfaction_rating"]["score"] == binary(rating, scale)
    ticket = _pulled(syncd)[str(ticket_id)]
    assert (ticket.csat, ticket.csat_scale) == (score, scale)
    assert ticket.csat_comment == "Took a while" and ticket.csat_at is not None


def test_a_three_out_of_five_is_never_shown_as_one(sandbox: Sandbox, syncd: Syncd) -> None:
    sandbox.zendesk.use_updated_csat(5)
    ticket_id = _solved(sandbox, 1)
    sandbox.zendesk.answer_survey(ticket_id, 3)
    report = syncd.once()
    assert report.pulled == 1
    assert _csat_cell(sandbox, ticket_id) in ("3", "3.0")


def test_legacy_good_bad_is_kept_and_idle_cycles_cost_one_request(
    sandbox: Sandbox, syncd: Syncd
) -> None:
    good, bad = _solved(sandbox, 1), _solved(sandbox, 2)
    sandbox.zendesk.rate(good, "good")
    sandbox.zendesk.rate(bad, "bad", comment="No answer")
    tickets = _pulled(syncd)
    assert (tickets[str(good)].csat, tickets[str(good)].csat_scale) == (5.0, 2)
    assert (tickets[str(bad)].csat, tickets[str(bad)].csat_scale) == (1.0, 2)
    syncd.once()
    sandbox.reset_counts()
    syncd.once()  # nothing changed
    assert sandbox.counts() == {"zendesk": 1}


def test_one_survey_request_per_page_of_rated_tickets_none_when_idle(
    sandbox: Sandbox, syncd: Syncd
) -> None:
    sandbox.zendesk.use_updated_csat(5)
    for n in range(5):
        sandbox.zendesk.answer_survey(_solved(sandbox, n), 1 + n)
    _solved(sandbox, 9)  # not rated
    sandbox.reset_counts()
    syncd.once()
    surveys = [a for a in sandbox.arrivals("zendesk") if a.path == SURVEYS]
    assert len(surveys) == 1
    sandbox.reset_counts()
    syncd.once()
    assert sandbox.counts() == {"zendesk": 1}, "an idle cycle asks for no survey"


def test_the_emulator_lists_survey_responses_as_documented(sandbox: Sandbox) -> None:
    sandbox.zendesk.use_updated_csat(5)
    ids = [_solved(sandbox, n) for n in range(3)]
    for n, ticket_id in enumerate(ids):
        sandbox.zendesk.answer_survey(ticket_id, 5 - n)
    auth = (f"{ZENDESK_EMAIL}/token", ZENDESK_TOKEN)
    wanted = ",".join(f"zen:ticket:{i}" for i in ids[:2])
    first = requests.get(
        sandbox.url + SURVEYS,
        params={"filter[subject_zrns]": wanted, "page[size]": 1},
        auth=auth,
        timeout=5,
    ).json()
    (response,) = first["survey_responses"]
    assert response["subjects"] == [
        {"id": str(ids[0]), "type": "ticket", "zrn": f"zen:ticket:{ids[0]}"}
    ]
    answer = response["answers"][0]
    assert (answer["type"], answer["rating"], answer["rating_category"]) == (
        "rating_scale",
        5,
        "good",
    )
    assert answer["question"]["sub_type"] == "customer_satisfaction"
    assert first["meta"]["has_more"] is True
    second = requests.get(first["links"]["next"], auth=auth, timeout=5).json()
    assert [r["subject_zrns"] for r in second["survey_responses"]] == [[f"zen:ticket:{ids[1]}"]]
    assert second["meta"]["has_more"] is False
    assert requests.get(sandbox.url + SURVEYS, timeout=5).status_code == 401
