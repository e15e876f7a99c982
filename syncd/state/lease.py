"""Who runs a pipeline: the lease that replicas sharing one state database compete for.

One replica at a time holds a pipeline's lease and runs its cycles; the others wait as
standbys. The holder renews the lease well before it expires and releases it when it stops
cleanly; a standby takes it over once it has expired, which is how a crashed holder is
replaced (a restarted one too: it is a new claimant, and waits like any standby).

The decision is a pure function of the lease row, the claimant and the time (`may_claim`);
the state store applies it with a compare-and-set on the row's `version`, so two standbys
racing for an expired lease cannot both win. Expiry is judged on the claimant's clock:
replicas' clocks must agree (NTP) to well within a lease term.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class Lease:
    """A pipeline's lease as the state store holds it."""

    pipeline: str
    holder: str  # "hostname:pid:token", unique per process
    acquired_at: datetime
    expires_at: datetime
    version: int

    def expired(self, now: datetime) -> bool:
        """Whether the holder has let the lease lapse by `now`."""
        return _aware(self.expires_at) <= now


@dataclass(frozen=True, slots=True)
class Claimant:
    """A process that wants a pipeline's lease."""

    holder: str

    @classmethod
    def this_process(cls) -> Claimant:
        """This process: its host name and pid for people, a random token so that a
        restarted process (a container's pid 1 again) is never taken for its predecessor."""
        return cls(f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}")


def may_claim(lease: Lease | None, claimant: Claimant, now: datetime) -> bool:
    """Whether `claimant` may take (or keep) the lease at `now`."""
    return lease is None or lease.holder == claimant.holder or lease.expired(now)


def _aware(moment: datetime) -> datetime:
    # SQLite keeps no offset; the store writes UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
