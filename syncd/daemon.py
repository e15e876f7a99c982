"""The long-running loop: a cycle, then a pause of poll_interval, until SIGTERM/SIGINT.

A signal never interrupts a cycle halfway: it sets a flag, the current batch finishes (its
writes are idempotent and checkpointed), and the loop exits 0. Errors of one cycle are
logged and the next cycle tries again; a cycle that stopped at max_tickets_per_cycle is
followed at once by the next, without waiting.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType

import structlog

from syncd.errors import SyncdError, UserError
from syncd.pipeline import CycleReport

log = structlog.get_logger("syncd.daemon")


class Daemon:
    """Runs `cycle` every `interval` seconds until stopped."""

    def __init__(
        self,
        cycle: Callable[[], CycleReport],
        interval: float,
        before_cycle: Callable[[], object] | None = None,
    ) -> None:
        self.cycle = cycle
        self.interval = interval
        self.before_cycle = before_cycle
        self.stopping = threading.Event()
        self.cycles = 0

    def stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        """Ask the loop to end after the current cycle."""
        if not self.stopping.is_set():
            log.info("stopping after the current cycle", signal=signum)
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT finish the current cycle, then exit."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(self, max_cycles: int | None = None) -> None:
        """Loop until stopped (or `max_cycles` cycles have run)."""
        log.info("daemon started", poll_interval_s=self.interval)
        while not self.stopping.is_set():
            more = self._one()
            self.cycles += 1
            if max_cycles is not None and self.cycles >= max_cycles:
                break
            if not more:
                self.stopping.wait(self.interval)
        log.info("daemon stopped", cycles=self.cycles)

    def _one(self) -> bool:
        try:
            if self.before_cycle:
                self.before_cycle()
            report = self.cycle()
        except UserError as exc:
            log.error("cycle failed: fix the configuration", error=exc.render())
            return False
        except SyncdError as exc:
            log.error("cycle failed; will retry", error=str(exc))
            return False
        except Exception as exc:  # keep the daemon alive; the traceback goes to the log
            log.exception("cycle crashed; will retry", error=str(exc))
            return False
        return report.more and not report.failed_sinks
