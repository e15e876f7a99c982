"""Digests on the SOPs' schedule (issue 14, item 7): the daily one once at 08:00 local, the
weekly one once on the week end, with the figures of the report tabs; not twice after a
restart; recorded, not sent, while the first sync (or a backfill) is under way."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ruamel.yaml import YAML

from syncd import digests
from syncd.reports import WEEKDAYS, build_reports, report_since
from syncd.sandbox import SPREADSHEET_ID, Sandbox
from syncd.upkeep import Upkeep
from syncd.wiring import with_columns
from tests.conftest import Syncd, write_config

ZONE = "Europe/Berlin"
BERLIN = ZoneInfo(ZONE)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), BERLIN).astimezone(UTC)


def test_due_follows_the_local_clock_and_the_marks():
    friday = date(2026, 3, 6)
    schedules = [
        digests.Schedule("daily", time(8, 0), ("slack:#support",)),
        digests.Schedule("weekly", time(16, 0), ("email:lead@acme.example",)),
    ]
    marks: set[str] = set()

    def due_at(moment: datetime) -> list[digests.Due]:
        return digests.due(schedules, moment, ZONE, "friday", marks.__contains__)

    assert due_at(_at(friday, 7, 59)) == []
    (daily,) = due_at(_at(friday, 8, 0))
    assert (daily.kind, daily.period, daily.targets) == ("daily", date(2026, 3, 5), schedules[0].to)
    marks.add(digests.mark_key("daily", friday, "slack:#support"))
    assert due_at(_at(friday, 8, 1)) == []
    (weekly,) = due_at(_at(friday, 16, 0))
    assert (weekly.kind, weekly.period) == ("weekly", friday)
    marks.add(digests.mark_key("weekly", friday, "email:lead@acme.example"))
    assert due_at(_at(friday, 23, 59)) == []
    # Thursday is no week end; 07:30 Berlin on Saturday is 06:30 UTC: not yet.
    assert [d.kind for d in due_at(_at(friday - timedelta(days=1), 17))] == ["daily"]
    assert due_at(_at(friday + timedelta(days=1), 7, 30)) == []


def _configure(config_path: Path, week_ends: str, max_tickets: int | None = None) -> Path:
    data = YAML().load(config_path.read_text())
    data["sheets"]["timezone"] = ZONE
    data["sheets"]["week_ends"] = week_ends
    data["digests"] = {
        "daily": {"to": ["slack:#support"]},
        "weekly": {"at": "16:00", "to": ["email:lead@acme.example"]},
    }
    if max_tickets:
        data["max_tickets_per_cycle"] = max_tickets
        data["helpdesk"]["page_size"] = max_tickets
    return write_config(config_path, data)


def _digest_texts(sandbox: Sandbox) -> tuple[list[str], list[str]]:
    """The digests sent, by Slack and by mail. Only the digests: the same channel also gets
    the rules' own alerts (an at-risk ticket, on some days of the week)."""
    slack = [m["text"] for m in sandbox.slack.messages("#support")]
    mail = [m["body"] for m in sandbox.smtp.messages() if "lead@acme.example" in m["recipients"]]
    return [t for t in slack if _is_digest(t)], [b for b in mail if _is_digest(b)]


def _is_digest(text: str) -> bool:
    return text.startswith(("Daily summary", "Weekly report"))


