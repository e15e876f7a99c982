"""Fixtures of the conformance suite: each test runs once per registered source or sink,
against a fresh sandbox (tests/conftest.py's `sandbox`), with the real client over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from syncd.model import Decision, Organization, Person, Status, Ticket
from syncd.rules import RuleSet, load_rules
from syncd.sandbox import Sandbox
from tests.conformance.registry import SINKS, SOURCES, SinkKind, SourceKind
from tests.conformance.support import SandboxConfig
from tests.conftest import RULES


@pytest.fixture(params=SOURCES, ids=[s.kind for s in SOURCES])
def source_kind(request: pytest.FixtureRequest) -> SourceKind:
    kind: SourceKind = request.param
    return kind


@pytest.fixture(params=SINKS, ids=[s.kind for s in SINKS])
def sink_kind(request: pytest.FixtureRequest) -> SinkKind:
    kind: SinkKind = request.param
    return kind


def _configs(sandbox: Sandbox, tmp_path: Path) -> SandboxConfig:
    key = sandbox.write_service_account(tmp_path / "sa.json")

    def make(helpdesk: str = "zendesk") -> dict[str, Any]:
        state = f"sqlite:///{tmp_path / 'state.db'}"
        return sandbox.config(state, str(RULES), key, helpdesk=helpdesk)

    return make


@pytest.fixture
def sandbox_config(sandbox: Sandbox, tmp_path: Path) -> SandboxConfig:
    """`sandbox_config(helpdesk="zendesk")`: a syncd config (as a dict) pointing at the
    test's own sandbox, as `Sandbox.config` makes it."""
    return _configs(sandbox, tmp_path)


@pytest.fixture(scope="module")
def _shared() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def faulty_sandbox(_shared: Sandbox) -> Iterator[Sandbox]:
    """One sandbox for the tests of a module that only inject faults (their data does not
    matter): its faults are cleared after each test."""
    yield _shared
    _shared.faults.outage = set()
    _shared.faults.outage_status = 503
    _shared.reset_counts()


@pytest.fixture
def faulty_config(faulty_sandbox: Sandbox, tmp_path: Path) -> SandboxConfig:
    """`sandbox_config` for `faulty_sandbox`."""
    return _configs(faulty_sandbox, tmp_path)


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    """The default rule set: sinks render what it decides."""
    return load_rules(RULES)


# Subjects the default rules rank neither Critical nor otherwise special.
SUBJECTS = (
    "How do I export my data?",
    "How do I add a teammate?",
    "Where can I find my invoice?",
    "Feature request: dark mode",
)
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def decided(rules: RuleSet) -> list[tuple[Ticket, Decision]]:
    """A small batch of tickets, as a source gives them, with the rules' decisions."""
    batch = []
    for n, subject in enumerate(SUBJECTS, start=1):
        ticket = Ticket(
            id=str(100 + n),
            source="zendesk",
            subject=subject,
            description=f"{subject} Thanks.",
            status=Status.OPEN,
            created_at=NOW,
            updated_at=NOW,
            requester=Person(str(n), f"Customer {n}", f"customer{n}@initech.example"),
            organization=Organization("9", "Initech", "initech.example"),
            url=f"https://acme.zendesk.com/agent/tickets/{100 + n}",
        )
        batch.append((ticket, rules.evaluate(ticket, NOW)))
    return batch
