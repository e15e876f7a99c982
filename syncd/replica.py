"""One active replica per pipeline: the lease keeper of `syncd run`.

Replicas of a pipeline share its state database. Before each cycle the daemon asks `hold()`:
the replica holding the lease renews it and runs the cycle; the others are standbys and ask
again every quarter of the lease. While active, a background thread renews the lease every
third of it, so a long cycle or a long poll interval never lets it lapse. A replica that
stops cleanly releases the lease; one that dies stops renewing, and a standby takes over at
most a lease and a quarter later (a restarted replica waits the same way).

The store is fenced with this replica's claim: every checkpoint (cursor, fingerprints,
snapshots) proves in its own transaction that the lease is still held, so a replica that lost
it mid-cycle (paused, cut off from the database) raises LeaseLost instead of saving anything.

A cycle run by hand (`syncd once`, `syncd backfill`) takes the same lease for its duration
(`one_writer`), so it never races a live daemon's writes to the sheet and the CRM: it waits
for the lease up to a bound, or is refused with one line naming the holder (LeaseHeld).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import structlog
from sqlalchemy.exc import SQLAlchemyError

from syncd.errors import SyncdError, UserError
from syncd.logs import scrub
from syncd.metrics import Metrics
from syncd.state import SqlStateStore
from syncd.state.lease import Claimant, Lease

log = structlog.get_logger("syncd.replica")


class LeaseKeeper:
    """Holds, renews and releases this replica's lease on its pipeline."""

    def __init__(
        self,
        store: SqlStateStore,
        seconds: float,
        metrics: Metrics | None = None,
        claimant: Claimant | None = None,
        announce: bool = True,
    ) -> None:
        self.store = store
        self.seconds = seconds
        self.metrics = metrics
        self.claimant = claimant or Claimant.this_process()
        self.announce = announce  # log becoming active, standby, losing it (a replica's story)
        self.held = False
        self.holder: str | None = None  # who held the lease when last looked at
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._renewer: threading.Thread | None = None
        store.fence_on(self.claimant, seconds)

    @property
    def retry_every(self) -> float:
        """How long a standby waits before asking for the lease again."""
        return self.seconds / 4

    def hold(self) -> bool:
        """Claim or renew the lease now; True while this replica holds it."""
        with self._lock:
            try:
                lease = self.store.claim_lease(self.claimant, self.seconds)
            except SQLAlchemyError as exc:
                # The holder stops renewing: if the database is only slow, this replica
                # stays active; if it stays away, another replica may take over.
                log.error(
                    "cannot reach the state database for the lease",
                    pipeline=self.store.pipeline,
                    error=scrub(" ".join(str(getattr(exc, "orig", exc)).split())),
                )
                return False
            held = lease is not None and lease.holder == self.claimant.holder
            holder = lease.holder if lease else None
            if self.announce:
                self._changed(held, holder, lease.expires_at.isoformat() if lease else None)
            self.held, self.holder = held, holder
            if self.metrics is not None:
                self.metrics.set_lease(held, holder)
            if held and self._renewer is None:
                self._renewer = threading.Thread(
                    target=self._renew, name="syncd-lease", daemon=True
                )
                self._renewer.start()
            return held

    def release(self) -> None:
        """Stop renewing and let the lease lapse now, so a standby takes over at once."""
        self._stopping.set()
        with self._lock:
            if not self.held:
                return
            try:
                self.store.release_lease(self.claimant)
            except SQLAlchemyError as exc:
                log.warning("could not release the lease; it lapses by itself", error=str(exc))
                return
            self.held = False
            if self.metrics is not None:
                self.metrics.set_lease(False, None)
        if self.announce:
            log.info("lease released", pipeline=self.store.pipeline, holder=self.claimant.holder)

    def _renew(self) -> None:
        while not self._stopping.wait(self.seconds / 3):
            if self.held:
                self.hold()

    def _changed(self, held: bool, holder: str | None, expires: str | None) -> None:
        """Log the moments this replica becomes active, loses the lease or waits."""
        pipeline, me = self.store.pipeline, self.claimant.holder
        if held and not self.held:
            log.info("lease acquired: this replica runs the pipeline", pipeline=pipeline, holder=me)
        elif self.held and not held:
            log.error(
                "lease lost: another replica runs the pipeline; this one waits as a standby",
                pipeline=pipeline,
                holder=holder,
            )
        elif not held and holder != self.holder:
            log.info(
                "standby: another replica holds the lease",
                pipeline=pipeline,
                holder=holder,
                expires_at=expires,
                me=me,
            )


class LeaseHeld(UserError):
    """A hand-run cycle found the pipeline's lease held by another process (a daemon, or
    another hand-run cycle): one line naming it; the CLI exits 2, since the user must act
    (stop it, or wait for it), though nothing in the config is wrong."""


@contextmanager
def one_writer(
    store: SqlStateStore,
    seconds: float,
    wait: float = 0.0,
    *,
    command: str = "this command",
    on_wait: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[LeaseKeeper]:
    """Hold the pipeline's lease while the block runs (renewed in the background, released
    after), so a cycle run by hand never races a daemon's writes; the store is fenced, so
    if the lease were lost mid-way nothing more is saved (LeaseLost). While another process
    holds it, wait up to `wait` seconds (`on_wait` is told once, with who holds it), then
    raise LeaseHeld naming the holder and where it runs."""
    keeper = LeaseKeeper(store, seconds, announce=False)
    deadline = time.monotonic() + wait
    told = False
    while not keeper.hold():
        if keeper.holder is None:  # no lease row came back: the database did not answer
            raise SyncdError(
                f"pipeline {store.pipeline}: cannot take its lease, the state database did "
                "not answer (the log says why); nothing was run"
            )
        left = deadline - time.monotonic()
        current = _current(store)
        if left <= 0:
            raise LeaseHeld(
                f"another process holds its lease ({describe(current, keeper.holder)}); "
                f"{command} would race its writes to the sheet and the CRM, so nothing was run",
                where=f"pipeline {store.pipeline}",
                hint="Stop that daemon (it releases the lease as it stops), or pass --wait "
                "SECONDS to run once it lets go",
            )
        if on_wait is not None and not told:
            on_wait(describe(current, keeper.holder))
            told = True
        sleep(min(keeper.retry_every, left, 1.0))
    try:
        yield keeper
    finally:
        keeper.release()


def describe(lease: Lease | None, holder: str) -> str:
    """`held by host web-1, pid 4242, until 21:40:05 UTC` from a holder "host:pid:token"."""
    host, _, rest = (lease.holder if lease else holder).partition(":")
    pid = rest.partition(":")[0]
    who = f"held by host {host}, pid {pid}" if pid.isdigit() else f"held by {host}"
    if lease is None:
        return who
    return f"{who}, until {lease.expires_at.strftime('%Y-%m-%d %H:%M:%S')} UTC unless renewed"


def _current(store: SqlStateStore) -> Lease | None:
    try:
        return store.lease()
    except SQLAlchemyError:
        return None
