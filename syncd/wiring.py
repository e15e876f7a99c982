"""Build the concrete source, sinks, rules and state store from a Config.

The one place that knows which connector serves which `kind` (a plain registry), so the
pipeline never imports a connector. Secrets are read from the environment here and
registered with the log redactor before any request is made.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog
from pydantic import BaseModel

from syncd import retry
from syncd.config import Config, secret
from syncd.cycle import DAEMON, DRY_RUN, OWED_ONLY, CycleContext
from syncd.errors import ConfigError
from syncd.logs import register_secret
from syncd.model import Action, Decision, Ticket
from syncd.pipeline import CycleReport, Evaluate, Pipeline, RetryPolicy, run_cycle
from syncd.ports import Notifier, RemembersCrm, Sink, Source, StateStore
from syncd.registry import SINKS
from syncd.registry import helpdesk as helpdesk_kind
from syncd.reports import ReportSettings
from syncd.rules import RuleSet, load_rules
from syncd.rules.engine import DEFAULT_CATEGORY
from syncd.state import SqlStateStore, open_store

log = structlog.get_logger("syncd.wiring")


class CycleUpkeep(Protocol):
    """What runs around a cycle (syncd.upkeep.Upkeep): before it, rule and sheet layout
    changes; after it, the digests."""

    def before(self, rules: RuleSet, now: datetime) -> None: ...

    def after(
        self, report: CycleReport, settings: ReportSettings | None, now: datetime
    ) -> None: ...


@dataclass
class Parts:
    """Everything one cycle needs."""

    source: Source
    sinks: list[Sink]
    rules: RuleSet
    store: SqlStateStore
    notifiers: list[Notifier]
    max_tickets: int = 10_000
    notify_on_first_sync: bool = False
    dead_letters: RetryPolicy = field(default_factory=RetryPolicy)
    reports: ReportSettings | None = None  # how the report tabs are cut; None: no tabs
    upkeep: CycleUpkeep | None = None  # the work around each cycle (syncd.upkeep)

    def cycle(
        self,
        *,
        dry_run: bool = False,
        evaluate: Evaluate | None = None,
        clock: Callable[[], datetime] | None = None,
        pull: bool = True,
        rules: RuleSet | None = None,
    ) -> CycleReport:
        """One sync cycle with these parts; `pull` False sends only what the sinks owe
        (`syncd dlq retry`). `rules` is the rule set in force (default: the loaded one): it
        evaluates unless `evaluate` is given, and its categories and priorities are the
        report tabs' columns. A cycle that pulls and writes has the upkeep around it."""
        mode = DRY_RUN if dry_run else DAEMON
        if not pull:
            mode = replace(OWED_ONLY, dry_run=dry_run)
        rules = rules or self.rules
        context = self.context(clock)
        upkeep = self.upkeep if pull and not dry_run else None
        if upkeep is not None:
            upkeep.before(rules, context.clock())
        report = run_cycle(self.pipeline(rules, evaluate), mode, context)
        if upkeep is not None:
            upkeep.after(report, with_columns(self.reports, rules), context.clock())
        return report

    def pipeline(
        self,
        rules: RuleSet | None = None,
        evaluate: Evaluate | None = None,
        *,
        cursor_key: str | None = None,
        max_tickets: int | None = None,
    ) -> Pipeline:
        """These parts as the pipeline's input, with the rule set in force (default: the
        loaded one); `cursor_key` and `max_tickets` for a backfill's own cursor and batch."""
        rules = rules or self.rules
        return Pipeline(
            self.source,
            self.sinks,
            evaluate or rules.evaluate,
            self.store,
            notifiers=self.notifiers,
            max_tickets=max_tickets or self.max_tickets,
            dead_letters=self.dead_letters,
            reporter=with_columns(self.reports, rules),
            notify_on_first_sync=self.notify_on_first_sync,
            cursor_key=cursor_key,
            incidents=tuple(rules.incidents),
        )

    @staticmethod
    def context(clock: Callable[[], datetime] | None = None) -> CycleContext:
        """What a cycle reads from the world: `clock` (default: the wall clock), and the
        process's shutdown flag, which the daemon's signal handler sets
        (`syncd.retry.request_stop`) so that a cycle stops between pages."""
        return CycleContext(clock or (lambda: datetime.now(UTC)), retry.stop_requested)


def build_source(config: Config) -> Source:
    """The helpdesk source named by helpdesk.kind (syncd.registry)."""
    entry = helpdesk_kind(config.helpdesk.kind)
    return entry.source(config.helpdesk, _helpdesk_secrets(config), config.retry_attempts)


def _helpdesk_secrets(config: Config) -> list[str]:
    """The helpdesk's API token or key, from the environment, masked in logs from now on."""
    return _secrets(config.helpdesk, "helpdesk", helpdesk_kind(config.helpdesk.kind).secrets)


