"""Issue 14, item 6: the demo looks like a working support team's weeks (most tickets met, a
few breached, a mix of categories, CSAT mostly good), so its sheet tells a manager something.

Read from the demo's own export (the sheet as the sandbox stored it, one CSV per tab)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from syncd.sandbox.zendesk_data import plan_batch
from tests.conftest import run_cli


def table(folder: Path, tab: str) -> list[dict[str, str]]:
    with (folder / f"{tab}.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return [dict(zip(rows[0], row, strict=False)) for row in rows[1:]]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = run_cli("--log-level", "warning", "demo", "--output", str(out), timeout=300)
    assert result.returncode == 0, result.stderr
    return out


def test_the_demo_sheet_is_a_working_teams(demo: Path) -> None:
    tickets = table(demo, "tickets")
    live = [t for t in tickets if t["Status"] not in ("merged", "deleted", "spam")]
    sla = Counter(t.get("SLA", "") for t in live)
    assert sla["breached"] <= 0.25 * len(live), sla  # was 51 of 61
    assert sla["met"] >= 0.5 * len(live), sla
    assert any(t["Status"] in ("new", "open", "pending", "on_hold") for t in live), "a backlog"
    categories = Counter(t["Category"] for t in live)
    assert len(categories) >= 4 and max(categories.values()) <= 0.5 * len(live), categories
    ratings = Counter(t.get("CSAT", "") for t in live if t.get("CSAT"))
    assert ratings["good"] >= 2 * ratings["bad"] > 0, ratings  # good/bad: Zendesk's survey

    weekly = table(demo, "weekly-report")
    assert all(w["Resolution attainment"] for w in weekly), "targets settle every week"
    shares = [float(w["Resolution attainment"].rstrip("%")) for w in weekly]
    assert sum(shares) / len(shares) >= 70, shares  # was 0-21%
    assert all(w["CSAT good"] for w in weekly[:-1]), "every past week has ratings"

    agents = table(demo, "agents")
    assert {a["Agent"] for a in agents} - {"(unassigned)"}, "the team's agents have rows"


def test_the_generator_keeps_a_working_teams_shape_at_any_size() -> None:
    for count, seed in ((200, 1), (2_000, 11)):
        batch = plan_batch(count, seed, now=1_800_000_000.0, agent_domain="acme.example")
        statuses = Counter(t["status"] for t in batch.tickets)
        done = statuses["solved"] + statuses["closed"]
        assert done >= 0.75 * count, statuses  # 30 days of a team that keeps up
        assert statuses["open"] + statuses["pending"] > 0, statuses  # and a backlog
        if count >= 2_000:
            assert {"new", "open", "pending", "hold"} <= set(statuses), statuses
        rated = [t["satisfaction"]["score"] for t in batch.tickets if t["satisfaction"]]
        assert rated.count("good") >= 0.8 * len(rated)
    again = plan_batch(200, 1, now=1_800_000_000.0, agent_domain="acme.example")
    assert [t["status"] for t in again.tickets] == [
        t["status"] for t in plan_batch(200, 1, 1_800_000_000.0, "acme.example").tickets
    ], "deterministic per seed"
