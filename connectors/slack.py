"""Slack sink for notifications: `notify: slack:#channel` actions, via incoming webhooks.

Each channel has its own incoming-webhook URL (a secret: anyone holding it can post), read
from the environment variable the config names. slack_sdk's WebhookClient sends; syncd's
retry policy handles 429 (Slack allows about one message per second per webhook) and 5xx.

Slack reads `&`, `<` and `>` in message text as control characters: unescaped, a ticket
subject holding `<!channel>` would notify the whole channel and `<https://evil|Reset SSO>`
would show a disguised link. So the message is rendered here, with `escape` applied to every
ticket value the rule's template fills in (the template's own text may hold Slack markup on
purpose, such as `<{ticket.url}|#{ticket.id}>`). Source: Slack, "Formatting text for app
surfaces", Escaping text (https://api.slack.com/reference/surfaces/formatting#escaping).
"""

from __future__ import annotations

from slack_sdk.webhook import WebhookClient

from syncd.errors import ConfigError, Refusal, TransientError, error_for
from syncd.model import Action, Decision, Ticket
from syncd.retry import retry_after_seconds, with_retry


def escape(text: str) -> str:
    """Text Slack shows literally: `&`, `<`, `>` become `&amp;`, `&lt;`, `&gt;` (only these
    three: Slack decodes no other entity, so escaping more would show the entities)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(ticket: Ticket, action: Action, text: str, decision: Decision) -> str:
    """The Slack text of an action: its template filled in with escaped ticket values; a rule
    without a template gets a one-line summary, escaped likewise."""
    if action.render is not None:
        return action.text(ticket, decision, escape=escape)
    if text:  # handed in already filled in: nothing in it may act as markup
        return escape(text)
    return " ".join(
        escape(part) for part in (f"{action.origin}: #{ticket.id}", ticket.subject, ticket.url)
    )


class SlackNotifier:
    """Posts `notify: slack:#channel` actions to that channel's incoming webhook."""

    def __init__(self, webhooks: dict[str, str], timeout: float = 15, attempts: int = 5):
        self.clients = {
            channel: WebhookClient(url, timeout=int(timeout), retry_handlers=[])
            for channel, url in webhooks.items()
        }
        self.attempts = attempts

    def deliver(self, ticket: Ticket, action: Action, text: str, decision: Decision) -> str | None:
        """Post the text; None when the action is not a Slack notification."""
        if action.kind != "notify" or not action.target.startswith("slack:"):
            return None
        channel = action.target.removeprefix("slack:")
        client = self.clients.get(channel)
        if client is None:
            raise ConfigError(
                f"no Slack webhook for {channel} (rule at {action.where})",
                where="notifications.slack.channels",
                hint=f"Map {channel} to the environment variable holding its webhook URL",
            )
        text = message(ticket, action, text, decision)
        with_retry(lambda: self._post(client, text, channel), api="slack", attempts=self.attempts)
        return f"posted to Slack {channel}"

    def post(self, target: str, subject: str, text: str, ref: str) -> str | None:
        """Post a message that is not about one ticket (a digest: syncd.digests) to a
        `slack:#channel` target, every character shown as written; None for other targets.
        `subject` and `ref` are the email's concern."""
        if not target.startswith("slack:"):
            return None
        channel = target.removeprefix("slack:")
        client = self.clients.get(channel)
        if client is None:
            raise ConfigError(
                f"no Slack webhook for {channel}",
                where="notifications.slack.channels",
                hint=f"Map {channel} to the environment variable holding its webhook URL",
            )
        shown = escape(text)
        with_retry(lambda: self._post(client, shown, channel), api="slack", attempts=self.attempts)
        return f"posted to Slack {channel}"

    def _post(self, client: WebhookClient, text: str, channel: str) -> None:
        try:
            response = client.send(text=text)
        except OSError as exc:  # URLError, timeouts, refused connections
            raise TransientError(f"cannot reach Slack for {channel}: {exc}") from None
        if response.status_code == 200:
            return
        headers = response.headers or {}
        value = headers.get("Retry-After") or headers.get("retry-after")
        raise error_for(
            "Slack",
            response.status_code,
            f"the message for {channel}: {response.body}",
            retry_after=retry_after_seconds(value[0] if isinstance(value, list) else value),
            refusal=Refusal(
                f"the webhook for {channel}",
                where="notifications.slack.channels",
                hint=f"Check the webhook URL mapped to {channel} (Slack revokes a webhook "
                "when its app is removed)",
            ),
        )
