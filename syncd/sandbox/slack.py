"""Slack incoming webhooks, as Slack documents them (api.slack.com/messaging/webhooks).

`POST /services/T…/B…/secret` with a JSON body holding `text` (or `blocks`) answers 200 with
the plain-text body `ok`; errors are plain text too: 400 `invalid_payload` / `no_text`,
403 `invalid_token`, 404 `no_service` / `channel_not_found`, 410 `channel_is_archived`,
and 429 with Retry-After (about one message per second per webhook).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from syncd.sandbox.server import Handler, Request, Response


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
            self.sent.append({"channel": channel, "text": body.get("text", ""), "body": body})
        return Response(200, b"ok", {"Content-Type": "text/html"})
