"""Deterministic, realistic-looking helpdesk data for the Zendesk emulator.

`plan_batch` returns plain specs (organizations, requesters, agents, tickets) drawn from one
seeded `random.Random`; `ZendeskApp.generate` turns them into records. Nothing here knows about
HTTP or the emulator's state, so the same seed always yields the same batch (timestamps are
offsets from the `now` passed in).

The mix is meant to exercise routing rules: billing, technical, outage, how-to, feature-request
and complaint tickets, a few heavy requesters, enterprise organizations tagged `vip`, every
channel a sync tool commonly sees (web, email, chat, api).

The tickets look like a working support team's: a ticket is solved some hours after it came
in (sooner for outages and complaints, later for feature requests; a few get stuck for days),
so old tickets are mostly solved or closed and the open ones are recent; agents answer first
within minutes for outages and within an hour or two otherwise; most surveys come back good.
An SLA report over them shows most targets met, a few at risk and a few breached, not a
backlog of months. This shape comes from its own RNG (`_work_like_a_team`), drawn after the
tickets' subjects, requesters and creation times.

Each ticket also gets `steps`, the history that led to its status (assignment, agent replies,
pending and on-hold spells, solves and reopens, the CSAT survey offered and answered), and a
`fate`: a few unsolved tickets are merged into the requester's earlier ticket, a few are
deleted or marked as spam. These come from a second RNG, so a seed yields the same tickets
(subjects, statuses, times) as it did before histories existed.
"""

from __future__ import annotations

import math
import random
import re
from bisect import insort
from dataclasses import dataclass, field
from typing import Any

DAY = 86_400
HISTORY_DAYS = 30  # created_at is spread over this many past days

# Custom ticket fields (ids shaped like real Zendesk field ids).
FIELD_PRODUCT_AREA = 360_001_234_561
FIELD_PLAN = 360_001_234_562

# Groups tickets can be assigned to (Zendesk group ids are account-specific integers).
GROUPS = {"support": 360_000_100_001, "billing": 360_000_100_002, "engineering": 360_000_100_003}

FIRST_NAMES = [
    "Ava",
    "Liam",
    "Noah",
    "Emma",
    "Olivia",
    "Mateo",
    "Sofia",
    "Lucas",
    "Mia",
    "Ethan",
    "Amara",
    "Kenji",
    "Priya",
    "Omar",
    "Lena",
    "Diego",
    "Chloe",
    "Ivan",
    "Zara",
    "Felix",
    "Nora",
    "Hugo",
    "Aisha",
    "Leo",
    "Maya",
    "Arjun",
    "Elena",
    "Tomas",
    "Yuki",
    "Grace",
    "Samuel",
    "Ines",
    "Jonas",
    "Fatima",
    "Oscar",
    "Hana",
    "Marco",
    "Layla",
    "Victor",
    "Ruby",
]
LAST_NAMES = [
    "Smith",
    "Garcia",
    "Chen",
    "Patel",
    "Okafor",
    "Muller",
    "Rossi",
    "Kowalski",
    "Nguyen",
    "Silva",
    "Johansson",
    "Haddad",
    "Kim",
    "Novak",
    "Dubois",
    "Tanaka",
    "Reyes",
    "Fischer",
    "Costa",
    "Walsh",
    "Ivanova",
    "Mensah",
    "Larsen",
    "Moreau",
    "Sato",
    "Brennan",
    "Alvarez",
    "Singh",
    "Keller",
    "Horvat",
]
ORG_PREFIXES = [
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Wonka",
    "Stark",
    "Wayne",
    "Oscorp",
    "Gringotts",
    "Dunder",
    "Aperture",
    "Monarch",
    "Pinnacle",
    "Bluth",
    "Prestige",
    "Sterling",
    "Vertex",
    "Helios",
    "Juniper",
    "Cobalt",
    "Meridian",
]
ORG_SUFFIXES = [
    "Logistics",
    "Labs",
    "Foods",
    "Health",
    "Bank",
    "Studios",
    "Systems",
    "Outfitters",
    "Energy",
    "Travel",
    "Media",
    "Robotics",
]
PERSONAL_DOMAINS = ("inbox.example.net", "mail.example.org", "post.example.net")
# Zendesk time zone names and the IANA names the API reports next to them.
TIME_ZONES = {
    "Eastern Time (US & Canada)": "America/New_York",
    "Pacific Time (US & Canada)": "America/Los_Angeles",
    "London": "Europe/London",
    "Berlin": "Europe/Berlin",
}
PLANS = ("free", "pro", "enterprise")

