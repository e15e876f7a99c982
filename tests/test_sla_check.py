"""`syncd sla check` (issue 13, point 4): syncd's SLA verdicts against Zendesk's own, read from
the `slas` sideload of the export the source already makes. The Zendesk emulator computes its
SLA as Zendesk documents it for its configured policy (zendesk_sla: first reply and requester
wait time targets by priority, 24/7); a syncd policy that mirrors it shows no disagreement,
and each planted difference is named with its reason."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.zendesk import SIDELOADS, ZendeskSource
from syncd.config import ZendeskConfig
from syncd.model import Ticket
from syncd.sandbox import SPREADSHEET_ID, Sandbox
from syncd.sandbox.zendesk import ZendeskApp
from syncd.sla_check import check
from tests.conftest import rules_from, run_cli, write_config
from tests.sandbox.serving import serving

EMAIL = "ops@acme.test"
TOKEN = "sla-check-token"
HOUR = 3600.0
# Priority from the helpdesk's own; the sandbox's policy (zendesk_metrics.SLA_TARGETS):
# first reply urgent 1 h, high 4 h, normal 8 h, low 24 h; requester wait 8/24/48/96 h.
MIRROR = """\
name: Mirror of the helpdesk's SLA
owner: lead@example.com
priority:
  default: Medium
  rules:
    - priority: Critical
      when: {helpdesk_priority: urgent}
    - priority: High
      when: {helpdesk_priority: high}
    - priority: Low
      when: {helpdesk_priority: low}
calendars:
  office:
    timezone: UTC
    hours: {mon-fri: "09:00-17:00"}
sla:
  pause_on: [pending, on_hold]
  policies:
    - policy: Sandbox SLA
      calendar: 24/7
      targets:
        Critical: {first_response: 1h, requester_wait: 8h}
        High: {first_response: 4h, requester_wait: 24h}
        Medium: {first_response: 8h, requester_wait: 48h}
        Low: {first_response: 24h, requester_wait: 96h}
