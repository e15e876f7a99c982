"""Incidents from ticket surges: many tickets about one problem within a short window.

Pure: no I/O and no clock reads; `now` is an argument. The pipeline keeps a `Signature` of
every recently created ticket in the state store (syncd.state.incidents) and calls
`detect(recent, rule, now, open_incidents)` for each rule of the `incidents:` section
(syncd.rules.incidents); what it returns (`IncidentChanges`) is saved and announced by
syncd.incident_stage.

What the figures mean:

- **One problem** (`same:` of the rule): `text`: the tickets' words are alike, as stems
  (Snowball, as `contains_word` reads them; English function words left out), measured by
  Jaccard similarity (stems in common / stems in either), of the subjects or of subject and
  description together, whichever is higher; with `same_category`, only tickets the rules
  gave the same category. Tickets are grouped by single linkage: a ticket joins a group when
  it is alike to any ticket of it. `tag`: the tickets share a tag (one of `tags:` when the
  rule names some). `field`: the same value of a custom field.
- **A surge starts** when a group holds at least `count` tickets created within the last
  `window` (as of `now`), from at least `organizations` different organizations (a ticket
  without an organization counts by its requester's email domain). The incident's first
  ticket is the group's oldest; its title is the subject words most of its tickets share.
- **While it lasts**, a new ticket alike to one of its tickets (or to its common words) joins
  it, without a new alert.
- **It is over** when fewer than `count` of its tickets were created within the last `window`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from syncd.model import Decision, Ticket
from syncd.ports import Cell, Report
from syncd.rules.incidents import IncidentRule
from syncd.rules.wording import STOPWORDS, Stemming

OPEN, OVER = "open", "over"
MAX_TEXT = 2_000  # characters of a description read for its stems
TITLE_WORDS = 8
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")

_stemmers: dict[str, tuple[Stemming, frozenset[str]]] = {}


def _stemming(language: str) -> tuple[Stemming, frozenset[str]]:
    """The language's stemmer and the stems of its function words (memoised per process)."""
    found = _stemmers.get(language)
    if found is None:
        stemming = Stemming(language)
        stop = frozenset(stemming.phrase(w) for w in STOPWORDS.get(language, frozenset()))
        found = _stemmers[language] = (stemming, stop)
    return found


def stems(text: str, language: str) -> frozenset[str]:
    """The stems of a text's words, without function words and one-letter words."""
    stemming, stop = _stemming(language)
    words = stemming.words(text.lower()).split()
    return frozenset(w for w in words if len(w) > 1 and w not in stop)