def _secrets(section: BaseModel, key: str, settings: tuple[str, ...]) -> list[str]:
    """The values of the environment variables a section's `settings` name, each masked in
    logs from now on; a ConfigError naming the setting when one is not set."""
    values = []
    for setting in settings:
        value = secret(getattr(section, setting), f"{key}.{setting}")
        register_secret(value)
        values.append(value)
    return values


def build_sinks(config: Config) -> list[Sink]:
    """The enabled sinks, in the registry's order (HubSpot first)."""
    sinks: list[Sink] = []
    for kind, entry in SINKS.items():
        section = getattr(config, kind)
        if section.enabled:
            secrets = _secrets(section, kind, entry.secrets)
            sinks.append(entry.build(section, secrets, config.retry_attempts, config))
    return sinks


def build_notifiers(config: Config, store: StateStore | None = None) -> list[Notifier]:
    """Whatever carries out the rules' actions: Slack channels, named webhooks, email, with
    helpdesk.write_back the helpdesk ticket's tags and, with HubSpot enabled, tasks and
    escalation notes there. The notes ride along other actions, so the chain is wrapped in
    `Notifiers`, which remembers in the state store (`store`, or one opened from `state.url`
    when first needed) which share of an action is done."""
    notifications = config.notifications
    off = OffChannels()
    chain: list[Notifier] = [off]
    if config.helpdesk.write_back:
        # First: it claims messages to the requester (public replies in the ticket's thread)
        # before email, and email is off or on regardless; it leaves them to email on a
        # ticket that takes no reply.
        chain.insert(0, _helpdesk_writer(config))
    if notifications.slack.channels:
        from connectors.slack import SlackNotifier

        key = "notifications.slack.channels"
        channels = _webhook_urls(notifications.slack.channels, key, "slack:", off)
        if channels:
            chain.append(
                SlackNotifier(channels, notifications.slack.timeout, attempts=config.retry_attempts)
            )
    if notifications.webhooks:
        from connectors.webhook import WebhookNotifier

        urls = _webhook_urls(notifications.webhooks, "notifications.webhooks", "webhook:", off)
        if urls:
            chain.append(
                WebhookNotifier(urls, notifications.webhook_timeout, attempts=config.retry_attempts)
            )
    if notifications.email is not None:
        email = _email(config, off)
        if email is not None:
            chain.append(email)
    off.warn()
    crm = notifications.crm
    if not (config.hubspot.enabled and (crm.tasks or crm.notes)):
        return chain
    from connectors.hubspot_tasks import HubSpotActivities
    from syncd.notifiers import Notifiers

    token = secret(config.hubspot.token_env, "hubspot.token_env")
    register_secret(token)
    hubspot = HubSpotActivities(
        config.hubspot, token, tasks=crm.tasks, notes=crm.notes, attempts=config.retry_attempts
    )
    chain.append(hubspot)
    if not crm.notes:
        return chain
    state = config.state
    ledger = (
        (lambda: store) if store is not None else (lambda: open_store(state.url, state.pipeline))
    )
    return [Notifiers(chain, [hubspot], ledger)]


def _email(config: Config, off: OffChannels) -> Notifier | None:
    """`email:` actions through the SMTP relay of notifications.email; None (and email noted
    as off) when the login it names is not in the environment."""
    from connectors.email import EmailNotifier

    email = config.notifications.email
    assert email is not None
    if bool(email.username_env) != bool(email.password_env):
        raise ConfigError(
            "username_env and password_env go together",
            where="notifications.email",
            hint="Name both environment variables (a login), or neither (no login)",
        )
    username = password = None
    if email.username_env and email.password_env:
        names = (email.username_env, email.password_env)
        unset = [name for name in names if not os.environ.get(name, "").strip()]
        if unset:
            off.add("email:", "notifications.email", unset, "the SMTP login")
            return None
        username = secret(email.username_env, "notifications.email.username_env")
        password = secret(email.password_env, "notifications.email.password_env")
        register_secret(password)
    return EmailNotifier(email, username, password, attempts=config.retry_attempts)


def _helpdesk_writer(config: Config) -> Notifier:
    """`tag:`, `set_priority:`, `set_group:` actions on the helpdesk ticket, and messages to
    the requester as public replies on it (helpdesk.write_back)."""
    entry = helpdesk_kind(config.helpdesk.kind)
    if entry.write_back is None:
        raise ConfigError(
            f"{entry.vendor} tickets cannot be written back to",
            where="helpdesk.write_back",
            hint="Set helpdesk.write_back: false",
        )
    return entry.write_back(config.helpdesk, _helpdesk_secrets(config), config.retry_attempts)


