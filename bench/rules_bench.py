"""Rule evaluations per second: syncd's compiled SOP rules against `rule-engine` on the same rules.

    .venv/bin/python bench/rules_bench.py [--tickets 100000] [--sample 5000] [--seed 7]
                                          [--show-rules] [--profile]

What is compared, on the same deterministic synthetic tickets (built once, outside the timing):

* syncd, full: `RuleSet.evaluate(ticket, now)` with the default rules (rules/*.yaml): category
  and priority (first match), SLA policy and measurement on business calendars, escalation
  levels with their rendered actions, follow-ups and the next check time.
* syncd, category + priority only: the same two first-match loops `evaluate` runs, over the
  same compiled rules, on `syncd.rules.conditions.Facts`.
* rule-engine (https://zerosteiner.github.io/rule-engine/): the category and priority rules of
  the rule files, translated mechanically into rule-engine expressions with the same meaning
  (see `translate`; `--show-rules` prints them) and evaluated first-match with
  `rule_engine.Chain`, giving (category, priority). Where rule-engine offers two spellings,
  it gets the faster one (see `_one_of`). rule-engine has no SLA clocks, escalation ladders
  or templates, so it cannot do the rest of `evaluate`: ratio (a) compares unequal work,
  ratio (b) is like for like. The wording operators (contains_word, fuzzy, similar_to) become
  functions rule-engine calls (see `WORDING`): contains_word and similar_to over stems computed
  anew here (PyStemmer, the same tokens and contractions, a plain substring test, a plain
  weighted sum with the rule set's word weights); fuzzy calls syncd's own matcher
  (`syncd.rules.wording.Fuzzy`), built afresh, so only its composition is compared.

Before timing, a sample of tickets is checked: rule-engine's (category, priority) must equal
syncd's, and so must the category + priority helper's; the escalation conditions that do not
depend on SLA measurement are translated too and checked against syncd's. Any difference exits
with status 1: a benchmark comparing different work is worthless. Each side then evaluates every
ticket once (after a warm-up on the first 1,000), timed with `time.perf_counter`, in this one
process pinned to one core. `--profile` adds a cProfile of `evaluate` on 20,000 tickets.
Targets: >= 50,000 evaluations/s for `evaluate` and >= 5x rule-engine.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import os
import platform
import pstats
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import rule_engine
import Stemmer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syncd.durations import parse_duration  # noqa: E402
from syncd.model import Organization, Person, Status, StatusChange, Ticket  # noqa: E402
from syncd.rules import RuleSet, load_rules  # noqa: E402
from syncd.rules.conditions import SLA, Compiler, Facts, Predicate  # noqa: E402
from syncd.rules.engine import DEFAULT_CATEGORY, Rule  # noqa: E402
from syncd.rules.loader import Problems, read_rule_file  # noqa: E402
from syncd.rules.wording import (  # noqa: E402
    DEFAULT_FUZZY_THRESHOLD,
    DEFAULT_LANGUAGE,
    DEFAULT_SIMILARITY_THRESHOLD,
    Fuzzy,
)

NOW = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)  # a Wednesday afternoon, in business hours
TARGET_RATE = 50_000
TARGET_RATIO = 5.0
TARGETS = f"targets: >= {TARGET_RATE:,} evaluations/s and >= {TARGET_RATIO:g}x rule-engine"

# ---------------------------------------------------------------------------------------------
# Synthetic tickets
# ---------------------------------------------------------------------------------------------

# Subjects and sentences per kind of request. The kind only steers the wording: the category is
# whatever the rules decide (a "Re: Invoice ..." is Billing, first match wins). Some lines are
# near misses on purpose ("download", "Downtime", "charger", "debugging": whole words only).
SUBJECTS: dict[str, list[str]] = {
    "complaint": [
        "This is unacceptable",
        "I want to speak to a manager",
        "Formal complaint about support",
        "Very disappointed with the response time",
        "Terrible service, again",
        "Please escalate this",
        "Complaints about your agent",
        "Thinking about leaving",
    ],
    "billing": [
        "Invoice #{n} looks wrong",
        "Refund for order {n}",
        "Charged twice this month",
        "Question about my subscription",
        "Receipts for {month}",
        "Credit card declined",
        "Pricing for {seats} seats",
        "We were overcharged",
        "Billing error on last invoice",
        "Payment failed",
        "Wrong amount on our invoices",
        "VAT number on account",
    ],
    "technical": [
        "Error 500 when saving",
        "App crashes on startup",
        "Dashboard not working",
        "Cannot log in since this morning",
        "Can't log in",
        "Site is down!",
        "URGENT: EXPORT NOT WORKING",
        "Outage in EU region?",
        "Data loss after sync",
        "Export keeps hitting a timeout",
        "Bug in the report filter",
        "Login page broken",
        "Errors in the API logs",
        "Mobile app crash on iOS {seats}",
        "Sync is slow",
        "Webhook not working since Friday",
        "Import error: invalid CSV",
        "Report totals look off",
        "Attachments fail to upload",
        "Two-factor code never arrives",
    ],
    "feature": [
        "Feature request: dark mode",
        "It would be great to export to PDF",
        "Please add SSO support",
        "Suggestion: bulk edit",
        "Wish list for next year",
        "Idea for the calendar view",
    ],
    "follow_up": [
        "Re: {previous}",
        "RE: {previous}",
        "Fwd: {previous}",
        " fw : {previous}",
        "Any update on #{n}?",
        "Still waiting for an answer",
        "Checking in on ticket #{n}",
        "Follow-up on our call",
    ],
    "info": [
        "How do I reset my password?",
        "Where can I find the API documentation?",
        "Is it possible to add users in bulk?",
        "Question about data retention",
        "Information about GDPR compliance",
        "How to connect Slack?",
        "How do I download the report?",
    ],
    "general": [
        "Thanks!",
        "Hello",
        "Meeting next week",
        "Partnership opportunity",
        "Change of address",
        "Password reset",
        "New team member",
        "Downtime window next Sunday",
        "Charger for the card reader",
        "Debugging session notes",
        "Security breach notification from our IT",
        "Reply to your survey",
    ],
}
SENTENCES: dict[str, list[str]] = {
    "complaint": [
        "I have been waiting for three days and nobody has answered.",
        "I want to complain about the way my last request was handled.",
        "If this is not fixed this week I will cancel my account.",
        "Frankly, this is terrible service for what we pay.",
        "I am very disappointed, please escalate to someone senior.",
    ],
    "billing": [
        "Our invoice for {month} shows {seats} seats but we only have {seats2}.",
        "I was charged twice for the same subscription.",
        "Could you send the receipts for the last quarter?",
        "The payment with our credit card failed yesterday.",
        "We need a refund for the unused months.",
        "The charges on our statement do not match the pricing page.",
        "Our finance team says we were double charged.",
    ],
    "technical": [
        "When I click save I get an error 500.",
        "The app crashes every time I open the settings page.",
        "Since the update the sync is not working.",
        "Several users in our team are affected.",
        "It looks like the page is down for everyone here.",
        "We lost all our contacts after the import.",
        "The export fails with a timeout after 30 seconds.",
        "Steps: open the report, pick a filter, nothing happens.",
        "I cannot log in with my SSO account.",
        "The upload button is broken on Safari.",
        "Screenshot attached, the console shows two errors.",
        "It started after we changed our SSO settings.",
        "We tried another browser and cleared the cache, same result.",
        "The webhook returns a 404 from your side.",
        "Only the March report shows the wrong totals.",
        "Our admin sees a bug icon next to the sync status.",
    ],
    "feature": [
        "It would be great if we could export to PDF.",
        "Please add an option to bulk edit contacts.",
        "Just a suggestion for the roadmap: a dark mode.",
        "It would be nice to have keyboard shortcuts.",
        "Our team put this on the wish list.",
    ],
    "follow_up": [
        "Any update on this?",
        "I am still waiting for a reply.",
        "Just checking in on the ticket below.",
        "Following up on my previous email.",
        "Can you follow up with the engineering team?",
    ],
    "info": [
        "How do I invite a colleague to our workspace?",
        "Where can I find the documentation for the API?",
        "Is it possible to change the owner of a workspace?",
        "I have a question about exporting contacts.",
        "How to set up the integration with our CRM?",
        "Could you send me information about your data centres?",
    ],
    "general": [
        "Thanks for your help last week.",
        "Let me know if you need anything else.",
        "We are moving offices next month.",
        "Please update the contact person for our account.",
        "Downloading the mobile app worked fine.",
        "The charger we ordered arrived.",
        "Sent from my phone.",
    ],
}
KIND_WEIGHTS = {
    "billing": 18,
    "technical": 26,
    "complaint": 5,
    "feature": 8,
    "follow_up": 15,
    "info": 12,
    "general": 16,
}
GREETINGS = ["Hi team,", "Hello,", "Good morning,", "Hi there,", "Dear support,", ""]
SIGN_OFFS = ["Thanks, {name}", "Best regards,\n{name}", "Cheers, {name}", "{name}", ""]
SIGNATURES = [
    "{full_name} | Operations | {org} | +44 20 7946 {n}",
    "{full_name}\nCustomer Success Lead, {org}\nwww.{domain}",
    "--\n{full_name}, {org}\nThis email and any attachments are confidential and intended "
    "solely for the addressee. If you received it in error, please tell the sender and "
    "delete it.",
]
NAMES = [
    "Alice Martin", "Bob Singh", "Chloé Durand", "Dmitri Ivanov", "Emma Brown", "Fatima Khan",
    "George Okafor", "Hanna Schmidt", "Ivan Petrov", "Julia Rossi", "Kenji Sato", "Laura Smith",
]  # fmt: skip
ORGS = [
    ("Acme Ltd", "acme.co.uk"),
    ("Globex", "globex.com"),
    ("Initech", "initech.io"),
    ("Umbrella Health", "umbrella-health.com"),
    ("Stark Retail", "stark.shop"),
    ("Wayne Logistics", "wayne.com"),
    ("Hooli", "hooli.xyz"),
]
MONTHS = ["January", "February", "March", "April", "May", "June"]
STATUS_WEIGHTS = {
    Status.NEW: 15,
    Status.OPEN: 35,
    Status.PENDING: 15,
    Status.ON_HOLD: 5,
    Status.SOLVED: 22,
    Status.CLOSED: 8,
}
HELPDESK_PRIORITIES = (
    [None] * 9 + ["low"] * 3 + ["normal"] * 5 + ["high"] * 2 + ["urgent", "Urgent"]
)
# Tags as helpdesks send them: mostly lower case, a few not (Freshdesk keeps the case); the
# sources lower-case them (and the helpdesk priority), so the tickets here are lower-cased.
TAG_WEIGHTS = {
    "enterprise": 12, "Enterprise": 2, "premium": 4, "vip": 3, "billing": 3, "bug": 3,
    "technical": 2, "Complaint": 1, "escalation": 1, "mobile": 5, "api": 5, "onboarding": 4,
    "renewal": 3,
}  # fmt: skip
CHANNELS = ["email", "email", "email", "web", "web", "chat", "api"]
PLANS = ["starter", "pro", "pro", "enterprise", "Enterprise"]


def _fill(text: str, rng: random.Random, name: str, org: tuple[str, str] = ORGS[0]) -> str:
    return text.format(
        n=rng.randint(1000, 9999),
        month=rng.choice(MONTHS),
        seats=rng.randint(2, 400),
        seats2=rng.randint(2, 400),
        name=name.split()[0],
        full_name=name,
        org=org[0],
        domain=org[1],
        previous="{previous}",
    )


def _pick(rng: random.Random, weights: dict[Any, int]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _subject(rng: random.Random, kind: str, name: str) -> str:
    subject = _fill(rng.choice(SUBJECTS[kind]), rng, name)
    if "{previous}" in subject:  # a reply to an earlier ticket of any kind
        other = _pick(rng, {k: w for k, w in KIND_WEIGHTS.items() if k != "follow_up"})
        subject = subject.replace("{previous}", _fill(rng.choice(SUBJECTS[other]), rng, name))
    return subject.upper() if rng.random() < 0.03 else subject


def _description(rng: random.Random, kind: str, name: str, org: tuple[str, str]) -> str:
    lines = [rng.choice(GREETINGS)]
    lines += [_fill(s, rng, name) for s in rng.sample(SENTENCES[kind], k=rng.randint(1, 4))]
    if rng.random() < 0.15:  # a stray sentence of another kind: first match decides
        lines.append(_fill(rng.choice(SENTENCES[_pick(rng, KIND_WEIGHTS)]), rng, name))
    if kind == "follow_up" and rng.random() < 0.5:
        quoted = _fill(rng.choice(SENTENCES[_pick(rng, KIND_WEIGHTS)]), rng, name)
        lines.append(f"> On Monday you wrote:\n> {quoted}")
    lines.append(_fill(rng.choice(SIGN_OFFS), rng, name))
    if rng.random() < 0.5:
        lines.append(_fill(rng.choice(SIGNATURES), rng, name, org))
    return "\n".join(line for line in lines if line)


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + (end - start) * rng.random()


def _lower(value: str | None) -> str | None:
    return value.lower() if value else value


def make_ticket(rng: random.Random, index: int, now: datetime) -> Ticket:
    """One realistic ticket created in the week before `now`."""
    kind = _pick(rng, KIND_WEIGHTS)
    name = rng.choice(NAMES)
    org = org_name, domain = rng.choice(ORGS)
    with_org = rng.random() < 0.75
    status = _pick(rng, STATUS_WEIGHTS)
    # Within the last week; new tickets are hours old, solved ones older than the open backlog.
    if status == Status.NEW:
        age = rng.uniform(60, 12 * 3600)
    else:
        age = 60 + (7 * 86400 - 60) * rng.random() ** (1.5 if status.is_open else 0.7)
    created = now - timedelta(seconds=age)
    first_response = solved = csat_at = None
    csat = None
    history: tuple[StatusChange, ...] = ()
    if status != Status.NEW and rng.random() < 0.8:
        first_response = min(now, created + timedelta(minutes=3 + 30 * 60 * rng.random() ** 3))
    if status in (Status.SOLVED, Status.CLOSED) and (
        status == Status.CLOSED or rng.random() < 0.95
    ):
        solved = _between(rng, first_response or created, now)
        if rng.random() < 0.4:
            csat = float(rng.choices([1, 2, 3, 4, 5], weights=[1, 1, 2, 5, 11])[0])
            csat_at = min(now, solved + timedelta(hours=rng.uniform(0.5, 60)))
    updated = max(t for t in (created, first_response, solved, csat_at) if t is not None)
    if status in (Status.PENDING, Status.ON_HOLD):
        updated = _between(rng, updated, now)
        if rng.random() < 0.5:
            opened = _between(rng, created, updated)
            history = (
                StatusChange(created, Status.NEW),
                StatusChange(opened, Status.OPEN),
                StatusChange(updated, status),
            )
    tags = [rng.choice(["web", "email_in", "widget"])]
    for _ in range(rng.choices([0, 1, 2], weights=[5, 4, 1])[0]):
        tag = _pick(rng, TAG_WEIGHTS)
        if tag not in tags:
            tags.append(tag)
    ticket_id = str(100_000 + index)
    return Ticket(
        id=ticket_id,
        source=rng.choice(["zendesk", "zendesk", "freshdesk"]),
        subject=_subject(rng, kind, name),
        description=_description(rng, kind, name, org),
        status=status,
        created_at=created,
        updated_at=updated,
        helpdesk_priority=_lower(rng.choice(HELPDESK_PRIORITIES)),
        channel=rng.choice(CHANNELS),
        tags=tuple(t.lower() for t in tags),
        requester=Person(f"u{rng.randint(1, 5000)}", name, f"{name.split()[0].lower()}@{domain}"),
        organization=Organization(f"o{ORGS.index(org)}", org_name, domain) if with_org else None,
        assignee_id=rng.choice([None, "a1", "a2", "a3"]),
        url=f"https://example.zendesk.com/agent/tickets/{ticket_id}",
        custom_fields={"plan": rng.choice(PLANS)} if rng.random() < 0.6 else {},
        first_response_at=first_response,
        solved_at=solved,
        reopens=rng.choices([0, 1, 2], weights=[90, 8, 2])[0],
        csat=csat,
        csat_at=csat_at,
        status_history=history,
    )


def make_tickets(count: int, seed: int, now: datetime) -> list[Ticket]:
    """`count` tickets, the same for the same seed."""
    rng = random.Random(seed)
    return [make_ticket(rng, i, now) for i in range(count)]


# ---------------------------------------------------------------------------------------------
# The same rules for rule-engine
# ---------------------------------------------------------------------------------------------


class Untranslatable(ValueError):
    """A condition rule-engine cannot express with the same meaning (here)."""


@dataclass(slots=True)
class Subject:
    """What a rule-engine rule is evaluated on: the ticket and what was decided so far."""

    ticket: Ticket
    now: datetime
    category: str = ""
    priority: str = ""


# The fields as syncd's conditions see them (syncd.rules.conditions.FIELDS), written anew here;
# rule-engine symbols cannot contain dots, so `requester.domain` is `requester_domain`.
GETTERS: dict[str, Callable[[Subject], Any]] = {
    "subject": lambda s: s.ticket.subject,
    "description": lambda s: s.ticket.description,
    "text": lambda s: f"{s.ticket.subject}\n{s.ticket.description}",
    "status": lambda s: s.ticket.status.value,
    "unresolved": lambda s: s.ticket.status.is_open,
    "channel": lambda s: s.ticket.channel,
    "tags": lambda s: s.ticket.tags,
    "helpdesk_priority": lambda s: s.ticket.helpdesk_priority or "",
    "requester_email": lambda s: s.ticket.requester.email if s.ticket.requester else "",
    "requester_name": lambda s: s.ticket.requester.name if s.ticket.requester else "",
    "requester_domain": lambda s: s.ticket.requester.domain if s.ticket.requester else "",
    "organization_name": lambda s: s.ticket.organization.name if s.ticket.organization else "",
    "organization_domain": lambda s: s.ticket.organization.domain if s.ticket.organization else "",
    "created_at": lambda s: s.ticket.created_at,
    "updated_at": lambda s: s.ticket.updated_at,
    "solved_at": lambda s: s.ticket.solved_at,
    "first_response_at": lambda s: s.ticket.first_response_at,
    "csat_at": lambda s: s.ticket.csat_at,
    "category": lambda s: s.category,
    "priority": lambda s: s.priority,
    "now": lambda s: s.now,
}
LIST_FIELDS = {"tags"}
BOOL_FIELDS = {"unresolved"}
TIME_FIELDS = {"created_at", "updated_at", "solved_at", "first_response_at", "csat_at"}


# ---- the wording operators, for rule-engine: `words(text, 3)` calls WORDING[3] on the text ----

_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_STEMMERS: dict[str, Any] = {}
WORDING: list[Callable[[Any], bool]] = []
SIMILARITY: dict[str, Any] = {}  # the loaded rule set's word weights: set by build_rule_engine


@functools.lru_cache(maxsize=8)  # a ticket's text is stemmed once, as syncd does
def reference_stems(text: str, language: str) -> tuple[str, ...]:
    """The words of a text as stems, written anew: tokens, English contractions, PyStemmer."""
    stem = _STEMMERS.get(language) or _STEMMERS.setdefault(language, Stemmer.Stemmer(language))
    out: list[str] = []
    for word in _TOKEN.findall(text.lower().replace("\u2019", "'")):
        if language in ("english", "porter"):
            base = {"can't": "can", "cannot": "can", "won't": "will", "shan't": "shall",
                    "ain't": "is"}.get(word)  # fmt: skip
            if base is None and word.endswith("n't"):
                base = word[:-3]
            if base is not None:
                out += [stem.stemWord(base), "not"]
                continue
            word = re.sub(r"'(s|re|ve|ll|d|m)$", "", word)
        out.append(stem.stemWord(word))
    return tuple(out)


def _wording_call(op: str, arg: Any, symbol: str) -> str:
    """rule-engine text calling a function that does what syncd's `op` does."""
    key = {"contains_word": "words", "fuzzy": "phrases", "similar_to": "examples"}[op]
    settings = arg if isinstance(arg, dict) else {key: arg}
    items = settings[key] if isinstance(settings[key], list) else [settings[key]]
    texts = [str(v) for v in items]
    languages = settings.get("language", DEFAULT_LANGUAGE)
    languages = languages if isinstance(languages, list) else [languages]
    checks: list[Callable[[Any], bool]] = []
    if op == "fuzzy":
        checks.append(Fuzzy(texts, settings.get("threshold", DEFAULT_FUZZY_THRESHOLD)))
    for language in [] if op == "fuzzy" else languages:
        if op == "contains_word":
            keys = [" " + " ".join(reference_stems(t, language)) + " " for t in texts]
            checks.append(_words_check(keys, language))
            continue
        threshold = settings.get("threshold", DEFAULT_SIMILARITY_THRESHOLD)
        index = SIMILARITY[f"{symbol_field(symbol)} similar {language}"]
        examples = [index.stems(t) for t in texts]
        checks.append(_similar_check(examples, index, float(threshold), language))
    WORDING.append(lambda v: v is not None and any(check(str(v).lower()) for check in checks))
    return f"words({symbol}, {len(WORDING) - 1})"


