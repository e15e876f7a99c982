"""A large Freshdesk backfill, interrupted and resumed: exactly once, flat memory, rate budget.

    .venv/bin/python bench/backfill_bench.py [--tickets 40000] [--interrupts 2]
        [--budget-tickets 8000 --credits-per-minute 50]

1. The sandbox (`syncd sandbox`, its own process) generates the tickets in its Freshdesk.
   At 100 tickets a page, 40,000 tickets are 400 pages: past Freshdesk's 300-page cap on a
   listing, which syncd crosses by moving `updated_since` forward.
2. `syncd backfill --since 2000-01-01` runs as a child process and is interrupted (SIGINT,
   as Ctrl-C) after a few batches, `--interrupts` times; then it runs to the end. Each run
   resumes from the last batch every sink accepted.
3. The sheet and HubSpot are read back: every ticket must be there exactly once. Peak memory
   is each syncd process's maximum resident set (the sandbox, holding every ticket, is apart).
4. A second, smaller backfill with `credits_per_minute` set (Freshdesk's rate limit, in API
   credits; a request costs at least one): the sandbox's log of Freshdesk requests shows the
   most requests sent in any 60-second window, which must stay within the credits. It takes about
   (pages + extras) / budget minutes; `--budget-tickets 0` skips it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sync_bench import RemoteSandbox  # noqa: E402
from syncd.sandbox import FRESHDESK_API_KEY, HUBSPOT_TOKEN, SPREADSHEET_ID  # noqa: E402
from tests.conftest import write_config  # noqa: E402

MEMORY_LIMIT_MB = 300


def freshdesk_config(sandbox: RemoteSandbox, workdir: Path, per_minute: int | None) -> Path:
    helpdesk: dict[str, Any] = {
        "kind": "freshdesk",
        "domain": "acme",
        "base_url": sandbox.url,
        "custom_fields": {"plan": "cf_plan"},
    }
    if per_minute:
        helpdesk["credits_per_minute"] = per_minute
    return bench_config(sandbox, workdir, helpdesk)


class Served(Protocol):
    """A sandbox in another process: its base URL and the service-account key it wrote."""

    url: str
    key: Path


def bench_config(
    sandbox: Served, workdir: Path, helpdesk: dict[str, Any], name: str = "syncd.yaml"
) -> Path:
    """A syncd config with this helpdesk section and every sink on the sandbox, its state in
    `workdir` and the default rules, logging warnings only (the benches print figures)."""
    data = {
        "helpdesk": helpdesk,
        "hubspot": {"base_url": sandbox.url},
        "sheets": {
            "spreadsheet_id": SPREADSHEET_ID,
            "credentials_file": str(sandbox.key),
            "base_url": sandbox.url,
        },
        "state": {"url": f"sqlite:///{workdir / 'state.db'}"},
        "rules": {"dir": str(ROOT / "rules")},
        "log": {"level": "warning"},
    }
    return write_config(workdir / name, data)


def syncd(*args: str) -> list[str]:
    return [sys.executable, "-m", "syncd.cli", *args]


ENV = {**os.environ, "FRESHDESK_API_KEY": FRESHDESK_API_KEY, "HUBSPOT_TOKEN": HUBSPOT_TOKEN}


def backfill_run(config: Path, stop_after_batches: int | None) -> tuple[int, int, float, float]:
    """One `syncd backfill` child: (exit code, batches seen, seconds, peak resident MB);
    SIGINT after N batches."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        syncd("backfill", "--config", str(config), "--since", "2000-01-01", "--batch", "1000"),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=ENV,
        cwd=ROOT,
    )
    assert proc.stderr is not None
    watch = HighWater(proc.pid)
    batches = 0
    for line in proc.stderr:
        if line.startswith("backfill "):
            batches += 1
            print(f"    {line.strip()}", flush=True)
            if stop_after_batches is not None and batches >= stop_after_batches:
                proc.send_signal(signal.SIGINT)
                break
        elif "error" in line.lower():
            print(f"    {line.strip()}", flush=True)
    proc.stderr.close()
    code = proc.wait(timeout=600)
    return code, batches, time.perf_counter() - started, watch.stop()


class HighWater:
    """The peak resident set of a running process, from Linux's VmHWM.

    Not getrusage's ru_maxrss: a child forked from this process counts this process's pages
    (here, every generated ticket) until it execs, which would be charged to syncd.
    """

    def __init__(self, pid: int) -> None:
        self.path = Path(f"/proc/{pid}/status")
        self.peak_kb = 0
        self.running = True
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        while self.running:
            try:
                for line in self.path.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            except (OSError, ValueError, IndexError):
                return  # the process is gone
            time.sleep(0.05)

    def stop(self) -> float:
        """Stop watching; the peak in MB."""
        self.running = False
        self.thread.join()
        return self.peak_kb / 1024


