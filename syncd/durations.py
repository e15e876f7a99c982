"""Durations as people write them in config and rule files: 30s, 15m, 2h, 1.5d."""

from __future__ import annotations

import re
from typing import Any

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d|w)?\s*$")


def parse_duration(value: Any) -> float:
    """'90s', '5m', '1.5h', '2d', '1w' or a number of seconds -> seconds."""
    number, unit = duration_parts(value)
    return number * _UNITS[unit]


def duration_parts(value: Any) -> tuple[float, str]:
    """A duration as written: its number and unit ('3d' -> (3.0, 'd'); a bare number is in
    seconds). SLA targets need the unit: on a business calendar days are business days."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{value!r} is negative; a duration is 0 or more")
        return float(value), "s"
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration; write e.g. 30s, 15m, 2h, 2d or 1w")
    return float(match.group(1)), match.group(2) or "s"