class OffChannels:
    """Notification channels whose secret is not in the environment: off, so that a config
    naming more channels than are set up still runs (the example names several). Their
    actions are recorded as skipped, saying which variable to set; `warn` logs them all in
    one line when the notifiers are built."""

    name = "off"

    def __init__(self) -> None:
        self.reasons: dict[str, str] = {}  # action target (or prefix ending ':') -> why off
        self.unset: list[str] = []  # "VARIABLE (config key)" for the warning

    def add(self, target: str, key: str, env_names: list[str], holds: str) -> None:
        """Turn off `target` (`slack:#x`, `webhook:name`, or `email:` for every address)."""
        self.reasons[target] = f"{key} is off: {', '.join(env_names)} not set ({holds})"
        self.unset += [f"{env_name} ({key}: {holds})" for env_name in env_names]

    def warn(self) -> None:
        """One warning naming every channel that is off, if any."""
        if self.unset:
            log.warning(
                "notification channels off: their environment variables are not set; "
                "their actions are recorded as skipped",
                unset=self.unset,
                hint="Export each variable (or remove the channel from notifications)",
            )

    def post(self, target: str, subject: str, text: str, ref: str) -> str | None:
        """A skip, with the reason, for a message (a digest) to a channel that is off."""
        why = self.reasons.get(target)
        if why is None and target.startswith("email:"):
            why = self.reasons.get("email:")
        return f"skipped: {why}" if why else None

    def deliver(self, ticket: Ticket, action: Action, text: str, decision: Decision) -> str | None:
        """A skip, with the reason, for an action sent to a channel that is off; else None."""
        if action.kind != "notify":
            return None
        why = self.reasons.get(action.target)
        if why is None and action.target.startswith("email:"):
            why = self.reasons.get("email:")
        return f"skipped: {why}" if why else None


def _webhook_urls(
    mapping: dict[str, str], key: str, prefix: str, off: OffChannels
) -> dict[str, str]:
    """name -> webhook URL for each entry whose environment variable is set; the others are
    turned off in `off`. A variable holding something other than a URL is a ConfigError."""
    urls: dict[str, str] = {}
    for name, env_name in mapping.items():
        value = os.environ.get(env_name, "").strip()
        if not value:
            off.add(f"{prefix}{name}", f"{key}.{name}", [env_name], "a webhook URL")
            continue
        register_secret(value)
        if not value.startswith(("https://", "http://")):
            raise ConfigError(
                f"environment variable {env_name} does not hold a URL",
                where=f"{key}.{name}",
                hint=f"Export {env_name} with the webhook's URL (https://...), not a token",
            )
        urls[name] = value
    return urls


def build(config: Config) -> Parts:
    """Source, sinks, compiled rules and state store for a config."""
    breakers = config.circuit_breaker
    retry.configure(breakers.failures, breakers.probe_interval)  # every API starts closed
    source = build_source(config)
    sinks = build_sinks(config)
    notifiers = build_notifiers(config)
    rules = load_rules(config.rules.dir)
    store = open_store(config.state.url, config.state.pipeline)
    for sink in sinks:
        # A CRM sink remembers its contacts, companies and associations in the state store
        # (syncd.ports.CrmMemory), so a restart sends HubSpot nothing it holds already.
        if isinstance(sink, RemembersCrm):
            sink.remember_in(store)
    parts = Parts(
        source,
        sinks,
        rules,
        store,
        notifiers,
        config.max_tickets_per_cycle,
        config.notifications.notify_on_first_sync,
        RetryPolicy(
            config.dead_letters.retries,
            config.dead_letters.first_retry,
            config.dead_letters.max_wait,
        ),
        build_reporter(config),
    )
    # Around each cycle: rule and sheet layout changes, the digests (syncd.upkeep).
    from syncd.upkeep import upkeep_for

    return replace(parts, upkeep=upkeep_for(parts, config))


def build_reporter(config: Config) -> ReportSettings | None:
    """How the sheet's report tabs are cut (None when the sheet is off)."""
    sheets = config.sheets
    if not sheets.enabled:
        return None
    return ReportSettings(
        timezone=sheets.timezone,
        week_ends=sheets.week_ends,
        days=sheets.report_days,
        weeks=sheets.report_weeks,
        months=sheets.report_months,
        recent_breaches=timedelta(days=sheets.recent_breach_days),
    )


def with_columns(settings: ReportSettings | None, rules: RuleSet) -> ReportSettings | None:
    """The settings with the rule set's categories (in rule order, then the default one)
    and priority levels, so the report tabs' columns follow the rules in force."""
    if settings is None:
        return None
    named = [rule.value for rule in rules.categories if rule.value]
    categories = tuple(dict.fromkeys([*named, DEFAULT_CATEGORY]))
    return replace(settings, categories=categories, priorities=tuple(rules.levels))
