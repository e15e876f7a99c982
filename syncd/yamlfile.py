"""Read a YAML file with ruamel.yaml, keeping line numbers; syntax errors point at the spot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from syncd.errors import UserError


def load_yaml(path: Path, error: type[UserError]) -> Any:
    """The document (ruamel round-trip nodes, which know their lines), or `error` raised."""
    try:
        return YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        message = f"not valid YAML: {exc.problem}"
        start = exc.context_mark
        if exc.context and start is not None and start is not mark:
            message += f" ({exc.context} at line {start.line + 1}, column {start.column + 1})"
        raise error(message, where=where, hint="Check indentation, quotes and brackets") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read the file: {exc}", where=str(path)) from None
    except RecursionError:
        raise error(
            "nested too deeply to read", where=str(path), hint="Split it into simpler parts"
        ) from None
