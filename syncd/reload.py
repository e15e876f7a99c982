"""Hot reload of the rule files: a valid change applies at the next cycle; an invalid one is
logged with its file:line errors and the last good rule set keeps running.

A rejected change is also reported where operators look: `/metrics` (the gauge
`syncd_rules_rejected{file,line}`) and `/readyz` (`rules_rejected`), until a valid change
replaces it.

A rule change takes effect on the tickets already seen: the state store's meta keeps a digest
of the rule set in force (`RULES_DIGEST`); when a cycle runs with other rules (after a hot
reload, or a restart with new files), `apply_rule_change` makes every open ticket's timer due,
so the timers re-evaluate them with the new rules in bounded batches (`max_tickets_per_cycle`
per cycle) and the sinks get what changed.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from datetime import datetime
from pathlib import Path
from typing import Protocol

import structlog

from syncd import metrics
from syncd.errors import RuleError
from syncd.model import Decision, Ticket
from syncd.rules import RuleSet, load_rules

log = structlog.get_logger("syncd.rules")

RULES_DIGEST = "rules:digest"  # meta: the digest of the rule set the tickets were decided by
_WHERE = re.compile(r"(?P<file>[^\s:]+\.ya?ml):(?P<line>\d+)")
_digests: dict[int, tuple[weakref.ref[RuleSet], str]] = {}  # id -> (the rule set, digest)


def rules_digest(ruleset: RuleSet) -> str:
    """A digest of the rule files a rule set was loaded from (names and contents); computed
    once per rule set."""
    cached = _digests.get(id(ruleset))
    known = cached[1] if cached is not None and cached[0]() is ruleset else None
    if known is None:
        digest = hashlib.sha256()
        for rule_file in sorted(ruleset.files, key=lambda f: f.path.name):
            digest.update(rule_file.path.name.encode() + b"\0")
            try:
                digest.update(rule_file.path.read_bytes())
            except OSError:
                digest.update(b"(unreadable)")
            digest.update(b"\0")
        known = digest.hexdigest()[:32]
        key = id(ruleset)
        _digests[key] = (weakref.ref(ruleset, lambda _ref: _digests.pop(key, None)), known)
    return known


def rejected_places(error: str) -> list[tuple[str, int, str]]:
    """(file name, line, message) of each problem a rejected rule change names (the rendered
    RuleError: one problem per line, each starting file:line:column)."""
    found: list[tuple[str, int, str]] = []
    for line in error.splitlines():
        match = _WHERE.search(line)
        if match is None:
            continue
        message = line[match.end() :].lstrip(":0123456789 ").strip()
        found.append((Path(match["file"]).name, int(match["line"]), message))
    return found


class _Timers(Protocol):
    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def check_open_now(self, now: datetime) -> int: ...


def apply_rule_change(store: _Timers, ruleset: RuleSet, now: datetime) -> int:
    """When the rule set in force differs from the one the stored tickets were decided by,
    make every open ticket due at `now` (the timers re-evaluate them, a bounded batch per
    cycle) and remember the new digest; returns how many tickets were marked."""
    digest = rules_digest(ruleset)
    if store.get_meta(RULES_DIGEST) == digest:
        return 0
    marked = store.check_open_now(now)
    store.set_meta(RULES_DIGEST, digest)
    if marked:
        log.info("rules changed: open tickets are decided again", tickets=marked)
    return marked


class RuleReloader:
    """Holds the current rule set and reloads it when the files change."""

    def __init__(self, directory: Path, ruleset: RuleSet | None = None) -> None:
        self.directory = directory
        self.ruleset = ruleset or load_rules(directory)
        self.stamp = self._stamp()
        self.last_error: str | None = None

    def _stamp(self) -> tuple[tuple[str, int, int], ...]:
        # Name, size and modification time of every rule file: cheap to read every cycle.
        files = sorted(self.directory.glob("*.yaml")) if self.directory.is_dir() else []
        return tuple((p.name, (st := p.stat()).st_size, st.st_mtime_ns) for p in files)

    def check(self) -> bool:
        """Reload if the files changed; True when a new rule set was applied."""
        stamp = self._stamp()
        if stamp == self.stamp:
            return False
        self.stamp = stamp
        try:
            ruleset = load_rules(self.directory)
        except RuleError as exc:
            self.last_error = exc.render()
            log.error(
                "rule change rejected; the last good rules keep running", errors=self.last_error
            )
            metrics.current().set_rules_rejected(rejected_places(self.last_error))
            return False
        self.ruleset, self.last_error = ruleset, None
        metrics.current().set_rules_rejected([])
        log.info("rules reloaded", files=len(ruleset.files))
        return True

    def evaluate(self, ticket: Ticket, now: datetime) -> Decision:
        """The current rule set's evaluate (so the pipeline always uses the latest)."""
        return self.ruleset.evaluate(ticket, now)