# Per category: (weight, subjects, descriptions, tags, product areas, ticket types, group).
# Subjects and descriptions may use {order}, {code} and {feature}.
CATEGORIES: dict[str, dict[str, Any]] = {
    "billing": {
        "weight": 22,
        "subjects": (
            "Invoice #{order} is wrong",
            "I was charged twice this month",
            "Refund request for order {order}",
            "Please update the billing address on my invoice",
            "Why did my subscription price go up?",
            "Card declined when renewing",
            "Need a copy of invoice {order} for accounting",
        ),
        "descriptions": (
            "Hi, I was charged twice for order {order}. Please refund the duplicate charge.",
            "Our invoice {order} lists 12 seats but we only have 8. Can you correct it?",
            "I cancelled last week but I still got charged. I would like a refund.",
            "Finance needs the VAT number on invoice {order}. Can you reissue it?",
        ),
        "tags": ("billing",),
        "areas": ("billing",),
        "types": ("question", "incident"),
        "group": "billing",
    },
    "technical": {
        "weight": 30,
        "subjects": (
            "Error 500 when saving settings",
            "Cannot log in since this morning",
            "App crashes on startup (iOS)",
            "Android app crashes when uploading a photo",
            "Password reset email never arrives",
            "API returns 401 with a valid token",
            "Export to CSV hangs at 99%",
            "Two-factor code is always rejected",
        ),
        "descriptions": (
            "Every time I click save I get error {code}. Steps: open settings, change name, save.",
            "I cannot log in. The page just reloads. I tried two browsers and cleared cookies.",
            "The app crashes right after the splash screen. Reinstalling did not help.",
            "Our integration fails with {code} since 09:14 UTC. Nothing changed on our side.",
        ),
        "tags": ("bug",),
        "areas": ("login", "api", "mobile", "dashboard"),
        "types": ("incident", "problem"),
        "group": "engineering",
    },
    "outage": {
        "weight": 3,
        "subjects": (
            "URGENT: site is down",
            "Dashboard not loading for the whole team",
            "Data loss after the last update",
            "All our webhooks stopped firing",
            "Production outage - nothing loads",
        ),
        "descriptions": (
            "The site is down for all of our users. This blocks our business, please help ASAP.",
            "After yesterday's update half of our records are gone. We are seeing data loss.",
            "Nothing loads since 10:02 UTC, we get a blank page and error {code}.",
        ),
        "tags": ("outage", "urgent"),
        "areas": ("dashboard", "api"),
        "types": ("incident", "problem"),
        "group": "engineering",
    },
    "how_to": {
        "weight": 24,
        "subjects": (
            "How do I add a new user to my account?",
            "How can I export my data?",
            "Where do I change my notification settings?",
            "How to connect the Slack integration?",
            "Question about user permissions",
            "Can I change the owner of the account?",
        ),
        "descriptions": (
            "Hi! Quick question: how do I {feature}? I could not find it in the docs.",
            "Is there a way to {feature}? Thanks in advance.",
            "Our new admin wants to {feature}. Where is that option?",
        ),
        "tags": ("how_to",),
        "areas": ("dashboard", "integrations"),
        "types": ("question",),
        "group": "support",
    },
    "feature_request": {
        "weight": 15,
        "subjects": (
            "Feature request: dark mode",
            "Would love a bulk edit option",
            "Please add SSO with Okta",
            "Suggestion: scheduled reports",
            "Feature request: {feature}",
        ),
        "descriptions": (
            "It would be great if we could {feature}. Our team asks for this every week.",
            "Suggestion: let us {feature}. Happy to beta test.",
        ),
        "tags": ("feature_request",),
        "areas": ("dashboard", "integrations"),
        "types": ("task", "question"),
        "group": "support",
    },
    "complaint": {
        "weight": 6,
        "subjects": (
            "Very disappointed with the support",
            "Third time reporting the same problem",
            "Unacceptable response time",
            "Thinking about cancelling",
        ),
        "descriptions": (
            "This is the third time I report this and nobody has fixed it. Very frustrating.",
            "I have been waiting for 5 days for an answer. This is unacceptable.",
            "If this is not solved this week we will cancel our contract.",
        ),
        "tags": ("complaint", "escalation"),
        "areas": ("billing", "dashboard"),
        "types": ("incident", "question"),
        "group": "support",
    },
}
FEATURES = (
    "export reports to PDF",
    "add a second admin",
    "schedule a weekly report",
    "bulk edit contacts",
    "set up SSO",
    "change the default language",
)
ERROR_CODES = ("500", "502", "503", "ERR_TIMEOUT", "E1042")

