"""Kill scenarios on real `syncd run` processes: SIGKILL at random moments of a sync, and
failover between two replicas sharing a PostgreSQL state.

The sandbox runs in the caller's process; syncd runs as child processes, exactly as deployed,
and is killed with SIGKILL (no handler, no cleanup). Afterwards `tally` compares what the
sheet and HubSpot hold with what the helpdesk says: every ticket once, with its latest values.
`tests/test_crash.py` and `tests/test_failover.py` assert on the results;
`bench/kill_bench.py` runs the same scenarios and prints the figures.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from syncd.sandbox import HUBSPOT_TOKEN, SPREADSHEET_ID, ZENDESK_TOKEN, Sandbox
from tests.conftest import ROOT, RULES, write_config

LIVE = ("new", "open", "pending", "hold", "solved")  # statuses a ticket can still leave
EDITS = ("open", "pending", "solved")  # statuses the scenarios set (same name in every sink)


class Replica:
    """`syncd run` in a child process, logging JSON lines to a file."""

    def __init__(self, config: Path, log: Path, env: dict[str, str]) -> None:
        self.log = log
        self._log_file = log.open("a")
        self.started = time.time()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "syncd.cli", "--log-format", "json", "run", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=self._log_file,
            env=env,
            cwd=ROOT,
        )

    def events(self) -> list[dict[str, Any]]:
        """The JSON log lines this process has written so far."""
        found = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except ValueError:
                    continue  # a line cut short by SIGKILL
        return [e for e in found if _epoch(e) >= self.started]

    def wait_for(self, event: str, timeout: float, after: float = 0.0) -> dict[str, Any] | None:
        """The first log line of `event` ("cycle", or "lease acquired" for "lease acquired:
        this replica...") logged after `after` (epoch seconds); None if none came in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in self.events():
                name = entry.get("event", "")
                if (name == event or name.startswith(event + ":")) and _epoch(entry) >= after:
                    return entry
            if self.proc.poll() is not None:
                return None
            time.sleep(0.05)
        return None

    def kill(self) -> float:
        """SIGKILL, and reap the process; when it was sent (epoch seconds)."""
        at = time.time()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._log_file.close()
        return at

    def stop(self) -> int:
        """SIGTERM and wait; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self._log_file.close()
        return code


@dataclass
class Tally:
    """What the sheet and HubSpot hold, against the helpdesk's tickets."""

    tickets: int
    lost: dict[str, list[str]] = field(default_factory=dict)  # sink -> ticket ids missing
    duplicated: dict[str, list[str]] = field(default_factory=dict)  # ids on several records
    stale: dict[str, list[str]] = field(default_factory=dict)  # ids with older values
    unknown: dict[str, list[str]] = field(default_factory=dict)  # ids the helpdesk lacks

    @property
    def clean(self) -> bool:
        """Every ticket once in each sink, with its latest values."""
        return not any(self.counts().values())

    def counts(self) -> dict[str, int]:
        """Records lost, duplicated, stale and unknown, over both sinks."""
        return {
            name: sum(len(ids) for ids in getattr(self, name).values())
            for name in ("lost", "duplicated", "stale", "unknown")
        }


def tally(sandbox: Sandbox) -> Tally:
    """Compare the sheet's Tickets tab and HubSpot's tickets with the helpdesk."""
    expected = {str(t["id"]): t for t in sandbox.zendesk.tickets()}
    result = Tally(len(expected))
    held = {"sheets": _sheet_records(sandbox), "hubspot": _crm_records(sandbox)}
    for sink, records in held.items():
        seen = Counter(key for key, _, _ in records)
        result.lost[sink] = sorted(set(expected) - set(seen), key=int)
        result.duplicated[sink] = sorted((k for k, n in seen.items() if n > 1), key=int)
        result.unknown[sink] = sorted(set(seen) - set(expected))
        result.stale[sink] = sorted(
            (
                key
                for key, subject, status in records
                if key in expected and not _latest(expected[key], subject, status)
            ),
            key=int,
        )
    return result


def _latest(ticket: dict[str, Any], subject: str, status: str) -> bool:
    if subject != (ticket["subject"] or f"(no subject) #{ticket['id']}"):
        return False
    # Only the statuses the scenarios set are compared: the helpdesk's others have names
    # of their own in the sinks (hold is on_hold, a merge names its target).
    return ticket["status"] not in EDITS or status == ticket["status"]


def _sheet_records(sandbox: Sandbox) -> list[tuple[str, str, str]]:
    if "Tickets" not in sandbox.sheets.sheet_titles(SPREADSHEET_ID):
        return []
    rows = sandbox.sheets.values(SPREADSHEET_ID, "Tickets")
    if not rows:
        return []
    at = {name: i for i, name in enumerate(rows[0])}
    key = at.get("Ticket", at.get("Ticket id", 0))
    subject, status = at["Subject"], at["Status"]

    def cell(row: list[str], i: int) -> str:
        return str(row[i]) if i < len(row) else ""

    return [
        (cell(row, key), cell(row, subject), cell(row, status))
        for row in rows[1:]
        if cell(row, key)
    ]


def _crm_records(sandbox: Sandbox) -> list[tuple[str, str, str]]:
    return [
        (
            str(o["properties"].get("helpdesk_ticket_id")),
            o["properties"].get("subject") or "",
            o["properties"].get("helpdesk_status") or "",
        )
        for o in sandbox.hubspot.objects("tickets")
    ]


def sandbox_config(
    sandbox: Sandbox, workdir: Path, state_url: str, **settings: Any
) -> tuple[Path, dict[str, str]]:
    """A config for `syncd run` against the sandbox (`section__option=value` overrides), and
    the environment it needs; runs `syncd setup` once.

    HubSpot's 10-second limit is lifted in the sandbox (and syncd's pacing raised to match):
    rate limits have tests of their own, and here they would only stretch the runtime."""
    sandbox.hubspot.max_per_10s = None
    key = sandbox.write_service_account(workdir / "sa.json")
    data = sandbox.config(state_url, str(RULES), key)
    data["hubspot"]["requests_per_10s"] = 1000
    data["poll_interval"] = "0.2s"
    data["ops"] = {"enabled": False}
    for name, value in settings.items():
        section, _, option = name.partition("__")
        if option:
            data.setdefault(section, {})[option] = value
        else:
            data[name] = value
    env = {
        **os.environ,
        **sandbox.slack_webhooks(),
        "ZENDESK_TOKEN": ZENDESK_TOKEN,
        "HUBSPOT_TOKEN": HUBSPOT_TOKEN,
    }
    env.pop("SYNCD_STATE_URL", None)
    config = write_config(workdir / "syncd.yaml", data)
    setup = subprocess.run(
        [sys.executable, "-m", "syncd.cli", "setup", "-c", str(config)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert setup.returncode == 0, setup.stderr
    return config, env


def edit_some(sandbox: Sandbox, rng: random.Random, count: int, label: str) -> list[str]:
    """Change the subject and status of `count` live tickets in the helpdesk; their ids."""
    live = [t for t in sandbox.zendesk.tickets() if t["status"] in LIVE]
    chosen = rng.sample(live, min(count, len(live)))
    for ticket in chosen:
        base = ticket["subject"].split(" [edit")[0]
        sandbox.zendesk.update_ticket(
            ticket["id"], subject=f"{base} [edit {label}]", status=rng.choice(EDITS)
        )
    return [str(t["id"]) for t in chosen]


def wait_until_caught_up(replica: Replica, after: float, timeout: float) -> dict[str, Any]:
    """A cycle begun after `after` (epoch seconds) that found nothing new at the helpdesk,
    failed nowhere and left no sink owing anything: every change made before `after` is in
    the sinks. (Polling the sinks instead would compete with syncd for the sandbox.) The log
    stamps a cycle when it ends, so the second such cycle ended is the one surely begun
    after `after`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        idle = [
            entry
            for entry in replica.events()
            if entry.get("event") == "cycle"
            and _epoch(entry) >= after
            and entry.get("pulled") == 0
            and entry.get("errors") == 0
            and not any((entry.get("backlog") or {}).values())
        ]
        if len(idle) >= 2:
            return idle[1]
        assert replica.proc.poll() is None, f"syncd exited early; see {replica.log}"
        time.sleep(0.2)
    raise AssertionError(f"syncd did not catch up within {timeout:.0f}s; see {replica.log}")


# --- the scenarios ------------------------------------------------------------------------------


@dataclass
class CrashResult:
    """The crash scenario's figures."""

    seed: int
    kills: int
    edited: int  # tickets changed in the helpdesk along the way
    seconds: float
    killing_seconds: float  # of which the runs that were killed
    tally: Tally

    def summary(self) -> str:
        """One line for the test's output and the bench."""
        counts = self.tally.counts()
        return (
            f"crash: seed {self.seed}, {self.kills} SIGKILLs survived, {self.tally.tickets:,} "
            f"tickets, {self.edited} edited; lost {counts['lost']}, duplicated "
            f"{counts['duplicated']}, stale {counts['stale']} ({self.seconds:.0f}s, of which "
            f"{self.killing_seconds:.0f}s in the killed runs)"
        )


def crash_scenario(
    sandbox: Sandbox,
    workdir: Path,
    *,
    tickets: int = 10_000,
    kills: int = 30,
    seed: int | None = None,
    state_url: str | None = None,
) -> CrashResult:
    """Sync `tickets` with `syncd run`, SIGKILLed at a random moment `kills` times and
    restarted each time, with a few tickets edited in the helpdesk between runs and while one
    runs; then one last run to the end. The seed makes the moments repeatable."""
    seed = seed if seed is not None else random.SystemRandom().randrange(1_000_000)
    rng = random.Random(seed)
    began = time.monotonic()
    sandbox.zendesk.generate(tickets, seed=seed % 1000)
    config, env = sandbox_config(
        sandbox,
        workdir,
        state_url or f"sqlite:///{workdir / 'state.db'}",
        max_tickets_per_cycle=500,
        helpdesk__page_size=500,
        # A restarted replica is a new claimant: it waits for the dead one's lease to lapse.
        # A short lease keeps that wait inside the restart's own start-up time.
        state__lease_seconds="1s",
    )
    log = workdir / "syncd.log"
    edited: set[str] = set()
    for kill in range(kills):
        replica = Replica(config, log, env)
        if rng.random() < 0.15:
            time.sleep(rng.uniform(0.0, 1.0))  # while it starts: imports, state, lease
        else:
            up = replica.wait_for("daemon started", timeout=60)
            assert up, f"run {kill + 1} did not start; see {log}"
            time.sleep(rng.uniform(0.0, 4.0))  # while it pulls, writes or checkpoints
        if rng.random() < 0.5:
            edited.update(edit_some(sandbox, rng, rng.randint(1, 3), f"{kill}a"))
            time.sleep(rng.uniform(0.0, 0.3))
        replica.kill()
        edited.update(edit_some(sandbox, rng, rng.randint(1, 3), f"{kill}b"))
    killing = time.monotonic() - began
    replica = Replica(config, log, env)
    wait_until_caught_up(replica, replica.started, timeout=240)
    code = replica.stop()
    assert code == 0, f"the last run exited {code}; see {log}"
    seconds = time.monotonic() - began
    return CrashResult(seed, kills, len(edited), seconds, killing, tally(sandbox))


@dataclass
class FailoverResult:
    """The failover scenario's figures."""

    lease_seconds: float
    failover_seconds: float  # SIGKILL of the active replica -> the standby holds the lease
    first_cycle_seconds: float  # SIGKILL -> the standby's first cycle has ended
    tally: Tally
    standby_cycles_before: int  # cycles the standby ran while the active one lived (0)

    def summary(self) -> str:
        """One line for the test's output and the bench."""
        counts = self.tally.counts()
        return (
            f"failover: lease {self.lease_seconds:g}s, standby took over "
            f"{self.failover_seconds:.2f}s after SIGKILL, its first cycle ended after "
            f"{self.first_cycle_seconds:.2f}s; {self.tally.tickets:,} tickets, lost "
            f"{counts['lost']}, duplicated {counts['duplicated']}, stale {counts['stale']}"
        )


def failover_scenario(
    sandbox: Sandbox,
    workdir: Path,
    state_url: str,
    *,
    tickets: int = 3000,
    lease_seconds: float = 2.0,
    seed: int = 7,
) -> FailoverResult:
    """Two `syncd run` replicas on one PostgreSQL state: the active one is SIGKILLed while it
    syncs; the standby takes over once the lease lapses and finishes the job."""
    rng = random.Random(seed)
    sandbox.zendesk.generate(tickets, seed=seed)
    config, env = sandbox_config(
        sandbox,
        workdir,
        state_url,
        max_tickets_per_cycle=250,
        helpdesk__page_size=250,
        state__lease_seconds=f"{lease_seconds}s",
    )
    first = Replica(config, workdir / "first.log", env)
    assert first.wait_for("lease acquired", timeout=60), "the first replica never led"
    second = Replica(config, workdir / "second.log", env)
    assert second.wait_for("standby", timeout=60), "the second replica never stood by"
    # Kill the active replica in the middle of the sync, after a checkpoint or more.
    assert first.wait_for("cycle", timeout=60), "the first replica never finished a cycle"
    time.sleep(rng.uniform(0.2, 1.0))
    standby_cycles = sum(e.get("event") == "cycle" for e in second.events())
    edit_some(sandbox, rng, 5, "before-kill")
    killed_at = first.kill()
    taken = second.wait_for("lease acquired", timeout=10 * lease_seconds, after=killed_at)
    assert taken, "the standby never took over"
    cycled = second.wait_for("cycle", timeout=60, after=_epoch(taken))
    assert cycled, "the standby took over but finished no cycle"
    edited_at = time.time()
    edit_some(sandbox, rng, 5, "after-failover")
    wait_until_caught_up(second, edited_at, timeout=120)
    assert second.stop() == 0
    return FailoverResult(
        lease_seconds,
        _epoch(taken) - killed_at,
        _epoch(cycled) - killed_at,
        tally(sandbox),
        standby_cycles,
    )


def _epoch(entry: dict[str, Any]) -> float:
    stamp = entry.get("timestamp")
    if not stamp:
        return 0.0
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
