"""Account configuration and deterministic sample data for the Freshdesk emulator.

The first half is the emulated account's fixed setup: the numeric codes Freshdesk documents
for status, priority, source and satisfaction ratings, the agents and groups tickets can be
assigned to, the custom ticket fields (`cf_plan`, `cf_product_area`) and the
`GET /api/v2/ticket_fields` body describing them. The second half, `plan_batch`, draws plain
specs (companies, contacts, tickets with their status history) from one seeded
`random.Random`; `FreshdeskApp.generate` turns them into records. Nothing here knows about
HTTP or the emulator's state, so a seed always yields the same batch (times are offsets from
the `now` passed in).

The ticket mix is meant to exercise routing rules: billing, technical (with outages),
complaint, feature-request and information tickets, companies on Free/Pro/Enterprise plans
(Enterprise ones tagged `vip`), a few heavy requesters, and every common source.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, field
from typing import Any

DAY = 86_400
HOUR = 3_600
HISTORY_DAYS = 60  # created_at spread: longer than the list endpoint's 30-day default window

# [Tickets] documented codes.
OPEN, PENDING, RESOLVED, CLOSED = 2, 3, 4, 5
# New accounts also ship two custom statuses, and admins add more ([Statuses]: "Waiting on
# Customer" and "Waiting on Third Party" on a fresh Growth-or-higher account).
WAITING_ON_CUSTOMER, WAITING_ON_THIRD_PARTY = 6, 7
STATUSES = {
    OPEN: "Open", PENDING: "Pending", RESOLVED: "Resolved", CLOSED: "Closed",
    WAITING_ON_CUSTOMER: "Waiting on Customer", WAITING_ON_THIRD_PARTY: "Waiting on Third Party",
}  # fmt: skip
# What the customer portal calls each status ([Fields]: the second label of a status choice).
STATUS_CUSTOMER_LABELS = {
    OPEN: "Being Processed", PENDING: "Awaiting your Reply",
    RESOLVED: "This ticket has been Resolved", CLOSED: "This ticket has been Closed",
    WAITING_ON_CUSTOMER: "Awaiting your Reply", WAITING_ON_THIRD_PARTY: "Being Processed",
}  # fmt: skip
# Whether the SLA timer stops while a ticket is in the status: set per status by the admin
# (Admin > Workflows > Ticket fields > Status, the SLA timer toggle [Statuses]); Pending stops
# it by default, and so do the two waiting statuses of a new account (inferred: check yours).
STOPS_SLA_TIMER = {
    OPEN: False, PENDING: True, RESOLVED: True, CLOSED: True,
    WAITING_ON_CUSTOMER: True, WAITING_ON_THIRD_PARTY: True,
}  # fmt: skip
STATUS_FIELD_ID = 45_000_000_006  # the default `status` field's id (position 5 below)
PRIORITIES = {1: "Low", 2: "Medium", 3: "High", 4: "Urgent"}
SOURCES = {
    1: "Email", 2: "Portal", 3: "Phone", 7: "Chat", 9: "Feedback Widget", 10: "Outbound Email",
}  # fmt: skip
TICKET_TYPES = ("Question", "Incident", "Problem", "Feature Request")
# [Surveys] rating scale: 103 Extremely happy ... 100 Neutral ... -103 Extremely unhappy.
RATING_VALUES = (103, 102, 101, 100, -101, -102, -103)
SURVEY_ID = 1

# SLA targets per priority (hours to first response, hours to resolution): drive fr_due_by and
# due_by. Freshdesk's default policy is account-configurable; these are plausible values.
SLA_HOURS = {1: (24, 72), 2: (8, 48), 3: (4, 24), 4: (1, 4)}

# Agents and groups are account setup; ids shaped like Freshdesk's large integers.
AGENTS = (
    (43_000_000_001, "Sam Rivera", "sam.rivera@acme-support.test"),
    (43_000_000_002, "Alex Kim", "alex.kim@acme-support.test"),
    (43_000_000_003, "Jordan Lee", "jordan.lee@acme-support.test"),
    (43_000_000_004, "Casey Wu", "casey.wu@acme-support.test"),
)
API_AGENT_ID = AGENTS[0][0]  # the agent whose API key the sandbox accepts
GROUPS = {"Support": 44_000_000_001, "Billing": 44_000_000_002, "Engineering": 44_000_000_003}

PLANS = ("Free", "Pro", "Enterprise")
PRODUCT_AREAS = ("Billing", "Login", "API", "Mobile", "Dashboard", "Integrations")
# Custom ticket fields: API name -> (id, label, dropdown choices).
CUSTOM_FIELDS: dict[str, tuple[int, str, tuple[str, ...]]] = {
    "cf_plan": (45_000_000_101, "Plan", PLANS),
    "cf_product_area": (45_000_000_102, "Product area", PRODUCT_AREAS),
}
ACCOUNT_TIERS = {"Free": "Basic", "Pro": "Premium", "Enterprise": "Enterprise"}


def ticket_fields(created_at: str) -> list[dict[str, Any]]:
    """The `GET /api/v2/ticket_fields` body: default fields, then the custom ones.

    [Ticket Fields]: default fields have `default: true` and a `default_*` type; choices are
    {code: [agent label, customer label]} for status, {label: code} for priority and source,
    and a list of values for custom dropdowns.
    """
    status_choices = {
        str(code): [name, STATUS_CUSTOMER_LABELS[code]] for code, name in STATUSES.items()
    }
    defaults: list[tuple[str, str, str, Any]] = [
        ("requester", "Search a requester", "default_requester", None),
        ("subject", "Subject", "default_subject", None),
        ("ticket_type", "Type", "default_ticket_type", list(TICKET_TYPES)),
        ("source", "Source", "default_source", {v: k for k, v in SOURCES.items()}),
        ("status", "Status", "default_status", status_choices),
        ("priority", "Priority", "default_priority", {v: k for k, v in PRIORITIES.items()}),
        ("group", "Group", "default_group", dict(GROUPS)),
        ("agent", "Agent", "default_agent", {name: aid for aid, name, _ in AGENTS}),
        ("description", "Description", "default_description", None),
        ("company", "Company", "default_company", None),
    ]
    fields = []
    for position, (name, label, kind, choices) in enumerate(defaults, start=1):
        fields.append(_field(45_000_000_001 + position, name, label, kind, position, choices))
        fields[-1]["default"] = True
    for offset, (name, (fid, label, choices)) in enumerate(CUSTOM_FIELDS.items()):
        position = len(defaults) + offset + 1
        fields.append(_field(fid, name, label, "custom_dropdown", position, list(choices)))
    for item in fields:
        item["created_at"] = item["updated_at"] = created_at
    return fields


def status_field_detail(created_at: str) -> dict[str, Any]:
    """The `GET /api/v2/admin/ticket_fields/{id}` body of the status field.

    [AdminFields]: the admin view of a field lists its choices as objects; for the status
    field each carries `stop_sla_timer`, which the plain listing leaves out. Choice keys
    follow Freshdesk's own serialiser (helpdesk source, Helpdesk::TicketStatus
    #new_response_hash: id, value, label_for_customers, stop_sla_timer, default, position,
    deleted); the public docs show no status example, so worth checking on a live account.
    """
    status = next(f for f in ticket_fields(created_at) if f["name"] == "status")
    status["choices"] = [
        {
            "id": code,
            "value": name,
            "label_for_customers": STATUS_CUSTOMER_LABELS[code],
            "stop_sla_timer": STOPS_SLA_TIMER[code],
            "default": code in (OPEN, PENDING, RESOLVED, CLOSED),
            "position": position,
            "deleted": False,
        }
        for position, (code, name) in enumerate(STATUSES.items(), start=1)
    ]
    return status


def _field(
    fid: int, name: str, label: str, kind: str, position: int, choices: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": fid,
        "name": name,
        "label": label,
        "description": label,
        "position": position,
        "required_for_closure": False,
        "required_for_agents": name in ("requester", "subject", "status", "priority"),
        "type": kind,
        "default": False,
        "customers_can_edit": name in ("requester", "subject", "description"),
        "label_for_customers": label,
        "required_for_customers": name in ("requester", "subject"),
        "displayed_to_customers": name not in ("agent", "group"),
    }
    if choices is not None:
        out["choices"] = choices
    return out


# ---------------------------------------------------------------------------- sample data

FIRST_NAMES = (
    "Ava", "Liam", "Noah", "Emma", "Olivia", "Mateo", "Sofia", "Lucas", "Mia", "Ethan",
    "Amara", "Kenji", "Priya", "Omar", "Lena", "Diego", "Chloe", "Ivan", "Zara", "Felix",
    "Nora", "Hugo", "Aisha", "Leo", "Maya", "Arjun", "Elena", "Tomas", "Yuki", "Grace",
    "Samuel", "Ines"
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Garcia", "Chen", "Patel", "Okafor", "Muller", "Rossi", "Kowalski", "Nguyen",
    "Silva", "Johansson", "Haddad", "Kim", "Novak", "Dubois", "Tanaka", "Reyes", "Fischer",
    "Costa", "Walsh", "Ivanova", "Mensah", "Larsen", "Moreau", "Sato", "Singh"
)  # fmt: skip
COMPANY_PREFIXES = (
    "Northwind", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Soylent", "Tyrell",
    "Cyberdyne", "Wonka", "Stark", "Wayne", "Oscorp", "Dunder", "Aperture", "Monarch",
    "Pinnacle", "Bluth", "Sterling", "Vertex", "Helios", "Juniper", "Cobalt"
)  # fmt: skip
COMPANY_SUFFIXES = ("Logistics", "Labs", "Foods", "Health", "Bank", "Studios", "Systems", "Energy")
INDUSTRIES = ("Software", "Retail", "Healthcare", "Finance", "Logistics", "Media")
PERSONAL_DOMAINS = ("inbox.example.net", "mail.example.org", "post.example.net")

# Per category: weight, subjects, descriptions ({order}, {code}, {feature} filled in), tags,
# product areas, ticket types and the group that handles it.
CATEGORIES: dict[str, dict[str, Any]] = {
    "billing": {
        "weight": 22,
        "subjects": (
            "Invoice #{order} is wrong", "I was charged twice this month",
            "Refund request for order {order}", "Why did my subscription price go up?",
            "Card declined when renewing", "Need a copy of invoice {order} for accounting",
        ),
        "descriptions": (
            "Hi, I was charged twice for order {order}. Please refund the duplicate charge.",
            "Our invoice {order} lists 12 seats but we only have 8. Can you correct the bill?",
            "I cancelled last week but I still got charged. I would like a refund.",
        ),
        "tags": ("billing",), "areas": ("Billing",), "types": ("Question", "Incident"),
        "group": "Billing",
    },
    "technical": {
        "weight": 34,
        "subjects": (
            "Error 500 when saving settings", "Cannot log in since this morning",
            "App crashes on startup (iOS)", "API returns 401 with a valid token",
            "Export to CSV hangs at 99%", "URGENT: site is down",
            "Dashboard not loading for the whole team",
        ),
        "descriptions": (
            "Every time I click save I get error {code}. Steps: open settings, change name, save.",
            "I cannot log in. The page just reloads. I tried two browsers and cleared cookies.",
            "The app crashes right after the splash screen. Reinstalling did not help.",
            "The site is down for all of our users since 10:02 UTC, we get error {code}.",
        ),
        "tags": ("bug",), "areas": ("Login", "API", "Mobile", "Dashboard"),
        "types": ("Incident", "Problem"), "group": "Engineering",
    },
    "complaint": {
        "weight": 10,
        "subjects": (
            "Very disappointed with the support", "Third time reporting the same problem",
            "Unacceptable response time", "Thinking about cancelling",
        ),
        "descriptions": (
            "This is the third time I report this and nobody has fixed it. Very frustrating.",
            "I have been waiting for 5 days for an answer. This is unacceptable.",
            "If this is not solved this week we will cancel our contract.",
        ),
        "tags": ("complaint",), "areas": ("Billing", "Dashboard"),
        "types": ("Incident", "Question"), "group": "Support",
    },
    "feature_request": {
        "weight": 12,
        "subjects": (
            "Feature request: dark mode", "Would love a bulk edit option",
            "Please add SSO with Okta", "Feature request: {feature}",
        ),
        "descriptions": (
            "It would be great if we could {feature}. Our team asks for this every week.",
            "Suggestion: let us {feature}. Happy to beta test.",
        ),
        "tags": ("feature_request",), "areas": ("Dashboard", "Integrations"),
        "types": ("Feature Request",), "group": "Support",
    },
    "information": {
        "weight": 22,
        "subjects": (
            "How do I add a new user to my account?", "How can I export my data?",
            "Where do I change my notification settings?", "Question about user permissions",
            "Do you offer a discount for nonprofits?",
        ),
        "descriptions": (
            "Hi! Quick question: how do I {feature}? I could not find it in the docs.",
            "Is there a way to {feature}? Thanks in advance.",
        ),
        "tags": ("how_to",), "areas": ("Dashboard", "Integrations"),
        "types": ("Question",), "group": "Support",
    },
}  # fmt: skip
FEATURES = (
    "export reports to PDF", "add a second admin", "schedule a weekly report",
    "bulk edit contacts", "set up SSO", "change the default language",
)  # fmt: skip
ERROR_CODES = ("500", "502", "503", "ERR_TIMEOUT", "E1042")
FEEDBACK = {1: "Thanks, quick and helpful!", 0: "It's fine.", -1: "Took far too long."}

# (value, weight) tables.
STATUS_WEIGHTS = (
    (OPEN, 38), (PENDING, 12), (RESOLVED, 27), (CLOSED, 18),
    (WAITING_ON_CUSTOMER, 3), (WAITING_ON_THIRD_PARTY, 2),
)  # fmt: skip
PRIORITY_WEIGHTS = ((1, 25), (2, 45), (3, 22), (4, 8))
SOURCE_WEIGHTS = ((1, 40), (2, 25), (3, 8), (7, 17), (9, 5), (10, 5))


@dataclass
class Batch:
    """Specs for one `generate` call; indexes refer into the batch's own lists."""

    companies: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)


