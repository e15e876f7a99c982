"""Every helpdesk and sink syncd can use, in one table: kind -> config model, factory, the
secrets it reads and the capabilities it has.

Config builds the `helpdesk:` union from `HELPDESKS`' models; wiring builds the source, the
helpdesk write-back and the sinks by looking the kind up here (no if/else per kind); the CLI
names sinks from `SINKS`; the tests' conformance suite runs every entry. A factory imports its
connector inside its body, so importing syncd never imports a connector.

Adding a helpdesk: its config model (a `HelpdeskSection` whose `kind` is a Literal) and one
`HelpdeskKind` entry here, a connector module in connectors/, an emulator in syncd/sandbox/.

This module imports nothing of syncd's but the ports: `syncd.config` imports it (the union),
so a sink's model (a fixed section of the config file) is looked up from there when asked.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from syncd.ports import (
    ChecksScopes,
    Notifier,
    RemembersCrm,
    SetsUp,
    ShowsReports,
    Sink,
    Source,
    WritesReports,
)


class HelpdeskSection(BaseModel):
    """What every helpdesk's `helpdesk:` section has (`kind` picks the model)."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    base_url: str | None = None
    # Carry out the rules' `tag:` actions as tags on the helpdesk ticket (plus the tag
    # `syncd`); off: they are recorded as skipped and the helpdesk is only read.
    write_back: bool = False

    @property
    def account(self) -> str:
        """The helpdesk account's name (acme for acme.zendesk.com): the default pipeline's."""
        raise NotImplementedError


# -- helpdesks' config models ------------------------------------------------------------


class ZendeskConfig(HelpdeskSection):
    """Tickets from Zendesk Support."""

    kind: Literal["zendesk"] = "zendesk"
    subdomain: str
    email: str
    token_env: str = "ZENDESK_TOKEN"
    base_url: str | None = None
    start_time: datetime | None = None  # first sync starts here; default: the beginning
    page_size: int = Field(1000, ge=1, le=1000)
    timeout: float = Field(30.0, gt=0)
    # rule name -> Zendesk custom field id, so rules say `custom.plan`, not `custom.360001`
    custom_fields: dict[str, str] = {}
    write_back: bool = False

    @property
    def account(self) -> str:
        return self.subdomain


class FreshdeskConfig(HelpdeskSection):
    """Tickets from Freshdesk."""

    kind: Literal["freshdesk"]
    domain: str  # acme for acme.freshdesk.com
    api_key_env: str = "FRESHDESK_API_KEY"
    base_url: str | None = None
    start_time: datetime | None = None  # first sync starts here; default: the beginning
    page_size: int = Field(100, ge=1, le=100)
    timeout: float = Field(30.0, gt=0)
    # API credits per minute syncd allows itself: Freshdesk counts its plan limits in credits
    # (a listing with embeds costs 7), shared with agents' apps and integrations; None: only
    # the helpdesk's rate-limit headers and 429s slow it down. `requests_per_minute`, the old
    # name, is read as this with a deprecation warning.
    credits_per_minute: int | None = Field(None, ge=1)
    # rule name -> Freshdesk custom field name, e.g. plan: cf_plan
    custom_fields: dict[str, str] = {}
    # Freshdesk status name -> syncd status, overriding how a custom status is read (by
    # whether it stops the SLA timer, then by its name), e.g. {"Waiting on Customer": pending}
    statuses: dict[str, Literal["open", "pending", "on_hold", "solved", "closed"]] = {}
    write_back: bool = False

    @property
    def account(self) -> str:
        return self.domain

    @model_validator(mode="before")
    @classmethod
    def _old_budget_name(cls, data: Any) -> Any:
        # requests_per_minute counted requests; the plan's figure it was set to is credits.
        if isinstance(data, dict) and "requests_per_minute" in data:
            data = dict(data)
            old = data.pop("requests_per_minute")
            warnings.warn(
                "helpdesk.requests_per_minute is now helpdesk.credits_per_minute (Freshdesk "
                "counts its limits in credits); the value is read as credits",
                FutureWarning,  # shown by default: meant for the admin, not a developer
                stacklevel=2,
            )
            data.setdefault("credits_per_minute", old)
        return data


# -- the table's rows --------------------------------------------------------------------


