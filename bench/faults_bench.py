"""Fault scenarios against the sandbox, and the figures the reliability issue asks for.

    .venv/bin/python bench/faults_bench.py [--tickets 1000]

- outage: HubSpot answers 503 to everything for several cycles while tickets keep changing;
  the sheet keeps syncing, HubSpot's share is queued, then it catches up from its backlog;
- rate limits: 30% of the answers of Zendesk, HubSpot and Sheets are 429 with Retry-After 2;
  every 429 is absorbed and no request reaches an API before its Retry-After allows;
- partial failure: HubSpot refuses the records of one priority (an option the portal lacks);
  they become dead letters, the rest is written; with the cause fixed, half are recovered by
  the automatic retry and half by `syncd dlq retry` (the same retry pass, in process).

Each scenario checks both sinks at the end: lost and duplicated records must be 0. The real
client libraries talk real HTTP to an in-process sandbox; syncd's logs are silenced.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syncd import logs  # noqa: E402
from syncd.config import load_config  # noqa: E402
from syncd.sandbox import HUBSPOT_TOKEN, ZENDESK_TOKEN, Sandbox  # noqa: E402
from syncd.wiring import Parts, build  # noqa: E402
from tests.conftest import RULES, write_config  # noqa: E402
from tests.fault_checks import crm_ids, lost_and_duplicated, sheet_ids  # noqa: E402

APIS = ("zendesk", "hubspot", "sheets")


def parts_for(sandbox: Sandbox, workdir: Path, **overrides: Any) -> Parts:
    """syncd's parts, configured against the sandbox, HubSpot set up."""
    key = sandbox.write_service_account(workdir / "sa.json")
    data = sandbox.config(f"sqlite:///{workdir / 'state.db'}", str(RULES), key)
    data["notifications"] = {}
    for section, value in overrides.items():
        if isinstance(value, dict):
            data.setdefault(section, {}).update(value)
        else:
            data[section] = value
    parts = build(load_config(write_config(workdir / "syncd.yaml", data)))
    for sink in parts.sinks:
        if hasattr(sink, "setup"):
            sink.setup()
    return parts


def tally(sandbox: Sandbox, expected: set[str]) -> dict[str, int]:
    lost_s, dup_s = lost_and_duplicated(expected, sheet_ids(sandbox))
    lost_c, dup_c = lost_and_duplicated(expected, crm_ids(sandbox))
    return {"lost": lost_s + lost_c, "duplicated": dup_s + dup_c}


def outage(tickets: int, workdir: Path) -> dict[str, Any]:
    with Sandbox() as sandbox:
        made = sandbox.zendesk.generate(tickets, seed=11)
        expected = {str(t["id"]) for t in made}
        parts = parts_for(
            sandbox,
            workdir,
            helpdesk={"page_size": 100},
            max_tickets_per_cycle=100,
            retry_attempts=2,
            circuit_breaker={"failures": 2, "probe_interval": "1s"},
        )
        sandbox.reset_counts()
        sandbox.faults.outage = {"hubspot"}
        cycles, report = 0, parts.cycle()
        while report.more or cycles < 3:
            cycles += 1
            open_ones = [t for t in made if t["status"] in ("new", "open")][cycles * 5 :][:5]
            for ticket in open_ones:
                sandbox.zendesk.update_ticket(ticket["id"], subject=f"edited {cycles}")
            report = parts.cycle()
        queued = report.sinks["hubspot"].backlog
        during = sandbox.counts().get("hubspot", 0)
        sheet_ok = set(sheet_ids(sandbox)) == expected
        sandbox.faults.outage = set()
        time.sleep(1.1)
        catch_up = 0
        report = parts.cycle()
        while report.catching_up:
            catch_up += 1
            report = parts.cycle()
        return {
            "cycles in outage": cycles + 1,
            "sheet complete during outage": sheet_ok,
            "HubSpot requests during outage": during,
            "queued for HubSpot": queued,
            "cycles to catch up": catch_up + 1,
            **tally(sandbox, expected),
        }


def rate_limits(tickets: int, workdir: Path) -> dict[str, Any]:
    with Sandbox() as sandbox:
        made = sandbox.zendesk.generate(tickets, seed=7)
        expected = {str(t["id"]) for t in made}
        parts = parts_for(sandbox, workdir, retry_attempts=10)
        sandbox.reset_counts()
        sandbox.faults.rate, sandbox.faults.rate_limited_share = 0.3, 1.0
        sandbox.faults.retry_after, sandbox.faults.only = 2, set(APIS)
        started = time.monotonic()
        report = parts.cycle()
        while report.more:
            report = parts.cycle()
        seconds = time.monotonic() - started
        sandbox.faults.rate = 0.0
        arrivals = sandbox.arrivals()
        early = 0
        for api in APIS:
            mine = [a for a in arrivals if a.api == api]
            for answer, following in pairwise(mine):
                if answer.status == 429 and following.at < answer.at + (answer.retry_after or 0):
                    early += 1
        return {
            "requests": len(arrivals),
            "429s absorbed": sum(a.status == 429 for a in arrivals),
            "sent before Retry-After": early,
            "errors": report.errors,
            "seconds": round(seconds, 1),
            **tally(sandbox, expected),
        }


def partial_failure(tickets: int, workdir: Path) -> dict[str, Any]:
    with Sandbox() as sandbox:
        made = sandbox.zendesk.generate(tickets, seed=5)
        expected = {str(t["id"]) for t in made}
        bad = {"Critical": "SEVERE", "High": "SEVERE", "Medium": "MEDIUM", "Low": "LOW"}
        parts = parts_for(
            sandbox, workdir, hubspot={"priorities": bad}, dead_letters={"first_retry": "1m"}
        )
        report = parts.cycle()
        while report.more:
            report = parts.cycle()
        letters = parts.store.dead_letter_rows()
        good = {"Critical": "URGENT", "High": "HIGH", "Medium": "MEDIUM", "Low": "LOW"}
        fixed = parts_for(sandbox, workdir, hubspot={"priorities": good})
        # Half by `syncd dlq retry` (a retry pass now), half by the automatic retry.
        by_hand = [row["id"] for row in letters[: len(letters) // 2]]
        fixed.store.retry_dead_letters_now(by_hand, datetime.now(UTC))
        manual = fixed.cycle(pull=False).sinks["hubspot"].recovered
        later = datetime.now(UTC) + timedelta(minutes=2)  # the rest come due
        automatic = fixed.cycle(clock=lambda: later).sinks["hubspot"].recovered
        return {
            "dead-lettered": len(letters),
            "reason (first)": letters[0]["reason"][:60] if letters else "",
            "recovered by syncd dlq retry": manual,
            "recovered automatically": automatic,
            "still dead letters": len(fixed.store.dead_letter_rows()),
            **tally(sandbox, expected),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    args = parser.parse_args()
    os.environ.setdefault("ZENDESK_TOKEN", ZENDESK_TOKEN)
    os.environ.setdefault("HUBSPOT_TOKEN", HUBSPOT_TOKEN)
    logs.configure("critical", "console")  # the faults are on purpose: no error lines
    scenarios = {"outage": outage, "rate limits": rate_limits, "partial failure": partial_failure}
    for name, scenario in scenarios.items():
        with tempfile.TemporaryDirectory() as tmp:
            figures = scenario(args.tickets, Path(tmp))
        print(f"{name}:")
        for label, value in figures.items():
            print(f"  {label:32} {value}")


if __name__ == "__main__":
    main()
