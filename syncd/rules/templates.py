"""Response and notification templates: text with {placeholders} checked at load, and who
may read it.

    templates:
      escalation_notice:              # to the requester: a customer template
        audience: customer
        text: |
          Hi {requester.first_name}, your request "{ticket.subject}" has been escalated.
          We expect to resolve it by {sla.resolution_due}.
      internal_at_risk: |             # plain text: an internal template
        SLA at risk: #{ticket.id} "{ticket.subject}" ({priority}) {ticket.url}

Every template has an audience, `customer` or `internal`. A template written as plain text
(or a mapping without `audience:`) is **internal**: a message only reaches a customer when
an admin said the text is meant for one. An action that reaches the requester
(`notify: email:requester`) must name a customer template (`rules check` refuses an internal
one, inline `message:` text or no text at all, with the rule's file:line), and a customer
template may use only the placeholders a customer may see (CUSTOMER_PLACEHOLDERS: not the
agents' link, the SLA policy or state, the category or priority, the escalation level or its
name) and never the "[syncd]" marker of internal messages. `{ticket.customer_url}` is the
helpdesk's own link for the requester (Zendesk's Help Center request page, Freshdesk's
customer portal), "" when the helpdesk has none.

Rendering leaves out a placeholder that is empty together with the brackets around it, so
"from {requester.name} ({organization.name})" reads "from Ivy Lee" for a requester without an
organization, not "from Ivy Lee ()".
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syncd.model import Decision, Escape, Ticket

Values = Callable[[Ticket, Decision], Any]

CUSTOMER, INTERNAL = "customer", "internal"
AUDIENCES = (CUSTOMER, INTERNAL)
DEFAULT_AUDIENCE = INTERNAL  # an admin opts a text in for customers, never out
INTERNAL_MARKER = "[syncd]"  # the subject prefix of internal mail; never in a customer text


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "n/a"


PLACEHOLDERS: dict[str, Values] = {
    "ticket.id": lambda t, d: t.id,
    "ticket.subject": lambda t, d: t.subject,
    "ticket.url": lambda t, d: t.url,
    "ticket.customer_url": lambda t, d: t.customer_url,
    "ticket.status": lambda t, d: t.status.value,
    "ticket.created_at": lambda t, d: _time(t.created_at),
    "requester.name": lambda t, d: t.requester.name if t.requester else "",
    "requester.first_name": lambda t, d: (t.requester.first_name if t.requester else "") or "there",
    "requester.email": lambda t, d: t.requester.email if t.requester else "",
    "organization.name": lambda t, d: t.organization.name if t.organization else "",
    "assignee.name": lambda t, d: t.assignee_name or "",
    "category": lambda t, d: d.category,
    "priority": lambda t, d: d.priority,
    "sla.policy": lambda t, d: d.sla.policy if d.sla else "",
    "sla.state": lambda t, d: d.sla.state if d.sla else "",
    "sla.first_response_due": lambda t, d: _time(d.sla.first_response.due if d.sla else None),
    "sla.resolution_due": lambda t, d: _time(d.sla.resolution.due if d.sla else None),
    "escalation.level": lambda t, d: d.escalation_level,
    "escalation.name": lambda t, d: d.escalation_name,
}
# What a customer may read: their ticket, themselves, the promised times, the portal link.
CUSTOMER_PLACEHOLDERS = frozenset(
    {
        "ticket.id",
        "ticket.subject",
        "ticket.customer_url",
        "ticket.status",
        "ticket.created_at",
        "requester.name",
        "requester.first_name",
        "requester.email",
        "organization.name",
        "sla.first_response_due",
        "sla.resolution_due",
    }
)


@dataclass(frozen=True, slots=True)
class Template:
    """A named text of a templates: section, with its audience and where it is defined."""

    name: str
    text: str
    audience: str = DEFAULT_AUDIENCE
    where: str = ""


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


def check(text: str, audience: str = INTERNAL) -> str | None:
    """None when every placeholder is known (and, for a customer text, one a customer may
    see), else the problem in words."""
    try:
        names = placeholders(text)
    except ValueError as exc:
        return f"broken placeholder: {exc}"
    unknown = [n for n in names if n not in PLACEHOLDERS]
    if unknown:
        return f"unknown placeholder {{{unknown[0]}}}; use one of: " + ", ".join(
            f"{{{n}}}" for n in PLACEHOLDERS
        )
    if audience == CUSTOMER:
        internal = [n for n in names if n not in CUSTOMER_PLACEHOLDERS]
        if internal:
            return (
                f"{{{internal[0]}}} is internal and may not reach a customer; a customer "
                "template may use: " + ", ".join(f"{{{n}}}" for n in sorted(CUSTOMER_PLACEHOLDERS))
            )
        if INTERNAL_MARKER in text.lower():
            return f"{INTERNAL_MARKER} marks internal messages; leave it out of customer text"
    return None


def compile_template(name: str, value: Any) -> tuple[Template | None, str | None, str | None]:
    """A templates: entry (text, or {audience, text}) -> (template, problem, key at fault).
    The key is where the problem is (None: the entry itself)."""
    if isinstance(value, dict):
        stray = sorted(map(str, set(value) - {"audience", "text"}))
        if stray:
            return None, f"unknown key {stray[0]!r} in template {name!r}", stray[0]
        audience = value.get("audience", DEFAULT_AUDIENCE)
        if audience not in AUDIENCES:
            return (
                None,
                f"template {name!r}: audience must be customer or internal, got {audience!r}",
                "audience",
            )
        text = value.get("text")
        key: str | None = "text" if "text" in value else None
    else:
        audience, text, key = DEFAULT_AUDIENCE, value, None
    if not isinstance(text, str) or not text.strip():
        return None, f"template {name!r} must be text", key
    problem = check(text, str(audience))
    if problem:
        return None, f"template {name!r}: {problem}", key
    return Template(name, text, str(audience)), None, None


Parsed = tuple[tuple[str, Values | None], ...]

_OPENING = {"(": ")", "[": "]"}


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
    template's own text, which may hold the channel's markup on purpose.

    A placeholder that comes out empty between brackets, "({organization.name})" or
    "[{x}]", is left out with its brackets and the space before them."""
    pieces = parse(template) if isinstance(template, str) else template
    out: list[str] = []
    skip = ""  # the closing bracket to drop from the next literal
    for index, (literal, value) in enumerate(pieces):
        if skip:
            literal, skip = literal[1:], ""
        if value is None:
            out.append(literal)
            continue
        text = str(value(ticket, decision))
        closing = _OPENING.get(literal[-1:])
        after = pieces[index + 1][0] if index + 1 < len(pieces) else ""
        if closing and not text.strip() and after.startswith(closing):
            out.append(literal[:-1].rstrip())
            skip = closing
            continue
        out.append(literal)
        out.append(escape(text) if escape else text)
    return "".join(out)
