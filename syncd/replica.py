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
"""

from __future__ import annotations

import threading

import structlog
from sqlalchemy.exc import SQLAlchemyError

from syncd.logs import scrub
from syncd.metrics import Metrics
from syncd.state import SqlStateStore
from syncd.state.lease import Claimant

log = structlog.get_logger("syncd.replica")


class LeaseKeeper:
    """Holds, renews and releases this replica's lease on its pipeline."""

    def __init__(
        self,
        store: SqlStateStore,
        seconds: float,
        metrics: Metrics | None = None,
        claimant: Claimant | None = None,
    ) -> None:
        self.store = store
        self.seconds = seconds
        self.metrics = metrics
        self.claimant = claimant or Claimant.this_process()
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