# (value, weight) tables.
STATUSES = (("open", 34), ("new", 18), ("pending", 16), ("solved", 22), ("hold", 5), ("closed", 5))
PRIORITIES = (("normal", 50), ("high", 20), ("low", 14), ("urgent", 6), (None, 10))
CHANNELS = (("email", 40), ("web", 35), ("chat", 15), ("api", 10))


@dataclass
class Batch:
    """Specs for one `generate` call; indexes refer into the batch's own lists."""

    organizations: list[dict[str, Any]] = field(default_factory=list)
    requesters: list[dict[str, Any]] = field(default_factory=list)
    agents: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)


def slug(text: str) -> str:
    """A lower-case, dash-separated form of `text` usable in domains and emails."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _weighted(rng: random.Random, table: tuple[tuple[Any, int], ...]) -> Any:
    values, weights = zip(*table, strict=True)
    return rng.choices(values, weights)[0]


def plan_batch(
    count: int, seed: int, now: float, agent_domain: str, *, days: float = HISTORY_DAYS
) -> Batch:
    """Plan `count` tickets from about count/5 requesters across about count/20 organizations,
    created over the past `days` days, each with its history (see the module notes)."""
    rng = random.Random(seed)
    batch = Batch()
    n_orgs = max(1, count // 20)
    n_requesters = max(1, count // 5)

    used_names: set[str] = set()
    for i in range(n_orgs):
        name = f"{rng.choice(ORG_PREFIXES)} {rng.choice(ORG_SUFFIXES)}"
        if name in used_names:  # keep names (and so domains) unique
            name = f"{name} {i + 1}"
        used_names.add(name)
        plan = rng.choices(PLANS, (3, 5, 2))[0]
        batch.organizations.append(
            {
                "name": name,
                "domain": f"{slug(name)}.example.com",
                "plan": plan,
                "tags": ["vip"] if plan == "enterprise" else [],
            }
        )

    for i in range(n_requesters):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        org = rng.randrange(n_orgs) if rng.random() < 0.9 else None
        domain = (
            batch.organizations[org]["domain"] if org is not None else rng.choice(PERSONAL_DOMAINS)
        )
        batch.requesters.append(
            {
                "name": f"{first} {last}",
                # The index suffix keeps emails unique however often a name repeats.
                "email": f"{first.lower()}.{last.lower()}{i + 1}@{domain}",
                "organization": org,
                "phone": f"+1555{rng.randrange(10**6, 10**7)}",
                "time_zone": rng.choice(list(TIME_ZONES)),
            }
        )

    for first, last in (("Sam", "Rivera"), ("Alex", "Kim"), ("Jordan", "Lee"), ("Casey", "Wu")):
        batch.agents.append(
            {"name": f"{first} {last}", "email": f"{first.lower()}.{last.lower()}@{agent_domain}"}
        )

    names = list(CATEGORIES)
    weights = [CATEGORIES[c]["weight"] for c in names]
    for _ in range(count):
        batch.tickets.append(_plan_ticket(rng, names, weights, batch, now, days))
    _work_like_a_team(batch, seed, now)
    _plan_lifecycles(batch, seed)
    return batch


# How fast a working team is, by category: (mean minutes to the first reply after assignment,
# median hours to solve). Outages are worked at once; feature requests wait their turn;
# enterprise customers (24/7 targets) are served three times as fast.
PACE = {
    "outage": (8, 2.0),
    "complaint": (40, 12.0),
    "billing": (60, 20.0),
    "technical": (75, 30.0),
    "how_to": (90, 16.0),
    "feature_request": (180, 72.0),
}
URGENT_PACE = (30, 8.0)  # tickets the requester marked urgent or high
ENTERPRISE_SPEED = 3.0
SOLVE_SPREAD = 0.8  # sigma of the log-normal time to solve
STUCK_SHARE = 0.06  # tickets that wait days for a fix, another team or a reply
UNSOLVED_MIX = (("open", 58), ("pending", 28), ("hold", 7), ("new", 7))
RATED_SHARE = 0.55  # solved tickets whose requester answers the survey
GOOD_SHARE = 0.88


def _work_like_a_team(batch: Batch, seed: int, now: float) -> None:
    """Give each ticket the status, last update and rating a working team leaves behind: it is
    solved (or closed, days after) once its time to solve has passed, else it is still open,
    pending, on hold or new; its first reply comes at the team's pace."""
    rng = random.Random(f"zendesk-team-{seed}")
    for spec in batch.tickets:
        reply_minutes, solve_hours = PACE[spec["category"]]
        if spec["priority"] in ("urgent", "high") and spec["category"] != "outage":
            reply_minutes, solve_hours = URGENT_PACE
        plan = next(f["value"] for f in spec["custom_fields"] if f["id"] == FIELD_PLAN)
        speed = ENTERPRISE_SPEED if plan == "enterprise" else 1.0
        spec["reply_seconds"] = reply_minutes * 60 / speed
        to_solve = rng.lognormvariate(math.log(solve_hours * 3_600 / speed), SOLVE_SPREAD)
        if rng.random() < STUCK_SHARE:
            to_solve *= rng.uniform(4, 10)
        created = spec["created_at"]
        age = now - created
        if to_solve < age:
            spec["updated_at"] = created + to_solve
            if spec["assignee"] is None:
                spec["assignee"] = rng.randrange(len(batch.agents))
            closed = age - to_solve > 4 * DAY and rng.random() < 0.8  # Zendesk closes later
            spec["status"] = "closed" if closed else "solved"
            spec["satisfaction"] = None
            if rng.random() < RATED_SHARE:
                good = rng.random() < GOOD_SHARE
                comment = "Thanks, quick and clear!" if good else "Took too long."
                spec["satisfaction"] = {"score": "good" if good else "bad", "comment": comment}
        else:
            status = "new" if age < 1_800 else _weighted(rng, UNSOLVED_MIX)
            spec["status"] = status
            spec["updated_at"] = created + rng.uniform(0, age)
            spec["satisfaction"] = None
            if status == "new":
                spec["assignee"] = None  # new tickets are unassigned in Zendesk
            elif spec["assignee"] is None:
                spec["assignee"] = rng.randrange(len(batch.agents))


