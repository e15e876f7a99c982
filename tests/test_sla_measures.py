"""The SLA measures besides first response and resolution (issue 13, point 2): next reply,
periodic update, first vs full resolution, requester wait vs agent work; usable in rules
(`sla.next_reply.breached`, ...) and never judged where the source cannot see them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.freshdesk import normalize as freshdesk_normalize
from syncd.model import SlaStatus, Status, Ticket
from syncd.rules import load_rules
from syncd.rules.engine import RuleSet

RULES = """\
name: Measures
owner: lead@example.com
sla:
  pause_on: [pending, on_hold]
  policies:
    - policy: All
      calendar: 24/7
      targets:
        Medium:
          first_response: 1h
          next_reply: 2h
          periodic_update: 24h
          first_resolution: 8h
          resolution: 8h
          requester_wait: 6h
          agent_work: 4h
escalation:
  - ladder: Replies
    levels:
      - level: 1
        name: Reply owed
        when: {sla.next_reply.breached: true}
        actions:
          - notify: "slack:#support"
            message: "Reply owed"
"""


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    directory = tmp_path_factory.mktemp("measures")
    (directory / "sla.yaml").write_text(RULES)
    return load_rules(directory)


def at(hours: float) -> datetime:
    return datetime(2026, 11, 23, 9, tzinfo=UTC) + timedelta(hours=hours)


def ticket(**fields: Any) -> Ticket:
    base: dict[str, Any] = {
        "id": "1",
        "source": "freshdesk",
        "subject": "Question",
        "description": "",
        "status": Status.OPEN,
        "created_at": at(0),
        "updated_at": at(1),
        "first_response_at": at(0.5),
        "last_agent_reply_at": at(0.5),
    }
    base.update(fields)
    return Ticket(**base)


def sla(rules: RuleSet, t: Ticket, now: datetime) -> SlaStatus:
    status = rules.evaluate(t, now).sla
    assert status is not None
    return status


def test_next_reply_runs_from_the_oldest_unanswered_message(rules: RuleSet) -> None:
    t = ticket(awaiting_reply_since=at(3))
    s = sla(rules, t, at(4))
    assert s.next_reply.due == at(5) and not s.next_reply.breached
    assert sla(rules, t, at(5.5)).next_reply.breached
    # Answered: nothing waits, the target is met by the latest reply.
    answered = sla(rules, ticket(last_agent_reply_at=at(4)), at(9))
    assert answered.next_reply.due is None and answered.next_reply.met_at == at(4)


def test_next_reply_is_a_rule_field(rules: RuleSet) -> None:
    decision = rules.evaluate(ticket(awaiting_reply_since=at(3)), at(6))
    assert decision.escalation_level == 1
    assert rules.evaluate(ticket(awaiting_reply_since=at(3)), at(4)).escalation_level == 0


def test_periodic_update_runs_from_the_latest_public_agent_reply(rules: RuleSet) -> None:
    s = sla(rules, ticket(last_agent_reply_at=at(2)), at(10))
    assert s.periodic_update.due == at(26)
    assert sla(rules, ticket(last_agent_reply_at=at(2)), at(27)).periodic_update.breached
    solved = ticket(status=Status.SOLVED, solved_at=at(3), last_agent_reply_at=at(2))
    assert sla(rules, solved, at(40)).periodic_update.due is None  # only open tickets


def test_a_reopen_restarts_full_resolution_never_first_resolution(rules: RuleSet) -> None:
    # Solved at 2 h, reopened at 5 h: first resolution met at 2 h for good; full resolution
    # runs again from the creation (8 h target), and is breached at 9 h.
    reopened = ticket(first_solved_at=at(2), reopens=1, updated_at=at(5))
    s = sla(rules, reopened, at(9))
    assert s.first_resolution.met_at == at(2) and not s.first_resolution.breached
    assert s.resolution.met_at is None and s.resolution.breached


def test_requester_wait_stops_only_while_pending_agent_work_also_on_hold(
    rules: RuleSet,
) -> None:
    held = ticket(
        paused_minutes={"on_hold": {"calendar": 180.0, "business": 180.0}}, updated_at=at(4)
    )
    s = sla(rules, held, at(5))  # 3 of 5 hours on hold, open again since 4 h
    assert s.agent_work.used == pytest.approx(0.5)  # 2 h of 4
    assert s.requester_wait.used == pytest.approx(5 / 6)  # 5 h of 6: on hold counts


def test_measures_the_source_cannot_see_are_never_judged(rules: RuleSet) -> None:
    blind = ticket(unseen=frozenset({"next_reply", "periodic_update"}), awaiting_reply_since=at(0))
    s = sla(rules, blind, at(100))
    assert not s.next_reply.known and not s.next_reply.breached
    assert not s.periodic_update.known and not s.periodic_update.breached


def test_freshdesk_stats_give_the_conversation() -> None:
    raw = {
        "id": 9,
        "status": 2,
        "priority": 2,
        "subject": "s",
        "created_at": "2026-11-23T09:00:00Z",
        "updated_at": "2026-11-23T12:00:00Z",
        "fr_due_by": "2026-11-23T13:00:00Z",
        "due_by": "2026-11-24T09:00:00Z",
        "fr_escalated": False,
        "is_escalated": False,
        "stats": {
            "first_responded_at": "2026-11-23T10:00:00Z",
            "agent_responded_at": "2026-11-23T10:00:00Z",
            "requester_responded_at": "2026-11-23T11:00:00Z",
        },
    }
    t = freshdesk_normalize(raw, None, "https://acme.freshdesk.com")
    assert t.awaiting_reply_since == at(2) and t.last_agent_reply_at == at(1)
    assert t.unseen == frozenset()
    assert {(h.measure, h.stage) for h in t.helpdesk_sla} == {
        ("first_response", "achieved"),
        ("resolution", "active"),
    }


@settings(max_examples=150, deadline=None)
@given(
    replies=st.lists(st.floats(min_value=0.1, max_value=200), min_size=1, max_size=6),
    asked=st.floats(min_value=0.01, max_value=50),
    later=st.floats(min_value=0, max_value=100),
)
def test_next_reply_and_periodic_update_restart_on_every_agent_reply(
    rules: RuleSet, replies: list[float], asked: float, later: float
) -> None:
    """Whatever happened before, after an agent reply at r the periodic update is due at
    r + 24 h and, once the requester writes again at r + asked, the next reply at
    r + asked + 2 h: neither clock keeps time from before the reply."""
    moments = sorted(replies)
    last = moments[-1]
    answered = ticket(first_response_at=at(moments[0]), last_agent_reply_at=at(last))
    s = sla(rules, answered, at(last + later))
    assert s.periodic_update.due == at(last + 24)
    assert s.next_reply.due is None  # nothing unanswered right after a reply
    waiting = ticket(
        first_response_at=at(moments[0]),
        last_agent_reply_at=at(last),
        awaiting_reply_since=at(last + asked),
    )
    w = sla(rules, waiting, at(last + asked + later))
    assert w.next_reply.due == at(last + asked + 2)
    assert w.next_reply.breached == (later > 2)
    assert w.periodic_update.breached == (asked + later > 24)


def test_rule_files_refuse_an_unknown_measure(tmp_path: Path) -> None:
    from syncd.errors import RuleError

    (tmp_path / "sla.yaml").write_text(RULES.replace("next_reply: 2h", "next_response: 2h"))
    with pytest.raises(RuleError, match="next_reply"):
        load_rules(tmp_path)
