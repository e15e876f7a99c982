"""Scale: a Zendesk backfill of N tickets and a 10-change cycle, measured from outside (issue 17).

    .venv/bin/python bench/scale_bench.py [--sizes 10000,100000] [--quick] [--batch 1000]

For each size, side by side in one run:
1. The sandbox runs in a process of its own (a multiprocessing child), so every figure is
   syncd's own. It generates N Zendesk tickets in realistic proportions: N/5 requesters,
   N/50 organizations (100,000 tickets: 20,000 requesters, 2,000 organizations), every tenth
   ticket with a long description (6-20 KB), each with a history (replies, solves, CSAT...).
2. `syncd setup`, then `syncd backfill --since 2000-01-01` runs as a child process: its peak
   resident set is read from the OS (Linux VmHWM, polled; getrusage's ru_maxrss of children
   as a check), its CPU seconds from getrusage of children; wall time around it.
3. A settling `syncd once` (timers that came due), then 10 open tickets change (subject and
   status; requesters and organizations unchanged) and `syncd once` runs: its requests per
   API, HubSpot's to be exactly 1.
4. Requests per API are printed against the floor computed from what HubSpot holds at the
   end: tickets T, contacts C, syncd's companies K, ticket associations Ac (contacts) and Ak
   (companies): ceil(T/100) + ceil(C/100) + 2*ceil(K/100) (upserts, and the searches for
   companies to adopt) + ceil(Ac/2000) + ceil(Ak/2000) (v4 association batch create).
   Zendesk's floor is ceil(N/1000) export pages. A backfill writes one batch at a time and
   each batch must be linked before it is checkpointed, so up to one partly filled request
   per batch and endpoint comes on top of the floor (reported as "batch floor").

`--quick` runs 2,000 and 10,000 tickets. 100,000 tickets take many minutes on a loaded
2-core machine (the sandbox alone holds a few GB while it generates them).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.backfill_bench import HighWater, bench_config  # noqa: E402
from syncd.sandbox import HUBSPOT_TOKEN, ZENDESK_TOKEN  # noqa: E402

MEMORY_GOAL_MB = 300
CPU_GOAL_MS = 0.7  # CPU per ticket, end to end
LONG_SHARE = 10  # one ticket in 10 has a long description
ENV = {**os.environ, "ZENDESK_TOKEN": ZENDESK_TOKEN, "HUBSPOT_TOKEN": HUBSPOT_TOKEN}


# -- the sandbox, in a process of its own -----------------------------------------------------


def _long_text(i: int) -> str:
    """A long description (6-20 KB), different per ticket."""
    line = (
        f"Ticket {i}: steps to reproduce, logs and the customer's own account of what "
        "happened, pasted from an email thread with several replies quoted in full. "
    )
    return line * (40 + (i * 7919) % 100)


def _realistic(batch: Any, count: int) -> Any:
    """The generator's plan with N/50 organizations (it plans N/20) and every tenth ticket
    with a long description."""
    n_orgs = max(1, count // 50)
    batch.organizations = batch.organizations[:n_orgs]
    for requester in batch.requesters:
        org = requester["organization"]
        if org is not None:
            org %= n_orgs
            local = requester["email"].partition("@")[0]
            requester["email"] = f"{local}@{batch.organizations[org]['domain']}"
            requester["organization"] = org
    for i, ticket in enumerate(batch.tickets):
        if i % LONG_SHARE == 0:
            ticket["description"] = f"{ticket['description']}\n\n{_long_text(i)}"
    return batch


def serve_sandbox(count: int, workdir: str, conn: Connection) -> None:
    """The sandbox child: generate, serve, answer commands on `conn` until "stop"."""
    from syncd.sandbox import Sandbox, zendesk_data

    original = zendesk_data.plan_batch

    def plan(count: int, seed: int, now: float, agent_domain: str, **kw: Any) -> Any:
        return _realistic(original(count, seed, now, agent_domain, **kw), count)

    zendesk_data.plan_batch = plan
    sandbox = Sandbox()
    sandbox.zendesk.generate(count, seed=17)
    sandbox.start()
    key = sandbox.write_service_account(Path(workdir) / "sa.json")
    conn.send({"url": sandbox.url, "key": str(key)})
    while True:
        command, arg = conn.recv()
        if command == "stop":
            break
        if command == "counts":
            conn.send(sandbox.counts())
        elif command == "reset":
            sandbox.reset_counts()
            conn.send(None)
        elif command == "change":
            open_ones = [
                t for t in sandbox.zendesk.tickets() if t["status"] in ("new", "open", "pending")
            ]
            for ticket in open_ones[:arg]:
                status = "open" if ticket["status"] != "open" else "pending"
                sandbox.zendesk.update_ticket(ticket["id"], subject="Changed", status=status)
            conn.send(min(arg, len(open_ones)))
        elif command == "held":
            conn.send(_held(sandbox))
    sandbox.stop()


def _held(sandbox: Any) -> dict[str, int]:
    """What HubSpot holds: the counts the floor is computed from."""
    hubspot = sandbox.hubspot
    tickets = hubspot.objects("tickets")
    companies = [
        c for c in hubspot.objects("companies") if c["properties"].get("syncd_company_domain")
    ]
    contact_links = company_links = 0
    for ticket in tickets:
        contact_links += len(hubspot.associations("tickets", ticket["id"], "contacts"))
        company_links += len(hubspot.associations("tickets", ticket["id"], "companies"))
    return {
        "tickets": len(tickets),
        "contacts": len(hubspot.objects("contacts")),
        "companies": len(companies),
        "contact_links": contact_links,
        "company_links": company_links,
    }


class RemoteSandbox:
    """The sandbox child, driven over a pipe."""

    def __init__(self, count: int, workdir: Path) -> None:
        context = multiprocessing.get_context("spawn")  # nothing of this process inherited
        self.conn, child = context.Pipe()
        self.proc = context.Process(target=serve_sandbox, args=(count, str(workdir), child))
        self.proc.start()
        ready = self.conn.recv()
        self.url, self.key = ready["url"], Path(ready["key"])

    def ask(self, command: str, arg: Any = None) -> Any:
        self.conn.send((command, arg))
        return self.conn.recv()

    def close(self) -> None:
        self.conn.send(("stop", None))
        self.proc.join(timeout=30)
        if self.proc.is_alive():
            self.proc.terminate()


# -- syncd, as child processes ----------------------------------------------------------------


def config(sandbox: RemoteSandbox, workdir: Path, start: str | None = None) -> Path:
    helpdesk: dict[str, Any] = {
        "kind": "zendesk",
        "subdomain": "acme",
        "email": "ops@acme.test",
        "base_url": sandbox.url,
    }
    if start:
        helpdesk["start_time"] = start
    return bench_config(sandbox, workdir, helpdesk, "cycle.yaml" if start else "syncd.yaml")


@dataclass
class Run:
    """One syncd child process, measured."""

    seconds: float = 0.0
    cpu: float = 0.0
    peak_mb: float = 0.0
    exit: int = 0
    output: str = ""
    requests: dict[str, int] = field(default_factory=dict)


def measured(args: list[str], sandbox: RemoteSandbox) -> Run:
    """Run `syncd <args>` as a child: wall time, CPU (getrusage of children), peak RSS
    (VmHWM), requests per API served meanwhile."""
    sandbox.ask("reset")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncd.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=ROOT,
    )
    watch = HighWater(proc.pid)
    out, err = proc.communicate()
    run = Run(seconds=time.perf_counter() - started, exit=proc.returncode)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # VmHWM of this child; getrusage's maximum over all children waited for as a fallback.
    run.peak_mb = watch.stop() or after.ru_maxrss / 1024
    run.output = out.strip().splitlines()[-1] if out.strip() else err.strip()[-500:]
    run.requests = sandbox.ask("counts")
    if proc.returncode:
        print(f"    syncd {args[0]} exited {proc.returncode}: {err.strip()[-800:]}", flush=True)
    return run


def hubspot_floor(held: dict[str, int]) -> int:
    return (
        math.ceil(held["tickets"] / 100)
        + math.ceil(held["contacts"] / 100)
        + 2 * math.ceil(held["companies"] / 100)
        + math.ceil(held["contact_links"] / 2000)
        + math.ceil(held["company_links"] / 2000)
    )


def batch_floor(held: dict[str, int], tickets: int, batch: int) -> int:
    """The floor when tickets are written `batch` at a time: at most one partly filled
    request per batch and endpoint on top (contacts, companies, searches, two creates)."""
    batches = math.ceil(tickets / batch)
    return hubspot_floor(held) + 5 * batches


def one_size(count: int, batch: int, workdir: Path) -> dict[str, Any]:
    print(f"\n{count:,} tickets: generating in the sandbox process ...", flush=True)
    started = time.perf_counter()
    sandbox = RemoteSandbox(count, workdir)
    print(f"  generated in {time.perf_counter() - started:.0f} s at {sandbox.url}", flush=True)
    try:
        path = config(sandbox, workdir)
        setup = subprocess.run(
            [sys.executable, "-m", "syncd.cli", "setup", "--config", str(path)],
            env=ENV,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert setup.returncode == 0, setup.stderr
        print("  backfill ...", flush=True)
        backfill = measured(
            ["backfill", "--config", str(path), "--since", "2000-01-01", "--batch", str(batch)],
            sandbox,
        )
        print(
            f"  backfill: {backfill.seconds:.0f} s, {backfill.cpu:.0f} s CPU, "
            f"peak {backfill.peak_mb:.0f} MB, requests {json.dumps(backfill.requests)}",
            flush=True,
        )
        held = sandbox.ask("held")
        # The daemon starts from now: the backfill covered everything before.
        cycle_path = config(sandbox, workdir, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        settle = measured(["once", "--config", str(cycle_path)], sandbox)
        changed = sandbox.ask("change", 10)
        cycle = measured(["once", "--config", str(cycle_path)], sandbox)
        print(
            f"  10-change cycle ({changed} changed): {cycle.seconds:.1f} s, "
            f"requests {json.dumps(cycle.requests)}; {cycle.output}",
            flush=True,
        )
    finally:
        sandbox.close()
    return {
        "count": count,
        "backfill": backfill,
        "settle": settle,
        "cycle": cycle,
        "held": held,
        "floor": hubspot_floor(held),
        "batch_floor": batch_floor(held, count, batch),
        "zendesk_floor": math.ceil(count / 1000),
    }


def report(results: list[dict[str, Any]], batch: int) -> None:
    print()
    header = f"{'':44}" + "".join(f"{r['count']:>18,}" for r in results)
    print(header + "   goal")
    rows: list[tuple[str, list[str], str]] = [
        (
            "peak RSS of syncd backfill (MB, VmHWM)",
            [f"{r['backfill'].peak_mb:.0f}" for r in results],
            f"<= {MEMORY_GOAL_MB}, flat",
        ),
        (
            "CPU seconds per 1,000 tickets",
            [f"{1000 * r['backfill'].cpu / r['count']:.2f}" for r in results],
            f"<= {CPU_GOAL_MS:.2f}",
        ),
        ("backfill wall time (s)", [f"{r['backfill'].seconds:.0f}" for r in results], ""),
        (
            "HubSpot requests, backfill",
            [str(r["backfill"].requests.get("hubspot", 0)) for r in results],
            "floor",
        ),
        ("  floor from the counts", [str(r["floor"]) for r in results], ""),
        (f"  floor at {batch} tickets a batch", [str(r["batch_floor"]) for r in results], ""),
        (
            "  held: tickets/contacts/companies",
            [
                f"{r['held']['tickets']}/{r['held']['contacts']}/{r['held']['companies']}"
                for r in results
            ],
            "",
        ),
        (
            "Zendesk requests, backfill (floor)",
            [f"{r['backfill'].requests.get('zendesk', 0)} ({r['zendesk_floor']})" for r in results],
            "",
        ),
        (
            "Sheets requests, backfill (batches)",
            [
                f"{r['backfill'].requests.get('sheets', 0)} ({math.ceil(r['count'] / batch)})"
                for r in results
            ],
            "O(1) a batch",
        ),
        (
            "settling cycle: HubSpot requests",
            [str(r["settle"].requests.get("hubspot", 0)) for r in results],
            "timers only",
        ),
        (
            "10-change cycle: HubSpot requests",
            [str(r["cycle"].requests.get("hubspot", 0)) for r in results],
            "1",
        ),
        (
            "10-change cycle: Zendesk / Sheets requests",
            [
                f"{r['cycle'].requests.get('zendesk', 0)} / {r['cycle'].requests.get('sheets', 0)}"
                for r in results
            ],
            "",
        ),
        ("10-change cycle: wall time (s)", [f"{r['cycle'].seconds:.1f}" for r in results], ""),
        ("10-change cycle: peak RSS (MB)", [f"{r['cycle'].peak_mb:.0f}" for r in results], ""),
    ]
    for label, values, goal in rows:
        print(f"{label:44}" + "".join(f"{v:>18}" for v in values) + f"   {goal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="ticket counts, comma-separated")
    parser.add_argument("--quick", action="store_true", help="2,000 and 10,000 tickets")
    parser.add_argument("--batch", type=int, default=1000, help="tickets per backfill batch")
    args = parser.parse_args()
    sizes = [2000, 10_000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in sizes:
            workdir = Path(tmp) / str(count)
            workdir.mkdir()
            results.append(one_size(count, args.batch, workdir))
    report(results, args.batch)


if __name__ == "__main__":
    main()
