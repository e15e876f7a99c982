"""Hot reload: every broken change is rejected with file:line, the last good rules keep
running, and a valid change applies at the next check."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from syncd.model import Status, Ticket
from syncd.reload import RuleReloader
from tests.conftest import RULES
from tests.test_rules import BROKEN

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
REFUND = Ticket(
    id="1",
    source="t",
    subject="Please refund my invoice",
    description="",
    status=Status.OPEN,
    created_at=NOW,
    updated_at=NOW,
)


def test_broken_changes_keep_the_last_good_rules(tmp_path: Path):
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules, ignore=shutil.ignore_patterns("tests"))
    reloader = RuleReloader(rules)
    good = reloader.ruleset
    assert len(BROKEN) >= 20
    for name, (text, _location, message) in BROKEN.items():
        broken = rules / f"zz_{name}.yaml"
        broken.write_text(text)
        assert reloader.check() is False, name
        assert reloader.ruleset is good, f"{name}: the last good rules must keep running"
        # Among other files the exact spot can differ (a catch-all in triage.yaml makes an
        # earlier rule the unreachable one), but the broken file and a line are always named.
        assert re.search(rf"{re.escape(str(broken))}:\d+:\d+", reloader.last_error or ""), name
        assert message in (reloader.last_error or ""), name
        assert reloader.evaluate(REFUND, NOW).category == "Billing"
        broken.unlink()
    # A valid change: refunds become their own category, at the next check.
    triage = rules / "triage.yaml"
    triage.write_text(
        triage.read_text().replace(
            "categories:\n",
            "categories:\n  - category: Refunds\n    when: {text: {contains: refund}}\n",
            1,
        )
    )
    assert reloader.check() is True and reloader.last_error is None
    assert reloader.evaluate(REFUND, NOW).category == "Refunds"
    assert reloader.check() is False  # nothing changed since
