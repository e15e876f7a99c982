"""Build the concrete source, sinks, rules and state store from a Config.

The one place that knows which connector serves which `kind` (a plain registry), so the
pipeline never imports a connector. Secrets are read from the environment here and
registered with the log redactor before any request is made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from syncd.config import Config, secret
from syncd.logs import register_secret
from syncd.pipeline import CycleReport, Evaluate, run_cycle
from syncd.ports import Notifier, Sink, Source
from syncd.rules import RuleSet, load_rules
from syncd.state import SqlStateStore, open_store


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

    def cycle(
        self,
        *,
        dry_run: bool = False,
        evaluate: Evaluate | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> CycleReport:
        """One sync cycle with these parts (`evaluate` defaults to the loaded rules)."""
        return run_cycle(
            self.source,
            self.sinks,
            evaluate or self.rules.evaluate,
            self.store,
            notifiers=self.notifiers,
            notify_on_first_sync=self.notify_on_first_sync,
            max_tickets=self.max_tickets,
            dry_run=dry_run,
            clock=clock or (lambda: datetime.now(UTC)),
        )


def build_source(config: Config) -> Source:
    """The helpdesk source named by helpdesk.kind."""
    helpdesk = config.helpdesk
    if helpdesk.kind == "zendesk":
        from connectors.zendesk import ZendeskSource

        token = secret(helpdesk.token_env, "helpdesk.token_env")
        register_secret(token)
        return ZendeskSource(helpdesk, token, attempts=config.retry_attempts)
    from connectors.freshdesk import FreshdeskSource

    api_key = secret(helpdesk.api_key_env, "helpdesk.api_key_env")
    register_secret(api_key)
    return FreshdeskSource(helpdesk, api_key, attempts=config.retry_attempts)


def build_sinks(config: Config) -> list[Sink]:
    """The enabled sinks, HubSpot first."""
    sinks: list[Sink] = []
    if config.hubspot.enabled:
        from connectors.hubspot import HubSpotSink

        token = secret(config.hubspot.token_env, "hubspot.token_env")
        register_secret(token)
        sinks.append(HubSpotSink(config.hubspot, token, attempts=config.retry_attempts))
    if config.sheets.enabled:
        from connectors.sheets import SheetsSink

        sinks.append(SheetsSink(config.sheets, attempts=config.retry_attempts))
    return sinks


def build_notifiers(config: Config) -> list[Notifier]:
    """Whatever carries out the rules' actions (Slack for now)."""
    slack = config.notifications.slack
    if not slack.channels:
        return []
    from connectors.slack import SlackNotifier

    webhooks = {}
    for channel, env_name in slack.channels.items():
        url = secret(env_name, f"notifications.slack.channels.{channel}")
        register_secret(url)
        webhooks[channel] = url
    return [SlackNotifier(webhooks, slack.timeout, attempts=config.retry_attempts)]


def build(config: Config) -> Parts:
    """Source, sinks, compiled rules and state store for a config."""
    source = build_source(config)
    sinks = build_sinks(config)
    notifiers = build_notifiers(config)
    rules = load_rules(config.rules.dir)
    store = open_store(config.state.url)
    return Parts(
        source,
        sinks,
        rules,
        store,
        notifiers,
        config.max_tickets_per_cycle,
        config.notifications.notify_on_first_sync,
    )