def test_daily_and_weekly_digests_go_once_with_the_tabs_figures(
    sandbox: Sandbox, config_path: Path
):
    today = datetime.now(BERLIN).date()
    _configure(config_path, WEEKDAYS[today.weekday()])  # today is the week end
    yesterday = _at(today - timedelta(days=1), 11)
    for n, subject in enumerate(
        ["Invoice charged twice", "Cannot log in", "Error 500 on export", "Refund please"]
    ):
        sandbox.zendesk.add_ticket(
            subject=subject,
            requester_email=f"user{n}@globex.example",
            created_at=yesterday + timedelta(minutes=n),
            updated_at=yesterday + timedelta(minutes=n),
        )
    syncd = Syncd(config_path)
    syncd.setup()
    assert isinstance(syncd.parts.upkeep, Upkeep)

    syncd.once(at=_at(today, 7, 0))  # the first sync, caught up: nothing due yet
    syncd.once(at=_at(today, 7, 59))
    assert _digest_texts(sandbox) == ([], [])

    syncd.once(at=_at(today, 8, 0))
    slack, mail = _digest_texts(sandbox)
    assert len(slack) == 1 and mail == []
    syncd.once(at=_at(today, 8, 5))
    restarted = Syncd(config_path)  # a new process: the marks are in the state store
    restarted.once(at=_at(today, 9, 0))
    restarted.once(at=_at(today, 16, 0))
    restarted.once(at=_at(today, 16, 30))
    slack, mail = _digest_texts(sandbox)
    assert len(slack) == 1 and len(mail) == 1, "each digest once, also across a restart"

    # The figures are the tabs': yesterday's Daily summary row, this week's Weekly report row.
    parts = restarted.parts
    moment = _at(today, 16, 30)
    settings = with_columns(parts.reports, parts.rules)
    assert settings is not None
    reports = {
        r.name: r
        for r in build_reports(
            parts.store.report_facts(report_since(moment, settings)), moment, settings
        )
    }
    daily_row = digests.row_of(reports["daily"], today - timedelta(days=1))
    assert daily_row is not None and daily_row[1] == 4  # four new tickets yesterday
    found = digests.figures(reports["daily"], daily_row, settings.categories)
    assert f"New: {found.new}  Solved: {found.solved}  Backlog: {found.backlog}" in slack[0]
    assert f"Top categories: {found.top_categories}" in slack[0] and found.top_categories
    assert "Daily summary tab: https://docs.google.com/spreadsheets/d/" in slack[0]
    # ... and what the sheet's Daily summary tab shows for that day.
    tab = sandbox.sheets.values(SPREADSHEET_ID, "Daily summary")
    row = next(r for r in tab[1:] if r[0] == str(today - timedelta(days=1)))
    shown = dict(zip(tab[0], row, strict=False))
    assert (shown["New"], shown["Backlog"]) == (str(found.new), str(found.backlog))
    weekly_row = digests.row_of(reports["weekly"], today)
    assert weekly_row is not None
    week = digests.figures(reports["weekly"], weekly_row, settings.categories)
    assert f"New: {week.new}  Solved: {week.solved}  Backlog: {week.backlog}" in mail[0]
    assert f"Top categories: {week.top_categories}" in mail[0]
    keys = [digests.mark_key("daily", today, "slack:#support")]
    keys.append(digests.mark_key("weekly", today, "email:lead@acme.example"))
    assert all(parts.store.get_meta(k) for k in keys)


def test_digests_are_recorded_not_sent_while_the_first_sync_is_under_way(
    sandbox: Sandbox, config_path: Path
):
    today = datetime.now(BERLIN).date()
    _configure(config_path, WEEKDAYS[today.weekday()], max_tickets=2)
    long_ago = datetime.now(UTC) - timedelta(days=20)
    for n in range(5):
        sandbox.zendesk.add_ticket(
            subject=f"Old outage {n}",
            requester_email=f"o{n}@x.example",
            created_at=long_ago + timedelta(minutes=n),
            updated_at=long_ago + timedelta(minutes=n),
        )
    syncd = Syncd(config_path)
    syncd.setup()
    report = syncd.once(at=_at(today, 17, 0))  # both due; the backlog is still worked off
    assert report.more
    assert _digest_texts(sandbox) == ([], [])
    store = syncd.parts.store
    mark = store.get_meta(digests.mark_key("daily", today, "slack:#support"))
    assert mark and "recorded, not sent" in mark
    for _ in range(4):
        syncd.once(at=_at(today, 17, 5))
    assert _digest_texts(sandbox) == ([], []), "recorded once: not sent later that day"
    # Recording only (what a backfill's cycles are to do): marked, never sent afterwards.
    assert isinstance(syncd.parts.upkeep, Upkeep)
    settings = with_columns(syncd.parts.reports, syncd.parts.rules)
    assert settings is not None
    tomorrow = today + timedelta(days=1)
    assert syncd.parts.upkeep.send_digests(_at(tomorrow, 9), settings, record_only=True) == 1
    assert syncd.parts.upkeep.send_digests(_at(tomorrow, 10), settings, record_only=False) == 0
    assert _digest_texts(sandbox) == ([], [])