def slug(text: str) -> str:
    """A lower-case, dash-separated form of `text` usable in domains and emails."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _weighted(rng: random.Random, table: tuple[tuple[Any, int], ...]) -> Any:
    # Same draws as rng.choices(values, weights), without re-zipping the table each call.
    values, cum_weights = _CUMULATIVE.get(table) or _cumulate(table)
    return rng.choices(values, cum_weights=cum_weights)[0]


_CUMULATIVE: dict[tuple[tuple[Any, int], ...], tuple[tuple[Any, ...], list[int]]] = {}


def _cumulate(table: tuple[tuple[Any, int], ...]) -> tuple[tuple[Any, ...], list[int]]:
    values, weights = zip(*table, strict=True)
    _CUMULATIVE[table] = values, list(itertools.accumulate(weights))
    return _CUMULATIVE[table]


def plan_batch(count: int, seed: int, now: float) -> Batch:
    """Plan `count` tickets from about count/5 contacts across about count/20 companies."""
    rng = random.Random(seed)
    batch = Batch()
    n_companies, n_contacts = max(1, count // 20), max(1, count // 5)
    used: set[str] = set()
    for i in range(n_companies):
        name = f"{rng.choice(COMPANY_PREFIXES)} {rng.choice(COMPANY_SUFFIXES)}"
        if name in used:  # keep names (and so domains) unique
            name = f"{name} {i + 1}"
        used.add(name)
        plan = rng.choices(PLANS, (4, 4, 2))[0]
        batch.companies.append(
            {
                "name": name,
                "domains": [f"{slug(name)}.example.com"],
                "plan": plan,
                "industry": rng.choice(INDUSTRIES),
            }
        )
    for i in range(n_contacts):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company = rng.randrange(n_companies) if rng.random() < 0.85 else None
        domain = (
            batch.companies[company]["domains"][0]
            if company is not None
            else rng.choice(PERSONAL_DOMAINS)
        )
        batch.contacts.append(
            {
                "name": f"{first} {last}",
                # The index suffix keeps emails unique however often a name repeats.
                "email": f"{first.lower()}.{last.lower()}{i + 1}@{domain}",
                "company": company,
                "phone": f"+1555{rng.randrange(10**6, 10**7)}",
            }
        )
    names = list(CATEGORIES)
    weights = [CATEGORIES[c]["weight"] for c in names]
    for _ in range(count):
        batch.tickets.append(_plan_ticket(rng, names, weights, batch, now))
    return batch


def _plan_ticket(
    rng: random.Random, names: list[str], weights: list[int], batch: Batch, now: float
) -> dict[str, Any]:
    category = CATEGORIES[rng.choices(names, weights)[0]]
    fill = {
        "order": rng.randrange(10_000, 99_999),
        "code": rng.choice(ERROR_CODES),
        "feature": rng.choice(FEATURES),
    }
    # Skewed choice: a few requesters file many tickets, as in real helpdesks.
    requester = int(len(batch.contacts) * rng.random() ** 1.6)
    company = batch.contacts[requester]["company"]
    plan = batch.companies[company]["plan"] if company is not None else "Free"
    subject = rng.choice(category["subjects"]).format(**fill)
    priority = _weighted(rng, PRIORITY_WEIGHTS)
    if "down" in subject.lower() or "whole team" in subject.lower():
        priority = 4
    tags = list(category["tags"])
    if plan == "Enterprise":
        tags.append("vip")
    if rng.random() < 0.15:
        tags.append(rng.choice(("mobile", "ios", "android", "returning_customer", "renewal")))
    status = _weighted(rng, STATUS_WEIGHTS)
    created = now - rng.uniform(0, HISTORY_DAYS * DAY)
    stats, last = _history(rng, status, created, now)
    rating = None
    if status in (RESOLVED, CLOSED) and rng.random() < 0.4:
        value = rng.choices(RATING_VALUES, (30, 25, 15, 12, 8, 6, 4))[0]
        mood = (value > 100) - (value < 100)
        rating = {"value": value, "feedback": FEEDBACK[mood], "at": _later(rng, last, now)}
    responded = stats["first_responded_at"] is not None
    return {
        "requester": requester,
        "subject": subject,
        "description": rng.choice(category["descriptions"]).format(**fill),
        "status": status,
        "priority": priority,
        "source": _weighted(rng, SOURCE_WEIGHTS),
        "type": rng.choice(category["types"]),
        "tags": list(dict.fromkeys(tags)),
        "group_id": GROUPS[category["group"]],
        # Tickets nobody has answered yet are often unassigned.
        "responder": rng.randrange(len(AGENTS)) if responded or rng.random() < 0.5 else None,
        "custom_fields": {"cf_plan": plan, "cf_product_area": rng.choice(category["areas"])},
        "created_at": created,
        "updated_at": _later(rng, last, now, share=0.05),
        "stats": stats,
        "spam": rng.random() < 0.01,
        "deleted": rng.random() < 0.01,
        "rating": rating,
    }


CLOSE_AFTER = 60.0  # seconds at least between a generated ticket's resolution and its close


def _later(rng: random.Random, start: float, now: float, share: float = 0.3) -> float:
    """A time between `start` and `now`, skewed towards `start` (support events cluster)."""
    return start + (now - start) * share * rng.random() ** 2


def _history(
    rng: random.Random, status: int, created: float, now: float
) -> tuple[dict[str, float | None], float]:
    """Stats times consistent with a status history ending in `status`; also the last event.

    Mirrors how Freshdesk keeps its ticket states: a first agent reply sets
    first_responded_at; resolving sets resolved_at; closing also sets resolved_at if unset;
    reopening clears resolved_at and closed_at and sets reopened_at; pending_since is set
    while the ticket is pending.
    """
    stats: dict[str, float | None] = dict.fromkeys(
        (
            "agent_responded_at", "requester_responded_at", "first_responded_at",
            "status_updated_at", "reopened_at", "resolved_at", "closed_at", "pending_since",
        )
    )  # fmt: skip
    stats["status_updated_at"] = created
    last = created
    if status == OPEN and rng.random() < 0.45:
        return stats, last  # not answered yet
    last = stats["first_responded_at"] = stats["agent_responded_at"] = _later(rng, last, now)
    if rng.random() < 0.4:  # the customer wrote back, and the agent answered again
        last = stats["requester_responded_at"] = _later(rng, last, now)
        last = stats["agent_responded_at"] = _later(rng, last, now)
    if status == OPEN:
        if rng.random() < 0.25:  # resolved once, then the customer's reply reopened it
            last = stats["requester_responded_at"] = _later(rng, last, now)
            stats["reopened_at"] = stats["status_updated_at"] = last
    elif status == PENDING:
        stats["pending_since"] = stats["status_updated_at"] = last
    elif status in (WAITING_ON_CUSTOMER, WAITING_ON_THIRD_PARTY):
        stats["status_updated_at"] = last  # answered, then set waiting
    else:
        last = stats["resolved_at"] = stats["status_updated_at"] = _later(rng, last, now)
        if status == CLOSED:
            # A resolved ticket is closed later, by an agent or the account's automation; only
            # a merge closes a ticket in the second it is resolved (what syncd checks for).
            closing = min(max(_later(rng, last, now), last + CLOSE_AFTER), now)
            last = stats["closed_at"] = stats["status_updated_at"] = closing
    return stats, last
