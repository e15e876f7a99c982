"""Time to compute the five report tabs from 100,000 tickets' facts, and to load those facts.

    .venv/bin/python bench/reports_bench.py [--tickets 100000] [--naive 2000] [--seed 3]
                                            [--stale-backlog]

The facts are made the way a cycle makes them: synthetic tickets spread over the last two
years (those older than two weeks nearly all solved; `--stale-backlog` keeps a third of
every age open, which lists tens of thousands of open breaches), some pending, some merged,
decided by the default
rule set (rules/*.yaml) and projected with `syncd.facts.project` (all outside the timing).
Then, timed with `time.perf_counter`:

* `build_reports` over every fact (Europe/Berlin, weeks ending Friday, 92 days, 26 weeks,
  24 months): the work a cycle adds when something changed. Target: well under a second.
* the state round trip a cycle makes on SQLite: `save_facts` of every fact (a cycle saves only
  its changed tickets; this is the backfill case) and `report_facts(since)`.
* a naive baseline on the first `--naive` facts: for each day, week and month, scan every fact
  and count by the definitions (the obvious code). Its figures must equal `build_reports`' on
  the same facts, or the script exits with status 1: a benchmark of different work is
  worthless. Its time grows with facts × periods; syncd's with facts + periods.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syncd.facts import TicketFacts, project  # noqa: E402
from syncd.model import Person, Status, StatusChange, Ticket  # noqa: E402
from syncd.reports import (  # noqa: E402
    MEASURES,
    ReportSettings,
    build_reports,
    report_since,
    settled,
)
from syncd.rules import load_rules  # noqa: E402
from syncd.state import open_store  # noqa: E402

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
SUBJECTS = [
    "Refund for a double charge on my invoice",
    "Login error 500 after the update",
    "Feature request: dark mode",
    "How do I export my data?",
    "The app crashes on start, data loss",
    "Complaint: unacceptable wait",
    "Question about pricing",
    "Thanks for the quick help",
]


def tickets(count: int, seed: int, stale: bool = False) -> list[Ticket]:
    """Synthetic tickets created over the last two years, newest most numerous."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        age = timedelta(hours=730 * 24 * rng.random() ** 2)
        created = NOW - age
        roll = rng.random()
        status = Status.OPEN
        solved = replied = None
        history: tuple[StatusChange, ...] = ()
        if rng.random() < 0.85:
            replied = created + timedelta(minutes=rng.expovariate(1 / 300))
        # Older tickets are nearly all solved (a live helpdesk's backlog is recent), unless
        # --stale-backlog keeps a third of every age open (many open breaches to list).
        solved_share = 0.7 if stale or age < timedelta(days=14) else 0.98
        if age > timedelta(days=3) and roll < solved_share:
            status = Status.SOLVED if roll < solved_share / 2 else Status.CLOSED
            solved = created + timedelta(hours=rng.expovariate(1 / 30))
            solved = min(solved, NOW)
        elif roll < solved_share + 0.05:
            status = Status.PENDING
            history = (
                StatusChange(created, Status.NEW),
                StatusChange(created + (age / 2), Status.PENDING),
            )
        elif roll < solved_share + 0.07:
            status = Status.MERGED
        if replied is not None and replied > NOW:
            replied = None
        updated = solved or (created + age / 2)
        out.append(
            Ticket(
                id=str(n + 1),
                source="zendesk",
                subject=rng.choice(SUBJECTS),
                description="",
                status=status,
                created_at=created,
                updated_at=updated,
                requester=Person(str(n % 5000), f"Customer {n % 5000}", f"c{n % 5000}@ex.com"),
                first_response_at=replied,
                solved_at=solved,
                csat=float(rng.randint(1, 5)) if solved and rng.random() < 0.3 else None,
                status_history=history,
                url=f"https://acme.zendesk.com/agent/tickets/{n + 1}",
            )
        )
    return out


