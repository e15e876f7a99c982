"""What a sync cycle is asked to do (`CycleMode`), what it is given (`CycleContext`) and what
it reports (`CycleReport`, one `SinkReport` per sink).

This module imports nothing of the project: the daemon, the metrics, the ops endpoint and the
CLI read a cycle's report without importing the pipeline (and so without its imports: the
metrics module, which `syncd.retry` and every connector use, stays a leaf).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _never() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class CycleMode:
    """Which parts of a cycle run.

    - `dry_run`: pull and evaluate, then only say what would be written and carried out;
      nothing is written anywhere and no cursor moves.
    - `pull`: read changes since the cursor (False: only what the sinks owe is sent and the
      cursor stays, as `syncd dlq retry` does).
    - `timers`: also re-evaluate stored tickets whose next check has come.
    - `baseline_actions`: record the rules' actions as done without carrying them out (a
      backfill: old tickets are history, not news).
    """

    dry_run: bool = False
    pull: bool = True
    timers: bool = True
    baseline_actions: bool = False


DAEMON = CycleMode()  # the daemon's and `syncd once`'s cycle
DRY_RUN = CycleMode(dry_run=True)  # `syncd once --dry-run`
OWED_ONLY = CycleMode(pull=False, timers=False)  # `syncd dlq retry`: backlog and dead letters
BACKFILL = CycleMode(timers=False, baseline_actions=True)  # `syncd backfill`


@dataclass(frozen=True, slots=True)
class CycleContext:
    """What a cycle reads from the world besides its parts, given rather than looked up:
    the time (`clock`), and whether syncd is shutting down (`stopping`: the cycle stops
    between pages and before optional requests; what is left waits for the next run)."""

    clock: Callable[[], datetime] = _utc_now
    stopping: Callable[[], bool] = _never


@dataclass
class SinkReport:
    """What happened to one sink in one cycle."""

    changed: int = 0  # records that differed from what the sink last accepted
    written: int = 0  # ticket records the sink accepted (report tabs are counted apart)
    rejected: int = 0
    error: str | None = None
    user_error: bool = False  # the failure is the user's to fix (token, setup...)
    plan: str | None = None  # --dry-run: what would be written
    sample: list[dict[str, Any]] = field(default_factory=list)
    retried: int = 0  # records sent again from the backlog or the dead letters
    recovered: int = 0  # dead letters the sink accepted
    queued: int = 0  # this cycle's tickets queued in the backlog (the sink did not take them)
    backlog: int = 0  # tickets the sink still owes after the cycle
    reports: int = 0  # report tabs written (not counted in `written`)


@dataclass
class CycleReport:
    """The outcome of one cycle."""

    pulled: int = 0
    timers: int = 0  # tickets re-evaluated because their next_check passed
    changed: int = 0
    malformed: int = 0
    refetched: int = 0  # malformed tickets read again that now read fine
    actions_fired: int = 0
    actions_failed: int = 0
    planned_actions: list[str] = field(default_factory=list)  # --dry-run
    more: bool = False  # the cycle stopped at max_tickets_per_cycle; more is waiting
    first_change: datetime | None = None  # the earliest updated_at among the pulled tickets
    last_change: datetime | None = None  # the latest
    cursor_advanced: bool = False
    sinks: dict[str, SinkReport] = field(default_factory=dict)

    @property
    def failed_sinks(self) -> list[str]:
        """Sinks whose write failed as a whole."""
        return [name for name, s in self.sinks.items() if s.error]

    @property
    def catching_up(self) -> bool:
        """A sink that works fine still owes tickets: the next cycle should follow at once."""
        return any(
            s.backlog and not s.error and (s.written or s.rejected) for s in self.sinks.values()
        )

    @property
    def errors(self) -> int:
        """Failed sinks plus records parked as dead letters."""
        return (
            len(self.failed_sinks) + self.malformed + sum(s.rejected for s in self.sinks.values())
        )