def _words_check(keys: list[str], language: str) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        words = " " + " ".join(reference_stems(text, language)) + " "
        return any(key in words for key in keys)

    return check


def _similar_check(
    examples: list[frozenset[str]], index: Any, threshold: float, language: str
) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        return _similar(set(reference_stems(text, language)), examples, index.weights(), threshold)

    return check


def _similar(
    stems: set[str], examples: list[frozenset[str]], weights: dict[str, float], threshold: float
) -> bool:
    best = 0.0
    for example in examples:
        total = sum(weights[s] for s in example)
        best = max(best, 100 * sum(weights[s] for s in example if s in stems) / total)
    return round(best, 6) >= threshold


def symbol_field(symbol: str) -> str:
    return _FIELD_OF.get(symbol, symbol)


_FIELD_OF: dict[str, str] = {}


def resolve(thing: Subject, name: str) -> Any:
    """rule-engine's symbol resolver."""
    if name == "words":
        return lambda value, index: WORDING[int(index)](value)
    try:
        getter = GETTERS[name]
    except KeyError:
        raise rule_engine.errors.SymbolResolutionError(name) from None
    return getter(thing)


def words_regex(values: Sequence[Any]) -> str:
    """The regex of syncd's `contains`: whole words or phrases, optional plural s/es."""
    words = [str(v).strip() for v in values if str(v).strip()]
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return rf"(?<!\w)(?:{alternatives})(?:e?s)?(?!\w)"


