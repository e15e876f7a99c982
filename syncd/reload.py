"""Hot reload of the rule files: a valid change applies at the next cycle; an invalid one is
logged with its file:line errors and the last good rule set keeps running."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import structlog

from syncd.errors import RuleError
from syncd.model import Decision, Ticket
from syncd.rules import RuleSet, load_rules

log = structlog.get_logger("syncd.rules")


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
            return False
        self.ruleset, self.last_error = ruleset, None
        log.info("rules reloaded", files=len(ruleset.files))
        return True

    def evaluate(self, ticket: Ticket, now: datetime) -> Decision:
        """The current rule set's evaluate (so the pipeline always uses the latest)."""
        return self.ruleset.evaluate(ticket, now)