"""


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0 - 30 * 86_400  # a Monday 06:40 UTC, 2026-12-14

    def __call__(self) -> float:
        return self.now

    def tick(self, hours: float) -> None:
        self.now += hours * HOUR

    def moment(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)


@pytest.fixture
def zendesk() -> Iterator[tuple[ZendeskApp, Clock, ZendeskSource]]:
    clock = Clock()
    app = ZendeskApp(email=EMAIL, token=TOKEN, clock=clock)
    with serving(app) as server:
        config = ZendeskConfig.model_validate(
            {"subdomain": "acme", "email": EMAIL, "base_url": server.base_url}
        )
        yield app, clock, ZendeskSource(config, TOKEN, attempts=1)


def pulled(source: ZendeskSource) -> list[Ticket]:
    latest = {t.id: t for page in source.pull(None) for t in page.tickets}
    return list(latest.values())


def account(app: ZendeskApp, clock: Clock) -> dict[str, int]:
    """A small account: answered in time, answered late, waiting, pending, and solved."""
    agent = app.add_user("Alex Agent", "alex@acme.test", role="agent")
    ids = {}
    for name, priority in (
        ("answered", "high"),
        ("late", "urgent"),
        ("waiting", "normal"),
        ("pending", "low"),
        ("solved", "high"),
    ):
        ticket = app.add_ticket(
            f"{name} ticket",
            "Help",
            requester_email=f"{name}@globex.example.com",
            assignee_id=agent["id"],
            priority=priority,
        )
        ids[name] = ticket["id"]
    clock.tick(0.5)
    app.reply(ids["answered"])
    app.reply(ids["solved"])
    app.reply(ids["pending"], status="pending")
    clock.tick(1.5)
    app.reply(ids["late"])  # 2 h after creation: urgent's 1 h first reply missed
    app.update_ticket(ids["solved"], status="solved")
    clock.tick(1)
    return ids


def test_the_export_sideloads_zendesks_sla_state_at_no_extra_request(
    zendesk: tuple[ZendeskApp, Clock, ZendeskSource],
) -> None:
    app, clock, source = zendesk
    ids = account(app, clock)
    assert "slas" in SIDELOADS
    tickets = {t.id: t for t in pulled(source)}
    waiting = tickets[str(ids["waiting"])].helpdesk_sla
    assert {(s.metric, s.stage) for s in waiting} == {
        ("first_reply_time", "active"),
        ("requester_wait_time", "active"),
    }
    first = next(s for s in waiting if s.metric == "first_reply_time")
    assert first.measure == "first_response"
    assert first.due == datetime.fromtimestamp(clock.now - 3 * HOUR + 8 * HOUR, UTC)
    pending = {s.metric: s.stage for s in tickets[str(ids["pending"])].helpdesk_sla}
    assert pending == {"first_reply_time": "achieved", "requester_wait_time": "paused"}


def test_a_mirrored_policy_shows_no_disagreement(
    zendesk: tuple[ZendeskApp, Clock, ZendeskSource], tmp_path: Path
) -> None:
    app, clock, source = zendesk
    account(app, clock)
    tickets = pulled(source)
    assert all(t.helpdesk_sla for t in tickets)
    assert check(rules_from(tmp_path, MIRROR), tickets, clock.moment()) == []
    # Later, with breaches on both sides: still none.
    clock.tick(30)
    assert check(rules_from(tmp_path, MIRROR), pulled(source), clock.moment()) == []


def test_a_priority_change_is_measured_as_zendesk_does_and_agrees(
    zendesk: tuple[ZendeskApp, Clock, ZendeskSource], tmp_path: Path
) -> None:
    # Low -> urgent after 10 hours: Zendesk re-applies the policy, the urgent first reply
    # target (1 h) counted from the ticket's creation: breached at once. syncd measures from
    # creation too, so they agree; urgent -> low goes back to a day from creation.
    app, clock, source = zendesk
    low = app.add_ticket("Low one", "Help", requester_email="l@x.example.com", priority="low")
    urgent = app.add_ticket("Urgent", "Help", requester_email="u@x.example.com", priority="urgent")
    clock.tick(10)
    app.update_ticket(low["id"], priority="urgent")
    app.update_ticket(urgent["id"], priority="low")
    clock.tick(0.1)
    now = clock.moment()
    rules = rules_from(tmp_path, MIRROR)
    tickets = {t.id: t for t in pulled(source)}
    raised, lowered = tickets[str(low["id"])], tickets[str(urgent["id"])]
    first = next(s for s in raised.helpdesk_sla if s.measure == "first_response")
    assert first.due is not None and first.due < now  # breached at once
    sla = rules.evaluate(raised, now).sla
    assert sla is not None and sla.first_response.breached
    assert sla.first_response.due == first.due
    calm = rules.evaluate(lowered, now).sla
    assert calm is not None and not calm.first_response.breached
    assert check(rules, list(tickets.values()), now) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("Medium: {first_response: 8h", "Medium: {first_response: 6h"), "different policy"),
        (("calendar: 24/7", "calendar: office"), "calendar"),
        (("    - priority: Critical\n      when: {helpdesk_priority: urgent}\n", ""), "priority"),
        (("first_response: 1h, requester_wait: 8h", "first_response: 1h"), "different policy"),
        (
            (
                "first_response: 1h, requester_wait: 8h",
                "first_response: 1h, requester_wait: 8h, next_reply: 2h",
            ),
            "",
        ),
    ],
    ids=["target", "calendar", "priority", "no-target", "untracked-but-idle"],
)
def test_each_planted_difference_names_its_reason(
    zendesk: tuple[ZendeskApp, Clock, ZendeskSource],
    tmp_path: Path,
    change: tuple[str, str],
    reason: str,
) -> None:
    app, clock, source = zendesk
    ids = account(app, clock)
    tickets = pulled(source)
    planted = rules_from(tmp_path, MIRROR.replace(*change))
    found = check(planted, tickets, clock.moment())
    if not reason:
        # next_reply: Zendesk cannot have one running where syncd sees none (nothing waits).
        assert found == []
        return
    assert found, "the planted difference must show"
    assert {d.ticket for d in found} <= {str(i) for i in ids.values()}
    assert all(d.reason.startswith(reason) for d in found), "\n".join(d.line() for d in found)


def test_a_measure_the_helpdesk_does_not_track_is_named(
    zendesk: tuple[ZendeskApp, Clock, ZendeskSource], tmp_path: Path
) -> None:
    app, clock, source = zendesk
    ids = account(app, clock)
    extra = MIRROR.replace(
        "Medium: {first_response: 8h, requester_wait: 48h}",
        "Medium: {first_response: 8h, requester_wait: 48h, resolution: 3d}",
    )
    found = check(rules_from(tmp_path, extra), pulled(source), clock.moment())
    assert [(d.ticket, d.measure) for d in found] == [(str(ids["waiting"]), "resolution")]
    assert found[0].reason.startswith("a measure the helpdesk does not track")


def test_sla_check_command_prints_each_disagreement_and_exits_1(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    # The sandbox on the wall clock: tickets created now, the command reads the clock too.
    for name, priority in (("quiet", "normal"), ("burning", "urgent")):
        sandbox.zendesk.add_ticket(
            name, "Help", requester_email=f"{name}@globex.example.com", priority=priority
        )
    key = sandbox.write_service_account(tmp_path / "sa.json")
    for text, code in (
        (MIRROR, 0),
        (MIRROR.replace("first_response: 1h", "first_response: 2h"), 1),
    ):
        rules_dir = tmp_path / f"rules{code}"
        rules_dir.mkdir()
        (rules_dir / "sla.yaml").write_text(text)
        data = sandbox.config(f"sqlite:///{tmp_path / 'state.db'}", str(rules_dir), key)
        config = write_config(tmp_path / f"syncd{code}.yaml", data)
        result = run_cli("sla", "check", "--config", str(config))
        assert result.returncode == code, result.stdout + result.stderr
        assert "2 ticket(s) measured by the helpdesk" in result.stdout
        if code:
            assert "first_response" in result.stdout and "different policy" in result.stdout


def test_sla_check_sheet_writes_the_sla_check_tab(tmp_path: Path, sandbox: Sandbox) -> None:
    # `syncd sla check --sheet` writes each disagreement to the sheet's "SLA check" tab, read
    # back here as a manager sees it; the tab is replaced by each check.
    burning = sandbox.zendesk.add_ticket(
        "burning", "Help", requester_email="burning@globex.example.com", priority="urgent"
    )
    key = sandbox.write_service_account(tmp_path / "sa.json")
    for text, code in (
        (MIRROR.replace("first_response: 1h", "first_response: 2h"), 1),
        (MIRROR, 0),
    ):
        rules_dir = tmp_path / f"rules{code}"
        rules_dir.mkdir()
        (rules_dir / "sla.yaml").write_text(text)
        data = sandbox.config(f"sqlite:///{tmp_path / 'state.db'}", str(rules_dir), key)
        config = write_config(tmp_path / f"syncd{code}.yaml", data)
        sandbox.reset_counts()
        result = run_cli("sla", "check", "--sheet", "--config", str(config))
        assert result.returncode == code, result.stdout + result.stderr
        assert sandbox.counts().get("sheets", 0) <= 3  # open, one read, one write
        rows = sandbox.sheets.values(SPREADSHEET_ID, "SLA check")
        assert rows[0][:5] == ["Ticket", "Measure", "Helpdesk", "syncd", "Reason"]
        if code:
            table = [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]
            assert [(r["Ticket"], r["Measure"]) for r in table] == [
                (str(burning["id"]), "first_response")
            ]
            assert table[0]["Reason"].startswith("different policy")
            assert table[0]["Helpdesk"].startswith("active, due")
            assert table[0]["syncd"].startswith("active, due")
            assert table[0]["Checked at"] and "/agent/tickets/" in table[0]["Link"]
        else:
            assert len(rows) == 2 and rows[1][4].startswith("no disagreement")
