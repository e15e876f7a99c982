"""Requests, time and memory of a sync, against a naive per-ticket baseline, in one run.

    .venv/bin/python bench/sync_bench.py [--tickets 20000] [--baseline-tickets 2000]

syncd: batched upserts (100 per HubSpot request), one read + one write per cycle for the sheet.
Baseline: what a straightforward integration does, one HubSpot upsert and one sheet
`values.update` per ticket, over the same sandbox. Both use the real client libraries over
real HTTP. The sandbox runs in its own process (`syncd sandbox`, with HubSpot's documented
190 requests / 10 s limit), so the time and memory printed are syncd's own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syncd import logs  # noqa: E402
from syncd.config import Config, load_config  # noqa: E402
from syncd.sandbox import HUBSPOT_TOKEN, SPREADSHEET_ID, ZENDESK_TOKEN  # noqa: E402
from syncd.wiring import build  # noqa: E402
from tests.conftest import write_config  # noqa: E402


class RemoteSandbox:
    """`syncd sandbox` in a child process, driven through its admin API."""

    def __init__(self, tickets: int, workdir: Path) -> None:
        self.key = workdir / "sa.json"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "syncd.cli",
                "sandbox",
                "--port",
                "0",
                "--generate",
                str(tickets),
                "--credentials-out",
                str(self.key),
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().split()[3]

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}/_sandbox{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request) as response:
            text = response.read()
        return json.loads(text) if text else None

    def counts(self) -> dict[str, int]:
        return self.admin("GET", "/counts")

    def reset_counts(self) -> None:
        self.admin("POST", "/counts/reset", {})

    def config(self, workdir: Path) -> Config:
        data = {
            "helpdesk": {
                "kind": "zendesk",
                "subdomain": "acme",
                "email": "ops@acme.test",
                "base_url": self.url,
            },
            "hubspot": {"base_url": self.url},
            "sheets": {
                "spreadsheet_id": SPREADSHEET_ID,
                "credentials_file": str(self.key),
                "base_url": self.url,
            },
            "state": {"url": f"sqlite:///{workdir / 'state.db'}"},
            "rules": {"dir": str(ROOT / "rules")},
        }
        return load_config(write_config(workdir / "syncd.yaml", data))

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def sync_all(config: Config, sandbox: RemoteSandbox) -> tuple[float, dict[str, int], int]:
    """Cycles until the backlog is done: seconds, requests per API, cycles."""
    parts = build(config)
    for sink in parts.sinks:
        getattr(sink, "setup", lambda: None)()
    sandbox.reset_counts()
    started, cycles = time.perf_counter(), 0
    while True:
        report = parts.cycle()
        cycles += 1
        if not report.more:
            break
    return time.perf_counter() - started, sandbox.counts(), cycles


def baseline(config: Config, sandbox: RemoteSandbox) -> tuple[float, dict[str, int]]:
    """One HubSpot upsert and one sheet write per ticket (the naive integration)."""
    parts = build(config)
    hubspot, sheets = parts.sinks
    hubspot.setup()
    hubspot.config.batch_size = 1
    tickets = [t for page in parts.source.pull(None) for t in page.tickets]
    sandbox.reset_counts()
    started = time.perf_counter()
    sheet = sheets.client.open_by_key(SPREADSHEET_ID)
    worksheet = sheet.add_worksheet("Naive", rows=len(tickets) + 1, cols=20)
    for row, ticket in enumerate(tickets, start=2):
        decision = parts.rules.evaluate(ticket, ticket.updated_at)
        hubspot.write([hubspot.render(ticket, decision)])
        values = sheets.render(ticket, decision).payload["row"]
        worksheet.update(values=[values], range_name=f"A{row}", value_input_option="RAW")
    return time.perf_counter() - started, sandbox.counts()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--baseline-tickets", type=int, default=2_000)
    args = parser.parse_args()
    logs.configure("warning", "console")
    os.environ.setdefault("ZENDESK_TOKEN", ZENDESK_TOKEN)
    os.environ.setdefault("HUBSPOT_TOKEN", HUBSPOT_TOKEN)
    n, b = args.tickets, args.baseline_tickets
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in (b, n):
            work = Path(tmp) / f"syncd-{count}"
            work.mkdir()
            sandbox = RemoteSandbox(count, work)
            try:
                config = sandbox.config(work)
                seconds, counts, cycles = sync_all(config, sandbox)
                rows.append(("syncd first sync", count, seconds, counts, cycles))
                seconds, counts, _ = sync_all(config, sandbox)
                rows.append(("syncd idle cycle", 0, seconds, counts, 1))
                tickets = sandbox.admin("GET", "/zendesk/tickets")
                open_ones = [t for t in tickets if t["status"] not in ("closed", "solved")]
                for ticket in open_ones[:10]:
                    sandbox.admin("PUT", f"/zendesk/tickets/{ticket['id']}", {"subject": "x"})
                seconds, counts, cycles = sync_all(config, sandbox)
                rows.append(("syncd 10 changed", 10, seconds, counts, cycles))
            finally:
                sandbox.close()
        work = Path(tmp) / "baseline"
        work.mkdir()
        sandbox = RemoteSandbox(b, work)
        try:
            seconds, counts = baseline(sandbox.config(work), sandbox)
            rows.append(("baseline per-ticket", b, seconds, counts, 1))
        finally:
            sandbox.close()
    print(
        f"{'run':24} {'tickets':>8} {'seconds':>8} {'zendesk':>8} {'hubspot':>8} "
        f"{'sheets':>7} {'cycles':>6}"
    )
    for label, count, seconds, counts, cycles in rows:
        print(
            f"{label:24} {count:>8} {seconds:>8.2f} {counts.get('zendesk', 0):>8} "
            f"{counts.get('hubspot', 0):>8} {counts.get('sheets', 0):>7} {cycles:>6}"
        )
    ours = rows[0]
    naive = rows[-1]
    ours_requests = ours[3].get("hubspot", 0) + ours[3].get("sheets", 0)
    naive_requests = naive[3].get("hubspot", 0) + naive[3].get("sheets", 0)
    print(
        f"\nsink requests for {b} tickets: syncd {ours_requests}, baseline {naive_requests} "
        f"({naive_requests / max(ours_requests, 1):.0f}x fewer); "
        f"time {naive[2] / max(ours[2], 1e-9):.1f}x faster"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of syncd (this process, sandbox excluded): {peak:.0f} MB")


if __name__ == "__main__":
    main()
