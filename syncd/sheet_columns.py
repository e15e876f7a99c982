"""What the managers' Tickets tab can show: one column per key, and how a value becomes a cell.

A column has a key (what `sheets.columns` names), a default title, a kind (how it is shown)
and a width. `ticket_columns(spec, timezone)` resolves the configured list (keys, or
`{key: title}` to retitle one) into columns; with no list, `DEFAULT_COLUMNS` apply. The first
column is always the ticket id: rows are found by it.

Moments are written as real dates: a Sheets serial number (days since 1899-12-30, the
fraction being the time of day) of the wall time in the sheet's timezone, so sorting and
filtering by date work and the cell shows local time under a date-time number format. The
default titles of date columns name the timezone ("Created (Europe/Berlin)").

A ticket gone from the helpdesk (merged, spam, deleted) is never shown as open: its SLA and
escalation cells are empty, whatever the rules measured.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from syncd.model import Decision, SlaTarget, Status, Ticket

EPOCH = datetime(1899, 12, 30)  # serial number 0 in Sheets (and Excel's 1900 system)

# How a column shows its values; the sheet sink maps kinds to number formats and widths.
ID, TEXT, NUMBER, SCORE, MOMENT = "id", "text", "number", "score", "moment"

Value = str | int | float | datetime | None
Getter = Callable[[Ticket, Decision, bool], Value]  # (ticket, decision, gone) -> value


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the Tickets tab."""

    key: str
    title: str
    kind: str
    width: int  # pixels
    value: Getter


def _due(target: str) -> Getter:
    """The due moment of an SLA target (a measure of SLA_MEASURES); "unknown" where the
    source cannot see the measure."""

    def due(ticket: Ticket, decision: Decision, gone: bool) -> Value:
        if gone or decision.sla is None:
            return None
        chosen: SlaTarget = getattr(decision.sla, target)
        return chosen.due if chosen.known else "unknown"

    return due


def _status(ticket: Ticket, decision: Decision, gone: bool) -> Value:
    if ticket.status is Status.MERGED and ticket.merged_into:
        return f"merged into #{ticket.merged_into}"
    # The helpdesk's own name where it says more than the normalised status (custom ones).
    return ticket.status_name if ticket.status_name and not gone else ticket.status.value


def csat_shown(ticket: Ticket) -> Value:
    """The rating on the helpdesk's own scale: "good" or "bad" from a good/bad survey, the
    points chosen on a 3-point one (1-3), the score (1-5) otherwise."""
    score, scale = ticket.csat, ticket.csat_scale
    if score is None:
        return None
    if scale == 2:
        return "good" if score > 3 else "bad"
    if scale is not None and scale != 5 and scale > 1:
        return round(1 + (score - 1) * (scale - 1) / 4, 1)
    return score


def _first_response_at(ticket: Ticket, decision: Decision, gone: bool) -> Value:
    met = decision.sla.first_response.met_at if decision.sla else None
    return ticket.first_response_at or met


def _resolved_at(ticket: Ticket, decision: Decision, gone: bool) -> Value:
    if ticket.status.is_open:
        return None  # a reopened ticket is not resolved, whatever it once was
    met = decision.sla.resolution.met_at if decision.sla else None
    return ticket.solved_at or met


