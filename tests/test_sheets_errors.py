"""Google Sheets errors as gspread reports them. Google's front end answers some 502/503
with an HTML page rather than the API's JSON error; gspread's APIError then carries
code -1 (gspread/exceptions.py, APIError.__init__), and only the HTTP response tells the
status. syncd must read that status: retry the write, and count it as an outage."""

from __future__ import annotations

import gspread
import pytest
import requests

from connectors.sheets import _translate
from syncd import retry
from syncd.errors import TransientError
from syncd.sandbox import SPREADSHEET_ID, Sandbox
from tests.conftest import Syncd


def test_an_html_502_is_retried_and_the_sheet_is_written(sandbox: Sandbox, syncd: Syncd) -> None:
    sandbox.zendesk.generate(3)
    sandbox.sheets.front_end_errors(502)
    report = syncd.once()
    assert report.sinks["sheets"].error is None
    assert report.sinks["sheets"].written == 3
    assert len(sandbox.sheets.values(SPREADSHEET_ID, "Tickets")) == 4
    statuses = [a.status for a in sandbox.arrivals("sheets")]
    assert statuses[0] == 502 and all(s < 300 for s in statuses[1:])


def test_an_html_503_counts_toward_the_circuit_breaker(sandbox: Sandbox, syncd: Syncd) -> None:
    retry.configure(failures=1, probe_interval=600)  # one failed call opens the circuit
    sandbox.zendesk.generate(5)
    for sink in syncd.parts.sinks:
        sink.attempts = 1
    sandbox.sheets.front_end_errors(503)
    report = syncd.once()
    assert report.sinks["sheets"].error and report.sinks["sheets"].backlog == 5
    sent = sandbox.counts().get("sheets", 0)
    report = syncd.once()  # the circuit is open: the sheet is not asked again
    assert "considered down" in (report.sinks["sheets"].error or "")
    assert sandbox.counts().get("sheets", 0) == sent
    assert report.sinks["sheets"].backlog == 5


def test_the_http_status_decides_when_the_body_is_not_json(sandbox: Sandbox) -> None:
    sandbox.sheets.front_end_errors(503)
    response = requests.get(f"{sandbox.url}/v4/spreadsheets/{SPREADSHEET_ID}", timeout=5)
    assert response.status_code == 503 and response.text.startswith("<!DOCTYPE html>")
    error = gspread.exceptions.APIError(response)
    assert error.code == -1  # what gspread makes of an HTML body
    translated = _translate(error)
    assert isinstance(translated, TransientError), translated
    assert "503" in str(translated)


@pytest.mark.parametrize("status", [400, 404])
def test_a_json_error_keeps_its_code(sandbox: Sandbox, status: int) -> None:
    response = requests.get(f"{sandbox.url}/v4/spreadsheets/nope", timeout=5)
    error = gspread.exceptions.APIError(response)
    assert error.code == response.status_code
    assert not isinstance(_translate(error), TransientError) or status >= 500