def _plan_ticket(
    rng: random.Random,
    names: list[str],
    weights: list[int],
    batch: Batch,
    now: float,
    days: float,
) -> dict[str, Any]:
    kind = rng.choices(names, weights)[0]
    category = CATEGORIES[kind]
    fill = {
        "order": rng.randrange(10_000, 99_999),
        "code": rng.choice(ERROR_CODES),
        "feature": rng.choice(FEATURES),
    }
    # Skewed choice: a few requesters file many tickets, as in real helpdesks.
    requester = int(len(batch.requesters) * rng.random() ** 1.6)
    org = batch.requesters[requester]["organization"]
    plan = batch.organizations[org]["plan"] if org is not None else "free"

    status = _weighted(rng, STATUSES)
    priority = _weighted(rng, PRIORITIES)
    tags = list(category["tags"])
    if "outage" in tags:
        priority = rng.choice(("urgent", "high"))
    if org is not None:
        tags.extend(batch.organizations[org]["tags"])
    if rng.random() < 0.15:
        tags.append(rng.choice(("mobile", "ios", "android", "returning_customer", "renewal")))

    created = now - rng.uniform(0, days * DAY)
    updated = created + rng.uniform(0, now - created)
    satisfaction = None
    if status in ("solved", "closed") and rng.random() < 0.5:
        score = "good" if rng.random() < 0.75 else "bad"
        satisfaction = {"score": score, "comment": "Thanks!" if score == "good" else "Too slow."}

    return {
        "requester": requester,
        "subject": rng.choice(category["subjects"]).format(**fill),
        "description": rng.choice(category["descriptions"]).format(**fill),
        "status": status,
        "priority": priority,
        "type": rng.choice(category["types"]),
        "tags": list(dict.fromkeys(tags)),
        "channel": _weighted(rng, CHANNELS),
        "group_id": GROUPS[category["group"]],
        # New tickets are unassigned in Zendesk; others go to one of the agents.
        "assignee": None if status == "new" else rng.randrange(len(batch.agents)),
        "custom_fields": [
            {"id": FIELD_PRODUCT_AREA, "value": rng.choice(category["areas"])},
            {"id": FIELD_PLAN, "value": plan},
        ],
        "satisfaction": satisfaction,
        "created_at": created,
        "updated_at": updated,
        "category": kind,
    }


