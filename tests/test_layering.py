"""DESIGN.md's import rules, checked on the source so that the layering cannot erode."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imports(path: Path) -> set[str]:
    """Top-level project modules a file imports (syncd.x, connectors.y)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return {m for m in found if m.split(".")[0] in ("syncd", "connectors")}


def files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_the_rules_engine_touches_no_state_connector_pipeline_or_sandbox() -> None:
    allowed = ("syncd.model", "syncd.rules", "syncd.errors", "syncd.durations", "syncd.yamlfile")
    for path in files("syncd/rules"):
        for module in imports(path):
            assert module.startswith(allowed), f"{path.name} imports {module}"


def test_connectors_import_no_other_connector_nor_the_pipeline() -> None:
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


def test_the_pipeline_sees_sources_and_sinks_only_through_the_ports() -> None:
    for module in imports(ROOT / "syncd" / "pipeline.py"):
        assert not module.startswith(("connectors", "syncd.sandbox", "syncd.state")), module


def test_production_code_never_imports_the_sandbox() -> None:
    allowed = {"cli.py", "demo.py"}
    for path in files("syncd") + files("connectors"):
        if "sandbox" in path.parts or path.name in allowed:
            continue
        assert not any(m.startswith("syncd.sandbox") for m in imports(path)), path


def test_the_sandbox_follows_the_docs_not_the_connectors() -> None:
    for path in files("syncd/sandbox"):
        for module in imports(path):
            assert module.startswith("syncd.sandbox"), f"{path.name} imports {module}"


def test_model_and_errors_import_nothing_of_the_project() -> None:
    for name in ("model.py", "errors.py", "durations.py"):
        assert imports(ROOT / "syncd" / name) == set(), name


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_level(tree: ast.Module) -> list[ast.stmt]:
    """The statements run when the module is imported, those under `if TYPE_CHECKING:` and
    `try:` included; not the bodies of functions and classes (an import there is deferred
    until the call: how the composition root reaches optional parts)."""
    found: list[ast.stmt] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        found.append(node)
        if isinstance(node, ast.If | ast.Try):
            pending.extend(node.body + node.orelse)
            pending.extend(getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                pending.extend(handler.body)
    return found


def import_graph() -> dict[str, set[str]]:
    """Project module -> the project modules it imports at import time, TYPE_CHECKING
    imports included (a cycle hidden behind TYPE_CHECKING is still a cycle in the design).
    A module importing its own package (`syncd.state.store` -> `syncd.state`) is left out:
    the package's __init__ re-exporting its modules is not a layering cycle."""
    modules = {module_name(p): p for p in files("syncd") + files("connectors")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in module_level(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = {
            m for m in found if m in modules and m != name and not name.startswith(m + ".")
        }
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_among_the_pipeline_retry_metrics_and_report_tabs() -> None:
    # metrics -> pipeline -> report_tabs -> retry -> metrics was one, behind TYPE_CHECKING.
    watched = {
        "syncd.pipeline",
        "syncd.cycle",
        "syncd.report_tabs",
        "syncd.retry",
        "syncd.metrics",
        "syncd.ports",
        "syncd.daemon",
        "syncd.wiring",
        "syncd.backfill",
    }
    tangled = [group for group in cycles(import_graph()) if watched & set(group)]
    # A module reading a cycle's report imports it from syncd.cycle, not from the pipeline.
    assert tangled == []


def test_the_cycle_report_and_mode_import_nothing_of_the_project() -> None:
    assert imports(ROOT / "syncd" / "cycle.py") == set()


def test_retry_used_by_every_connector_loads_without_the_pipeline() -> None:
    # A fresh interpreter: what importing retry (as each connector does) drags in.
    probe = (
        "import sys, syncd.retry, syncd.metrics; "
        "print(sorted(m for m in sys.modules if m.startswith(('syncd.', 'connectors.'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    assert "syncd.pipeline" not in out and "syncd.report_tabs" not in out, out
