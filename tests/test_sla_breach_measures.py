"""The SLA breaches tab names which measure breached (issue 13, point 2 in the reports): the
facts keep the other measures' targets a policy sets (next reply, periodic update, first
resolution, requester wait, agent work), and a breach of one is listed under its name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from syncd.facts import TicketFacts, project
from syncd.model import Status, Ticket
from syncd.reports import ReportSettings, build_reports
from syncd.rules import load_rules

RULES = """\
name: Measures
owner: lead@example.com
sla:
  policies:
    - policy: Replies
      calendar: 24/7
      targets:
        Medium: {first_response: 1h, next_reply: 2h, resolution: 3d}
"""
NOW = datetime(2026, 11, 18, 12, tzinfo=UTC)


def test_a_next_reply_breach_is_listed_under_its_measure(tmp_path: Path) -> None:
    (tmp_path / "sla.yaml").write_text(RULES)
    rules = load_rules(tmp_path)
    created = NOW - timedelta(hours=10)
    ticket = Ticket(
        id="7",
        source="test",
        subject="Still broken",
        description="",
        status=Status.OPEN,
        created_at=created,
        updated_at=NOW - timedelta(hours=5),
        first_response_at=created + timedelta(minutes=30),
        last_agent_reply_at=created + timedelta(minutes=30),
        awaiting_reply_since=NOW - timedelta(hours=5),  # unanswered for 5 h: 2 h target
    )
    facts = project(ticket, rules.evaluate(ticket, NOW), NOW)
    assert [m for m, _t in facts.other_targets] == ["next_reply"]
    assert TicketFacts.from_json(facts.to_json()) == facts  # kept in the state store
    built = build_reports([facts], NOW, ReportSettings())
    breaches = next(r for r in built if r.name == "breaches")
    table = [dict(zip(breaches.columns, row, strict=False)) for row in breaches.rows]
    measures = {row[c] for row in table for c in breaches.columns if row[c] == "Next reply"}
    assert measures == {"Next reply"}, table
    assert not any("First response" in map(str, row.values()) for row in table)
