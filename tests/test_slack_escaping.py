"""Customer text in Slack messages: Slack reads `<`, `>` and `&` as control characters, so a
ticket subject like `<!channel>` would notify a whole channel and `<https://evil|Reset SSO>`
would show a disguised link. syncd escapes every ticket value it puts into a Slack message
(api.slack.com/reference/surfaces/formatting#escaping); the sandbox's Slack emulator parses
each message as Slack does and records whom it notifies and which links it shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from connectors import slack
from syncd.model import Action, Decision, Person, Status, Ticket
from syncd.rules import templates
from syncd.sandbox import Sandbox
from tests.conftest import Syncd

ATTACK = "Refund <!channel> <!here> <@U123> <https://evil.example|Reset SSO> & more"


def _escalated(sandbox: Sandbox, syncd: Syncd, **fields: Any) -> list[dict[str, Any]]:
    """Messages Slack got after a ticket (created 3 days ago, so escalated) carrying `fields`."""
    syncd.once()  # the first sync is a baseline: later changes notify
    long_ago = datetime.now(UTC) - timedelta(days=3)
    sandbox.zendesk.add_ticket(created_at=long_ago, updated_at=long_ago, **fields)
    syncd.once()
    messages = sandbox.slack.messages()
    assert messages, "the escalation posts to Slack"
    return messages


def test_a_subject_with_slack_markup_notifies_nobody_and_shows_no_disguised_link(
    sandbox: Sandbox, syncd: Syncd
) -> None:
    messages = _escalated(
        sandbox,
        syncd,
        subject=ATTACK,
        requester_email="mallory@evil.example",
        requester_name="<!everyone> Mallory",
    )
    for message in messages:
        assert message["mentions"] == [], message["text"]
        assert message["disguised_links"] == [], message["text"]
        assert not any("evil.example" in link["url"] for link in message["links"])
        # The reader sees the customer's words as they wrote them.
        assert ATTACK in message["shown"] and "<!everyone> Mallory" in message["shown"]


def test_the_escaper_applies_to_ticket_values_not_to_the_template() -> None:
    now = datetime(2026, 11, 2, 10, tzinfo=UTC)
    ticket = Ticket(
        id="7",
        source="zendesk",
        subject="a < b & c > d",
        description="",
        status=Status.OPEN,
        created_at=now,
        updated_at=now,
        requester=Person(id="1", name="<@U1>"),
        url="https://acme.zendesk.com/agent/tickets/7",
    )
    decision = Decision(category="general", priority="Normal")
    parsed = templates.parse("<{ticket.url}|#{ticket.id}> {ticket.subject} by {requester.name}")
    action = Action(
        key="k",
        kind="notify",
        origin="o",
        render=lambda t, d, e=None: templates.render(parsed, t, d, e),
    )
    escaped = action.text(ticket, decision, escape=slack.escape)
    assert escaped == (
        "<https://acme.zendesk.com/agent/tickets/7|#7> a &lt; b &amp; c &gt; d by &lt;@U1&gt;"
    )
    assert action.text(ticket, decision) == (
        "<https://acme.zendesk.com/agent/tickets/7|#7> a < b & c > d by <@U1>"
    )
