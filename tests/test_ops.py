"""Operations: /healthz, /readyz and /metrics of the daemon, and `syncd status`.

Cycles run against the sandbox through the real Daemon and CycleRecorder, with a real ops
server on port 0; faults come from the sandbox (a 429, a HubSpot outage), never from patching
a client library.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from ruamel.yaml import YAML

from syncd import metrics
from syncd.daemon import Daemon
from syncd.errors import CredentialsError, TerminalError, TransientError, error_for
from syncd.metrics import Metrics, request_outcome
from syncd.ops import CycleRecorder, OpsServer
from syncd.pipeline import CycleReport, SinkReport
from syncd.sandbox import Sandbox
from tests.conftest import ROOT, Syncd, run_cli, write_config


def _syncd(config_path: Path, sandbox: Sandbox, **changes: Any) -> Syncd:
    """The sandbox config with `changes` on top, set up, counters at zero."""
    data = YAML(typ="safe").load(config_path.read_text())
    data.update(changes)
    write_config(config_path, data)
    configured = Syncd(config_path)
    configured.setup()
    sandbox.reset_counts()
    return configured


@pytest.fixture
def measured() -> Metrics:
    return metrics.reset()


@pytest.fixture
def server(measured: Metrics) -> Iterator[OpsServer]:
    with OpsServer(measured, ready_within=300) as ops:
        yield ops


def _cycle(syncd: Syncd, measured: Metrics) -> None:
    """One cycle as `syncd run` does it: through the daemon, recorded after."""
    daemon = Daemon(syncd.parts.cycle, 0, after_cycle=CycleRecorder(measured, syncd.parts.store))
    daemon.run(max_cycles=1)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _samples(base_url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """/metrics, parsed by prometheus-client's own parser: (sample name, labels) -> value."""
    status, text = _get(base_url + "/metrics")
    assert status == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def _rate_limit_first(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, api: str, times: int, retry_after: int
) -> None:
    """The first `times` requests to `api` meet a 429 with this Retry-After."""
    sandbox.faults.retry_after = retry_after
    serve = sandbox.faults.pick
    limited: list[str] = []

    def pick(name: str) -> int | None:
        if name == api and len(limited) < times:
            limited.append(name)
            return 429
        return serve(name)

    monkeypatch.setattr(sandbox.faults, "pick", pick)


def test_metrics_parse_and_count_pulls_writes_and_requests_by_outcome(
    sandbox: Sandbox,
    config_path: Path,
    measured: Metrics,
    server: OpsServer,
    monkeypatch: pytest.MonkeyPatch,
):
    syncd = _syncd(config_path, sandbox)
    sandbox.zendesk.generate(12)
    # The first HubSpot request meets a 429 (Retry-After: 0); the retry goes through.
    _rate_limit_first(sandbox, monkeypatch, "hubspot", times=1, retry_after=0)
    _cycle(syncd, measured)

    samples = _samples(server.url)
    assert _value(samples, "syncd_tickets_pulled_total") == 12
    assert _value(samples, "syncd_records_written_total", sink="hubspot") == 12
    assert _value(samples, "syncd_records_written_total", sink="sheets") == 12
    assert _value(samples, "syncd_api_requests_total", api="hubspot", outcome="429") == 1
    assert _value(samples, "syncd_rate_limited_total", api="hubspot") == 1
    assert _value(samples, "syncd_api_requests_total", api="hubspot", outcome="ok") >= 1
    assert _value(samples, "syncd_api_requests_total", api="zendesk", outcome="ok") >= 1
    assert _value(samples, "syncd_api_requests_total", api="sheets", outcome="ok") >= 1
    assert _value(samples, "syncd_api_requests_total", api="sheets", outcome="429") is None
    assert _value(samples, "syncd_cycle_seconds_count") == 1
    assert _value(samples, "syncd_cycles_total", outcome="ok") == 1
    assert _value(samples, "syncd_sink_up", sink="hubspot") == 1
    assert _value(samples, "syncd_dead_letters") == 0
    assert _value(samples, "syncd_actions_fired_total") == 0  # the first sync is a baseline
    assert _value(samples, "syncd_last_cycle_success_timestamp") > time.time() - 60
    assert 0 <= _value(samples, "syncd_lag_seconds") < 60


def test_zendesk_429s_are_counted(
    sandbox: Sandbox,
    config_path: Path,
    measured: Metrics,
    server: OpsServer,
    monkeypatch: pytest.MonkeyPatch,
):
    syncd = _syncd(config_path, sandbox)
    sandbox.zendesk.generate(3)
    # zenpy hands each 429 back to syncd.retry, which waits its Retry-After and asks again.
    _rate_limit_first(sandbox, monkeypatch, "zendesk", times=2, retry_after=1)
    _cycle(syncd, measured)

    samples = _samples(server.url)
    assert _value(samples, "syncd_tickets_pulled_total") == 3
    assert _value(samples, "syncd_api_requests_total", api="zendesk", outcome="429") == 2
    assert _value(samples, "syncd_rate_limited_total", api="zendesk") == 2
    assert _value(samples, "syncd_api_requests_total", api="zendesk", outcome="ok") >= 1


