"""DESIGN.md's import rules, checked on the source so that the layering cannot erode."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imports(path: Path) -> set[str]:
    """Top-level project modules a file imports (syncd.x, connectors.y)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return {m for m in found if m.split(".")[0] in ("syncd", "connectors")}


def files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_the_rules_engine_touches_no_state_connector_pipeline_or_sandbox():
    allowed = ("syncd.model", "syncd.rules", "syncd.errors", "syncd.durations", "syncd.yamlfile")
    for path in files("syncd/rules"):
        for module in imports(path):
            assert module.startswith(allowed), f"{path.name} imports {module}"


def test_connectors_import_no_other_connector_nor_the_pipeline():
    for path in files("connectors"):
        # A connector may be split into modules of its own (freshdesk.py, freshdesk_api.py).
        vendor = path.stem.split("_")[0]
        own = (f"connectors.{vendor}_", f"connectors.{vendor}")
        for module in imports(path):
            if module in own or module.startswith(own[0]):
                continue
            assert not module.startswith(
                ("connectors", "syncd.pipeline", "syncd.sandbox", "syncd.state", "syncd.rules")
            ), (path.name, module)


def test_the_pipeline_sees_sources_and_sinks_only_through_the_ports():
    for module in imports(ROOT / "syncd" / "pipeline.py"):
        assert not module.startswith(("connectors", "syncd.sandbox", "syncd.state")), module


def test_production_code_never_imports_the_sandbox():
    allowed = {"cli.py", "demo.py"}
    for path in files("syncd") + files("connectors"):
        if "sandbox" in path.parts or path.name in allowed:
            continue
        assert not any(m.startswith("syncd.sandbox") for m in imports(path)), path


def test_the_sandbox_follows_the_docs_not_the_connectors():
    for path in files("syncd/sandbox"):
        for module in imports(path):
            assert module.startswith("syncd.sandbox"), f"{path.name} imports {module}"


def test_model_and_errors_import_nothing_of_the_project():
    for name in ("model.py", "errors.py", "durations.py"):
        assert imports(ROOT / "syncd" / name) == set(), name
