"""syncd's memory: cursors, per-sink fingerprints and dead letters (see `store.py`)."""

from syncd.state.store import SqlStateStore, open_store

__all__ = ["SqlStateStore", "open_store"]