def check_sinks(sandbox: RemoteSandbox, expected: set[str]) -> dict[str, Any]:
    rows = sandbox.admin("GET", f"/sheets/spreadsheets/{SPREADSHEET_ID}/values/Tickets")
    values = rows["values"] if isinstance(rows, dict) else rows
    sheet = Counter(str(r[0]) for r in values[1:] if r)
    crm = Counter(
        o["properties"]["helpdesk_ticket_id"]
        for o in sandbox.admin("GET", "/hubspot/objects/tickets")
    )
    return {
        "sheet_rows": sum(sheet.values()),
        "sheet_missing": len(expected - set(sheet)),
        "sheet_duplicated": sum(1 for n in sheet.values() if n > 1),
        "crm_tickets": sum(crm.values()),
        "crm_missing": len(expected - set(crm)),
        "crm_duplicated": sum(1 for n in crm.values() if n > 1),
    }


def busiest_minute(times: list[float]) -> int:
    """The most requests inside any 60-second window."""
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 60:
            start += 1
        best = max(best, end - start + 1)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=40_000)
    parser.add_argument("--interrupts", type=int, default=2)
    # Enough tickets for about 100 requests: the budget must stretch them over two minutes.
    parser.add_argument("--budget-tickets", type=int, default=8_000)
    parser.add_argument("--credits-per-minute", type=int, default=50)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sandbox = RemoteSandbox(0, workdir)
        try:
            print(f"Freshdesk backfill of {args.tickets:,} tickets through the sandbox")
            sandbox.admin("POST", "/freshdesk/generate", {"count": args.tickets, "seed": 11})
            expected = {str(t["id"]) for t in sandbox.admin("GET", "/freshdesk/tickets")}
            config = freshdesk_config(sandbox, workdir, None)
            setup = subprocess.run(
                syncd("setup", "--config", str(config)), env=ENV, cwd=ROOT, capture_output=True
            )
            assert setup.returncode == 0, setup.stderr
            sandbox.reset_counts()
            total, memory = 0.0, 0.0
            for n in range(args.interrupts):
                stop = 4 + 5 * n
                code, batches, seconds, peak = backfill_run(config, stop)
                total, memory = total + seconds, max(memory, peak)
                print(
                    f"  run {n + 1}: interrupted after {batches} batches "
                    f"(exit {code}, peak {peak:.0f} MB)"
                )
            code, batches, seconds, peak = backfill_run(config, None)
            total, memory = total + seconds, max(memory, peak)
            print(
                f"  run {args.interrupts + 1}: finished, {batches} batches "
                f"(exit {code}, peak {peak:.0f} MB)"
            )
            counts = sandbox.counts()
            result = check_sinks(sandbox, expected)
            pages = -(-args.tickets // 100)
            print()
            print(f"  tickets in the helpdesk: {len(expected):,} ({pages} listing pages)")
            print(
                f"  sheet: {result['sheet_rows']:,} rows, {result['sheet_missing']} missing, "
                f"{result['sheet_duplicated']} duplicated"
            )
            print(
                f"  HubSpot: {result['crm_tickets']:,} tickets, {result['crm_missing']} missing, "
                f"{result['crm_duplicated']} duplicated"
            )
            print(f"  requests: {json.dumps(counts)}; {total:.0f} s in all")
            print(f"  peak memory of a syncd backfill process: {memory:.0f} MB")
            exact = not any(result[k] for k in result if k.endswith(("missing", "duplicated")))
            verdict = "meets" if memory < MEMORY_LIMIT_MB else "MISSES"
            print(f"  every ticket exactly once: {'yes' if exact else 'NO'}")
            print(f"  memory under {MEMORY_LIMIT_MB} MB: {verdict}")
        finally:
            sandbox.close()
        if args.budget_tickets:
            budget_run(workdir, args.budget_tickets, args.credits_per_minute)


def budget_run(workdir: Path, tickets: int, per_minute: int) -> None:
    """A backfill under `credits_per_minute`: the busiest minute must stay within it."""
    workdir = workdir / "budget"
    workdir.mkdir()
    sandbox = RemoteSandbox(0, workdir)
    try:
        print()
        print(f"Backfill of {tickets:,} tickets with credits_per_minute: {per_minute}")
        sandbox.admin("POST", "/freshdesk/generate", {"count": tickets, "seed": 12})
        config = freshdesk_config(sandbox, workdir, per_minute)
        subprocess.run(
            syncd("setup", "--config", str(config)),
            env=ENV,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        code, _batches, seconds, _peak = backfill_run(config, None)
        times = sandbox.admin("GET", "/freshdesk/requests")["times"]
        busiest = busiest_minute(times)
        verdict = "meets" if busiest <= per_minute else "MISSES"
        print(
            f"  {len(times)} Freshdesk requests in {seconds:.0f} s (exit {code}); busiest "
            f"60-second window: {busiest} requests ({verdict} the budget of {per_minute})"
        )
    finally:
        sandbox.close()


if __name__ == "__main__":
    main()
