"""The `incidents:` section: when many tickets about one problem make an incident.

    incidents:
      - incident: Many customers report one problem
        same: text                 # text | tag | field: what makes tickets "one problem"
        similarity: 40             # text: % of stems in common (Jaccard) to count as alike
        same_category: true        # text: only tickets the rules gave the same category
        count: 5                   # this many tickets...
        window: 30m                # ...created within this long...
        organizations: 3           # ...from at least this many organizations (default 1)
        notify: ["slack:#incidents", "webhook:oncall"]
        company_notes: true        # a HubSpot note on each affected company (default true)

`same: tag` groups tickets by a tag they share (`tags: [...]` to count only some tags);
`same: field` by the value of a custom field (`field: product_area`). `language` names the
stemmer's language for `same: text` (default english).

Compiled once at load into `IncidentRule`s; detection itself (`syncd.incidents.detect`) is a
pure function of stored ticket signatures and `now`. Nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from syncd.durations import parse_duration
from syncd.rules.loader import Problems, where
from syncd.rules.wording import DEFAULT_LANGUAGE, LANGUAGES

SAME = ("text", "tag", "field")
KEYS = {
    "incident",
    "same",
    "similarity",
    "same_category",
    "tags",
    "field",
    "count",
    "window",
    "organizations",
    "notify",
    "company_notes",
    "language",
}
DEFAULT_SIMILARITY = 40.0


@dataclass(frozen=True, slots=True)
class IncidentRule:
    """One compiled `incidents:` entry."""

    name: str
    same: str  # text | tag | field
    count: int
    window: timedelta
    similarity: float = DEFAULT_SIMILARITY / 100  # 0..1 (text)
    same_category: bool = True  # text
    tags: tuple[str, ...] = ()  # tag: the tags that count (empty: any)
    field: str = ""  # field: the custom field
    organizations: int = 1
    notify: tuple[str, ...] = ()
    company_notes: bool = True
    language: str = DEFAULT_LANGUAGE
    where: str = ""


def compile_incidents(path: Path, data: dict[str, Any], problems: Problems) -> list[IncidentRule]:
    """The `incidents:` section of one file; every problem recorded at its file:line."""
    section = data["incidents"]
    if not isinstance(section, list):
        problems.add(
            where(path, data, "incidents"),
            "incidents must be a list",
            "e.g. - incident: Many customers report one problem",
        )
        return []
    out: list[IncidentRule] = []
    for index, item in enumerate(section):
        loc = where(path, section, index)
        if not isinstance(item, dict) or not isinstance(item.get("incident"), str):
            problems.add(loc, "each incident rule needs `incident:` with a name")
            continue
        if not problems.only_keys(path, item, KEYS, "an incident rule"):
            continue
        rule = _rule(path, item, loc, problems)
        if rule is not None:
            if any(r.name == rule.name for r in out):
                problems.add(loc, f"incident rule {rule.name!r} is defined twice")
                continue
            out.append(rule)
    return out


def _rule(path: Path, item: dict[str, Any], loc: str, problems: Problems) -> IncidentRule | None:
    def bad(key: str, message: str, hint: str | None = None) -> None:
        problems.add(where(path, item, key) if key in item else loc, message, hint)

    before = len(problems.errors)
    same = item.get("same", "text")
    if same not in SAME:
        bad("same", f"same must be one of {', '.join(SAME)}, got {same!r}")
    count = item.get("count")
    if type(count) is not int or count < 2:
        bad("count", f"count must be a whole number of tickets, 2 or more, got {count!r}")
    window = timedelta(0)
    try:
        window = timedelta(seconds=parse_duration(item.get("window")))
    except ValueError as exc:
        bad("window", f"window: {exc}", "e.g. window: 30m")
    if "window" in item and window <= timedelta(0):
        bad("window", "window must be longer than 0")
    orgs = item.get("organizations", 1)
    if type(orgs) is not int or orgs < 1:
        bad("organizations", f"organizations must be a whole number, 1 or more, got {orgs!r}")
    similarity = item.get("similarity", DEFAULT_SIMILARITY)
    if (
        isinstance(similarity, bool)
        or not isinstance(similarity, int | float)
        or not 0 < similarity <= 100
    ):
        bad("similarity", f"similarity is a percentage above 0, up to 100, got {similarity!r}")
        similarity = DEFAULT_SIMILARITY
    tags = item.get("tags", [])
    tags = tags if isinstance(tags, list) else [tags]
    field = item.get("field", "")
    if same == "field" and (not isinstance(field, str) or not field.strip()):
        bad("field", "same: field needs `field:` naming a custom field", "e.g. field: product_area")
    elif "field" in item and same != "field":
        bad("field", "field: applies to same: field only")
    if "tags" in item and same != "tag":
        bad("tags", "tags: applies to same: tag only")
    for key in ("similarity", "same_category", "language"):
        if key in item and same != "text":
            bad(key, f"{key}: applies to same: text only")
    language = item.get("language", DEFAULT_LANGUAGE)
    if language not in LANGUAGES:
        bad("language", f"unknown language {language!r}", f"Use one of: {', '.join(LANGUAGES)}")
    notify = item.get("notify", [])
    notify = notify if isinstance(notify, list) else [notify]
    for target in notify:
        if not isinstance(target, str) or ":" not in target:
            bad(
                "notify",
                f"notify needs targets like slack:#channel or webhook:name, got {target!r}",
            )
        elif target.split(":", 1)[0].strip().lower() == "email" and "requester" in target:
            bad("notify", "an incident alert is internal: it may not reach a requester")
    for key in ("same_category", "company_notes"):
        if key in item and not isinstance(item[key], bool):
            bad(key, f"{key} must be true or false")
    if len(problems.errors) > before:
        return None
    return IncidentRule(
        name=str(item["incident"]),
        same=str(same),
        count=int(str(count)),
        window=window,
        similarity=float(similarity) / 100,
        same_category=bool(item.get("same_category", True)),
        tags=tuple(str(t).strip().lower() for t in tags),
        field=str(field).strip(),
        organizations=int(orgs),
        notify=tuple(str(t).strip() for t in notify),
        company_notes=bool(item.get("company_notes", True)),
        language=str(language),
        where=loc,
    )