def _regex(pattern: str) -> str:
    # A raw rule-engine string keeps backslashes; it cannot hold a quote or a line break as is.
    return 'r"' + pattern.replace('"', '\\"').replace("\n", "\\n") + '"'


def _one_of(field: str, options: Sequence[Any]) -> str:
    """A whole-string, any-case match of one of `options` (with the context's IGNORECASE).

    syncd compares `value.lower()` with the option lowered. The obvious rule-engine spelling,
    `value.as_lower in [...]`, costs 3 to 7 times as much per test in rule-engine 5.1 (its
    attribute lookup), so rule-engine gets the fast spelling. It is the same for ASCII; case
    folding oddities such as the long s or the dotted I (absent from these tickets) differ.
    """
    if not all(isinstance(o, str) for o in options):
        raise Untranslatable(f"{field}: only text values are translated, got {options!r}")
    return _regex("(?:" + "|".join(re.escape(o) for o in options) + r")\Z")


def _test(field: str, op: str, arg: Any, symbol: str) -> str:
    """rule-engine text testing one value (`symbol`) of a field the way syncd's operator does."""
    if op == "equals" and field in BOOL_FIELDS and isinstance(arg, bool):
        return f"{symbol} == {'true' if arg else 'false'}"
    if field in BOOL_FIELDS | TIME_FIELDS:
        raise Untranslatable(f"{field}: {op} is not translated")
    if op in ("equals", "in"):  # =~ is re.match: anchored at the start, \Z anchors the end
        options = arg if op == "in" and isinstance(arg, list | tuple) else [arg]
        return f"{symbol} =~ {_one_of(field, options)}"
    if op == "contains":
        return f"{symbol} =~~ {_regex(words_regex(arg if isinstance(arg, list) else [arg]))}"
    if op == "matches":
        return f"{symbol} =~~ {_regex(str(arg))}"
    if op in ("contains_word", "fuzzy", "similar_to"):
        return _wording_call(op, arg, symbol)
    raise Untranslatable(f"{field}: operator {op!r} is not translated")


