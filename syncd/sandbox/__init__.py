"""Local emulators of the vendor APIs syncd talks to, for tests and the demo.

`Sandbox` starts one loopback HTTP server hosting Zendesk, HubSpot, Google Sheets and the
Google OAuth2 token endpoint, plus a recording SMTP server on a port of its own (`sb.smtp`).
The emulators follow the vendors' public API docs (paths, JSON shapes, pagination, rate-limit
headers, error bodies); they import no connector. Production
code never imports this package: only `syncd sandbox`, `syncd demo` and the tests do.

    with Sandbox() as sb:
        sb.zendesk.generate(100)
        ...  # point syncd at sb.url
        sb.counts()            # {"zendesk": 1, "hubspot": 1, "sheets": 2, "oauth": 1}
        sb.hubspot.objects("tickets")
        sb.sheets.values(SPREADSHEET_ID, "Tickets")
        sb.smtp.messages()     # what `email:` actions sent
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from syncd.sandbox.freshdesk import FreshdeskApp
from syncd.sandbox.hubspot import HubSpotApp
from syncd.sandbox.oauth import GoogleOAuthApp
from syncd.sandbox.server import (
    Arrival,
    Faults,
    Handler,
    Request,
    Response,
    SandboxServer,
    VendorApp,
)
from syncd.sandbox.sheets import SheetsApp
from syncd.sandbox.slack import SlackApp
from syncd.sandbox.smtp import SMTP_PASSWORD, SMTP_USERNAME, SmtpServer
from syncd.sandbox.webhooks import WebhookApp
from syncd.sandbox.zendesk import ZendeskApp
from syncd.sandbox.zendesk_data import FIELD_PLAN as ZENDESK_PLAN_FIELD

# Credentials the sandbox accepts; tests use others to provoke 401s.
ZENDESK_EMAIL = "ops@acme.test"
ZENDESK_TOKEN = "sandbox-zendesk-token"
FRESHDESK_DOMAIN = "acme"
FRESHDESK_API_KEY = "sandbox-freshdesk-key"
HUBSPOT_TOKEN = "sandbox-hubspot-token"
SPREADSHEET_ID = "sandbox-spreadsheet"
# The sender of the emails syncd sends through the sandbox's SMTP server.
EMAIL_SENDER = "syncd@acme.test"
# The Slack channels the default rule set notifies.
SLACK_CHANNELS = ("#support", "#support-escalations", "#incidents", "#support-quality")
# The task owners the default rule set names: HubSpot users of the emulated portal.
HUBSPOT_OWNERS = (
    ("team-lead@example.com", "Terry", "Lead"),
    ("support-manager@example.com", "Sam", "Manager"),
)

__all__ = [
    "EMAIL_SENDER",
    "FRESHDESK_API_KEY",
    "FRESHDESK_DOMAIN",
    "HUBSPOT_TOKEN",
    "SMTP_PASSWORD",
    "SMTP_USERNAME",
    "SPREADSHEET_ID",
    "ZENDESK_EMAIL",
    "ZENDESK_TOKEN",
    "Arrival",
    "Faults",
    "Sandbox",
]


class Sandbox:
    """All emulators on one loopback port, served from a background thread."""

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        fault_rate: float = 0.0,
        seed: int = 0,
        export_lag_seconds: float = 0.0,
        smtp_port: int = 0,
    ) -> None:
        self.oauth = GoogleOAuthApp()
        self.zendesk = ZendeskApp(
            email=ZENDESK_EMAIL, token=ZENDESK_TOKEN, export_lag_seconds=export_lag_seconds
        )
        self.freshdesk = FreshdeskApp(api_key=FRESHDESK_API_KEY, domain=FRESHDESK_DOMAIN)
        self.hubspot = HubSpotApp(token=HUBSPOT_TOKEN)
        for email, first, last in HUBSPOT_OWNERS:
            self.hubspot.add_owner(email, first, last)
        self.sheets = SheetsApp(oauth=self.oauth, spreadsheet_ids=[SPREADSHEET_ID])
        self.slack = SlackApp()
        self.webhooks = WebhookApp()
        self.faults = Faults(rate=fault_rate, seed=seed)
        # Every helpdesk's emulator by kind: the built-in ones, then those registered with
        # `helpdesk_emulator`. Freshdesk first: Zendesk paths take an optional ".json", so
        # /api/v2/tickets/{id} would otherwise reach the Zendesk emulator.
        self.helpdesks: dict[str, VendorApp] = {
            "freshdesk": self.freshdesk,
            "zendesk": self.zendesk,
            **{kind: make() for kind, make in HELPDESK_EMULATORS.items()},
        }
        apps: list[VendorApp] = [*self.helpdesks.values(), self.hubspot, self.sheets]
        apps += [self.oauth, self.slack]
        self.smtp = SmtpServer(host, smtp_port)  # SMTP is not HTTP: a port of its own
        apps += [self.webhooks, _Emails(self.smtp)]
        self.server = SandboxServer(host, port, apps, self.faults)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of every emulated API, e.g. http://127.0.0.1:8765."""
        return self.server.base_url

    def start(self) -> Sandbox:
        """Serve in a background thread."""
        # A short poll interval: `stop()` waits for the loop's next poll (0.5 s by default).
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        self.smtp.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the ports."""
        self.smtp.stop()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def counts(self) -> dict[str, int]:
        """Vendor requests served so far, per API (admin calls are not counted)."""
        with self.server.lock:
            return dict(self.server.counts)

    def reset_counts(self) -> None:
        """Zero the request counters."""
        with self.server.lock:
            self.server.counts.clear()
            self.server.log.clear()
            self.server.arrivals.clear()

    def arrivals(self, api: str | None = None) -> list[Arrival]:
        """Vendor requests served since the counters were reset, in order of arrival, each
        with its time and the Retry-After its answer gave (for one API, or all)."""
        with self.server.lock:
            return [a for a in self.server.arrivals if api is None or a.api == api]

    def write_service_account(self, path: Path) -> Path:
        """Write a Google service-account JSON whose token_uri is this sandbox's endpoint."""
        info = self.oauth.service_account_info(token_uri=f"{self.url}/token")
        path.write_text(json.dumps(info, indent=2))
        return path

    def slack_webhooks(self) -> dict[str, str]:
        """Environment variables holding a webhook URL for each channel the default rules use
        (what `config()` refers to)."""
        return {
            f"SLACK_WEBHOOK_{_env_name(channel)}": self.url + self.slack.webhook_path(channel)
            for channel in SLACK_CHANNELS
        }

    def helpdesk_section(self, kind: str) -> dict[str, Any]:
        """The `helpdesk:` section of a config pointing syncd at that helpdesk's emulator."""
        app = self.helpdesks[kind]
        if isinstance(app, HelpdeskEmulator):
            return app.config_section(self.url)
        return _BUILT_IN[kind](self.url)

    def config(
        self, state_url: str, rules_dir: str, credentials_file: Path, helpdesk: str = "zendesk"
    ) -> dict[str, Any]:
        """A syncd config (as a dict) pointing every vendor at this sandbox; `helpdesk` is
        zendesk (token in ZENDESK_TOKEN), freshdesk (API key in FRESHDESK_API_KEY) or the
        kind of a registered emulator (HELPDESK_EMULATORS). Email
        goes to the sandbox's SMTP server without logging in (it accepts SMTP_USERNAME /
        SMTP_PASSWORD too, for configs that name `username_env` and `password_env`)."""
        return {
            "helpdesk": self.helpdesk_section(helpdesk),
            "hubspot": {"token_env": "HUBSPOT_TOKEN", "base_url": self.url},
            "sheets": {
                "spreadsheet_id": SPREADSHEET_ID,
                "credentials_file": str(credentials_file),
                "base_url": self.url,
                "token_url": f"{self.url}/token",
            },
            "state": {"url": state_url},
            "notifications": {
                "slack": {"channels": {c: f"SLACK_WEBHOOK_{_env_name(c)}" for c in SLACK_CHANNELS}},
                "email": {
                    "host": self.smtp.host,
                    "port": self.smtp.port,
                    "starttls": False,
                    "sender": EMAIL_SENDER,
                    "timeout": 10,
                },
            },
            "rules": {"dir": rules_dir},
            "poll_interval": "1s",
        }


