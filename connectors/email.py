"""Email for notifications: `notify: email:<address>` and `notify: email:requester` actions,
sent through an SMTP relay (`notifications.email`) with the standard library's smtplib.

`email:requester` goes to the ticket's requester (a ticket without a requester email is
skipped, with the reason, not failed); any other `email:<address>` to that address.

Two kinds of mail, told apart by who reads them (`Action.to_requester`):
- to the team: subject "[syncd] <origin>: #<id> <subject>", the body the rule's text and the
  agents' link to the ticket;
- to the requester: the rule's customer template only (the rules loader refuses any other
  text), subject "[#<id>] <subject>" (the ticket reference Freshdesk threads replies by, and
  what a Zendesk agent searches for), From and Reply-To the support address, and the
  helpdesk's customer link ({ticket.customer_url}) when it has one: never the origin, the
  level, a rule name or the agents' link. With helpdesk.write_back on, the helpdesk's own
  write-back claims these actions first and posts them as public replies on the ticket, so
  this notifier only sees them when write-back is off (or the ticket can no longer take a
  reply).
Every message carries a Message-ID derived from the helpdesk, the ticket and the action key,
so a repeat (a retry after an answer that was lost) can be recognised by the receiver.

Connection failures, timeouts and 4xx answers are transient (retried, and the pipeline tries
the action again next cycle); a 5xx answer (a recipient refused for good, say) is terminal and
names the address; a refused login is a credentials problem. The password is read from the
environment and never logged. One connection per message: escalation mail is rare.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from syncd.config import EmailConfig
from syncd.errors import ConfigError, CredentialsError, TerminalError, TransientError
from syncd.model import Action, Decision, Ticket, paragraphs
from syncd.retry import with_retry


class EmailNotifier:
    """Sends `notify: email:...` actions through one SMTP relay."""

    def __init__(
        self,
        config: EmailConfig,
        username: str | None = None,
        password: str | None = None,
        attempts: int = 5,
    ) -> None:
        self.config = config
        self.username = username
        self.password = password
        self.attempts = attempts

    def deliver(self, ticket: Ticket, action: Action, text: str, decision: Decision) -> str | None:
        """Send the message; None when the action is not an email notification."""
        if action.kind != "notify" or not action.target.startswith("email:"):
            return None
        target = action.target.removeprefix("email:").strip()
        if action.to_requester:
            address = ticket.requester.email.strip() if ticket.requester else ""
            if not address:
                return "skipped: the ticket has no requester email"
            if not text.strip():  # the loader demands a customer template; never send blank
                return f"skipped: no customer text for the requester (rule at {action.where})"
        else:
            address = target
        if "@" not in address:
            raise ConfigError(
                f"{address!r} is not an email address (rule at {action.where})",
                hint="Write notify: email:someone@example.com or notify: email:requester",
            )
        message = compose(ticket, action, text, self.config.sender, address)
        with_retry(lambda: self._send(message, address), api="smtp", attempts=self.attempts)
        return f"emailed {address}"

    def post(self, target: str, subject: str, text: str, ref: str) -> str | None:
        """Email a message that is not about one ticket (a digest: syncd.digests) to an
        `email:<address>` target, subject "[syncd] <subject>", Message-ID from `ref` (the
        same for every try of the same message); None for other targets."""
        if not target.startswith("email:"):
            return None
        address = target.removeprefix("email:").strip()
        if "@" not in address:
            raise ConfigError(
                f"{address!r} is not an email address",
                hint="Write email:someone@example.com",
            )
        sender = self.config.sender
        message = EmailMessage()
        message["Subject"] = " ".join(f"[syncd] {subject}".split())
        message["From"] = sender
        message["To"] = address
        message["Date"] = formatdate(localtime=False, usegmt=True)
        domain = sender.rpartition("@")[2] or "syncd.invalid"
        message["Message-ID"] = f"<{ref}@{domain}>"
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text.strip() + "\n")
        with_retry(lambda: self._send(message, address), api="smtp", attempts=self.attempts)
        return f"emailed {address}"

    def _send(self, message: EmailMessage, address: str) -> None:
        config = self.config
        where = f"SMTP server {config.host}:{config.port}"
        try:
            with smtplib.SMTP(config.host, config.port, timeout=config.timeout) as smtp:
                if config.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username and self.password:
                    smtp.login(self.username, self.password)
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = exc.recipients.get(address, (550, b""))
            raise _answer(code, reply, f"{where} refused {address}") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise CredentialsError(
                f"{where} refused the login ({exc.smtp_code})",
                where="notifications.email",
                hint="Check the user name and password in username_env / password_env",
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise ConfigError(
                f"{where}: {exc}",
                where="notifications.email",
                hint="Set starttls: false for a relay without STARTTLS, or name the login",
            ) from None
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, ...
            raise _answer(exc.smtp_code, exc.smtp_error, f"{where} refused the message") from None
        except ssl.SSLCertVerificationError as exc:
            raise TerminalError(f"{where}: TLS certificate not trusted ({exc.reason})") from None
        except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timed out, gone
            raise TransientError(f"cannot reach {where}: {type(exc).__name__} {exc}") from None
        if address in refused:  # one recipient per message: not reached, but be safe
            code, reply = refused[address]
            raise _answer(code, reply, f"{where} refused {address}")


def _answer(code: int, reply: bytes | str, what: str) -> TransientError | TerminalError:
    """4xx (try again later) is transient, anything else terminal."""
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    message = f"{what} ({code} {text})".strip()
    if 400 <= code < 500:
        return TransientError(message)
    return TerminalError(message)


def message_id(ticket: Ticket, action: Action, sender: str) -> str:
    """The Message-ID: the action's delivery id for this ticket, at the sender's domain."""
    domain = sender.rpartition("@")[2] or "syncd.invalid"
    return f"<{action.delivery_id(ticket)}@{domain}>"


def reference(ticket: Ticket) -> str:
    """The ticket reference a customer's subject carries, so a reply finds the ticket."""
    return f"[#{ticket.id}]"


def compose(ticket: Ticket, action: Action, text: str, sender: str, to: str) -> EmailMessage:
    """The message: for the team the rule's text (or a one-line summary) and the agents'
    link; for the requester the customer text under the ticket reference, and the
    helpdesk's customer link."""
    message = EmailMessage()
    customer = action.to_requester
    if customer:
        subject = f"{reference(ticket)} {ticket.subject}"
        body = "\n\n".join(paragraphs(text))
        link = ticket.customer_url
    else:
        subject = f"[syncd] {action.origin}: #{ticket.id} {ticket.subject}"
        body = text.strip() or f"{action.origin}: #{ticket.id} {ticket.subject}"
        link = ticket.url
    message["Subject"] = " ".join(subject.split())  # no newlines in a header
    message["From"] = sender
    message["To"] = to
    if customer:
        message["Reply-To"] = sender  # the support address: the answer goes to the ticket
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id(ticket, action, sender)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    if link and link not in body:
        body += f"\n\n{link}"
    message.set_content(body + "\n")
    return message