def _operator(field: str, op: str, arg: Any) -> str:
    symbol = field.replace(".", "_")
    _FIELD_OF[symbol] = field
    if symbol not in GETTERS:
        raise Untranslatable(f"field {field!r} is not translated")
    if op in ("older_than", "within") and field in TIME_FIELDS:
        if isinstance(arg, dict):
            raise Untranslatable(f"{field}: business-hour durations need syncd's calendars")
        seconds = f"{parse_duration(arg):.6f}".rstrip("0").rstrip(".")
        compare = ">" if op == "older_than" else "<="
        return f"({symbol} != null and now - {symbol} {compare} t'PT{seconds}S')"
    if field in LIST_FIELDS:  # a list matches when any of its items does
        return f"[item for item in {symbol} if {_test(field, op, arg, 'item')}]"
    return _test(field, op, arg, symbol)


def translate(node: Any) -> str:
    """A syncd condition (all/any/not, field: {operator: value}) as a rule-engine expression."""
    if not isinstance(node, dict) or not node:
        raise Untranslatable(f"not a condition: {node!r}")
    parts = []
    for key, value in node.items():
        if key in ("all", "any"):
            joined = f" {'and' if key == 'all' else 'or'} ".join(translate(v) for v in value)
            parts.append(f"({joined})")
        elif key == "not":
            parts.append(f"not ({translate(value)})")
        else:
            ops = value.items() if isinstance(value, dict) else [("equals", value)]
            parts.extend(_operator(str(key), str(op), arg) for op, arg in ops)
    return parts[0] if len(parts) == 1 else f"({' and '.join(parts)})"


