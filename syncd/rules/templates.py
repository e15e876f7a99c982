"""Response and notification templates: text with {placeholders} checked at load.

templates:
  acknowledgment: |
    Hi {requester.first_name}, we received "{ticket.subject}" and will answer by
    {sla.first_response_due}.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import datetime
from typing import Any

from syncd.model import Decision, Escape, Ticket

Values = Callable[[Ticket, Decision], Any]


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "n/a"


PLACEHOLDERS: dict[str, Values] = {
    "ticket.id": lambda t, d: t.id,
    "ticket.subject": lambda t, d: t.subject,
    "ticket.url": lambda t, d: t.url,
    "ticket.status": lambda t, d: t.status.value,
    "ticket.created_at": lambda t, d: _time(t.created_at),
    "requester.name": lambda t, d: t.requester.name if t.requester else "",
    "requester.first_name": lambda t, d: (t.requester.first_name if t.requester else "") or "there",
    "requester.email": lambda t, d: t.requester.email if t.requester else "",
    "organization.name": lambda t, d: t.organization.name if t.organization else "",
    "category": lambda t, d: d.category,
    "priority": lambda t, d: d.priority,
    "sla.policy": lambda t, d: d.sla.policy if d.sla else "",
    "sla.state": lambda t, d: d.sla.state if d.sla else "",
    "sla.first_response_due": lambda t, d: _time(d.sla.first_response.due if d.sla else None),
    "sla.resolution_due": lambda t, d: _time(d.sla.resolution.due if d.sla else None),
    "escalation.level": lambda t, d: d.escalation_level,
    "escalation.name": lambda t, d: d.escalation_name,
}


def placeholders(text: str) -> list[str]:
    """The placeholder names a template uses; raises ValueError on broken braces."""
    names = []
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if spec or conversion or not name:
            raise ValueError(f"write placeholders as {{name}}, not {{{name}!{conversion}:{spec}}}")
        names.append(name)
    return names


def check(text: str) -> str | None:
    """None when every placeholder is known, else the problem in words."""
    try:
        names = placeholders(text)
    except ValueError as exc:
        return f"broken placeholder: {exc}"
    unknown = [n for n in names if n not in PLACEHOLDERS]
    if unknown:
        return f"unknown placeholder {{{unknown[0]}}}; use one of: " + ", ".join(
            f"{{{n}}}" for n in PLACEHOLDERS
        )
    return None


Parsed = tuple[tuple[str, Values | None], ...]


def parse(text: str) -> Parsed:
    """A template that passed `check`, split once into (literal, placeholder) pieces."""
    return tuple(
        (literal, PLACEHOLDERS[name] if name is not None else None)
        for literal, name, _spec, _conversion in string.Formatter().parse(text)
    )


def render(
    template: str | Parsed, ticket: Ticket, decision: Decision, escape: Escape | None = None
) -> str:
    """Fill in a template (text that passed `check`, or already parsed). `escape`, when
    given, is applied to each filled-in value (ticket text is the customer's), never to the
    template's own text, which may hold the channel's markup on purpose."""
    pieces = parse(template) if isinstance(template, str) else template
    out = []
    for literal, value in pieces:
        out.append(literal)
        if value is not None:
            text = str(value(ticket, decision))
            out.append(escape(text) if escape else text)
    return "".join(out)
