"""Helpdesk groups by name, for the rules' `set_group:` actions.

Rules name a group ("Tier 2"); the helpdesk wants its id. The write-backs list the account's
groups once and remember them; a name not found lists them again, at most every `ttl`
seconds, so a group created later is picked up without a request per action.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class GroupDirectory:
    """Group name (any case) or id -> id, listed through `list_groups` when needed."""

    def __init__(
        self,
        list_groups: Callable[[], dict[str, int]],
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.list_groups = list_groups  # lower-case name -> id, every group of the account
        self.ttl = ttl
        self.clock = clock
        self.groups: dict[str, int] = {}
        self.listed_at: float | None = None

    def id(self, name: str) -> int | None:
        """The id of the group with this name (or this id); None when there is none."""
        if name.isdigit():
            return int(name)
        found = self.groups.get(name.lower())
        stale = self.listed_at is None or self.clock() - self.listed_at > self.ttl
        if found is None and stale:
            self.groups = self.list_groups()
            self.listed_at = self.clock()
            found = self.groups.get(name.lower())
        return found


class NameDirectory:
    """Id -> name for the sheet (agents, groups), listed through `list_names` when needed.

    Listed once per process, the first time an id is asked for; an id not in the list lists
    again, at most every `ttl` seconds, so an agent added later is named without a request
    per ticket. An id still unknown shows as "" (the sheet falls back to the id).
    """

    def __init__(
        self,
        list_names: Callable[[], dict[str, str]],
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.list_names = list_names  # id (as text) -> name, every one of the account
        self.ttl = ttl
        self.clock = clock
        self.names: dict[str, str] = {}
        self.listed_at: float | None = None

    def name(self, key: str | None) -> str:
        """The name for this id; "" when there is none (or no id)."""
        if not key:
            return ""
        found = self.names.get(key)
        stale = self.listed_at is None or self.clock() - self.listed_at > self.ttl
        if found is None and stale:
            self.names = self.list_names()
            self.listed_at = self.clock()
            found = self.names.get(key)
        return found or ""
