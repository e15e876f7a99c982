"""Helpers of the conformance suite's tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from typing import Any

from syncd.errors import CredentialsError
from syncd.sandbox import Sandbox

# A connector built for the suite tries a request once: a failure surfaces at once.
ATTEMPTS = 1
# The Retry-After the sandbox sends with an injected 429; the error must carry it.
RETRY_AFTER = 7

# `sandbox_config(helpdesk="zendesk")` -> a syncd config (as a dict) pointing at the sandbox.
SandboxConfig = Callable[..., dict[str, Any]]


def section(config: Mapping[str, Any], name: str, **overrides: Any) -> dict[str, Any]:
    """A section of the config with some keys replaced."""
    return {**config[name], **overrides}


def faulted(sandbox: Sandbox, api: str, status: int) -> None:
    """From now on the sandbox answers every request to `api` with `status` (a 429 with
    Retry-After: RETRY_AFTER)."""
    sandbox.faults.outage = {api}
    sandbox.faults.outage_status = status
    sandbox.faults.retry_after = RETRY_AFTER


def check_error(error: BaseException, status: int, vendor: str) -> None:
    """The error carries the status, the vendor and (429) the Retry-After; a credentials
    error names the setting to fix, and how."""
    assert getattr(error, "status", None) == status
    assert getattr(error, "vendor", None) == vendor
    assert getattr(error, "retry_after", None) == (RETRY_AFTER if status == 429 else None)
    if isinstance(error, CredentialsError):
        assert error.where and error.hint


def unreachable() -> str:
    """A loopback URL where nothing listens (a port just freed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