# A history step: (time, kind, value, actor), as zendesk_metrics.History records it. A "move"
# is a list of (kind, value, actor) that happen at the same instant.
Step = tuple[float, str, Any, str]
Move = list[tuple[str, Any, str]]
ASSIGN: Move = [("assign", None, "agent"), ("status", "open", "agent")]  # None: the assignee
REPLY: Move = [("comment", True, "agent")]
ASK: Move = [("comment", True, "agent"), ("status", "pending", "agent")]
ANSWER: Move = [("status", "open", "end-user"), ("comment", True, "end-user")]  # reopens
HOLD: Move = [("comment", False, "agent"), ("status", "hold", "agent")]
SOLVE: Move = [("comment", True, "agent"), ("status", "solved", "agent")]
OFFER: Move = [("rating", "offered", "system")]
CLOSE: Move = [("status", "closed", "system")]
UNSOLVED = ("new", "open", "pending", "hold")
# Fates, as shares of the eligible tickets (merges: unsolved tickets whose requester has an
# earlier ticket that is still open to merging).
MERGE_SHARE = 0.03
SPAM_SHARE = 0.004
DELETE_SHARE = 0.004
FIRST_TOUCH_SECONDS = 1_200  # mean time to assignment
FIRST_REPLY_SECONDS = 3 * 3_600  # mean time from assignment to the first reply


def _plan_lifecycles(batch: Batch, seed: int) -> None:
    """Give every ticket spec its `steps` and `fate`, oldest ticket first."""
    rng = random.Random(f"zendesk-history-{seed}")
    earlier: dict[int, list[dict[str, Any]]] = {}  # requester -> their tickets so far
    for spec in sorted(batch.tickets, key=lambda s: s["created_at"]):
        spec["steps"] = _plan_steps(rng, spec)
        spec["fate"] = None
        roll = rng.random()
        if spec["status"] in UNSOLVED and roll < MERGE_SHARE:
            targets = earlier.get(spec["requester"], [])
            target = next(
                (t for t in reversed(targets) if t["status"] != "closed" and t["fate"] is None),
                None,
            )
            if target is not None:
                _merge_into(spec, target)
        elif spec["status"] != "closed" and roll < MERGE_SHARE + SPAM_SHARE:
            spec["fate"] = "spam"
        elif spec["status"] != "closed" and roll < MERGE_SHARE + SPAM_SHARE + DELETE_SHARE:
            spec["fate"] = "deleted"
        earlier.setdefault(spec["requester"], []).append(spec)


def _plan_steps(rng: random.Random, spec: dict[str, Any]) -> list[Step]:
    """The steps that take a ticket from new to its planned status by its updated_at."""
    status, created, updated = spec["status"], spec["created_at"], spec["updated_at"]
    if status == "new":  # untouched by agents; sometimes the requester adds a line
        follow_up = updated > created and rng.random() < 0.3
        return [(updated, "comment", True, "end-user")] if follow_up else []
    moves = [ASSIGN]
    if status == "hold":
        if rng.random() < 0.6:
            moves.append(REPLY)
        moves.append(HOLD)
    else:
        done = status in ("solved", "closed")
        if rng.random() < (0.85 if done else 0.6):
            moves.append(REPLY)
        if rng.random() < 0.25:  # the agent asks a question, the requester answers
            moves += [ASK, ANSWER]
        if rng.random() < 0.1:  # solved too early: the requester writes back
            moves += [SOLVE, ANSWER]
        if status == "pending":
            moves.append(ASK)
        elif done:
            moves.append(SOLVE + OFFER)
            if spec["satisfaction"]:
                moves.append([("rating", spec["satisfaction"]["score"], "end-user")])
            if status == "closed":
                moves.append(CLOSE)
    times = _times(rng, created, updated, len(moves), spec.get("reply_seconds"))
    return [(at, *step) for at, move in zip(times, moves, strict=True) for step in move]


def _times(
    rng: random.Random, created: float, updated: float, count: int, reply: float | None = None
) -> list[float]:
    """`count` increasing times in (created, updated], the last one at updated: assignment
    comes soon after creation and the first reply soon after that (`reply`: its mean wait in
    seconds), as teams aim for."""
    if count == 1:
        return [updated]
    first = created + min((updated - created) * 0.05, rng.expovariate(1 / FIRST_TOUCH_SECONDS))
    times = [first, *sorted(rng.uniform(first, updated) for _ in range(count - 2)), updated]
    if count > 2:
        times[1] = min(times[1], first + rng.expovariate(1 / (reply or FIRST_REPLY_SECONDS)))
    return times


def _merge_into(source: dict[str, Any], target: dict[str, Any]) -> None:
    """Plan `source` merged into `target` at the source's last update."""
    at = source["updated_at"]
    source["steps"] += [(at, "comment", False, "agent"), (at, "status", "closed", "agent")]
    source["status"] = "closed"
    source["tags"] = [*source["tags"], "closed_by_merge"]
    source["fate"] = "merged"
    # A private note on the target; steps at the same instant keep their order.
    insort(target["steps"], (at, "comment", False, "agent"), key=lambda step: step[0])
    target["updated_at"] = max(target["updated_at"], at)
