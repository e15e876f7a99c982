"""What a rule change would change: the same tickets through two rule sets (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syncd.model import Decision, Ticket
from syncd.rules.engine import RuleSet

# What an admin cares about in a decision, one name per column of the preview.
FIELDS: dict[str, Callable[[Decision], Any]] = {
    "category": lambda d: d.category,
    "priority": lambda d: d.priority,
    "tags": lambda d: ", ".join(d.tags),
    "sla policy": lambda d: d.sla.policy if d.sla else "",
    "sla state": lambda d: d.sla.state if d.sla else "",
    "first response due": lambda d: _time(d.sla.first_response.due if d.sla else None),
    "resolution due": lambda d: _time(d.sla.resolution.due if d.sla else None),
    "escalation": lambda d: d.escalation_name if d.escalation_level else "",
    "actions": lambda d: ", ".join(sorted({f"{a.kind} {a.target}".strip() for a in d.actions})),
}


@dataclass(frozen=True)
class Change:
    """One decision that differs between the running and the edited rules."""

    ticket: Ticket
    field: str
    before: str
    after: str


def compare(
    tickets: Iterable[Ticket], running: RuleSet, edited: RuleSet, now: datetime
) -> tuple[list[Change], Counter[str], int]:
    """Every change, the count per field, and how many tickets were compared."""
    changes: list[Change] = []
    seen = 0
    for ticket in tickets:
        seen += 1
        before, after = running.evaluate(ticket, now), edited.evaluate(ticket, now)
        for name, get in FIELDS.items():
            old, new = str(get(before)), str(get(after))
            if old != new:
                changes.append(Change(ticket, name, old, new))
    return changes, Counter(c.field for c in changes), seen


def _time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""
