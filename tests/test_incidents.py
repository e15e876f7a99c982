"""Incidents from ticket surges (issue 16, item 1): the rule section, the pure detection, and
the whole path in the sandbox (one alert, one note per affected company, the risk flag on
the tickets, the Incidents tab with the columns people fill), also across restarts."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from syncd.errors import RuleError
from syncd.incidents import OPEN, OVER, Signature, detect, incidents_report, stems
from syncd.rules import load_rules
from syncd.rules.incidents import IncidentRule
from syncd.sandbox import SPREADSHEET_ID, Sandbox
from tests.conftest import RULES, Syncd, write_config

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)

# "Login page returns error 503", as twelve customers write it.
SURGE = [
    ("Login page returns error 503", "When I open the login page I get error 503."),
    ("Error 503 on the login page", "Our users see a 503 error when they try to log in."),
    ("login page returning 503 errors", "Since a few minutes the login page returns 503."),
    ("Can't log in: login page gives error 503", "Service unavailable 503 on login."),
    ("503 error on login page", "Nobody in our team can log in, the page shows 503."),
    ("Login page error 503 Service Unavailable", ""),
    ("Getting error 503 at the login page", "Please help, login is broken."),
    ("Login page down - returns 503", "The login page returns a 503 error for everyone."),
    ("HTTP 503 error when opening the login page", ""),
    ("The login page returns error 503 again", "Same problem as this morning."),
    ("login page: error 503", "Cannot access our account."),
    ("Error 503 returned by login page", "Started around 10:05."),
]
# Thirty tickets about thirty other things.
OTHER = [
    ("Invoice for March is missing", "I cannot find the March invoice in billing."),
    ("How do I export my data to CSV?", ""),
    ("Feature request: dark mode", "Would love a dark mode."),
    ("Please update our billing address", "We moved offices."),
    ("Password reset email not received", "I requested a reset an hour ago."),
    ("Add a new user to our account", "Please add jane@acme.example"),
    ("Report is showing wrong totals", "The weekly report totals look off."),
    ("API rate limit question", "What is the rate limit for the API?"),
    ("Charged twice this month", "We were billed twice for March."),
    ("Cancel my subscription", "Please cancel at the end of the term."),
    ("Mobile app crashes on startup", "iOS 17, version 4.2"),
    ("Integration with Salesforce not syncing", "Contacts are not syncing since yesterday."),
    ("Change the owner of our workspace", ""),
    ("Can you extend our trial?", "We need two more weeks."),
    ("Upload fails for large files", "Files over 100 MB fail to upload."),
    ("Dashboard loads slowly", "It takes 30 seconds to load."),
    ("Two factor authentication setup", "How do I enable 2FA?"),
    ("Webhook deliveries delayed", "Our webhooks arrive minutes late."),
    ("Refund for duplicate payment", "Please refund the duplicate payment."),
    ("Translate the UI to German", "Do you support German?"),
    ("Search does not find old tickets", "Search results miss tickets older than a year."),
    ("Email notifications stopped", "We stopped getting email notifications."),
    ("SSO configuration with Okta", "Need help configuring SAML SSO."),
    ("Delete my account", "Please delete all my data (GDPR)."),
    ("Wrong time zone in reports", "Reports show UTC instead of CET."),
    ("Calendar sync duplicates events", "Every event appears twice."),
    ("Need a copy of the contract", ""),
    ("Printer friendly invoices", "Can invoices be printed on one page?"),
    ("Error when saving a form", "Saving the contact form gives an error."),
    ("Login with Google not working", "The Google sign in button does nothing."),
]


def default_rule() -> IncidentRule:
    (rule,) = load_rules(RULES).incidents
    return rule


def sig(ticket: str, subject: str, description: str, at: datetime, org: str) -> Signature:
    return Signature(
        ticket,
        at,
        org,
        org.title(),
        "Technical",
        subject,
        stems={
            "english": (stems(subject, "english"), stems(f"{subject}\n{description}", "english"))
        },
    )


def surge(start: datetime = NOW - timedelta(minutes=20)) -> list[Signature]:
    """The twelve, from six organizations, within 20 minutes (100 s apart)."""
    return [
        sig(str(i + 1), s, d, start + timedelta(seconds=100 * i), f"org{i % 6}")
        for i, (s, d) in enumerate(SURGE)
    ]


def others(start: datetime = NOW - timedelta(minutes=20)) -> list[Signature]:
    return [
        sig(str(100 + i), s, d, start + timedelta(seconds=40 * i), f"other{i}")
        for i, (s, d) in enumerate(OTHER)
    ]


# -- the default rule --------------------------------------------------------------------------


def test_the_default_rules_ship_the_sops_incident_rule():
    rule = default_rule()
    assert (rule.count, rule.window, rule.organizations) == (5, timedelta(minutes=30), 3)
    assert rule.notify == ("slack:#incidents", "webhook:oncall")
    assert rule.same == "text" and rule.same_category and rule.where.startswith(str(RULES))


# -- detection, pure ----------------------------------------------------------------------------


def test_twelve_reports_of_one_problem_among_thirty_others_make_one_incident():
    changes = detect([*surge(), *others()], default_rule(), NOW)
    (incident,) = changes.started
    assert sorted(incident.tickets, key=int) == [str(n) for n in range(1, 13)]
    assert incident.title == "Login page error 503"
    assert (incident.first_ticket, incident.latest_ticket) == ("1", "12")
    assert len(incident.organizations) == 6 and incident.state == OPEN
    assert not changes.joined and not changes.ended


def test_twelve_dissimilar_tickets_make_none():
    assert not detect(others()[:12], default_rule(), NOW)
    assert not detect(others(), default_rule(), NOW)


def test_too_few_organizations_or_tickets_or_too_spread_out_make_none():
    one_org = [replace_org(s, "org0") for s in surge()]
    assert not detect(one_org, default_rule(), NOW), "12 tickets from one organization"
    assert not detect(surge()[:4], default_rule(), NOW), "4 tickets is under the count"
    spread = [
        sig(str(i), s, d, NOW - timedelta(hours=i), f"org{i}") for i, (s, d) in enumerate(SURGE)
    ]
    assert not detect(spread, default_rule(), NOW), "one an hour is no surge"


def replace_org(s: Signature, org: str) -> Signature:
    from dataclasses import replace

    return replace(s, organization=org, organization_name=org)


def test_new_tickets_join_an_open_incident_and_it_ends_when_the_rate_falls():
    rule = default_rule()
    tickets = surge()
    (incident,) = detect(tickets[:6], rule, NOW - timedelta(minutes=10)).started
    assert len(incident.tickets) == 6
    later = detect(tickets, rule, NOW, [incident])
    assert not later.started, "no second alert while it lasts"
    ((grown, joined),) = later.joined
    assert joined == [str(n) for n in range(7, 13)] and len(grown.tickets) == 12
    assert grown.latest_ticket == "12"
    # 30 minutes after the last ticket, fewer than 5 came within the window: over.
    end = tickets[-1].created_at + rule.window + timedelta(seconds=1)
    (over,) = detect(tickets, rule, end, [grown]).ended
    assert over.state == OVER and over.ended_at == end
    # While at least 5 came within the last 30 minutes, it goes on.
    assert not detect(tickets, rule, tickets[6].created_at + rule.window, [grown]).ended


def test_an_alike_ticket_of_another_category_is_another_problem():
    from dataclasses import replace

    tickets = [replace(s, category="Billing" if i % 2 else "Technical") for i, s in
               enumerate(surge())]  # fmt: skip
    started = detect(tickets, default_rule(), NOW).started
    assert sorted(len(i.tickets) for i in started) == [6, 6]


def test_tag_and_field_rules_group_by_what_tickets_share():
    from dataclasses import replace

    tagged = [replace(s, tags=("outage",) if i < 6 else ("billing",)) for i, s in
              enumerate(others())]  # fmt: skip
    rule = IncidentRule("Tagged", "tag", 5, timedelta(minutes=30), tags=("outage",))
    (incident,) = detect(tagged, rule, NOW).started
    assert incident.key == "outage" and len(incident.tickets) == 6
    fields = [replace(s, fields={"product_area": "sso"} if i % 3 == 0 else {}) for i, s in
              enumerate(others())]  # fmt: skip
    rule = IncidentRule("Area", "field", 10, timedelta(minutes=30), field="product_area")
    (incident,) = detect(fields, rule, NOW).started
    assert incident.key == "sso" and len(incident.tickets) == 10


def test_signatures_and_incidents_survive_json():
    tickets = surge()
    (incident,) = detect(tickets, default_rule(), NOW).started
    assert Signature.from_json(tickets[0].to_json()) == tickets[0]
    from syncd.incidents import Incident

    assert Incident.from_json(incident.to_json()) == incident


def test_the_incidents_tab_lists_tickets_duration_and_customers():
    (incident,) = detect(surge(), default_rule(), NOW).started
    report = incidents_report([incident])
    assert report.name == "incidents" and report.people == ("RCA owner", "RCA link")
    row = dict(zip(report.columns, report.rows[0], strict=True))
    assert row["Incident"] == incident.id and row["Tickets count"] == 12
    assert row["Tickets"] == ", ".join(f"#{n}" for n in range(1, 13))
    assert row["Affected customers"] == "Org0, Org1, Org2, Org3, Org4, Org5"
    assert row["Duration (h)"] == round(1100 / 3600, 2)


# -- the rule section: errors with file:line ----------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "line", "words"),
    [
        ({"incident": "x", "count": 1, "window": "30m"}, 4, "count must be"),
        ({"incident": "x", "count": 5, "window": "soon"}, 4, "not a duration"),
        ({"incident": "x", "count": 5, "window": "30m", "same": "vibes"}, 4, "same must be"),
        ({"incident": "x", "count": 5, "window": "30m", "similarity": 140}, 4, "percentage"),
        ({"incident": "x", "count": 5, "window": "30m", "same": "field"}, 2, "needs `field:`"),
        ({"incident": "x", "count": 5, "window": "30m", "colour": "red"}, 4, "unknown key"),
        ({"incident": "x", "count": 5, "window": "30m", "notify": ["slack"]}, 4, "notify needs"),
    ],
)
def test_a_wrong_incident_rule_is_named_with_its_file_and_line(
    tmp_path: Path, entry: dict[str, Any], line: int, words: str
):
    path = tmp_path / "incidents.yaml"
    with path.open("w") as handle:
        YAML().dump({"name": "Incidents", "owner": "a@b.example", "incidents": [entry]}, handle)
    with pytest.raises(RuleError) as caught:
        load_rules(tmp_path)
    assert words in str(caught.value)
    assert f"{path}:" in str(caught.value)


# -- in the sandbox ------------------------------------------------------------------------------


@pytest.fixture
def oncall(config_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sandbox config with the on-call tool's webhook."""
    monkeypatch.setenv("ONCALL_WEBHOOK", sandbox.url + sandbox.webhooks.path("oncall"))
    data = YAML(typ="safe").load(config_path.read_text())
    data["notifications"]["webhooks"] = {"oncall": "ONCALL_WEBHOOK"}
    return write_config(config_path, data)