def uses_sla(node: Any) -> bool:
    """True when a condition refers to the SLA measurement (sla.*), which rule-engine lacks."""
    if isinstance(node, dict):
        return any(str(k).startswith("sla.") or uses_sla(v) for k, v in node.items())
    if isinstance(node, list):
        return any(uses_sla(v) for v in node)
    return False


@dataclass
class EscalationCheck:
    """An escalation condition (or `any` branch) without SLA fields, in both engines."""

    label: str
    key_prefix: str  # of the actions syncd's evaluate emits when the level fires
    rule: rule_engine.Rule
    syncd: Predicate


@dataclass
class RuleEngineRules:
    """The rule files' category and priority rules as rule-engine chains (first match wins)."""

    categories: rule_engine.Chain
    priorities: rule_engine.Chain
    escalations: list[EscalationCheck]

    def triage(self, ticket: Ticket, now: datetime) -> tuple[str, str]:
        """(category, priority), as syncd decides them."""
        thing = Subject(ticket, now)
        thing.category = self.categories.evaluate(thing)
        thing.priority = self.priorities.evaluate(thing)
        return thing.category, thing.priority


def _rule_documents(directory: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    problems = Problems()
    for path in sorted(directory.glob("*.yaml")):  # the order load_rules uses
        data = read_rule_file(path, problems)
        if data is not None:
            yield path, data
    problems.raise_if_any()


def build_rule_engine(directory: Path, ruleset: RuleSet) -> RuleEngineRules:
    """Translate the category, priority and SLA-free escalation conditions of `directory`."""
    SIMILARITY.update(ruleset.scanners)
    context = rule_engine.Context(regex_flags=re.IGNORECASE, resolver=resolve)
    categories: list[tuple[str, str]] = []
    priorities: list[tuple[str, str]] = []
    escalations: list[EscalationCheck] = []
    for path, data in _rule_documents(directory):
        for item in data.get("categories") or []:
            if str(item.get("category", "")):  # tag-only rules decide no category
                categories.append((_when(item), str(item["category"])))
        for item in (data.get("priority") or {}).get("rules") or []:
            level = ruleset.aliases.get(str(item["priority"]), str(item["priority"]))
            priorities.append((_when(item), level))
        escalations += _escalation_checks(path, data, context)
    if len(categories) != len(ruleset.categories) or len(priorities) != len(ruleset.priorities):
        raise SystemExit("the translation does not hold the rules syncd loaded")
    return RuleEngineRules(
        categories=rule_engine.Chain(categories, default_value=DEFAULT_CATEGORY, context=context),
        priorities=rule_engine.Chain(
            priorities, default_value=ruleset.default_priority.value, context=context
        ),
        escalations=escalations,
    )


def _when(item: dict[str, Any]) -> str:
    if "when" not in item:
        return "true"  # a catch-all
    try:
        return translate(item["when"])
    except Untranslatable as exc:
        raise SystemExit(f"cannot translate a rule for rule-engine: {exc}") from None


def _escalation_checks(
    path: Path, data: dict[str, Any], context: rule_engine.Context
) -> Iterator[EscalationCheck]:
    """Escalation conditions, or branches of an `any`, that do not use the SLA measurement."""
    compiler = Compiler(path, Problems(), phase=SLA + 1)
    for ladder in data.get("escalation") or []:
        if "when" in ladder:  # a level fires only on its ladder's tickets: not checked here
            continue
        for level in ladder["levels"]:
            when = level["when"]
            branches: list[tuple[Any, Any, Any]] = [(when, level, "when")]
            if uses_sla(when) and list(when) == ["any"]:
                branches = [(branch, when["any"], i) for i, branch in enumerate(when["any"])]
            for node, parent, key in branches:
                try:
                    text = "" if uses_sla(node) else translate(node)
                except Untranslatable:
                    text = ""
                syncd = compiler.condition(node, parent, key) if text else None
                if syncd is None:
                    continue
                name, number = ladder["ladder"], level["level"]
                yield EscalationCheck(
                    label=f"{name} level {number} ({level.get('name', '')})",
                    key_prefix=f"escalation:{name}:{number}:",
                    rule=rule_engine.Rule(text, context=context),
                    syncd=syncd,
                )


# ---------------------------------------------------------------------------------------------
# syncd, category and priority only
# ---------------------------------------------------------------------------------------------


def _first(rules: list[Rule], facts: Facts) -> Rule | None:
    for rule in rules:
        if rule.when is None or rule.when(facts):
            return rule
    return None


def syncd_triage(ruleset: RuleSet, ticket: Ticket, now: datetime) -> tuple[str, str]:
    """The category and priority steps of `RuleSet.evaluate`, nothing else."""
    facts = Facts(ticket, now)
    category = _first(ruleset.categories, facts)
    facts.decided["category"] = category.value if category else DEFAULT_CATEGORY
    priority = _first(ruleset.priorities, facts)
    facts.decided["priority"] = priority.value if priority else ruleset.default_priority.value
    return facts.decided["category"], facts.decided["priority"]


# ---------------------------------------------------------------------------------------------
# Checks, timing, report
# ---------------------------------------------------------------------------------------------


def verify(ruleset: RuleSet, other: RuleEngineRules, sample: list[Ticket], now: datetime) -> bool:
    """Print how far both engines agree on `sample`; False on any difference."""
    differ: list[str] = []
    helper_differ = 0
    categories: Counter[str] = Counter()
    priorities: Counter[str] = Counter()
    escalated = with_sla = actions = 0
    escalation_agree: Counter[str] = Counter()
    escalation_unfired: Counter[str] = Counter()
    for ticket in sample:
        decision = ruleset.evaluate(ticket, now)
        expected = (decision.category, decision.priority)
        got = other.triage(ticket, now)
        if got != expected:
            differ.append(
                f"    #{ticket.id} {ticket.subject!r}: syncd {expected}, rule-engine {got}"
            )
        helper_differ += syncd_triage(ruleset, ticket, now) != expected
        categories[decision.category] += 1
        priorities[decision.priority] += 1
        escalated += decision.escalation_level > 0
        with_sla += decision.sla is not None
        actions += len(decision.actions)
        thing = Subject(ticket, now, *expected)
        facts = Facts(ticket, now, decided={"category": expected[0], "priority": expected[1]})
        for check in other.escalations:
            holds = check.rule.matches(thing)
            escalation_agree[check.label] += holds == check.syncd(facts)
            fired = any(a.key.startswith(check.key_prefix) for a in decision.actions)
            escalation_unfired[check.label] += holds and not fired
    n = len(sample)
    ok = not differ and not helper_differ
    print(f"Equivalence on {n:,} sampled tickets:")
    print(
        f"  rule-engine (category, priority) == syncd evaluate: {n - len(differ):,} / {n:,} agree"
    )
    for line in differ[:10]:
        print(line)
    print(
        f"  syncd category+priority helper == syncd evaluate: {n - helper_differ:,} / {n:,} agree"
    )
    for check in other.escalations:
        agree, unfired = escalation_agree[check.label], escalation_unfired[check.label]
        print(f"  escalation {check.label}, SLA-free branch `{check.rule.text}`:")
        print(
            f"    rule-engine == syncd's condition: {agree:,} / {n:,} agree; "
            f"true but the level did not fire in evaluate: {unfired:,}"
        )
        ok = ok and agree == n and unfired == 0
    print(f"  categories: {_mix(categories, n)}")
    print(f"  priorities: {_mix(priorities, n)}")
    print(
        f"  evaluate also: SLA measured for {with_sla / n:.0%}, escalated {escalated / n:.0%}, "
        f"{actions / n:.2f} actions per ticket"
    )
    missing = {r.value for r in ruleset.categories} - set(categories)
    if missing:
        print(f"  warning: no sampled ticket falls in {', '.join(sorted(missing))}")
    return ok


def _mix(counts: Counter[str], total: int) -> str:
    return ", ".join(f"{k} {v / total:.0%}" for k, v in counts.most_common())


def timed(fn: Callable[[Ticket, datetime], object], tickets: list[Ticket], now: datetime) -> float:
    """Seconds for `fn` over every ticket, once each."""
    for ticket in tickets[:1000]:  # warm up: calendar year caches, first-call costs
        fn(ticket, now)
    gc.collect()
    start = time.perf_counter()
    for ticket in tickets:
        fn(ticket, now)
    return time.perf_counter() - start


def _meets(value: float, target: float) -> str:
    return "meets" if value >= target else "MISSES"


def sig3(value: float) -> str:
    """3 significant digits with thousands separators: 51,234 -> 51,200; 5.678 -> 5.68."""
    rounded = float(f"{value:.3g}")
    return f"{rounded:,.0f}" if rounded >= 100 else f"{rounded:g}"


def pin_to_one_core() -> str:
    """Run on one CPU; say which."""
    if not hasattr(os, "sched_setaffinity"):
        return "single process (not pinned: no sched_setaffinity here)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"single process, pinned to CPU {cpu} (one core)"


def profile(ruleset: RuleSet, tickets: list[Ticket], now: datetime) -> None:
    """cProfile of syncd's evaluate over the tickets: where the time goes."""
    profiler = cProfile.Profile()
    profiler.enable()
    for ticket in tickets:
        ruleset.evaluate(ticket, now)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets per side")
    parser.add_argument("--sample", type=int, default=5_000, help="tickets checked for equality")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rules", type=Path, default=ROOT / "rules")
    parser.add_argument("--show-rules", action="store_true", help="print the rule-engine rules")
    parser.add_argument("--profile", action="store_true", help="cProfile syncd's evaluate too")
    args = parser.parse_args(argv)
    if args.tickets < 1 or args.sample < 1:
        parser.error("--tickets and --sample must be at least 1")

    cores = pin_to_one_core()
    ruleset = load_rules(args.rules)
    other = build_rule_engine(args.rules, ruleset)
    start = time.perf_counter()
    tickets = make_tickets(args.tickets, args.seed, NOW)
    built = time.perf_counter() - start
    print(
        f"syncd rules benchmark: {args.tickets:,} synthetic tickets (seed {args.seed}, built in "
        f"{built:.1f} s, untimed), now = {NOW:%Y-%m-%d %H:%M} UTC"
    )
    chars = sum(len(t.subject) + 1 + len(t.description) for t in tickets) / max(1, len(tickets))
    print(
        f"{platform.python_implementation()} {platform.python_version()}, {cores}; "
        f"subject + description: {chars:.0f} characters on average"
    )
    print(
        f"rules: {args.rules} ({len(ruleset.categories)} category rules, "
        f"{len(ruleset.priorities)} priority rules, {len(ruleset.sla.policies)} SLA policies, "
        f"{sum(len(lad.levels) for lad in ruleset.ladders)} escalation levels, "
        f"{len(ruleset.follow_ups)} follow-ups); rule-engine {rule_engine.__version__}"
    )
    if args.show_rules:
        print("rule-engine rules (first match wins):")
        for name, chain in (("category", other.categories), ("priority", other.priorities)):
            for entry in chain:
                print(f"  {name} {entry.value!r} if {entry.rule.text}")
            print(f"  {name} {chain.default_value!r} otherwise")
    print()

    sample = random.Random(args.seed).sample(tickets, k=min(args.sample, len(tickets)))
    if not verify(ruleset, other, sample, NOW):
        print("\nFAILED: the engines disagree, so their timings would not compare the same work.")
        return 1

    n = len(tickets)
    print(f"\nThroughput, {n:,} tickets per side, one core:")
    rows = [
        (
            "syncd evaluate, full (category, priority, SLA, escalation, follow-ups)",
            timed(ruleset.evaluate, tickets, NOW),
        ),
        (
            "syncd category + priority only",
            timed(lambda t, now: syncd_triage(ruleset, t, now), tickets, NOW),
        ),
        (
            f"rule-engine {rule_engine.__version__} category + priority (Chain)",
            timed(other.triage, tickets, NOW),
        ),
    ]
    rates = [n / seconds for _, seconds in rows]
    for (label, seconds), rate in zip(rows, rates, strict=True):
        print(f"  {label:<74} {sig3(rate):>8} evals/s ({seconds:.2f} s)")
    full, triage, other_rate = rates
    ratio_a, ratio_b = full / other_rate, triage / other_rate
    print(
        f"  (a) syncd full evaluate / rule-engine category+priority: {sig3(ratio_a)}x"
        "  (unequal work: rule-engine has no SLA clocks, escalations or follow-ups)"
    )
    print(
        f"  (b) syncd category+priority / rule-engine category+priority: {sig3(ratio_b)}x"
        "  (same rules, same decisions)"
    )

    print(
        f"\nVerdict ({TARGETS}): evaluate {sig3(full)}/s {_meets(full, TARGET_RATE)} "
        f"{TARGET_RATE:,}/s; same work (b) {sig3(ratio_b)}x {_meets(ratio_b, TARGET_RATIO)} "
        f"{TARGET_RATIO:g}x; full evaluate (a) {sig3(ratio_a)}x "
        f"{_meets(ratio_a, TARGET_RATIO)} {TARGET_RATIO:g}x."
    )

    if args.profile:
        print("\ncProfile of syncd evaluate:")
        profile(ruleset, tickets[:20_000], NOW)
    return 0


if __name__ == "__main__":
    sys.exit(main())
