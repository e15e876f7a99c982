"""The one exception tree of syncd.

    SyncdError
    ├── UserError            something the user can fix: config, rules, credentials, input data.
    │   │                    Carries where (file, line, key) and a hint. Never retried.
    │   ├── ConfigError
    │   ├── RuleError
    │   └── CredentialsError a vendor refused the token (401/403): fix the secret.
    ├── TransientError       worth retrying: 429, 5xx, timeouts, connection resets.
    │                        `retry_after` (seconds) when the vendor said how long to wait.
    ├── TerminalError        a vendor rejected the request itself; retrying cannot help.
    └── LeaseLost            another replica took over the pipeline: this one's cycle stops
                             before it moves the cursor or saves a checkpoint.

The type decides whether to retry (see `syncd.retry`); the CLI turns a UserError into one clear
line and exit code 2, never a traceback.
"""

from __future__ import annotations


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


class TransientError(SyncdError):
    """A failure that may pass: rate limits, server errors, network trouble."""

    def __init__(self, message: str, *, retry_after: float | None = None):
        self.retry_after = retry_after
        super().__init__(message)


class TerminalError(SyncdError):
    """A request the vendor rejected for good (bad request, unknown property...)."""


class LeaseLost(SyncdError):
    """This replica no longer holds its pipeline's lease (another one took over)."""
