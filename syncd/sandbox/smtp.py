"""A recording SMTP server, standing in for the mail relay syncd sends `email:` actions through.

aiosmtpd serves real SMTP on its own loopback port (SMTP is not HTTP, so it does not share the
sandbox's web server). It advertises AUTH PLAIN/LOGIN without TLS (loopback only) and accepts
SMTP_USERNAME / SMTP_PASSWORD; sending without logging in is allowed too. Every message is
recorded, parsed; a message whose Message-ID was seen before is marked as a duplicate, the
record keeps both. `stop()` and `start()` again (same port) play a relay that is down a while;
`reject(address)` makes the server refuse one recipient for good (550).
"""

from __future__ import annotations

import logging
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# aiosmtpd logs every connection (and a deprecation warning per login) to "mail.log".
logging.getLogger("mail.log").setLevel(logging.ERROR)

SMTP_USERNAME = "sandbox-smtp"
SMTP_PASSWORD = "sandbox-smtp-password"


class _Controller(Controller):
    """aiosmtpd's controller, able to bind port 0 (it would self-test port 0 otherwise)."""

    def _trigger_server(self) -> None:
        server: Any = self.server  # an asyncio Server, typed as AbstractServer by aiosmtpd
        if self.port == 0 and server is not None:
            self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpServer:
    """Accepts every message for every recipient (except rejected ones) and records it."""

    name = "smtp"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.received: list[dict[str, Any]] = []
        self.logins: list[str] = []
        self.rejected: set[str] = set()
        self._ids: set[str] = set()
        self._lock = threading.Lock()
        self._controller: _Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> SmtpServer:
        """Listen (on the port of an earlier start, if any)."""
        if self._controller is None:
            controller = _Controller(
                self,
                hostname=self.host,
                port=self.port,
                authenticator=self._authenticate,
                auth_require_tls=False,
                ready_timeout=10,
            )
            controller.start()
            self.port = controller.port
            self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until `start()`."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def reject(self, address: str) -> None:
        """Refuse this recipient from now on (550, a permanent failure)."""
        with self._lock:
            self.rejected.add(address.lower())

    def messages(self, *, repeats: bool = True) -> list[dict[str, Any]]:
        """Messages received, oldest first: sender, recipients, subject, body, message_id,
        headers, duplicate; without `repeats`, only those whose Message-ID was new."""
        with self._lock:
            return [m for m in self.received if repeats or not m["duplicate"]]

    def clear(self) -> None:
        with self._lock:
            self.received.clear()
            self._ids.clear()

    # aiosmtpd handler hooks

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self._lock:
            refused = address.lower() in self.rejected
        if refused:
            return f"550 5.1.1 <{address}>: recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        body = parsed.get_body(preferencelist=("plain",))
        message_id = str(parsed.get("Message-ID", ""))
        with self._lock:
            duplicate = bool(message_id) and message_id in self._ids
            self._ids.add(message_id)
            self.received.append(
                {
                    "sender": envelope.mail_from,
                    "recipients": list(envelope.rcpt_tos),
                    "subject": str(parsed.get("Subject", "")),
                    "body": body.get_content().replace("\r\n", "\n") if body is not None else "",
                    "message_id": message_id,
                    "headers": {k: str(v) for k, v in parsed.items()},
                    "duplicate": duplicate,
                }
            )
        return "250 Message accepted for delivery"

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode()
        ok = user == SMTP_USERNAME and auth_data.password.decode() == SMTP_PASSWORD
        if ok:
            with self._lock:
                self.logins.append(user)
        # handled=False: aiosmtpd answers 535 itself (handled=True would leave it unanswered)
        return AuthResult(success=ok, auth_data=user if ok else None, handled=False)
