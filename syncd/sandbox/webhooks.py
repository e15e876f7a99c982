"""A generic webhook receiver: what an automation tool (Zapier, n8n, an on-call service, an
internal endpoint) offers as "POST JSON here".

`POST /hooks/{name}` with a JSON object body answers 200 ``{"ok": true}``; a body that is not
a JSON object answers 400. Every request is recorded with its headers, so tests can check what
was sent and how often. A receiver that honours an ``Idempotency-Key`` header marks a repeat
(same key) as a duplicate instead of acting on it again; the record keeps both.
"""

from __future__ import annotations

import threading
from typing import Any

from syncd.sandbox.server import Handler, Request, Response


class WebhookApp:
    """Named webhook endpoints; every delivery recorded."""

    name = "webhooks"

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self._keys: set[tuple[str, str]] = set()  # (hook, idempotency key) seen
        self._lock = threading.Lock()

    def path(self, hook: str) -> str:
        """The path of a named webhook, e.g. /hooks/ops."""
        return f"/hooks/{hook}"

    def deliveries(self, hook: str | None = None, *, repeats: bool = True) -> list[dict[str, Any]]:
        """Requests received (optionally for one hook); without `repeats`, only those whose
        idempotency key was new."""
        with self._lock:
            return [
                r
                for r in self.received
                if (hook is None or r["hook"] == hook) and (repeats or not r["duplicate"])
            ]

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [("POST", r"/hooks/(?P<hook>[\w.-]+)", self._post)]

    def admin_routes(self) -> list[tuple[str, str, Handler]]:
        return [("GET", r"/received", lambda _req: Response(200, self.deliveries()))]

    def error(self, status: int, message: str) -> Response:
        return Response(status, {"ok": False, "error": message})

    def _post(self, req: Request) -> Response:
        try:
            body = req.json()
        except ValueError:
            return self.error(400, "body is not JSON")
        if not isinstance(body, dict):
            return self.error(400, "body must be a JSON object")
        hook = req.params["hook"]
        key = req.header("idempotency-key") or ""
        with self._lock:
            duplicate = bool(key) and (hook, key) in self._keys
            if key:
                self._keys.add((hook, key))
            self.received.append(
                {"hook": hook, "headers": dict(req.headers), "body": body, "duplicate": duplicate}
            )
        return Response(200, {"ok": True, "duplicate": duplicate})
