"""syncd's one table of HTTP statuses (syncd.errors): what each status class means, how a
connector's overrides change it, what the errors carry; then every connector against the
sandbox answering 408, which each must map the same way (transient, status 408)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.freshdesk import FreshdeskSource
from connectors.freshdesk_writeback import FreshdeskWriteBack
from connectors.hubspot import HubSpotSink
from connectors.sheets import SheetsSink
from connectors.slack import SlackNotifier
from connectors.webhook import WebhookNotifier
from connectors.zendesk import ZendeskSource
from connectors.zendesk_writeback import ZendeskWriteBack
from syncd.config import FreshdeskConfig, ZendeskConfig
from syncd.errors import (
    CredentialsError,
    Kind,
    Refusal,
    TerminalError,
    TransientError,
    error_for,
    kind_of,
)
from syncd.metrics import request_outcome
from syncd.model import Action, Decision, Ticket
from syncd.sandbox import FRESHDESK_API_KEY, HUBSPOT_TOKEN, ZENDESK_TOKEN, Sandbox
from tests.conftest import Syncd

# ------------------------------------------------------------------------------ the table


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, Kind.CREDENTIALS),
        (403, Kind.CREDENTIALS),
        (404, Kind.TERMINAL),
        (400, Kind.TERMINAL),
        (409, Kind.TERMINAL),
        (422, Kind.TERMINAL),
        (499, Kind.TERMINAL),
        (408, Kind.TRANSIENT),
        (429, Kind.TRANSIENT),
        (500, Kind.TRANSIENT),
        (502, Kind.TRANSIENT),
        (503, Kind.TRANSIENT),
        (599, Kind.TRANSIENT),
        (0, Kind.TERMINAL),  # no status at all: nothing says a retry would help
        (204, Kind.TERMINAL),  # an answer the caller did not expect
        (302, Kind.TERMINAL),
    ],
)
def test_every_status_class_has_one_meaning(status: int, kind: Kind) -> None:
    assert kind_of(status) is kind


def test_overrides_change_only_the_statuses_they_name() -> None:
    # A vendor whose 403 means "rate limited", and whose 404 is worth asking again.
    overrides = {403: Kind.TRANSIENT, 404: Kind.TRANSIENT}
    assert kind_of(403, overrides) is Kind.TRANSIENT
    assert kind_of(404, overrides) is Kind.TRANSIENT
    assert kind_of(401, overrides) is Kind.CREDENTIALS
    assert kind_of(400, overrides) is Kind.TERMINAL
    assert kind_of(503, {503: Kind.TERMINAL}) is Kind.TERMINAL
    error = error_for("Acme", 403, "slow down", retry_after=7.0, overrides=overrides)
    assert isinstance(error, TransientError) and error.retry_after == 7.0


def test_errors_carry_vendor_status_and_retry_after() -> None:
    transient = error_for("Zendesk", 429, "rate limited", retry_after=3.0)
    assert isinstance(transient, TransientError)
    assert (transient.vendor, transient.status, transient.retry_after) == ("Zendesk", 429, 3.0)
    assert str(transient) == "Zendesk answered 429: rate limited"
    terminal = error_for("HubSpot", 400, "property x: bad value")
    assert isinstance(terminal, TerminalError)
    assert (terminal.vendor, terminal.status, terminal.retry_after) == ("HubSpot", 400, None)
    assert str(terminal) == "HubSpot answered 400: property x: bad value"
    assert str(error_for("Slack", 503)) == "Slack answered 503"


def test_a_refusal_names_the_credential_where_it_is_set_and_the_fix() -> None:
    refusal = Refusal("the API token", where="helpdesk.token_env", hint="Check the token")
    error = error_for("Zendesk", 401, "", refusal=refusal)
    assert isinstance(error, CredentialsError)
    assert (error.vendor, error.status) == ("Zendesk", 401)
    assert str(error) == "helpdesk.token_env: Zendesk refused the API token (401). Check the token"
    bare = error_for("Acme", 403, "no")
    assert (
        isinstance(bare, CredentialsError)
        and bare.message == "Acme refused the credentials (403): no"
    )


@pytest.mark.parametrize(
    ("status", "outcome"), [(401, "4xx"), (404, "4xx"), (408, "4xx"), (429, "429"), (502, "5xx")]
)
def test_metrics_read_the_status_the_error_carries(status: int, outcome: str) -> None:
    assert request_outcome(error_for("Acme", status, "whatever the message says")) == outcome


# -------------------------------------------------------------- 408 from every connector

Call = Callable[[Sandbox, Syncd, dict[str, Any]], object]


def _freshdesk_config(sandbox: Sandbox) -> FreshdeskConfig:
    return FreshdeskConfig(kind="freshdesk", domain="acme", base_url=sandbox.url)


def _zendesk_config(syncd: Syncd) -> ZendeskConfig:
    config = syncd.config.helpdesk
    assert isinstance(config, ZendeskConfig)
    return config


def _tag(ticket: Ticket, decision: Decision) -> tuple[Ticket, Action, str, Decision]:
    return ticket, Action("k:1", "tag", "test", tags=("vip",)), "", decision


def _notify(target: str, ticket: Ticket, decision: Decision) -> tuple[Any, ...]:
    return ticket, Action("k:2", "notify", "test", target=target), "Look at this", decision


CASES: dict[str, tuple[str, Call]] = {
    "zendesk source": (
        "zendesk",
        lambda sb, s, t: next(ZendeskSource(_zendesk_config(s), ZENDESK_TOKEN, 1).pull(None)),
    ),
    "zendesk write-back": (
        "zendesk",
        lambda sb, s, t: ZendeskWriteBack(_zendesk_config(s), ZENDESK_TOKEN, 1).deliver(
            *_tag(*t["zendesk"])
        ),
    ),
    "freshdesk source": (
        "freshdesk",
        lambda sb, s, t: next(
            FreshdeskSource(_freshdesk_config(sb), FRESHDESK_API_KEY, 1).pull(None)
        ),
    ),
    "freshdesk write-back": (
        "freshdesk",
        lambda sb, s, t: FreshdeskWriteBack(_freshdesk_config(sb), FRESHDESK_API_KEY, 1).deliver(
            *_tag(*t["freshdesk"])
        ),
    ),
    "hubspot": (
        "hubspot",
        lambda sb, s, t: (sink := HubSpotSink(s.config.hubspot, HUBSPOT_TOKEN, 1)).write(
            [sink.render(*t["zendesk"])]
        ),
    ),
    "sheets": (
        "sheets",
        lambda sb, s, t: (sink := SheetsSink(s.config.sheets, 1)).write(
            [sink.render(*t["zendesk"])]
        ),
    ),
    "slack": (
        "slack",
        lambda sb, s, t: SlackNotifier(
            {"#support": sb.url + sb.slack.webhook_path("#support")}, attempts=1
        ).deliver(*_notify("slack:#support", *t["zendesk"])),
    ),
    "webhook": (
        "webhooks",
        lambda sb, s, t: WebhookNotifier(
            {"ops": sb.url + sb.webhooks.path("ops")}, attempts=1
        ).deliver(*_notify("webhook:ops", *t["zendesk"])),
    ),
}


def _tickets(sandbox: Sandbox, syncd: Syncd) -> dict[str, tuple[Ticket, Decision]]:
    """A Zendesk and a Freshdesk ticket with their decisions, read before any fault."""
    now = datetime.now(UTC)
    sandbox.zendesk.add_ticket("Printer on fire")
    sandbox.freshdesk.add_ticket("Printer still on fire")
    zendesk = next(ZendeskSource(_zendesk_config(syncd), ZENDESK_TOKEN, 1).pull(None))
    freshdesk = FreshdeskSource(_freshdesk_config(sandbox), FRESHDESK_API_KEY, 1)
    fresh = [t for page in freshdesk.pull(None) for t in page.tickets]
    return {
        name: (ticket, syncd.parts.rules.evaluate(ticket, now))
        for name, ticket in (("zendesk", zendesk.tickets[0]), ("freshdesk", fresh[0]))
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_connector_maps_a_408_to_a_transient_error(
    sandbox: Sandbox, syncd: Syncd, case: str
) -> None:
    api, call = CASES[case]
    tickets = _tickets(sandbox, syncd)
    sandbox.faults.outage, sandbox.faults.outage_status = {api}, 408
    with pytest.raises(TransientError) as info:
        call(sandbox, syncd, tickets)
    assert info.value.status == 408, info.value
    assert info.value.vendor and "408" in str(info.value)
    assert [a.status for a in sandbox.arrivals(api)][-1] == 408
