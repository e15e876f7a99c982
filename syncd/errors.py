"""The one exception tree of syncd, and the one table that turns a vendor's HTTP status into
a node of it.

    SyncdError
    ├── UserError            something the user can fix: config, rules, credentials, input data.
    │   │                    Carries where (file, line, key) and a hint. Never retried.
    │   ├── ConfigError
    │   ├── RuleError
    │   └── CredentialsError a vendor refused the token (401/403): fix the secret.
    │                        Carries `vendor` and `status`.
    ├── TransientError       worth retrying: 408, 429, 5xx, timeouts, connection resets.
    │                        Carries `vendor`, `status` (None: no answer, e.g. a network error)
    │                        and `retry_after` (seconds) when the vendor said how long to wait.
    ├── TerminalError        a vendor rejected the request itself; retrying cannot help.
    │                        Carries `vendor` and `status` (None: not an HTTP refusal).
    └── LeaseLost            another replica took over the pipeline: this one's cycle stops
                             before it moves the cursor or saves a checkpoint.

The type decides whether to retry (see `syncd.retry`); the CLI turns a UserError into one clear
line and exit code 2, never a traceback; `syncd.metrics` counts requests by `status`.

HTTP statuses: `STATUS_TABLE` and `kind_of` say what a status means for every vendor (401/403
credentials; 404 and other 4xx terminal; 408, 429 and 5xx transient); a connector passes only
its exceptions (`overrides`) to `error_for`, which builds the error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class SyncdError(Exception):
    """Base of every error syncd raises on purpose."""


class UserError(SyncdError):
    """An error the user can fix; its message names the place and the fix."""

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        """`where: message (hint)` on one line."""
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text}. {self.hint}" if self.hint else text


class ConfigError(UserError):
    """A missing or wrong configuration value."""


class RuleError(UserError):
    """A rule file that cannot be loaded; `where` is file:line:column."""


class CredentialsError(UserError):
    """A vendor answered 401/403: the token is wrong, expired, revoked or lacks a scope."""

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        hint: str | None = None,
        vendor: str | None = None,
        status: int | None = None,
    ):
        self.vendor = vendor
        self.status = status
        self.retry_after: float | None = None
        super().__init__(message, where=where, hint=hint)


class TransientError(SyncdError):
    """A failure that may pass: rate limits, server errors, network trouble."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        vendor: str | None = None,
        status: int | None = None,
    ):
        self.retry_after = retry_after
        self.vendor = vendor
        self.status = status
        super().__init__(message)


class TerminalError(SyncdError):
    """A request the vendor rejected for good (bad request, unknown property...)."""

    def __init__(self, message: str, *, vendor: str | None = None, status: int | None = None):
        self.vendor = vendor
        self.status = status
        self.retry_after: float | None = None
        super().__init__(message)


class LeaseLost(SyncdError):
    """This replica no longer holds its pipeline's lease (another one took over)."""


# -- HTTP statuses -----------------------------------------------------------------------


class Kind(StrEnum):
    """What an HTTP status means to syncd."""

    CREDENTIALS = "credentials"  # fix the secret: CredentialsError
    TERMINAL = "terminal"  # retrying cannot help: TerminalError
    TRANSIENT = "transient"  # try again (after Retry-After): TransientError


# The one table, for every vendor. Statuses not named take their class's kind (`CLASS_TABLE`),
# anything else (1xx, 3xx: a vendor answering something syncd did not ask for) is terminal.
STATUS_TABLE: Mapping[int, Kind] = {
    401: Kind.CREDENTIALS,
    403: Kind.CREDENTIALS,
    404: Kind.TERMINAL,
    408: Kind.TRANSIENT,  # the server gave up waiting for the request: send it again
    429: Kind.TRANSIENT,
}
CLASS_TABLE: Mapping[int, Kind] = {4: Kind.TERMINAL, 5: Kind.TRANSIENT}  # status // 100


def kind_of(status: int, overrides: Mapping[int, Kind] | None = None) -> Kind:
    """What `status` means: the connector's override for it, else the table's answer."""
    if overrides and status in overrides:
        return overrides[status]
    return STATUS_TABLE.get(status) or CLASS_TABLE.get(status // 100, Kind.TERMINAL)


@dataclass(frozen=True)
class Refusal:
    """How a connector names its credentials when the vendor refuses them (401/403): the
    CredentialsError reads "{vendor} refused {credential} ({status})", at `where`, with `hint`."""

    credential: str  # e.g. "the API token"
    where: str  # the config key holding it, e.g. "helpdesk.token_env"
    hint: str  # how to fix it


def error_for(
    vendor: str,
    status: int,
    message: str = "",
    *,
    retry_after: float | None = None,
    overrides: Mapping[int, Kind] | None = None,
    refusal: Refusal | None = None,
) -> CredentialsError | TerminalError | TransientError:
    """The syncd error for a vendor's HTTP answer `status`.

    `message` says what was asked and what the vendor answered (never a secret or a URL that
    holds one); `retry_after` is the answer's Retry-After in seconds; `overrides` are the
    statuses this vendor means otherwise than `STATUS_TABLE`; `refusal` names the credential
    for a 401/403."""
    said = f": {message}" if message else ""
    kind = kind_of(status, overrides)
    if kind is Kind.CREDENTIALS:
        what = refusal.credential if refusal else "the credentials"
        return CredentialsError(
            f"{vendor} refused {what} ({status}){said}",
            where=refusal.where if refusal else None,
            hint=refusal.hint if refusal else None,
            vendor=vendor,
            status=status,
        )
    if kind is Kind.TRANSIENT:
        text = f"{vendor} answered {status}{said}"
        return TransientError(text, retry_after=retry_after, vendor=vendor, status=status)
    return TerminalError(f"{vendor} answered {status}{said}", vendor=vendor, status=status)
