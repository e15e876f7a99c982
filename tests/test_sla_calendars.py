"""Per-team calendars (issue 13, point 5): a policy's `calendar_by_group` measures a ticket of
a named helpdesk group on its team's hours and holidays; mistakes are named with file:line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncd.errors import RuleError
from syncd.model import Status, Ticket
from tests.conftest import rules_from

RULES = """\
name: Teams
owner: lead@example.com
calendars:
  london:
    timezone: Europe/London
    hours: {mon-fri: "09:00-17:00"}
    holidays: {country: GB, subdivision: ENG}
  berlin:
    timezone: Europe/Berlin
    hours: {mon-fri: "09:00-17:00"}
    holidays: {country: DE, subdivision: BE}
sla:
  policies:
    - policy: Standard
      calendar: london
      calendar_by_group:
        Support Berlin: berlin
      targets:
        Medium: {first_response: 4h, resolution: 2d}
"""


def ticket(group: str, created: datetime) -> Ticket:
    return Ticket(
        id="1",
        source="test",
        subject="Help",
        description="",
        status=Status.OPEN,
        created_at=created,
        updated_at=created,
        group_name=group,
    )


# Thursday 2026-05-14, Ascension Day: a holiday in Berlin, a working day in London.
ASCENSION_EVE = datetime(2026, 5, 13, 14, tzinfo=UTC)  # Wed 15:00 London, 16:00 Berlin


@pytest.mark.parametrize(
    ("group", "calendar", "first_due", "resolution_due"),
    [
        # Berlin: Wed 16:00-17:00 (1 h), Ascension closed, Fri 09:00-12:00 CEST.
        ("Support Berlin", "berlin", datetime(2026, 5, 15, 10, tzinfo=UTC), "2026-05-18"),
        ("support berlin", "berlin", datetime(2026, 5, 15, 10, tzinfo=UTC), "2026-05-18"),
        # London: Wed 15:00-17:00 (2 h), Thu 09:00-11:00 BST; 2 business days: Fri.
        ("Support US", "london", datetime(2026, 5, 14, 10, tzinfo=UTC), "2026-05-15"),
        ("", "london", datetime(2026, 5, 14, 10, tzinfo=UTC), "2026-05-15"),
    ],
)
def test_a_ticket_counts_on_its_teams_calendar(
    tmp_path: Path, group: str, calendar: str, first_due: datetime, resolution_due: str
) -> None:
    rules = rules_from(tmp_path, RULES)
    sla = rules.evaluate(ticket(group, ASCENSION_EVE), ASCENSION_EVE).sla
    assert sla is not None and sla.calendar == calendar
    assert sla.first_response.due == first_due
    # 2d: two business days on the team's calendar, from Wednesday 15:00 / 16:00.
    assert sla.resolution.due is not None
    assert sla.resolution.due.date().isoformat() == resolution_due


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (("Support Berlin: berlin", "Support Berlin: munich"), 17, "unknown calendar 'munich'"),
        (
            ("calendar_by_group:\n        Support Berlin: berlin", "calendar_by_group: berlin"),
            16,
            "calendar_by_group maps group names to calendars",
        ),
        (("Support Berlin: berlin", "Support Berlin: 24/7"), 17, "count days differently"),
    ],
    ids=["unknown-calendar", "not-a-mapping", "days-on-24/7"],
)
def test_mistakes_are_named_with_file_and_line(
    tmp_path: Path, change: tuple[str, str], line: int, message: str
) -> None:
    with pytest.raises(RuleError) as caught:
        rules_from(tmp_path, RULES.replace(*change))
    text = caught.value.render()
    assert f"sla.yaml:{line}" in text and message in text, text


def test_hours_may_mix_a_business_calendar_and_24_7(tmp_path: Path) -> None:
    text = RULES.replace("resolution: 2d", "resolution: 16h").replace(
        "Support Berlin: berlin", "Support Berlin: 24/7"
    )
    rules = rules_from(tmp_path, text)
    sla = rules.evaluate(ticket("Support Berlin", ASCENSION_EVE), ASCENSION_EVE).sla
    assert sla is not None and sla.calendar == "24/7"
    assert sla.first_response.due == datetime(2026, 5, 13, 18, tzinfo=UTC)
