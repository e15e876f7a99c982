"""Slack incoming webhooks, as Slack documents them (api.slack.com/messaging/webhooks).

`POST /services/T…/B…/secret` with a JSON body holding `text` (or `blocks`) answers 200 with
the plain-text body `ok`; errors are plain text too: 400 `invalid_payload` / `no_text`,
403 `invalid_token`, 404 `no_service` / `channel_not_found`, 410 `channel_is_archived`,
and 429 with Retry-After (about one message per second per webhook).

Every message is recorded with what Slack would make of its text (`parse_mrkdwn`): Slack's
"Formatting text for app surfaces" (api.slack.com/reference/surfaces/formatting, and the
older api.slack.com/docs/message-formatting) makes `&`, `<` and `>` control characters. A
`<...>` sequence is a control sequence: `<!channel>`, `<!here>`, `<!everyone>` (and
`<!group>`, a synonym of channel) notify everyone, `<!subteam^ID>` a user group, `<@U...>` /
`<@W...>` a user; `<#C...>` links a channel; `<!date^...>` shows a date; anything else is a
link, `<url|label>` showing only the label. Text meant literally escapes the three characters
as `&amp;`, `&lt;`, `&gt;`, which Slack shows as `&`, `<`, `>`. With `link_names` set, plain
`@channel`, `@here` and `@everyone` notify too (not set by default).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from syncd.sandbox.server import Handler, Request, Response

CONTROL = re.compile(r"<([^<>]*)>")  # Slack: a control sequence runs from < to the next >
BROADCASTS = {"channel": "channel", "group": "channel", "here": "here", "everyone": "everyone"}
PLAIN_BROADCAST = re.compile(r"(?<![\w<!])@(channel|here|everyone)\b")  # only with link_names
ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def _shown(text: str) -> str:
    """Text as a reader sees it: entities decoded (&amp; last, so "&amp;lt;" shows "&lt;")."""
    for entity, char in ENTITIES:
        text = text.replace(entity, char)
    return text


def _control(body: str, mentions: list[str], links: list[dict[str, str]]) -> str:
    """One control sequence's effect (recorded) and the text it shows."""
    target, _, label = body.partition("|")
    if target.startswith("!"):
        command = target[1:]
        if command in BROADCASTS:
            mentions.append(f"@{BROADCASTS[command]}")
            return label or f"@{BROADCASTS[command]}"
        if command.startswith("subteam^"):
            mentions.append(f"usergroup:{command.removeprefix('subteam^')}")
            return label or "@group"
        return label or ""  # !date^... and other commands: shown, notify nobody
    if target.startswith("@"):
        mentions.append(f"user:{target[1:]}")
        return label or target
    if target.startswith("#"):
        return label or target
    url = _shown(target)
    links.append({"url": url, "label": _shown(label) if label else url})
    return _shown(label) if label else url


def parse_mrkdwn(text: str, link_names: bool = False) -> dict[str, Any]:
    """What Slack does with a message's text: who it notifies, which links it shows (and with
    which label: a label other than the URL is a disguised link), and the text shown."""
    mentions: list[str] = []
    links: list[dict[str, str]] = []
    shown: list[str] = []
    position = 0
    for match in CONTROL.finditer(text):
        shown.append(_shown(text[position : match.start()]))
        shown.append(_control(match.group(1), mentions, links))
        position = match.end()
    shown.append(_shown(text[position:]))
    if link_names:
        plain = CONTROL.sub(" ", text)
        mentions += [f"@{BROADCASTS[m.group(1)]}" for m in PLAIN_BROADCAST.finditer(plain)]
    disguised = [link for link in links if link["label"] != link["url"]]
    return {
        "mentions": mentions,
        "links": links,
        "disguised_links": disguised,
        "shown": "".join(shown),
    }


class SlackApp:
    """Incoming webhooks: one URL per channel, every message recorded."""

    name = "slack"

    def __init__(
        self, per_second: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_second = per_second  # None: no rate limit (tests); Slack: about 1
        self.clock = clock
        self.hooks: dict[str, str] = {}  # path -> channel
        self.sent: list[dict[str, Any]] = []
        self._last: dict[str, float] = {}
        self._lock = threading.RLock()

    def webhook_path(self, channel: str) -> str:
        """Create (or return) the webhook path for a channel, e.g. /services/T1/B1/abc."""
        with self._lock:
            for path, known in self.hooks.items():
                if known == channel:
                    return path
            path = f"/services/T0SANDBOX/B{len(self.hooks):07d}/{secrets.token_hex(12)}"
            self.hooks[path] = channel
            return path

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages received, optionally for one channel."""
        with self._lock:
            return [m for m in self.sent if channel is None or m["channel"] == channel]

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("POST", r"/services/(?P<team>[A-Z0-9]+)/(?P<bot>[A-Z0-9]+)/(?P<key>\w+)", self._post)
        ]

    def admin_routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", r"/messages", lambda _req: Response(200, self.messages())),
            ("POST", r"/webhooks", self._admin_create),
        ]

    def error(self, status: int, message: str) -> Response:
        text = {429: "rate_limited", 404: "no_service", 403: "invalid_token"}.get(status, message)
        return Response(status, text.encode(), {"Content-Type": "text/plain"})

    def _admin_create(self, req: Request) -> Response:
        channel = str((req.json() or {}).get("channel", ""))
        return Response(200, {"url": req.base_url + self.webhook_path(channel)})

    def _post(self, req: Request) -> Response:
        with self._lock:
            channel = self.hooks.get(req.path)
            if channel is None:
                return self.error(404, "no_service")
            now = self.clock()
            if self.per_second and now - self._last.get(req.path, -1e9) < 1 / self.per_second:
                response = self.error(429, "rate_limited")
                response.headers["Retry-After"] = "1"
                return response
            try:
                body = req.json()
            except ValueError:
                return self.error(400, "invalid_payload")
            if not isinstance(body, dict):
                return self.error(400, "invalid_payload")
            if not body.get("text") and not body.get("blocks"):
                return self.error(400, "no_text")
            self._last[req.path] = now
            text = str(body.get("text") or "")
            parsed = parse_mrkdwn(text, link_names=bool(body.get("link_names")))
            self.sent.append({"channel": channel, "text": text, "body": body, **parsed})
        return Response(200, b"ok", {"Content-Type": "text/html"})
