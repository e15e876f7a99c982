"""syncd.registry is the one table of helpdesks and sinks: config, wiring, the CLI, the sandbox
and the conformance suite read it, and what it declares of each kind holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import pytest

from syncd import registry
from syncd.config import Config, HelpdeskConfig
from syncd.ports import SetsUp, ShowsReports
from syncd.sandbox import Sandbox
from syncd.wiring import build_sinks, build_source
from tests.conformance.registry import SINKS, SOURCES
from tests.conftest import RULES

ROOT = Path(__file__).resolve().parent.parent


def test_the_config_union_is_the_registered_helpdesks_models() -> None:
    union, _discriminator = get_args(HelpdeskConfig)
    assert set(get_args(union)) == {entry.model for entry in registry.HELPDESKS.values()}
    for kind, entry in registry.HELPDESKS.items():
        assert entry.kind == kind
        assert entry.model.model_fields["kind"].annotation.__args__ == (kind,)  # type: ignore[union-attr]
        for setting in entry.secrets:
            assert setting in entry.model.model_fields, (kind, setting)


def test_every_sink_is_a_section_of_the_config_file() -> None:
    for kind, entry in registry.SINKS.items():
        assert entry.kind == kind
        assert entry.model is Config.model_fields[kind].annotation
        assert "enabled" in entry.model.model_fields
        for setting in entry.secrets:
            assert setting in entry.model.model_fields, (kind, setting)


def test_the_conformance_suite_runs_every_registered_kind() -> None:
    assert [s.kind for s in SOURCES] == list(registry.HELPDESKS)
    assert [s.kind for s in SINKS] == list(registry.SINKS)


def test_importing_the_registry_imports_no_connector() -> None:
    probe = (
        "import sys, syncd.registry, syncd.config, syncd.wiring; "
        "print(sorted(m for m in sys.modules if m.startswith('connectors')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    assert out.strip() == "[]", out


@pytest.mark.parametrize("kind", list(registry.HELPDESKS))
def test_wiring_builds_each_helpdesk_from_its_entry(
    kind: str, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(kind, sandbox, tmp_path, monkeypatch)
    assert build_source(config).name == kind
    # A missing secret names the setting that names it.
    entry = registry.HELPDESKS[kind]
    monkeypatch.delenv(getattr(config.helpdesk, entry.secrets[0]))
    with pytest.raises(Exception, match=f"helpdesk.{entry.secrets[0]}"):
        build_source(config)


def test_the_sinks_are_built_in_the_registrys_order_with_their_capabilities(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config("zendesk", sandbox, tmp_path, monkeypatch)
    sinks = build_sinks(config)
    assert [s.name for s in sinks] == list(registry.SINKS)
    for sink in sinks:
        declared = registry.SINKS[sink.name].capabilities
        for capability in declared:
            assert isinstance(sink, capability), (sink.name, capability)
        for capability in (SetsUp, ShowsReports):
            assert isinstance(sink, capability) == (capability in declared), sink.name
    config.sheets.enabled = False
    assert [s.name for s in build_sinks(config)] == [k for k in registry.SINKS if k != "sheets"]


def _config(kind: str, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    key = sandbox.write_service_account(tmp_path / "sa.json")
    data: dict[str, Any] = sandbox.config(
        f"sqlite:///{tmp_path / 'state.db'}", str(RULES), key, helpdesk=kind
    )
    config = Config.model_validate(data)
    for setting in registry.HELPDESKS[kind].secrets:  # the variables its section names
        monkeypatch.setenv(getattr(config.helpdesk, setting), "sandbox-secret")
    monkeypatch.setenv("HUBSPOT_TOKEN", "sandbox-hubspot-token")
    return config
