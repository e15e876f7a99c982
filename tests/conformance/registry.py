"""Every connector the conformance suite runs, and how to run it against the sandbox.

The suite's parametrize lists are `SOURCES` and `SINKS` and nothing else: a new helpdesk or
sink joins the suite by one entry here (its module, emulator and syncd.registry entry aside).
How to build the connector and the vendor name its errors carry come from syncd.registry (the
real client over real HTTP, from its section of `Sandbox.config()`, with `attempts` so a
failure surfaces at once); an entry here says what the sandbox's side needs: the API it talks
to (request counts, fault injection), the secret its emulator accepts, and how to plant test
data in its emulator: a ticket (sources), a malformed ticket (sources), a bad record (sinks).
tests/test_registry.py checks that every registered kind has an entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from syncd import registry
from syncd.model import Decision, Ticket
from syncd.ports import Sink, Source
from syncd.sandbox import (
    FRESHDESK_API_KEY,
    HUBSPOT_TOKEN,
    SPREADSHEET_ID,
    ZENDESK_TOKEN,
    Sandbox,
)

# A value no helpdesk sends for a time: what a malformed ticket carries in its created_at.
BAD_TIME = "yesterday"


@dataclass(frozen=True)
class SourceKind:
    """A helpdesk as the suite drives it: how to build it comes from syncd.registry, how to
    plant data in its emulator from here."""

    kind: str  # helpdesk.kind in the config, and the source's `name`
    api: str  # the sandbox API it calls (counts, faults)
    secret: str  # what its emulator accepts as its secret
    # (sandbox, subject, requester email, changed at) -> the new ticket's id
    plant: Callable[[Sandbox, str, str, datetime], str]
    # (sandbox, id): make that ticket malformed in the emulator, without a new version
    garble: Callable[[Sandbox, str], None]
    # config keys that make pages hold two tickets, so a few tickets make several pages
    small_pages: Mapping[str, Any] = field(default_factory=lambda: {"page_size": 2})

    @property
    def vendor(self) -> str:
        """The `vendor` its errors carry."""
        return registry.HELPDESKS[self.kind].vendor

    def build(self, section: Mapping[str, Any], attempts: int) -> Source:
        """The source from its `helpdesk:` section of Sandbox.config(helpdesk=kind)."""
        entry = registry.HELPDESKS[self.kind]
        return entry.source(entry.model.model_validate(section), [self.secret], attempts)


@dataclass(frozen=True)
class BadRecord:
    """A record a sink must not let block its batch: the config that makes it bad (merged
    into the sink's section), how a good (ticket, decision) becomes it, and whether the sink
    refuses it (in SinkResult.rejected, with a reason) or fits it to the vendor's limits (the
    vendor would refuse the whole request otherwise) and accepts it."""

    config: Mapping[str, Any]
    spoil: Callable[[Ticket, Decision], tuple[Ticket, Decision]]
    refused: bool


@dataclass(frozen=True)
class SinkKind:
    """A sink as the suite drives it: how to build it comes from syncd.registry, how to
    read back what its emulator holds from here."""

    kind: str  # its config section, and the sink's `name`
    api: str
    secrets: tuple[str, ...]  # what its emulator accepts as its secrets
    # what the vendor holds, by record key: every copy (a record held once has one)
    held: Callable[[Sandbox], dict[str, list[Any]]]
    bad: BadRecord

    @property
    def vendor(self) -> str:
        """The `vendor` its errors carry."""
        return registry.SINKS[self.kind].vendor

    def build(self, section: Mapping[str, Any], attempts: int) -> Sink:
        """The sink from its section of Sandbox.config() (the suite runs its `setup`, if it
        has one, before it writes: HubSpot's creates the properties its records carry)."""
        entry = registry.SINKS[self.kind]
        return entry.build(entry.model.model_validate(section), self.secrets, attempts, None)


# -- sources ---------------------------------------------------------------------------------


def _zendesk_ticket(sandbox: Sandbox, subject: str, email: str, at: datetime) -> str:
    name = email.partition("@")[0].title()
    created = sandbox.zendesk.add_ticket(
        subject, subject, email, name, organization="Initech", created_at=at, updated_at=at
    )
    return str(created["id"])


def _freshdesk_ticket(sandbox: Sandbox, subject: str, email: str, at: datetime) -> str:
    name = email.partition("@")[0].title()
    created = sandbox.freshdesk.add_ticket(
        subject, subject, email, name, company="Initech", created_at=at, updated_at=at
    )
    return str(created["id"])


SOURCES: tuple[SourceKind, ...] = (
    SourceKind(
        kind="zendesk",
        api="zendesk",
        secret=ZENDESK_TOKEN,
        plant=_zendesk_ticket,
        garble=lambda sandbox, key: sandbox.zendesk.garble(int(key), created_at=BAD_TIME),
    ),
    SourceKind(
        kind="freshdesk",
        api="freshdesk",
        secret=FRESHDESK_API_KEY,
        plant=_freshdesk_ticket,
        garble=lambda sandbox, key: sandbox.freshdesk.garble(int(key), created_at=BAD_TIME),
    ),
)


# -- sinks -----------------------------------------------------------------------------------


# Stamped by HubSpot on every write, whether or not a value changed.
_STAMPS = ("hs_lastmodifieddate",)


def _hubspot_held(sandbox: Sandbox) -> dict[str, list[Any]]:
    held: dict[str, list[Any]] = {}
    for kind, key in (("tickets", "helpdesk_ticket_id"), ("contacts", "email")):
        for obj in sandbox.hubspot.objects(kind):
            props = {k: v for k, v in obj["properties"].items() if k not in _STAMPS}
            name = props.get(key) if kind == "tickets" else f"contact:{props.get(key)}"
            held.setdefault(str(name), []).append(props)
    for obj in sandbox.hubspot.objects("companies"):
        props = {k: v for k, v in obj["properties"].items() if k not in _STAMPS}
        held.setdefault(f"company:{props.get('domain')}", []).append(props)
    return held


def _critical(ticket: Ticket, decision: Decision) -> tuple[Ticket, Decision]:
    return ticket, replace(decision, priority="Critical")


def _sheets_held(sandbox: Sandbox) -> dict[str, list[Any]]:
    held: dict[str, list[Any]] = {}
    try:
        rows = sandbox.sheets.values(SPREADSHEET_ID, "Tickets")
    except KeyError:  # no Tickets tab yet: nothing written
        return held
    for row in rows[1:]:
        held.setdefault(str(row[0]), []).append(row)
    return held


# Past Google's 50,000 characters a cell.
def _long_subject(ticket: Ticket, decision: Decision) -> tuple[Ticket, Decision]:
    return replace(ticket, subject="long " * 12_000), decision


SINKS: tuple[SinkKind, ...] = (
    SinkKind(
        kind="hubspot",
        api="hubspot",
        secrets=(HUBSPOT_TOKEN,),
        held=_hubspot_held,
        # An hs_ticket_priority option the portal does not have: HubSpot refuses that input
        # alone (multi-status) and writes the rest.
        bad=BadRecord(config={"priorities": {"Critical": "SEVERE"}}, spoil=_critical, refused=True),
    ),
    SinkKind(
        kind="sheets",
        api="sheets",
        secrets=(),
        held=_sheets_held,
        # Google refuses a whole write with a cell past 50,000 characters; the sink fits it.
        bad=BadRecord(config={}, spoil=_long_subject, refused=False),
    ),
)
