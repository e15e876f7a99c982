"""The SOP rules in the running pipeline: SLA timers without helpdesk changes, escalations
that notify once per ticket and level (also across a restart), decisions in both sinks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncd.sandbox import SPREADSHEET_ID, Sandbox
from tests.conftest import Syncd


def _row(sandbox: Sandbox, ticket_id: int) -> dict[str, str]:
    rows = sandbox.sheets.values(SPREADSHEET_ID, "Tickets")
    header = rows[0]
    (row,) = [r for r in rows[1:] if r[0] == str(ticket_id)]
    return dict(zip(header, row, strict=False))


def test_a_breach_reaches_the_sinks_without_a_helpdesk_change(sandbox: Sandbox, syncd: Syncd):
    now = datetime.now(UTC).replace(microsecond=0)
    syncd.once(at=now)  # the first sync is a baseline: later changes notify
    ticket = sandbox.zendesk.add_ticket(
        subject="The site is down for all users",
        requester_email="it@initech.example",
        requester_name="Peter Gibbons",
    )
    # The cycle runs after the ticket came in (its receipt is sent then, not at a timer).
    now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    first = syncd.once(at=now)
    assert first.pulled == 1
    row = _row(sandbox, ticket["id"])
    assert (row["Priority"], row["SLA"], row["Escalation"]) == ("Critical", "ok", "")
    due = datetime.strptime(row["Resolution due (UTC)"], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    assert timedelta(hours=3, minutes=59) <= due - now <= timedelta(hours=4, minutes=1)

    sandbox.reset_counts()
    # The first reply is due in 15 minutes (at risk after 11): nothing due yet, nothing written.
    quiet = syncd.once(at=now + timedelta(minutes=10))
    assert (quiet.pulled, quiet.timers) == (0, 0)
    assert sandbox.counts() == {"zendesk": 1}

    late = syncd.once(at=now + timedelta(hours=4, minutes=5))  # no helpdesk change: breached
    assert (late.pulled, late.timers) == (0, 1)
    row = _row(sandbox, ticket["id"])
    assert row["SLA"] == "breached" and row["Escalation"] == "CTO/Founder"
    hub = sandbox.hubspot.find("tickets", "helpdesk_ticket_id", str(ticket["id"]))
    assert hub["properties"]["syncd_sla_state"] == "breached"
    assert hub["properties"]["syncd_escalation_level"] == "4"
    # Unanswered (level 2: first response breached) and unresolved (level 4), both at once.
    channels = [m["channel"] for m in sandbox.slack.messages()]
    assert channels == ["#support-escalations", "#incidents"]


def test_escalations_notify_once_per_ticket_and_level_across_restarts(
    sandbox: Sandbox, syncd: Syncd, config_path: Path
):
    syncd.once()  # the first sync is a baseline: later changes notify
    long_ago = datetime.now(UTC) - timedelta(days=3)
    for n in range(5):
        sandbox.zendesk.add_ticket(
            subject=f"Production outage number {n}",
            requester_email=f"ops{n}@initech.example",
            created_at=long_ago,
            updated_at=long_ago,
        )
    syncd.once()
    messages = sandbox.slack.messages()
    per_channel = {
        c: sum(1 for m in messages if m["channel"] == c)
        for c in ("#incidents", "#support-escalations")
    }
    assert per_channel == {"#incidents": 5, "#support-escalations": 5}

    restarted = Syncd(config_path)  # a new process: only the state store remembers
    for ticket in sandbox.zendesk.tickets():
        sandbox.zendesk.update_ticket(ticket["id"], subject=ticket["subject"] + " (still)")
    report = restarted.once()
    assert report.pulled == 5 and report.actions_fired == 0
    assert len(sandbox.slack.messages()) == len(messages), "nobody is notified twice"


def test_rules_preview_lists_what_an_edit_would_change(
    sandbox: Sandbox, syncd: Syncd, config_path: Path, tmp_path: Path
):
    import shutil

    from tests.conftest import RULES, run_cli

    sandbox.zendesk.add_ticket(subject="Please refund my invoice", requester_email="a@b.example")
    sandbox.zendesk.add_ticket(subject="Error 500 on login", requester_email="c@d.example")
    syncd.once()
    edited = tmp_path / "edited"
    shutil.copytree(RULES, edited)
    triage = edited / "triage.yaml"
    refunds = "  - category: Refunds\n    when: {text: {contains: refund}}\n"
    triage.write_text(triage.read_text().replace("categories:\n", "categories:\n" + refunds, 1))
    sandbox.reset_counts()
    result = run_cli("rules", "preview", str(edited), "--config", str(config_path))
    assert result.returncode == 0, result.stderr
    assert "1 decision(s) would change on 2 ticket(s)" in result.stdout
    assert "Billing" in result.stdout and "Refunds" in result.stdout
    assert "category: 1 ticket(s) change" in result.stdout
    assert sandbox.counts() == {}, "a preview sends nothing anywhere"


def test_the_first_sync_records_old_escalations_without_sending_them(
    sandbox: Sandbox, syncd: Syncd
):
    long_ago = datetime.now(UTC) - timedelta(days=30)
    for n in range(20):
        sandbox.zendesk.add_ticket(
            subject=f"Outage {n}",
            requester_email=f"o{n}@x.example",
            created_at=long_ago,
            updated_at=long_ago,
        )
    report = syncd.once()
    assert report.pulled == 20 and report.actions_fired == 0
    assert sandbox.slack.messages() == []
    assert len(syncd.parts.store.fired([str(t["id"]) for t in sandbox.zendesk.tickets()])) > 20
    again = syncd.once()
    assert again.actions_fired == 0, "baselined actions never fire later"


@pytest.mark.slow
def test_the_baseline_lasts_until_the_backlog_is_worked_off(sandbox: Sandbox, syncd: Syncd):
    sandbox.zendesk.generate(2500, seed=9)  # weeks of tickets, many long breached
    syncd.parts.max_tickets = 1000
    reports = [syncd.once() for _ in range(4)]
    assert [(r.pulled, r.more) for r in reports] == [
        (1000, True),
        (1000, True),
        (500, False),
        (0, False),
    ]
    assert sandbox.slack.messages() == [], "no cycle of the initial backlog notifies"
    long_ago = datetime.now(UTC) - timedelta(days=3)
    sandbox.zendesk.add_ticket(
        subject="A new outage",
        requester_email="n@x.example",
        created_at=long_ago,
        updated_at=long_ago,
    )
    assert syncd.once().actions_fired > 0, "after catching up, new escalations notify"
    assert sandbox.slack.messages()


def test_reply_times_from_zendesk_metrics_decide_the_first_response_target(
    sandbox: Sandbox, syncd: Syncd
):
    # Zendesk's ticket metrics (sideloaded with the export) say when an agent first replied.
    now = datetime.now(UTC).replace(microsecond=0)
    syncd.once(at=now)
    answered = sandbox.zendesk.add_ticket(
        subject="The site is down for all users", requester_email="it@initech.example"
    )
    ignored = sandbox.zendesk.add_ticket(
        subject="Our site is down for all users too", requester_email="ops@globex.example"
    )
    sandbox.zendesk.reply(answered["id"], body="We are on it.")
    syncd.once(at=now)
    syncd.once(at=now + timedelta(hours=1))
    row = _row(sandbox, answered["id"])
    assert (row["SLA"], row["Escalation"]) == ("ok", "")
    row = _row(sandbox, ignored["id"])
    # A critical ticket left unanswered: team lead (level 2) and CTO (level 4) both hear.
    assert (row["SLA"], row["Escalation"]) == ("breached", "CTO/Founder")
    channels = [m["channel"] for m in sandbox.slack.messages()]
    assert channels == ["#support-escalations", "#incidents"]