@dataclass(frozen=True)
class HelpdeskKind:
    """A helpdesk syncd reads tickets from."""

    kind: str  # helpdesk.kind in the config file, and the source's `name`
    vendor: str  # the vendor's name, as its errors carry it
    model: type[HelpdeskSection]  # its `helpdesk:` section
    # Settings of its section naming the environment variables that hold its secrets; the
    # factories get their values, in this order (masked in logs from then on).
    secrets: tuple[str, ...]
    # (its config section, the values of its secrets in order, attempts per request) -> it
    source: Callable[[Any, Sequence[str], int], Source]
    # `tag:`, `set_priority:`, `set_group:` and replies on its tickets (helpdesk.write_back);
    # None: the helpdesk is only read.
    write_back: Callable[[Any, Sequence[str], int], Notifier] | None = None


# (its config section, the values of its secrets in order, attempts per request, the whole
# config for settings it reads elsewhere, or None: their defaults) -> the sink
SinkFactory = Callable[[Any, Sequence[str], int, Any], Sink]


@dataclass(frozen=True)
class SinkKind:
    """A sink syncd writes tickets to: a section of the config file, on unless its
    `enabled` is false."""

    kind: str  # its section in the config file, and the sink's `name`
    vendor: str
    secrets: tuple[str, ...]
    build: SinkFactory
    summary: str  # its count of records written in `syncd once`'s summary line
    # The optional capabilities (syncd.ports' runtime-checkable protocols) its sink has;
    # checked against the built sink by tests/test_registry.py.
    capabilities: tuple[type, ...] = ()

    @property
    def model(self) -> type[BaseModel]:
        """Its section's config model (syncd.config, which imports this module)."""
        from syncd.config import Config

        model = Config.model_fields[self.kind].annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        return model


# -- factories: each imports its connector when called -----------------------------------


def _zendesk_source(section: ZendeskConfig, secrets: Sequence[str], attempts: int) -> Source:
    from connectors.zendesk import ZendeskSource

    return ZendeskSource(section, secrets[0], attempts=attempts)


def _zendesk_write_back(section: ZendeskConfig, secrets: Sequence[str], attempts: int) -> Notifier:
    from connectors.zendesk_writeback import ZendeskWriteBack

    return ZendeskWriteBack(section, secrets[0], attempts=attempts)


def _freshdesk_source(section: FreshdeskConfig, secrets: Sequence[str], attempts: int) -> Source:
    from connectors.freshdesk import FreshdeskSource

    return FreshdeskSource(section, secrets[0], attempts=attempts)


def _freshdesk_write_back(
    section: FreshdeskConfig, secrets: Sequence[str], attempts: int
) -> Notifier:
    from connectors.freshdesk_writeback import FreshdeskWriteBack

    return FreshdeskWriteBack(section, secrets[0], attempts=attempts)


def _hubspot(section: Any, secrets: Sequence[str], attempts: int, config: Any) -> Sink:
    from connectors.hubspot import HubSpotSink

    # The token's scope check covers the tasks and notes notifications.crm writes.
    crm = config.notifications.crm if config is not None else None
    return HubSpotSink(
        section,
        secrets[0],
        attempts=attempts,
        tasks=bool(crm and crm.tasks),
        notes=bool(crm and crm.notes),
    )


def _sheets(section: Any, secrets: Sequence[str], attempts: int, config: Any) -> Sink:
    from connectors.sheets import SheetsSink

    return SheetsSink(section, attempts=attempts)  # its key file is named in the section


# -- the registry ------------------------------------------------------------------------

HELPDESKS: dict[str, HelpdeskKind] = {
    entry.kind: entry
    for entry in (
        HelpdeskKind(
            kind="zendesk",
            vendor="Zendesk",
            model=ZendeskConfig,
            secrets=("token_env",),
            source=_zendesk_source,
            write_back=_zendesk_write_back,
        ),
        HelpdeskKind(
            kind="freshdesk",
            vendor="Freshdesk",
            model=FreshdeskConfig,
            secrets=("api_key_env",),
            source=_freshdesk_source,
            write_back=_freshdesk_write_back,
        ),
    )
}

# In the order the pipeline writes to them (Parts.sinks): the CRM first, then the sheet.
SINKS: dict[str, SinkKind] = {
    entry.kind: entry
    for entry in (
        SinkKind(
            kind="hubspot",
            vendor="HubSpot",
            secrets=("token_env",),
            build=_hubspot,
            summary="crm_upserts",
            capabilities=(SetsUp, ChecksScopes, RemembersCrm),
        ),
        SinkKind(
            kind="sheets",
            vendor="Google Sheets",
            secrets=(),
            build=_sheets,
            summary="sheet_rows_written",
            capabilities=(ShowsReports, WritesReports),
        ),
    )
}


def helpdesk(kind: str) -> HelpdeskKind:
    """The registered helpdesk of that kind (config validation has named the known ones)."""
    return HELPDESKS[kind]
