"""A rule change takes effect on the tickets already seen (issue 14, item 9): after a valid
reload the open tickets are decided again and the sheet and HubSpot updated within two
cycles, within the per-cycle limits; a rejected change is reported on /readyz and /metrics
with its file and line while the last good rules keep running."""

from __future__ import annotations

import json
import shutil
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ruamel.yaml import YAML

from syncd import metrics
from syncd.ops import OpsServer
from syncd.reload import RuleReloader
from syncd.sandbox import SPREADSHEET_ID, Sandbox
from tests.conftest import RULES, Syncd, write_config


def _priorities(sandbox: Sandbox) -> dict[str, str]:
    rows = sandbox.sheets.values(SPREADSHEET_ID, "Tickets")
    column = rows[0].index("Priority")
    return {r[0]: r[column] for r in rows[1:]}


def test_a_new_default_priority_reaches_the_open_tickets_within_two_cycles(
    sandbox: Sandbox, config_path: Path, tmp_path: Path
):
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules, ignore=shutil.ignore_patterns("tests"))
    data = YAML().load(config_path.read_text())
    data["rules"]["dir"] = str(rules)
    data["max_tickets_per_cycle"] = 2  # the re-evaluation goes in bounded batches
    write_config(config_path, data)
    syncd = Syncd(config_path)
    syncd.setup()
    now = datetime.now(UTC).replace(microsecond=0)
    ids = [
        str(sandbox.zendesk.add_ticket(subject=f"Hello {n}", requester_email=f"q{n}@x.io")["id"])
        for n in range(3)
    ]
    solved = sandbox.zendesk.add_ticket(subject="Hello again", status="solved")
    for _ in range(3):
        syncd.once(at=now)
    assert {_priorities(sandbox)[i] for i in ids} == {"Medium"}

    reloader = RuleReloader(rules, syncd.parts.rules)
    triage = rules / "triage.yaml"
    triage.write_text(triage.read_text().replace("default: Medium", "default: High", 1))
    assert reloader.check()
    sandbox.reset_counts()
    reports = [syncd.parts.cycle(rules=reloader.ruleset, clock=lambda: now) for _ in range(2)]
    assert [r.timers for r in reports] == [2, 1], "two open tickets a cycle, the solved one not"
    shown = _priorities(sandbox)
    assert {shown[i] for i in ids} == {"High"}
    assert shown[str(solved["id"])] == "Medium", "closed tickets keep their decision"
    for key in ids:
        hub = sandbox.hubspot.find("tickets", "helpdesk_ticket_id", key)
        assert hub["properties"]["hs_ticket_priority"] == "HIGH"
    # Within the usual per-cycle cost: one Zendesk request, one HubSpot upsert and two
    # Sheets requests (the tabs ride along) per cycle.
    counts = sandbox.counts()
    assert counts["zendesk"] == 2 and counts["sheets"] <= 4 and counts["hubspot"] <= 2
    # Nothing more to do: the rule set in force is remembered.
    assert syncd.parts.cycle(rules=reloader.ruleset, clock=lambda: now).timers == 0
    restarted = Syncd(config_path)  # a restart with the same (new) rules: nothing again
    assert restarted.once(at=now + timedelta(seconds=1)).timers == 0


def test_a_rejected_rule_change_is_reported_with_its_file_and_line(tmp_path: Path):
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules, ignore=shutil.ignore_patterns("tests"))
    measured = metrics.reset()
    reloader = RuleReloader(rules)
    (rules / "zz_broken.yaml").write_text("name: broken\nowner: a\npriorities:\n  - nonsense\n")
    assert reloader.check() is False
    with OpsServer(measured, 300) as server:
        with urllib.request.urlopen(server.url + "/metrics") as answer:
            text = answer.read().decode()
        try:
            urllib.request.urlopen(server.url + "/readyz")
        except urllib.error.HTTPError as exc:  # not ready: no cycle yet
            body = json.loads(exc.read())
    assert 'syncd_rules_rejected{file="zz_broken.yaml",line="3"} 1.0' in text
    (problem,) = body["rules_rejected"]
    assert (problem["file"], problem["line"]) == ("zz_broken.yaml", 3)
    (rules / "zz_broken.yaml").unlink()
    assert reloader.check() is True
    assert measured.readiness(300).rules_rejected == []