def test_readyz_fails_while_a_sink_is_down_and_recovers_after(
    sandbox: Sandbox, config_path: Path, measured: Metrics, server: OpsServer
):
    syncd = _syncd(config_path, sandbox, retry_attempts=1)
    status, body = _get(server.url + "/readyz")
    assert status == 503 and "no cycle has finished yet" in json.loads(body)["reasons"][0]

    sandbox.zendesk.generate(5)
    _cycle(syncd, measured)
    status, body = _get(server.url + "/readyz")
    assert status == 200, body
    assert json.loads(body)["ready"] is True

    sandbox.faults.outage = {"hubspot"}
    sandbox.zendesk.add_ticket(subject="Refund my invoice", requester_email="x@y.example")
    _cycle(syncd, measured)
    status, body = _get(server.url + "/readyz")
    ready = json.loads(body)
    assert status == 503 and ready["ready"] is False
    assert any(r.startswith("sink hubspot failed: HubSpot answered 503") for r in ready["reasons"])
    samples = _samples(server.url)
    assert _value(samples, "syncd_sink_up", sink="hubspot") == 0
    assert _value(samples, "syncd_sink_up", sink="sheets") == 1
    assert _value(samples, "syncd_cycles_total", outcome="sink_failed") == 1
    assert _value(samples, "syncd_api_requests_total", api="hubspot", outcome="5xx") == 1

    sandbox.faults.outage = set()
    _cycle(syncd, measured)
    status, body = _get(server.url + "/readyz")
    assert status == 200, body
    assert _value(_samples(server.url), "syncd_sink_up", sink="hubspot") == 1


def test_healthz_answers_ok_and_other_paths_are_not_found(server: OpsServer):
    assert _get(server.url + "/healthz") == (200, "ok\n")
    assert _get(server.url + "/nope")[0] == 404


def test_readiness_goes_stale_and_a_raising_cycle_is_not_ready():
    clock = [1_000_000.0]
    measured = Metrics(clock=lambda: clock[0])
    clock[0] += 10
    ended = datetime.fromtimestamp(clock[0], UTC)
    measured.record_cycle(CycleReport(pulled=3, sinks={"hubspot": SinkReport()}), 2.0, ended)
    assert measured.readiness(300).ready
    assert measured.lag() == 2.0  # caught up: behind by the cycle's own duration
    clock[0] += 301
    stale = measured.readiness(300)
    assert not stale.ready and stale.reasons == [
        "no cycle succeeded in the last 5m1s (ready_within: 5m)"
    ]
    measured.record_failure("cannot reach Zendesk", 1.0, ended + timedelta(seconds=301))
    assert measured.readiness(300).reasons == [
        "last cycle failed: cannot reach Zendesk",
        "no cycle succeeded in the last 5m1s (ready_within: 5m)",
    ]
    assert measured.lag() == 303.0  # a failed cycle does not move syncd along


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, "ok"),
        (TransientError("HubSpot answered 429", retry_after=1, status=429), "429"),
        (error_for("Zendesk", 429, "rate limited"), "429"),
        (error_for("Freshdesk", 503, "GET /api/v2/tickets"), "5xx"),
        (error_for("Zendesk", 408), "4xx"),  # retried, yet a 4xx answer
        (TerminalError("Zendesk rejected the request", status=422), "4xx"),
        (CredentialsError("HubSpot refused the access token", where="hubspot"), "4xx"),
        (TransientError("answered 503, says the message, but carries no status"), "error"),
        (TransientError("cannot reach HubSpot at http://x: ConnectionError"), "error"),
        (TerminalError("Freshdesk sent dict, not a list, for /tickets"), "error"),
        (ValueError("boom"), "error"),
    ],
)
def test_request_outcomes(error: Exception | None, outcome: str):
    assert request_outcome(error) == outcome


def test_status_prints_the_last_cycle_the_state_and_readiness(
    sandbox: Sandbox, config_path: Path, measured: Metrics
):
    syncd = _syncd(config_path, sandbox)
    sandbox.zendesk.generate(7)
    _cycle(syncd, measured)
    with OpsServer(measured, ready_within=300) as server:
        result = run_cli("status", "--config", str(config_path), "--url", server.url)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "syncd status" in out
    assert f"ready ({server.url}/readyz)" in out
    assert "pulled 7, changed 7, written: hubspot 7, sheets 7" in out
    assert "cursor zendesk" in out and "tickets known" in out and "│ 7 " in out
    assert "dead letters" in out and "next timer" in out

    # No daemon answering: status still reads the state store.
    result = run_cli("status", "--config", str(config_path), "--url", server.url)
    assert result.returncode == 0, result.stderr
    assert "not answering at" in result.stdout and "pulled 7" in result.stdout


def test_run_serves_the_ops_endpoint_and_stops_on_sigterm(sandbox: Sandbox, config_path: Path):
    _syncd(config_path, sandbox, ops={"host": "127.0.0.1", "port": 0})
    sandbox.zendesk.generate(5)
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncd.cli", "--log-format", "json", "run", "-c", str(config_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        url = None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            for line in list(lines):
                event = json.loads(line) if line.startswith("{") else {}
                if event.get("event") == "ops endpoint listening":
                    url = event["url"]
            time.sleep(0.05)
        assert url, "".join(lines)
        while _get(url + "/readyz")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _get(url + "/readyz")[0] == 200
        assert _value(_samples(url), "syncd_tickets_pulled_total") == 5
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        reader.join(timeout=5)
    assert proc.returncode == 0, "".join(lines)
    events = [json.loads(line)["event"] for line in lines if line.startswith("{")]
    assert events[-1] == "daemon stopped"