# key -> (default title, kind, width in pixels, value); in the order a manager reads them.
_CATALOGUE: dict[str, tuple[str, str, int, Getter]] = {
    "ticket": ("Ticket", ID, 70, lambda t, d, g: int(t.id) if t.id.isdigit() else t.id),
    "subject": ("Subject", TEXT, 320, lambda t, d, g: t.subject),
    "requester": ("Requester", TEXT, 150, lambda t, d, g: t.requester.name if t.requester else ""),
    "requester_email": (
        "Requester email",
        TEXT,
        190,
        lambda t, d, g: t.requester.email if t.requester else "",
    ),
    "organization": (
        "Organization",
        TEXT,
        140,
        lambda t, d, g: t.organization.name if t.organization else "",
    ),
    "channel": ("Channel", TEXT, 80, lambda t, d, g: t.channel),
    "status": ("Status", TEXT, 110, _status),
    "category": ("Category", TEXT, 110, lambda t, d, g: d.category),
    "priority": ("Priority", TEXT, 80, lambda t, d, g: d.priority),
    # The agent's name as the helpdesk shows it; the id only when the name is unknown.
    "assignee": ("Assignee", TEXT, 130, lambda t, d, g: t.assignee_name or t.assignee_id or ""),
    "created": ("Created", MOMENT, 130, lambda t, d, g: t.created_at),
    "first_response_due": ("First response due", MOMENT, 130, _due("first_response")),
    "first_response_at": ("First response at", MOMENT, 130, _first_response_at),
    "resolution_due": ("Resolution due", MOMENT, 130, _due("resolution")),
    "resolution_at": ("Resolved at", MOMENT, 130, _resolved_at),
    "sla": ("SLA", TEXT, 80, lambda t, d, g: d.sla.state if d.sla and not g else ""),
    "escalation_level": (
        "Escalation level",
        NUMBER,
        80,
        lambda t, d, g: d.escalation_level if d.escalation_level and not g else None,
    ),
    "escalation": (
        "Escalation",
        TEXT,
        120,
        lambda t, d, g: d.escalation_name if d.escalation_level and not g else "",
    ),
    # A risk flag: the incident (syncd.incidents) the ticket is part of.
    "incident": ("Incident", TEXT, 150, lambda t, d, g: d.incident),
    "csat": ("CSAT", SCORE, 60, lambda t, d, g: csat_shown(t)),
    "updated": ("Updated", MOMENT, 130, lambda t, d, g: t.updated_at),
    # Not shown unless configured:
    "helpdesk_priority": (
        "Helpdesk priority",
        TEXT,
        90,
        lambda t, d, g: t.helpdesk_priority or "",
    ),
    "tags": ("Tags", TEXT, 200, lambda t, d, g: ", ".join(t.tags)),
    "link": ("Link", TEXT, 260, lambda t, d, g: t.url),
    "sla_policy": ("SLA policy", TEXT, 110, lambda t, d, g: d.sla.policy if d.sla else ""),
    "reopens": ("Reopens", NUMBER, 70, lambda t, d, g: t.reopens),
    "source": ("Helpdesk", TEXT, 80, lambda t, d, g: t.source),
    "group": ("Group", TEXT, 110, lambda t, d, g: t.group_name or t.group_id or ""),
    # The other SLA measures' due moments (issue 13), when a policy sets them:
    "next_reply_due": ("Next reply due", MOMENT, 130, _due("next_reply")),
    "periodic_update_due": ("Update due", MOMENT, 130, _due("periodic_update")),
    "first_resolution_due": ("First resolution due", MOMENT, 130, _due("first_resolution")),
    "requester_wait_due": ("Requester wait due", MOMENT, 130, _due("requester_wait")),
    "agent_work_due": ("Agent work due", MOMENT, 130, _due("agent_work")),
}
COLUMN_KEYS = tuple(_CATALOGUE)
DEFAULT_COLUMNS = COLUMN_KEYS[: COLUMN_KEYS.index("updated") + 1]
# Statuses whose rows may move to the archive once old enough: the team is done with them.
FINISHED = ("solved", "closed", "merged", "spam", "deleted")

ColumnSpec = str | Mapping[str, str]


def column_problem(spec: Sequence[ColumnSpec]) -> str | None:
    """What is wrong with a `sheets.columns` list (None when nothing is)."""
    keys: list[str] = []
    for i, item in enumerate(spec):
        if isinstance(item, Mapping):
            if len(item) != 1:
                return f"item {i + 1}: write one column per item, as `key` or `{{key: Title}}`"
            key, title = next(iter(item.items()))
            if not isinstance(title, str) or not title.strip():
                return f"item {i + 1}: the title of {key!r} is empty"
        else:
            key = item
        if key not in _CATALOGUE:
            return f"item {i + 1}: unknown column {key!r}; columns are {', '.join(COLUMN_KEYS)}"
        if key in keys:
            return f"item {i + 1}: {key!r} is listed twice"
        keys.append(key)
    if not keys or keys[0] != "ticket":
        return "the first column must be `ticket`: rows are found by the ticket id"
    return None


def ticket_columns(spec: Sequence[ColumnSpec] | None, timezone: str) -> list[Column]:
    """The Tickets tab's columns for a `sheets.columns` list (None: the defaults)."""
    chosen: list[tuple[str, str | None]] = []
    for item in spec or DEFAULT_COLUMNS:
        if isinstance(item, Mapping):
            key, title = next(iter(item.items()))
            chosen.append((key, title))
        else:
            chosen.append((item, None))
    columns = []
    for name, retitled in chosen:
        default, kind, width, getter = _CATALOGUE[name]
        shown = retitled or (f"{default} ({timezone})" if kind == MOMENT else default)
        columns.append(Column(name, shown, kind, width, getter))
    return columns


def to_serial(value: datetime | date, zone: ZoneInfo) -> float:
    """A moment (aware) or a day as a Sheets serial number in `zone`, to the second."""
    if isinstance(value, datetime):
        wall = value.astimezone(zone).replace(tzinfo=None, microsecond=0)
    else:
        wall = datetime(value.year, value.month, value.day)
    delta = wall - EPOCH
    return delta.days if not delta.seconds else delta.days + delta.seconds / 86400


def from_serial(serial: float, zone: ZoneInfo) -> datetime:
    """The aware moment a serial number written in `zone` stands for (to the second)."""
    wall = EPOCH + timedelta(seconds=round(serial * 86400))
    return wall.replace(tzinfo=zone).astimezone(UTC)


def cell_value(value: Any, zone: ZoneInfo) -> Any:
    """A value as the sheet stores it: moments and days as serial numbers, None as empty."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return to_serial(value, zone)
    return value
