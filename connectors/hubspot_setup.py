"""`syncd setup` for HubSpot: check the configured ticket pipeline and stages, and create the
properties syncd writes. Idempotent: what exists is left alone; `dry_run` only reports.

A real portal refuses a write naming a property it does not have, so everything syncd writes
is created here first:
- tickets: the unique `hubspot.id_property` (upserts are keyed by it) and syncd's own
  properties (category, priority, SLA, ...), in a property group "syncd";
- companies (with `hubspot.companies`): the unique keys `syncd_company_domain` and
  `helpdesk_organization_id` (see `hubspot_crm`), in a group "syncd" as well.
Contacts need nothing: they are keyed by `email`, which HubSpot keeps unique.

Before anything else, the token's scopes are read (`POST
/oauth/v2/private-apps/get/access-token-info` with `{"tokenKey": token}`, from HubSpot's
private apps docs; for an OAuth token `GET /oauth/v1/access-tokens/{token}`) and compared with
what the config needs (`required_scopes`); one missing is a CredentialsError naming the scopes
to add in the private app's settings. When neither endpoint tells (another kind of token),
setup goes on with a warning.

The pipeline check reads `GET /crm/v3/pipelines/tickets`: `hubspot.pipeline` must be one of
the portal's ticket pipelines and every stage syncd may write (each status in `hubspot.stages`,
and the fallbacks for statuses left out) one of that pipeline's stages. A wrong one is a
ConfigError naming the key and listing the valid ids, before any ticket is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import urllib3
from hubspot import HubSpot
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate

from connectors.hubspot_api import DEFAULT_BASE, translate
from syncd.config import HubSpotConfig
from syncd.errors import ConfigError, CredentialsError, error_for
from syncd.model import Status
from syncd.retry import retry_after_seconds

GROUP = "syncd"
PropertySpec = tuple[str, str, str]  # (label, type, field type)


PRIVATE_APP_TOKEN_INFO = "/oauth/v2/private-apps/get/access-token-info"
# Ticket access in the form of older apps; apps created today show the granular
# crm.objects.tickets.read and crm.objects.tickets.write instead (HubSpot's scopes reference,
# developers.hubspot.com/docs/apps/legacy-apps/authentication/scopes). Either works.
LEGACY_TICKETS = "tickets"
OAUTH_TOKEN_INFO = "/oauth/v1/access-tokens/"


@dataclass(frozen=True)
class ScopeCheck:
    """The outcome of `check_scopes`: `ok` False when the scopes could not be read."""

    ok: bool
    message: str


def required_scopes(
    config: HubSpotConfig, *, tasks: bool = False, notes: bool = False, granular: bool = False
) -> dict[str, str]:
    """The scopes syncd needs with this config: scope -> what for. Ticket access is the
    legacy `tickets` scope, or with `granular` its two granular halves."""
    needed = (
        {
            LEGACY_TICKETS: "tickets and their pipelines",
        }
        if not granular
        else {
            "crm.objects.tickets.read": "reading tickets and their pipelines",
            "crm.objects.tickets.write": "writing tickets",
        }
    )
    needed["crm.schemas.tickets.write"] = "creating the ticket properties"
    if config.contacts:
        needed["crm.objects.contacts.write"] = "hubspot.contacts"
    if config.companies:
        needed["crm.objects.companies.write"] = "hubspot.companies"
        # The search for companies HubSpot holds for a domain (see hubspot_crm).
        needed["crm.objects.companies.read"] = "hubspot.companies (finding existing ones)"
        needed["crm.schemas.companies.write"] = "hubspot.companies (its properties)"
    if tasks or notes:
        needed.setdefault("crm.objects.contacts.write", "notifications.crm tasks and notes")
    if tasks:
        needed["crm.objects.owners.read"] = "notifications.crm.tasks (task owners)"
    return needed


def token_scopes(token: str, base: str, timeout: float) -> list[str] | None:
    """The token's scopes as HubSpot reports them; None when it does not say (neither the
    private app nor the OAuth token-info endpoint knows this token's kind)."""
    http = urllib3.PoolManager(retries=False, timeout=timeout)
    root = base.rstrip("/")
    asks: list[tuple[str, str, bytes | None]] = [
        ("POST", root + PRIVATE_APP_TOKEN_INFO, json.dumps({"tokenKey": token}).encode()),
        ("GET", root + OAUTH_TOKEN_INFO + quote(token, safe=""), None),
    ]
    for method, url, body in asks:
        try:
            response = http.request(
                method, url, body=body, headers={"Content-Type": "application/json"}
            )
        except urllib3.exceptions.HTTPError as exc:
            raise translate(exc, base) from None
        if response.status == 401:
            raise CredentialsError(
                "HubSpot refused the access token (401)",
                where="hubspot.token_env",
                hint="Check the private app's access token",
                vendor="HubSpot",
                status=401,
            )
        if response.status == 429 or response.status >= 500:
            # A busy or failing portal is no answer about the token: retried by the caller.
            raise error_for(
                "HubSpot",
                response.status,
                "token info",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if response.status != 200:
            continue  # 400/403/404: not a token of this kind
        try:
            scopes = json.loads(response.data).get("scopes")
        except (ValueError, AttributeError):
            continue
        if isinstance(scopes, list):
            return [str(scope) for scope in scopes]
    return None


def uses_granular(scopes: Iterable[str]) -> bool:
    """Whether a token's scopes are in the granular form (apps created today) rather than
    the legacy one (`tickets`): a token showing `tickets` is legacy, any other is granular."""
    return LEGACY_TICKETS not in set(scopes)


def check_scopes(
    token: str, base: str, timeout: float, needs: Callable[[bool], dict[str, str]]
) -> ScopeCheck:
    """Raise CredentialsError naming the scopes the token lacks, in the form its app uses
    (`needs(granular)` gives the scopes needed in either form); else what was found."""
    scopes = token_scopes(token, base, timeout)
    if scopes is None:
        return ScopeCheck(
            False,
            "cannot read the token's scopes (not a private app or OAuth token?): "
            f"not checked; it needs {', '.join(needs(True))} (older apps: {LEGACY_TICKETS} "
            f"for the first two)",
        )
    needed = needs(uses_granular(scopes))
    missing = [scope for scope in needed if scope not in scopes]
    if missing:
        why = "; ".join(f"{scope} for {needed[scope]}" for scope in missing)
        raise CredentialsError(
            f"the HubSpot token lacks the scope(s) {', '.join(missing)} ({why})",
            where="hubspot.token_env",
            hint="Add them in the private app's settings (Scopes tab), then use the new token",
        )
    return ScopeCheck(True, f"token scopes ok: {', '.join(needed)}")


def check_pipeline(
    client: HubSpot, config: HubSpotConfig, stage_for: Callable[[Status], str]
) -> None:
    """Raise ConfigError unless the pipeline and every stage syncd may write exist."""
    try:
        pipelines = client.crm.pipelines.pipelines_api.get_all("tickets").results or []
    except Exception as exc:
        raise translate(exc, config.base_url or DEFAULT_BASE) from None
    pipeline = next((p for p in pipelines if str(p.id) == config.pipeline), None)
    if pipeline is None:
        raise ConfigError(
            f"HubSpot has no ticket pipeline {config.pipeline!r}",
            where="hubspot.pipeline",
            hint=f"Valid pipeline ids: {_listing((p.id, p.label) for p in pipelines)}",
        )
    valid = {str(s.id): s.label for s in pipeline.stages or []}
    # The statuses the file lists first, so a wrong value is named where it is written, not
    # where a status left out falls back to it.
    listed = [s for s in Status if s.value in config.stages]
    for status in [*listed, *(s for s in Status if s not in listed)]:
        stage = stage_for(status)
        if stage in valid:
            continue
        given = status.value in config.stages
        raise ConfigError(
            f"stage {stage!r} is not a stage of the pipeline {pipeline.label!r} "
            f"({pipeline.id})"
            + ("" if given else f": {status.value} is not listed and falls back to it"),
            where=f"hubspot.stages.{status.value}",
            hint=f"Valid stage ids: {_listing(valid.items())}",
        )


def create_properties(
    client: HubSpot,
    config: HubSpotConfig,
    wanted: Iterable[tuple[str, str, dict[str, PropertySpec], set[str]]],
    dry_run: bool,
) -> list[str]:
    """Create the group and properties missing per object type; returns what was (or, with
    `dry_run`, would be) done. `wanted`: (object type, noun for messages, properties,
    names of those with unique values)."""
    api = client.crm.properties
    base = config.base_url or DEFAULT_BASE
    done: list[str] = []
    for object_type, noun, properties, unique in wanted:
        prefix = f"{noun} " if noun else ""
        try:
            existing = {p.name: p for p in api.core_api.get_all(object_type).results}
            groups = {g.name for g in api.groups_api.get_all(object_type).results}
        except Exception as exc:
            raise translate(exc, base) from None
        for name, (_label, value_type, _field) in properties.items():
            if name in existing:
                check_existing(config, noun, existing[name], value_type, name in unique)
        plan: list[tuple[bool, str, Any]] = []  # (is a group, name, body)
        if GROUP not in groups:
            plan.append((True, GROUP, PropertyGroupCreate(name=GROUP, label="syncd")))
        for name, (label, value_type, field_type) in properties.items():
            if name in existing:
                continue
            body = PropertyCreate(
                name=name,
                label=label,
                type=value_type,
                field_type=field_type,
                group_name=GROUP,
                has_unique_value=name in unique,
            )
            plan.append((False, name, body))
        for group, name, body in plan:
            done.append(f"create {prefix}property {'group ' if group else ''}{name}")
            if dry_run:
                continue
            try:
                if group:
                    api.groups_api.create(object_type, body)
                else:
                    api.core_api.create(object_type, body)
            except Exception as exc:
                raise translate(exc, base) from None
    return done


def check_existing(
    config: HubSpotConfig, noun: str, found: Any, value_type: str, unique: bool
) -> None:
    """Raise ConfigError when a property syncd writes exists in HubSpot in a shape syncd
    cannot use: another value type, or without unique values where it keys upserts (HubSpot
    then refuses every upsert by it: "Unable to perform update/upsert by non-unique ...
    property"). HubSpot cannot make an existing property unique (the properties API's
    PropertyUpdate has no hasUniqueValue), so the fix is a new name or a new property."""
    name = str(found.name)
    keyed = name == config.id_property and not noun
    where = "hubspot.id_property" if keyed else "hubspot"
    if keyed:
        fix = (
            f"Set hubspot.id_property to a name not used yet (setup then creates it with unique "
            f"values), or delete {name} in HubSpot (Settings > Properties) and run "
            "`syncd setup` again"
        )
    else:
        fix = f"Delete {name} in HubSpot (Settings > Properties) and run `syncd setup` again"
    owner = f"{noun or 'ticket'} property {name}"
    if found.type != value_type:
        raise ConfigError(
            f"HubSpot's {owner} is of type {found.type}; syncd writes it as {value_type}",
            where=where,
            hint=fix,
        )
    if unique and not found.has_unique_value:
        raise ConfigError(
            f"HubSpot's {owner} exists without unique values, so it cannot key syncd's "
            "upserts (HubSpot refuses every one)",
            where=where,
            hint=fix,
        )


def _listing(pairs: Iterable[tuple[Any, Any]]) -> str:
    return ", ".join(f"{ident} ({label})" for ident, label in pairs) or "none"
