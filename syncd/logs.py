"""structlog set-up: JSON lines when not on a terminal, and no secret ever printed.

Two guards: values under secret-looking keys are masked (nested too), and every secret
syncd loaded is registered so that its text is masked wherever it appears, e.g. inside an
error message a vendor library built.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEY = re.compile(
    r"token|password|secret|authorization|api_key|private_key|assertion", re.IGNORECASE
)
_secrets: set[str] = set()
MASK = "***"


def register_secret(value: str) -> None:
    """Mask this text in every log line from now on."""
    if value and len(value) >= 4:
        _secrets.add(value)


def scrub(value: Any) -> Any:
    """`value` with registered secrets masked, recursively."""
    if isinstance(value, str):
        for secret in _secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {k: MASK if _SECRET_KEY.search(str(k)) else scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub(v) for v in value)
    return value


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask secret keys and registered secret values."""
    for key in list(event):
        if _SECRET_KEY.search(key):
            event[key] = MASK
        else:
            event[key] = scrub(event[key])
    return event


def configure(level: str = "info", fmt: str = "auto") -> None:
    """Set up structlog (and route stdlib logging through the same level) to stderr."""
    as_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        # Look sys.stderr up per logger, not once: it may be replaced (tests, daemons).
        logger_factory=lambda *_args: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Vendor libraries log through stdlib logging; keep them quiet unless debugging, and
    # mask secrets in their records as they are made, whatever handler prints them.
    logging.basicConfig(
        level=logging.WARNING if level != "debug" else logging.DEBUG, stream=sys.stderr
    )
    global _base_factory
    if _base_factory is None:
        _base_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_scrubbed_record)


_base_factory: Any = None


def _scrubbed_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record: logging.LogRecord = _base_factory(*args, **kwargs)
    if _secrets:
        record.msg = scrub(record.getMessage())
        record.args = None
    return record
