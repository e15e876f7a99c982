"""The Zendesk source reads each answer's JSON once and normalises straight from its dicts
(issue 17): requester, organization, assignee and group come from the answer's own sideloads,
metrics from its `metric_sets`, with no zenpy object mapping and nothing in zenpy's cache;
the requests are the ones zenpy's `incremental()` sent."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors.zendesk import SIDELOADS, ZendeskSource
from syncd.config import ZendeskConfig
from syncd.errors import TransientError
from syncd.model import Status
from syncd.sandbox import zendesk_data
from syncd.sandbox.zendesk import ZendeskApp
from tests.sandbox.serving import serving

EMAIL = "ops@acme.test"
TOKEN = "sideloads-token"


@pytest.fixture
def zendesk() -> Iterator[tuple[ZendeskApp, ZendeskSource]]:
    app = ZendeskApp(email=EMAIL, token=TOKEN)
    with serving(app) as server:
        config = ZendeskConfig(subdomain="acme", email=EMAIL, base_url=server.base_url, page_size=2)
        yield app, ZendeskSource(config, TOKEN, attempts=1)


def _urls(source: ZendeskSource) -> list[str]:
    sent: list[str] = []
    source.client.tickets.session.hooks["response"].append(
        lambda response, *_a, **_k: sent.append(response.request.url)
    )
    return sent


def test_tickets_are_normalised_from_the_answers_sideloads(
    zendesk: tuple[ZendeskApp, ZendeskSource],
) -> None:
    app, source = zendesk
    org = app.add_organization("Globex", "globex.example.com")
    agent = app.add_user("Ivy Agent", "ivy.agent@acme.test", role="agent")
    assigned = app.add_ticket(
        "Invoice wrong",
        requester_email="ann@globex.example.com",
        requester_name="Ann Lee",
        organization=org["id"],
        assignee_id=agent["id"],
        group_id=zendesk_data.GROUPS["billing"],
    )
    app.reply(assigned["id"])
    plain = app.add_ticket("Hello", requester_email="bo@example.org")
    spam = app.add_ticket("Cheap pills", requester_email="spam@example.net")
    app.mark_spam(spam["id"])

    pages = list(source.pull(None))
    tickets = {t.id: t for page in pages for t in page.tickets}

    assert len(pages) == 2, "page_size 2: two tickets, then the rest in the cursor's answer"
    one = tickets[str(assigned["id"])]
    assert (one.requester.name, one.requester.email) == ("Ann Lee", "ann@globex.example.com")
    assert (one.organization.name, one.organization.domain) == ("Globex", "globex.example.com")
    assert (one.assignee_id, one.assignee_name) == (str(agent["id"]), "Ivy Agent")
    assert (one.group_name, one.replies_known, one.first_response_at is not None) == (
        "Billing",
        True,
        True,
    )
    other = tickets[str(plain["id"])]
    assert other.organization is None and other.assignee_name == "" and other.group_id is None
    # Deleted with its requester suspended (the users sideload says so): marked as spam.
    assert tickets[str(spam["id"])].status is Status.SPAM
    # zenpy caches every object it maps: an empty cache is no object mapped.
    for kind in ("ticket", "user", "organization", "group"):
        assert len(source.client.cache.mapping[kind].cache) == 0

    again = source.fetch([str(assigned["id"]), str(plain["id"])])
    assert again.tickets == [one, other] and again.rejected == []
    for kind in ("ticket", "user", "organization", "group"):
        assert len(source.client.cache.mapping[kind].cache) == 0


def test_the_requests_are_those_zenpy_sent(zendesk: tuple[ZendeskApp, ZendeskSource]) -> None:
    app, source = zendesk
    ids = [app.add_ticket(f"Ticket {n}")["id"] for n in range(3)]
    urls = _urls(source)
    list(source.pull(None))
    source.fetch([str(i) for i in ids])

    queries = [(urlsplit(u).path, parse_qs(urlsplit(u).query)) for u in urls]
    include = [",".join(SIDELOADS)]
    cursor = queries[0][1]
    assert queries[0] == (
        "/api/v2/incremental/tickets/cursor.json",
        {"start_time": ["0"], "per_page": ["2"], "include": include},
    )
    assert queries[1][0] == "/api/v2/incremental/tickets/cursor.json"
    assert set(queries[1][1]) == {"cursor", "include"}, "per_page with the first request only"
    assert queries[1][1]["include"] == include and cursor != queries[1][1]
    assert queries[2] == (
        "/api/v2/tickets/show_many.json",
        {"ids": [",".join(map(str, ids))], "include": include},
    )


class _ProxyPage(BaseHTTPRequestHandler):
    """What a proxy in front of Zendesk may answer: 200 with an HTML page."""

    def do_GET(self) -> None:
        body = b"<html><body>Please wait while we check your browser</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


def test_an_answer_without_json_is_transient() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ProxyPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        config = ZendeskConfig(subdomain="acme", email=EMAIL, base_url=base, page_size=2)
        source = ZendeskSource(config, TOKEN, attempts=1)
        with pytest.raises(TransientError, match="the ticket export with no JSON object"):
            next(source.pull(None))
        with pytest.raises(TransientError, match="show_many with no JSON object"):
            source.fetch(["1"])
    finally:
        server.shutdown()
        server.server_close()