def _add(sandbox: Sandbox, items: list[tuple[str, str]], start: datetime, orgs: int,
         step: int, prefix: str) -> list[int]:  # fmt: skip
    ids = []
    for i, (subject, description) in enumerate(items):
        org = f"{prefix}{i % orgs}"
        at = start + timedelta(seconds=step * i)
        ticket = sandbox.zendesk.add_ticket(
            subject=subject,
            description=description or subject,
            requester_email=f"user{i}@{org}.example",
            requester_name=f"User {i}",
            organization=org.title(),
            created_at=at,
            updated_at=at,
        )
        ids.append(int(ticket["id"]))
    return ids


def _rows(sandbox: Sandbox, tab: str) -> list[dict[str, str]]:
    rows = sandbox.sheets.values(SPREADSHEET_ID, tab)
    return [dict(itertools.zip_longest(rows[0], r, fillvalue="")) for r in rows[1:]]


def test_a_surge_in_the_sandbox_makes_one_incident_across_restarts(sandbox: Sandbox, oncall: Path):
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(minutes=20)
    first = Syncd(oncall)
    first.setup()
    first.once(at=start - timedelta(minutes=5))  # the first sync: a baseline, nothing then
    # The first seven reports (five organizations) and fifteen unrelated tickets.
    surge_ids = _add(sandbox, SURGE[:7], start, 5, 100, "org")
    _add(sandbox, OTHER[:15], start, 15, 40, "other")
    first.once(at=now)
    messages = [m for m in sandbox.slack.messages() if m["channel"] == "#incidents"]
    assert len(messages) == 1 and "Login page error 503" in messages[0]["text"]
    assert len(sandbox.webhooks.deliveries("oncall")) == 1

    # A restart in the middle of the surge: the other five join, nobody is told again.
    second = Syncd(oncall)
    surge_ids += _add(sandbox, SURGE[7:], start + timedelta(seconds=700), 1, 100, "org")
    _add(sandbox, OTHER[15:], start + timedelta(seconds=5), 15, 40, "more")
    second.once(at=now + timedelta(minutes=1))
    Syncd(oncall).once(at=now + timedelta(minutes=2))  # and another: nothing changes
    incident_messages = [m for m in sandbox.slack.messages() if m["channel"] == "#incidents"]
    assert len(incident_messages) == 1, "one alert per incident"
    assert len(sandbox.webhooks.deliveries("oncall")) == 1

    (row,) = _rows(sandbox, "Incidents")
    assert row["Tickets count"] == "12"
    assert row["Tickets"] == ", ".join(f"#{t}" for t in surge_ids)
    assert row["State"] == "open" and row["RCA owner"] == ""
    incident_id = row["Incident"]
    tickets = {r["Ticket"]: r for r in _rows(sandbox, "Tickets")}
    assert {t for t, r in tickets.items() if r["Incident"]} == {str(t) for t in surge_ids}
    assert all(r["Incident"] == incident_id for t, r in tickets.items() if r["Incident"])
    flagged = [
        t
        for t in sandbox.hubspot.objects("tickets")
        if t["properties"].get("syncd_incident") == incident_id
    ]
    assert len(flagged) == 12

    # One note per affected company (five organizations among the twelve).
    notes = sandbox.hubspot.objects("notes")
    noted = [
        c
        for n in notes
        if incident_id in n["properties"].get("hs_note_body", "")
        for c in sandbox.hubspot.associations("notes", n["id"], "companies")
    ]
    assert len(noted) == len(set(noted)) == 5

    # The RCA owner is filled in by a person, and survives syncd's later writes.
    values = sandbox.sheets.values(SPREADSHEET_ID, "Incidents")
    owner = values[0].index("RCA owner")
    sandbox.sheets.set_values(SPREADSHEET_ID, "Incidents", [["Dana"]], start=(1, owner))

    # 30 minutes after the last report, fewer than 5 came within the window: over, once.
    later = now + timedelta(minutes=45)
    Syncd(oncall).once(at=later)
    Syncd(oncall).once(at=later + timedelta(minutes=1))
    incident_messages = [m for m in sandbox.slack.messages() if m["channel"] == "#incidents"]
    assert len(incident_messages) == 2 and "is over" in incident_messages[1]["text"]
    (row,) = _rows(sandbox, "Incidents")
    assert row["State"] == "over" and row["RCA owner"] == "Dana" and row["Ended"]


def test_dissimilar_tickets_in_the_sandbox_make_no_incident(sandbox: Sandbox, oncall: Path):
    now = datetime.now(UTC).replace(microsecond=0)
    syncd = Syncd(oncall)
    syncd.setup()
    syncd.once(at=now - timedelta(minutes=30))
    _add(sandbox, OTHER[:12], now - timedelta(minutes=20), 6, 100, "org")
    syncd.once(at=now)
    assert [m for m in sandbox.slack.messages() if m["channel"] == "#incidents"] == []
    assert sandbox.webhooks.deliveries("oncall") == []
    assert "Incidents" not in sandbox.sheets.sheet_titles(SPREADSHEET_ID)