@dataclass(frozen=True, slots=True)
class Signature:
    """What incident detection keeps of one ticket: stored, so a restart forgets nothing."""

    ticket: str
    created_at: datetime
    organization: str  # the organization's id, else its name, else the requester's domain
    organization_name: str
    category: str
    subject: str
    tags: tuple[str, ...] = ()
    fields: Mapping[str, str] = field(default_factory=dict)
    # language -> (stems of the subject, stems of subject and description)
    stems: Mapping[str, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (`from_json` reads it back)."""
        return {
            "ticket": self.ticket,
            "created_at": self.created_at.isoformat(),
            "organization": self.organization,
            "organization_name": self.organization_name,
            "category": self.category,
            "subject": self.subject,
            "tags": list(self.tags),
            "fields": dict(self.fields),
            "stems": {k: [sorted(s), sorted(t)] for k, (s, t) in self.stems.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Signature:
        """The signature `to_json` wrote."""
        return cls(
            ticket=str(data["ticket"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            organization=str(data.get("organization", "")),
            organization_name=str(data.get("organization_name", "")),
            category=str(data.get("category", "")),
            subject=str(data.get("subject", "")),
            tags=tuple(data.get("tags", ())),
            fields={str(k): str(v) for k, v in (data.get("fields") or {}).items()},
            stems={
                str(k): (frozenset(v[0]), frozenset(v[1]))
                for k, v in (data.get("stems") or {}).items()
            },
        )


def signature(ticket: Ticket, decision: Decision, rules: Sequence[IncidentRule]) -> Signature:
    """A ticket's signature, with what `rules` compare: stems in each rule's language and the
    custom fields they group by."""
    org = ticket.organization
    requester = ticket.requester
    domain = requester.domain if requester else ""
    languages = {r.language for r in rules if r.same == "text"}
    text = f"{ticket.subject}\n{ticket.description[:MAX_TEXT]}"
    wanted = {r.field for r in rules if r.same == "field"}
    fields = {
        name: str(value).strip().lower()
        for name, value in ticket.custom_fields.items()
        if name in wanted and value not in (None, "")
    }
    return Signature(
        ticket=ticket.id,
        created_at=ticket.created_at,
        organization=(org.id or org.name if org else "") or domain,
        organization_name=(org.name if org else "") or domain,
        category=decision.category,
        subject=ticket.subject,
        tags=ticket.tags,
        fields=fields,
        stems={lang: (stems(ticket.subject, lang), stems(text, lang)) for lang in languages},
    )


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Stems in common / stems in either (0 when both are empty)."""
    if not a or not b:
        return 0.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


@dataclass
class Incident:
    """One incident: its tickets, when it started and ended, and what was announced.

    `notified` remembers each announcement done ("start:slack:#incidents" -> outcome,
    "note:<organization>" -> outcome, "end:..." -> outcome), so each is made once, also across
    a restart."""

    id: str
    rule: str
    title: str
    key: str  # what its tickets share: the category, the tag or the field value
    state: str
    started_at: datetime  # when syncd saw the surge (the cycle's `now`)
    first_ticket: str
    first_at: datetime
    latest_ticket: str
    latest_at: datetime
    tickets: list[str] = field(default_factory=list)
    organizations: dict[str, str] = field(default_factory=dict)  # org key -> its name
    common: frozenset[str] = frozenset()  # stems most of its tickets share (text rules)
    ended_at: datetime | None = None
    notified: dict[str, str] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        """Still going on."""
        return self.state == OPEN

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (`from_json` reads it back)."""
        return {
            "id": self.id,
            "rule": self.rule,
            "title": self.title,
            "key": self.key,
            "state": self.state,
            "started_at": self.started_at.isoformat(),
            "first_ticket": self.first_ticket,
            "first_at": self.first_at.isoformat(),
            "latest_ticket": self.latest_ticket,
            "latest_at": self.latest_at.isoformat(),
            "tickets": list(self.tickets),
            "organizations": dict(self.organizations),
            "common": sorted(self.common),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "notified": dict(self.notified),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Incident:
        """The incident `to_json` wrote."""
        ended = data.get("ended_at")
        return cls(
            id=str(data["id"]),
            rule=str(data["rule"]),
            title=str(data["title"]),
            key=str(data.get("key", "")),
            state=str(data["state"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            first_ticket=str(data["first_ticket"]),
            first_at=datetime.fromisoformat(data["first_at"]),
            latest_ticket=str(data["latest_ticket"]),
            latest_at=datetime.fromisoformat(data["latest_at"]),
            tickets=[str(t) for t in data.get("tickets", [])],
            organizations={str(k): str(v) for k, v in (data.get("organizations") or {}).items()},
            common=frozenset(data.get("common", ())),
            ended_at=datetime.fromisoformat(ended) if ended else None,
            notified={str(k): str(v) for k, v in (data.get("notified") or {}).items()},
        )


@dataclass
class IncidentChanges:
    """What one detection changed: incidents that started, that new tickets joined (the
    incident as it is now, with the tickets that joined) and that are over."""

    started: list[Incident] = field(default_factory=list)
    joined: list[tuple[Incident, list[str]]] = field(default_factory=list)
    ended: list[Incident] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.started or self.joined or self.ended)

    def changed(self) -> list[Incident]:
        """Every incident to save."""
        seen: dict[str, Incident] = {}
        for incident in [*self.started, *(i for i, _ in self.joined), *self.ended]:
            seen[incident.id] = incident
        return list(seen.values())


def detect(
    recent: Iterable[Signature],
    rule: IncidentRule,
    now: datetime,
    open_incidents: Iterable[Incident] = (),
    taken: Iterable[str] = (),
) -> IncidentChanges:
    """What changes for `rule` as of `now`, given the signatures of recently created tickets
    and the rule's incidents still open; `taken` are tickets already in another incident (of
    an earlier rule), which this rule leaves alone. Pure: the incidents given are not changed;
    those that change are returned as new values."""
    changes = IncidentChanges()
    since = now - rule.window
    window = sorted(
        (s for s in recent if since < s.created_at <= now), key=lambda s: (s.created_at, s.ticket)
    )
    busy = set(taken)
    live: list[Incident] = []
    for incident in open_incidents:
        busy.update(incident.tickets)
        live.append(incident)
    by_id = {s.ticket: s for s in window}
    # 1. New tickets alike to an open incident join it.
    for index, incident in enumerate(live):
        members = [by_id[t] for t in incident.tickets if t in by_id]
        joining = []
        for sig in window:
            if sig.ticket in busy:
                continue
            if rule.same == "text" and _key(sig, rule) != incident.key:
                continue
            if rule.same != "text" and incident.key not in _keys(sig, rule):
                continue
            if _alike_any(sig, members, rule) or _alike_common(sig, incident.common, rule):
                joining.append(sig)
                members.append(sig)
                busy.add(sig.ticket)
        if joining:
            incident = _grown(incident, joining)
            live[index] = incident
            changes.joined.append((incident, [s.ticket for s in joining]))
    # 2. Incidents whose tickets in the window fell below the count are over.
    for incident in live:
        count = sum(1 for t in incident.tickets if t in by_id)
        if count < rule.count:
            over = replace(incident, state=OVER, ended_at=now)
            changes.ended.append(over)
            changes.joined = [(i, j) for i, j in changes.joined if i.id != incident.id]
    # 3. The other tickets of the window, grouped; a big enough group is a new incident.
    free = [s for s in window if s.ticket not in busy]
    for key, group in _groups(free, rule):
        orgs = {s.organization for s in group if s.organization}
        if len(group) >= rule.count and len(orgs) >= rule.organizations:
            changes.started.append(_new(group, key, rule, now))
    return changes


def _key(sig: Signature, rule: IncidentRule) -> str:
    """The group a text rule's ticket belongs to before similarity: its category (or one
    group for all)."""
    return sig.category if rule.same_category else ""


def _keys(sig: Signature, rule: IncidentRule) -> list[str]:
    """The values a ticket can share with others under the rule."""
    if rule.same == "text":
        return [_key(sig, rule)]
    if rule.same == "tag":
        return [t for t in sig.tags if not rule.tags or t in rule.tags]
    value = sig.fields.get(rule.field, "")
    return [value] if value else []


def _alike(a: Signature, b: Signature, rule: IncidentRule) -> bool:
    if rule.same != "text":
        return True
    sa, ta = a.stems.get(rule.language, (frozenset(), frozenset()))
    sb, tb = b.stems.get(rule.language, (frozenset(), frozenset()))
    return max(jaccard(sa, sb), jaccard(ta, tb)) >= rule.similarity


def _alike_any(sig: Signature, members: list[Signature], rule: IncidentRule) -> bool:
    return any(_alike(sig, m, rule) for m in members)


def _alike_common(sig: Signature, common: frozenset[str], rule: IncidentRule) -> bool:
    if rule.same != "text" or not common:
        return rule.same != "text"
    subject, _text = sig.stems.get(rule.language, (frozenset(), frozenset()))
    return jaccard(subject, common) >= rule.similarity


def _groups(free: list[Signature], rule: IncidentRule) -> list[tuple[str, list[Signature]]]:
    """The window's free tickets in groups of one problem, largest first; a ticket is in one
    group at most."""
    by_key: dict[str, list[Signature]] = {}
    for sig in free:
        for key in _keys(sig, rule):
            by_key.setdefault(key, []).append(sig)
    found: list[tuple[str, list[Signature]]] = []
    for key, members in by_key.items():
        if rule.same != "text":
            found.append((key, members))
            continue
        found.extend((key, group) for group in _linked(members, rule))
    found.sort(key=lambda kg: (-len(kg[1]), kg[1][0].created_at, kg[0]))
    out: list[tuple[str, list[Signature]]] = []
    used: set[str] = set()
    for key, group in found:
        group = [s for s in group if s.ticket not in used]
        used.update(s.ticket for s in group)
        out.append((key, group))
    return out


def _linked(members: list[Signature], rule: IncidentRule) -> list[list[Signature]]:
    """Single linkage: the connected components of the "alike" graph (union-find), each in
    the order of `members`."""
    parent = list(range(len(members)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(members)):
        for j in range(i + 1, len(members)):
            if _alike(members[i], members[j], rule):
                parent[root(i)] = root(j)
    components: dict[int, list[Signature]] = {}
    for i, sig in enumerate(members):
        components.setdefault(root(i), []).append(sig)
    return list(components.values())


def _new(group: list[Signature], key: str, rule: IncidentRule, now: datetime) -> Incident:
    first, latest = group[0], group[-1]
    incident = Incident(
        id=f"INC-{first.created_at:%Y%m%d}-{first.ticket}",
        rule=rule.name,
        title="",
        key=key,
        state=OPEN,
        started_at=now,
        first_ticket=first.ticket,
        first_at=first.created_at,
        latest_ticket=latest.ticket,
        latest_at=latest.created_at,
        tickets=[s.ticket for s in group],
        organizations={s.organization: s.organization_name for s in group if s.organization},
        common=_common(group, rule),
    )
    incident.title = title(group, rule) or key or rule.name
    return incident


def _grown(incident: Incident, joining: list[Signature]) -> Incident:
    grown = replace(
        incident,
        tickets=[*incident.tickets, *(s.ticket for s in joining)],
        organizations={
            **incident.organizations,
            **{s.organization: s.organization_name for s in joining if s.organization},
        },
        notified=dict(incident.notified),
    )
    latest = max(joining, key=lambda s: (s.created_at, s.ticket))
    if latest.created_at >= incident.latest_at:
        grown.latest_ticket, grown.latest_at = latest.ticket, latest.created_at
    return grown


def _common(group: list[Signature], rule: IncidentRule) -> frozenset[str]:
    """The subject stems at least half the tickets share."""
    if rule.same != "text":
        return frozenset()
    counts: Counter[str] = Counter()
    for sig in group:
        counts.update(sig.stems.get(rule.language, (frozenset(), frozenset()))[0])
    return frozenset(s for s, n in counts.items() if 2 * n >= len(group))


def title(group: Sequence[Signature], rule: IncidentRule) -> str:
    """The subject words most tickets share, in the order the first ticket writes them
    ("Login page error 503"); "" when they share none."""
    if not group:
        return ""
    common = _common(list(group), replace(rule, same="text"))
    if not common:
        if rule.same == "text":
            return ""
        return f"{group[0].subject}"
    stemming, _stop = _stemming(rule.language)
    words: list[str] = []
    seen: set[str] = set()
    for word in _WORD.findall(group[0].subject):
        stem = stemming.phrase(word)
        if stem in common and stem not in seen:
            seen.add(stem)
            words.append(word)
    text = " ".join(words[:TITLE_WORDS])
    return text[:1].upper() + text[1:]


# -- messages -------------------------------------------------------------------------------


def start_message(incident: Incident, rule: IncidentRule, urls: Mapping[str, str]) -> str:
    """The alert when an incident starts."""
    orgs = sorted(incident.organizations.values(), key=str.casefold)
    minutes = int(rule.window.total_seconds() // 60)
    first = urls.get(incident.first_ticket, "")
    return (
        f"Incident {incident.id}: {incident.title}. {len(incident.tickets)} similar tickets "
        f"within {minutes} min from {len(orgs)} organization(s): {', '.join(orgs)}. "
        f"First ticket #{incident.first_ticket} at {incident.first_at:%Y-%m-%d %H:%M} UTC"
        + (f" {first}" if first else "")
        + f", latest #{incident.latest_ticket}. Rule: {rule.name} ({rule.where}). "
        "Start the RCA: owner and link in the sheet's Incidents tab."
    )


def end_message(incident: Incident) -> str:
    """The notice when an incident is over."""
    hours = duration_hours(incident)
    return (
        f"Incident {incident.id} is over: {incident.title}. {len(incident.tickets)} tickets "
        f"from {len(incident.organizations)} organization(s) over {hours:.1f} h; fewer than "
        "the threshold arrived within the window. Complete the RCA."
    )


def company_note(incident: Incident, organization: str) -> str:
    """The HubSpot note on an affected company."""
    return (
        f"Incident {incident.id}: {incident.title}. {organization} is one of "
        f"{len(incident.organizations)} affected organization(s) "
        f"({len(incident.tickets)} tickets so far). A root-cause analysis follows."
    )


def duration_hours(incident: Incident) -> float:
    """From the first ticket to the end (or to the latest ticket while it lasts)."""
    end = incident.ended_at or incident.latest_at
    return max((end - incident.first_at).total_seconds(), 0.0) / 3600


# -- the Incidents tab ----------------------------------------------------------------------

INCIDENT_COLUMNS = (
    "Incident",
    "Title",
    "State",
    "Rule",
    "Started",
    "First ticket",
    "Latest ticket",
    "Ended",
    "Duration (h)",
    "Tickets count",
    "Tickets",
    "Affected customers",
)
# Columns for people to fill, right of syncd's: the sheet writes their titles once and never
# their cells (see connectors.sheets_plan).
PEOPLE_COLUMNS = ("RCA owner", "RCA link")


@dataclass(frozen=True, slots=True)
class IncidentsReport(Report):
    """The Incidents tab: rows found by the incident id (column A), so the columns people
    fill stay with their incident whatever the order; `people` are those columns' titles."""

    people: tuple[str, ...] = PEOPLE_COLUMNS


def incidents_report(incidents: Iterable[Incident]) -> IncidentsReport:
    """One row per incident, oldest first."""
    rows: list[list[Cell]] = []
    for incident in sorted(incidents, key=lambda i: (i.first_at, i.id)):
        rows.append(
            [
                incident.id,
                incident.title,
                incident.state,
                incident.rule,
                incident.started_at,
                f"#{incident.first_ticket}",
                f"#{incident.latest_ticket}",
                incident.ended_at,
                round(duration_hours(incident), 2),
                len(incident.tickets),
                ", ".join(f"#{t}" for t in incident.tickets),
                ", ".join(sorted(incident.organizations.values(), key=str.casefold)),
            ]
        )
    formats = {
        "Started": "datetime",
        "Ended": "datetime",
        "Duration (h)": "hours",
        "Tickets count": "count",
    }
    return IncidentsReport("incidents", "Incidents", INCIDENT_COLUMNS, rows, formats)