@runtime_checkable
class HelpdeskEmulator(VendorApp, Protocol):
    """A helpdesk's emulator: a vendor app (its `name` is the helpdesk's kind) that says
    what `helpdesk:` section points syncd at it."""

    def config_section(self, base_url: str) -> dict[str, Any]:
        """The `helpdesk:` section of a config for the emulator served at `base_url`."""
        ...


# Emulators of helpdesks beyond Zendesk and Freshdesk, by kind: every Sandbox made after
# their module is imported mounts them (`@helpdesk_emulator` on the class; syncd sandbox
# --helpdesk imports syncd.sandbox.<kind>).
HELPDESK_EMULATORS: dict[str, Callable[[], HelpdeskEmulator]] = {}

_E = TypeVar("_E", bound=Callable[[], HelpdeskEmulator])


def helpdesk_emulator(make: _E) -> _E:
    """Register a helpdesk's emulator (a class made without arguments, or a factory)."""
    HELPDESK_EMULATORS[make().name] = make
    return make


def _zendesk_section(base_url: str) -> dict[str, Any]:
    return {
        "kind": "zendesk",
        "subdomain": "acme",
        "email": ZENDESK_EMAIL,
        "token_env": "ZENDESK_TOKEN",
        "base_url": base_url,
        "custom_fields": {"plan": str(ZENDESK_PLAN_FIELD)},
    }


def _freshdesk_section(base_url: str) -> dict[str, Any]:
    return {
        "kind": "freshdesk",
        "domain": FRESHDESK_DOMAIN,
        "api_key_env": "FRESHDESK_API_KEY",
        "base_url": base_url,
        "custom_fields": {"plan": "cf_plan"},
    }


_BUILT_IN: dict[str, Callable[[str], dict[str, Any]]] = {
    "zendesk": _zendesk_section,
    "freshdesk": _freshdesk_section,
}


class _Emails:
    """`GET /_sandbox/emails`: what the SMTP server received, oldest first (an admin route:
    SMTP has no HTTP API of its own to read back)."""

    name = "emails"

    def __init__(self, smtp: SmtpServer) -> None:
        self.smtp = smtp

    def routes(self) -> list[tuple[str, str, Handler]]:
        """No vendor API: only the admin route."""
        return []

    def admin_routes(self) -> list[tuple[str, str, Handler]]:
        """GET /_sandbox/emails (`?repeats=false` leaves out repeated Message-IDs)."""

        def emails(req: Request) -> Response:
            repeats = (req.arg("repeats") or "true").lower() != "false"
            return Response(200, self.smtp.messages(repeats=repeats))

        return [("GET", "", emails)]

    def error(self, status: int, message: str) -> Response:
        """A plain JSON error."""
        return Response(status, {"error": message})


def _env_name(channel: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in channel.lstrip("#")).upper()