def naive(facts: list[TicketFacts], now: datetime, settings: ReportSettings) -> dict[str, list]:
    """The obvious way: for each period, scan every fact. Returns the MEASURES' cells per
    period (days, then weeks and months without their lead-in period)."""
    zone = ZoneInfo(settings.timezone)
    live = [f for f in facts if not f.gone]
    today = now.astimezone(zone).date()
    days = [(today - timedelta(days=n), today - timedelta(days=n)) for n in range(91, -1, -1)]
    end = today + timedelta(days=(4 - today.weekday()) % 7)
    weeks = [
        (end - timedelta(days=7 * n + 6), end - timedelta(days=7 * n)) for n in range(25, -1, -1)
    ]
    months = []
    y, m = today.year, today.month
    for _ in range(24):
        first = date(y, m, 1)
        following = date(y + m // 12, m % 12 + 1, 1)
        months.append((first, following - timedelta(days=1)))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    months.reverse()

    def moment(d: date) -> datetime:
        return datetime(d.year, d.month, d.day, tzinfo=zone)

    out: dict[str, list] = {}
    for name, periods in (("daily", days), ("weekly", weeks), ("monthly", months)):
        rows = []
        for first, last in periods:
            lo, hi = moment(first), moment(last + timedelta(days=1))
            new = sum(1 for f in live if lo <= f.created_at < hi)
            solved = [f for f in live if f.solved_at and lo <= max(f.solved_at, f.created_at) < hi]
            backlog = sum(
                1 for f in live if f.created_at < hi and not (f.solved_at and f.solved_at < hi)
            )
            met = {True: 0, False: 0}
            total = {True: 0, False: 0}
            for f in live:
                judged = min(f.solved_at or now, now)
                for is_fr, target in ((True, f.first_response), (False, f.resolution)):
                    outcome = settled(target, judged)
                    if outcome and lo <= outcome[0] < hi:
                        total[is_fr] += 1
                        met[is_fr] += outcome[1]
            replies = [
                max((f.first_response_at - f.created_at).total_seconds(), 0) / 3600
                for f in live
                if f.first_response_at and lo <= f.first_response_at < hi
            ]
            scores = [f.csat for f in solved if f.csat is not None]
            rows.append(
                [
                    new,
                    len(solved),
                    backlog,
                    round(met[True] / total[True], 4) if total[True] else None,
                    round(met[False] / total[False], 4) if total[False] else None,
                    round(statistics.median(replies), 2) if replies else None,
                    (total[True] - met[True]) + (total[False] - met[False]),
                    round(sum(scores) / len(scores), 2) if scores else None,
                    len(scores),
                ]
            )
        out[name] = rows
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--naive", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--stale-backlog", action="store_true")
    args = parser.parse_args()

    rules = load_rules(ROOT / "rules")
    categories = tuple(dict.fromkeys([*(r.value for r in rules.categories), "General"]))
    settings = ReportSettings(
        timezone="Europe/Berlin", categories=categories, priorities=rules.levels
    )
    started = time.perf_counter()
    facts = [
        project(t, rules.evaluate(t, NOW), NOW)
        for t in tickets(args.tickets, args.seed, args.stale_backlog)
    ]
    print(f"{len(facts):,} facts made in {time.perf_counter() - started:.1f} s (not timed below)")

    timings = []
    for _ in range(3):
        started = time.perf_counter()
        reports = build_reports(facts, NOW, settings)
        timings.append(time.perf_counter() - started)
    sizes = ", ".join(f"{r.name} {len(r.rows)}x{len(r.columns)}" for r in reports)
    print(f"build_reports, {len(facts):,} facts: {min(timings):.3f} s (best of 3; {sizes})")

    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{folder}/state.db")
        started = time.perf_counter()
        store.save_facts(facts)
        saved = time.perf_counter() - started
        started = time.perf_counter()
        loaded = list(store.report_facts(report_since(NOW, settings)))
        read = time.perf_counter() - started
        store.engine.dispose()
    print(
        f"state (SQLite): save_facts {len(facts):,} in {saved:.2f} s; "
        f"report_facts -> {len(loaded):,} facts in {read:.2f} s"
    )

    sample = facts[: args.naive]
    started = time.perf_counter()
    expected = naive(sample, NOW, settings)
    slow = time.perf_counter() - started
    started = time.perf_counter()
    got = {r.name: r for r in build_reports(sample, NOW, settings)}
    fast = time.perf_counter() - started
    for name, rows in expected.items():
        cells = [list(row[1 : 1 + len(MEASURES)]) for row in got[name].rows]
        if cells != rows:
            bad = next(i for i, (a, b) in enumerate(zip(cells, rows, strict=True)) if a != b)
            print(f"MISMATCH in {name} row {bad}: syncd {cells[bad]} naive {rows[bad]}")
            return 1
    print(
        f"naive per-period scans, {len(sample):,} facts: {slow:.2f} s; "
        f"build_reports on the same: {fast:.3f} s ({slow / fast:.0f}x); figures equal"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
