"""Every name syncd files things under in the state store, in one place.

The store keeps three kinds of keyed things, and these functions spell every key:

    cursors       the source's own cursor under its name (`cursor_key`); a backfill's under
                  `backfill:<source>:<since>` (`backfill_key`)
    meta          `caught_up:<source>`     the source has caught up once (actions notify)
                  `reports:day`            the local day the report tabs were last delivered
                  `part:<ticket>:<action>:<share>`  a share of an action that went out
                  `last_cycle`, `last_success`      what `syncd status` prints
                  `<backfill cursor>:tickets|first|finished`  a backfill's progress
                  `pipeline`               the pipeline a SQLite file belongs to
    dead letters  filed by sink name, or `source:<source>` for tickets the source could not
                  read (`source_letter`); record keys are ticket ids, `report:<name>` for a
                  report tab (`report_key`), `rating:<id>` for a satisfaction rating

This module imports nothing of the project, so the pipeline and the connectors (which may not
import `syncd.state`) spell the keys the same way as the store and the tools.
"""

from __future__ import annotations

from datetime import UTC, datetime

PIPELINE = "pipeline"  # meta: the pipeline a SQLite state file belongs to
REPORTS_DAY = "reports:day"  # meta: the local day the report tabs were last delivered
LAST_CYCLE = "last_cycle"  # meta: JSON summary of the daemon's last cycle
LAST_SUCCESS = "last_success"  # meta: ISO time the last successful cycle ended

_SOURCE = "source:"
_REPORT = "report:"


def cursor_key(source: str) -> str:
    """The cursor a source's cycles follow."""
    return source


def backfill_key(source: str, since: datetime) -> str:
    """The cursor of the backfill of `source` from `since` (a backfill keeps its own)."""
    return f"backfill:{source}:{since.astimezone(UTC).isoformat()}"


def backfill_progress_key(backfill: str, part: str) -> str:
    """Meta of a backfill's progress: `tickets` synced, `first` change seen, `finished` at."""
    return f"{backfill}:{part}"


def caught_up_key(source: str) -> str:
    """Meta set once the source has caught up: until then actions are a baseline."""
    return f"caught_up:{source}"


def share_key(ticket: str, action: str, share: str) -> str:
    """Meta of one share of an action carried out (its outcome), so a retry repeats only the
    shares that failed."""
    return f"part:{ticket}:{action}:{share}"


def source_letter(source: str) -> str:
    """The dead-letter "sink" of tickets the source could not read."""
    return _SOURCE + source


def letter_source(sink: str) -> str | None:
    """The source a dead-letter sink name stands for (None: it is a real sink's)."""
    return sink.removeprefix(_SOURCE) if sink.startswith(_SOURCE) else None


def report_key(name: str) -> str:
    """The record key of a report tab, apart from ticket ids."""
    return _REPORT + name


def is_report_key(key: str) -> bool:
    """Whether a record key is a report tab's (rebuilt from the state, never parked)."""
    return key.startswith(_REPORT)


def rating_key(rating: str) -> str:
    """The record key of a satisfaction rating that could not be read."""
    return f"rating:{rating}"
