"""`syncd setup` as a first user meets it: HubSpot's 429s are retried like every other call,
and a cycle run before setup says once what to do instead of parking every ticket."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.sandbox import Sandbox
from tests.conftest import Syncd, run_cli


def _rate_limit_first(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, api: str, times: int
) -> list[str]:
    """The first `times` requests to `api` meet a 429 (Retry-After: 0), as a busy portal
    answers; the sandbox's own fault switch, not the client, is what changes."""
    sandbox.faults.retry_after = 0
    serve = sandbox.faults.pick
    limited: list[str] = []

    def pick(name: str) -> int | None:
        if name == api and len(limited) < times:
            limited.append(name)
            return 429
        return serve(name)

    monkeypatch.setattr(sandbox.faults, "pick", pick)
    return limited


def test_setup_retries_429s_like_every_other_call(
    sandbox: Sandbox, config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limited = _rate_limit_first(sandbox, monkeypatch, "hubspot", times=3)
    result = run_cli("setup", "--config", str(config_path))
    assert result.returncode == 0, result.stderr
    assert len(limited) == 3, "the 429s were met"
    names = {p["name"] for p in sandbox.hubspot.properties("tickets")}
    assert "helpdesk_ticket_id" in names and "syncd_category" in names


def test_a_cycle_before_setup_is_one_error_that_says_to_run_it(
    sandbox: Sandbox, config_path: Path
) -> None:
    sandbox.zendesk.generate(40, seed=3)
    syncd = Syncd(config_path)  # no setup: HubSpot has none of syncd's properties
    report = syncd.once()
    hubspot = report.sinks["hubspot"]
    assert hubspot.error is not None and "syncd setup" in hubspot.error
    assert hubspot.user_error, "the user's to fix: run syncd setup"
    assert hubspot.rejected == 0
    assert syncd.parts.store.dead_letter_rows() == [], "no ticket is parked for it"
    assert report.sinks["sheets"].error is None, "the sheet still syncs"
    # Once set up, the next cycle sends HubSpot its share.
    syncd.setup()
    again = syncd.once()
    assert again.sinks["hubspot"].error is None
    assert len(sandbox.hubspot.objects("tickets")) == 40
