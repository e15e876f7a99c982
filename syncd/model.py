"""The ticket model every source produces and every rule and sink consumes.

Sources normalise the vendor's JSON into `Ticket`; nothing downstream sees vendor shapes.
The rules engine turns a `Ticket` into a `Decision`. Both are immutable values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Helpdesk ticket status, normalised across helpdesks."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer: SLA clocks pause
    ON_HOLD = "on_hold"  # waiting on a third party: SLA clocks pause
    SOLVED = "solved"
    CLOSED = "closed"
    DELETED = "deleted"

    @property
    def is_open(self) -> bool:
        """True while the ticket still needs work from the team."""
        return self in (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)


@dataclass(frozen=True, slots=True)
class Person:
    """A requester or agent."""

    id: str | None
    name: str = ""
    email: str = ""

    @property
    def domain(self) -> str:
        """The email's domain, lower-cased ("" when there is no email)."""
        return self.email.rpartition("@")[2].lower() if "@" in self.email else ""

    @property
    def first_name(self) -> str:
        """First word of the name, for greetings in templates."""
        return self.name.split()[0] if self.name.strip() else ""


@dataclass(frozen=True, slots=True)
class Organization:
    """The requester's company as the helpdesk knows it."""

    id: str | None
    name: str = ""
    domain: str = ""


@dataclass(frozen=True, slots=True)
class Ticket:
    """A helpdesk ticket, normalised. `id` is the helpdesk's id, as a string."""

    id: str
    source: str
    subject: str
    description: str
    status: Status
    created_at: datetime
    updated_at: datetime
    helpdesk_priority: str | None = None  # the helpdesk's own field; rules set syncd's priority
    channel: str = ""
    tags: tuple[str, ...] = ()
    requester: Person | None = None
    organization: Organization | None = None
    assignee_id: str | None = None
    url: str = ""  # link for an agent to open the ticket in the helpdesk
    custom_fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reason:
    """Which rule made a decision, for `rules explain` and logs."""

    decision: str  # "category", "priority", ...
    value: str
    rule: str  # the rule's name, or "default"
    where: str  # file:line


@dataclass(frozen=True, slots=True)
class Decision:
    """What the SOP rules decided for one ticket at one moment."""

    category: str
    priority: str
    tags: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()
