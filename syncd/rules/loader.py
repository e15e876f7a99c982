"""Read rule files with ruamel.yaml, keeping where every node stands for error messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncd.errors import RuleError
from syncd.yamlfile import load_yaml


@dataclass
class Problems:
    """Errors collected while loading a rule set, so an admin sees them all at once."""

    errors: list[RuleError] = field(default_factory=list)

    def add(self, where: str, message: str, hint: str | None = None) -> None:
        """Record one problem at file:line:column."""
        self.errors.append(RuleError(message, where=where, hint=hint))

    def only_keys(self, path: Path, item: dict[str, Any], allowed: set[str], what: str) -> bool:
        """True when `item` has no key outside `allowed`; else records the first stray key
        at its own line, naming what is allowed in `what` (a rule, an SLA policy...)."""
        unknown = sorted(map(str, set(item) - allowed))
        if unknown:
            self.add(
                where(path, item, unknown[0]),
                f"unknown key {unknown[0]!r} in {what}",
                f"Allowed here: {', '.join(sorted(allowed))}",
            )
        return not unknown

    def raise_if_any(self) -> None:
        """Raise the first error, listing the count of the others."""
        if not self.errors:
            return
        if len(self.errors) == 1:
            raise self.errors[0]
        text = "\n".join(e.render() for e in self.errors)
        raise RuleError(f"{len(self.errors)} problems in the rules:\n{text}")


def where(path: Path, node: Any, key: Any = None) -> str:
    """file:line:column of a mapping key (or of the node itself)."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return str(path)
    try:
        if key is not None and isinstance(node, dict):
            line, col = lc.key(key)
        elif key is not None and isinstance(node, list):
            line, col = lc.item(key)
        else:
            line, col = lc.line, lc.col
    except (KeyError, IndexError, TypeError):
        line, col = lc.line, lc.col
    return f"{path}:{line + 1}:{col + 1}"


def read_rule_file(path: Path, problems: Problems) -> dict[str, Any] | None:
    """The file's top-level mapping, or None (with a problem recorded) if it cannot be read."""
    try:
        data = load_yaml(path, RuleError)
    except RuleError as exc:
        problems.errors.append(exc)
        return None
    if not isinstance(data, dict):
        problems.add(f"{path}:1:1", "a rule file must be a mapping (name:, owner:, sections)")
        return None
    return data
