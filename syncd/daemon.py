"""The long-running loop: a cycle, then a pause of poll_interval, until SIGTERM/SIGINT.

A signal never interrupts a request halfway: it sets a flag that also cuts short every retry
wait and pacing pause (`syncd.retry.request_stop`). The source stops between pages and the
sinks between batches; what a sink did not take is queued in its backlog, the checkpoint is
saved, and the loop exits 0, within seconds. Errors of one cycle are logged and the next
cycle tries again; a cycle that stopped at max_tickets_per_cycle, or after which a working
sink still owes tickets from an outage, is followed at once by the next, without waiting.

After each cycle, `after_cycle(report, seconds, error)` hears how it went (the report, or None
and the error when it raised): `syncd run` records it in the metrics behind `/metrics` and
`/readyz` and in the state store for `syncd status`.

With a `lease` (`syncd run` always has one: replicas may share the state), a cycle runs only
while this replica holds the pipeline's lease; a standby asks again every quarter of it.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

import structlog

from syncd import retry
from syncd.cycle import CycleReport
from syncd.errors import LeaseLost, SyncdError, UserError

if TYPE_CHECKING:
    from syncd.replica import LeaseKeeper

log = structlog.get_logger("syncd.daemon")

# (the cycle's report or None when it raised, its duration in seconds, the error if any)
AfterCycle = Callable[[CycleReport | None, float, str | None], object]


class Daemon:
    """Runs `cycle` every `interval` seconds until stopped."""

    def __init__(
        self,
        cycle: Callable[[], CycleReport],
        interval: float,
        before_cycle: Callable[[], object] | None = None,
        after_cycle: AfterCycle | None = None,
        lease: LeaseKeeper | None = None,
    ) -> None:
        self.cycle = cycle
        self.interval = interval
        self.before_cycle = before_cycle
        self.after_cycle = after_cycle
        self.lease = lease
        self.stopping = threading.Event()
        self.cycles = 0

    def stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        """Ask the loop to end after the current cycle."""
        if not self.stopping.is_set():
            log.info("stopping after the current batch", signal=signum)
        self.stopping.set()
        retry.request_stop()  # retry waits and pacing end now; connectors stop between batches

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT finish the current cycle, then exit."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(self, max_cycles: int | None = None) -> None:
        """Loop until stopped (or `max_cycles` cycles have run)."""
        log.info("daemon started", poll_interval_s=self.interval)
        while not self.stopping.is_set():
            if self.lease is not None and not self.lease.hold():
                self.stopping.wait(self.lease.retry_every)  # a standby
                continue
            more = self._one()
            self.cycles += 1
            if max_cycles is not None and self.cycles >= max_cycles:
                break
            if not more:
                self.stopping.wait(self.interval)
        if self.lease is not None:
            self.lease.release()  # a standby takes over now, not when the lease lapses
        retry.clear_stop()  # the shutdown is done: waits in this process work again
        log.info("daemon stopped", cycles=self.cycles)

    def _one(self) -> bool:
        started = time.monotonic()
        report: CycleReport | None = None
        error: str | None = None
        try:
            if self.before_cycle:
                self.before_cycle()
            report = self.cycle()
        except UserError as exc:
            error = exc.render()
            log.error("cycle failed: fix the configuration", error=error)
        except LeaseLost as exc:
            error = str(exc)
            log.error("cycle aborted: the lease was lost, nothing more saved", error=error)
        except SyncdError as exc:
            error = str(exc)
            log.error("cycle failed; will retry", error=error)
        except Exception as exc:  # keep the daemon alive; the traceback goes to the log
            error = f"{type(exc).__name__}: {exc}"
            log.exception("cycle crashed; will retry", error=str(exc))
        self._after(report, time.monotonic() - started, error)
        # More is waiting at the source (a failed sink has its share queued, so the others
        # go on), or a working sink still owes tickets from an outage.
        return report is not None and (report.more or report.catching_up)

    def _after(self, report: CycleReport | None, seconds: float, error: str | None) -> None:
        if self.after_cycle is None:
            return
        try:
            self.after_cycle(report, seconds, error)
        except Exception as exc:  # bookkeeping must never stop the syncing
            log.exception("recording the cycle failed", error=str(exc))
