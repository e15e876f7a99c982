"""What syncd ships for a first run: the default SOP rule set and the example config.

In a checkout they are rules/ and config/syncd.example.yaml at the repository's root; an
installed syncd (a wheel, `pip install .`) carries the same files inside this package, where
setup.py maps them (syncd/defaults/rules/, syncd/defaults/config/). These functions find them
either way, from any working folder.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from syncd.errors import SyncdError

_CHECKOUT = Path(__file__).resolve().parents[2]  # the repository, when run from a checkout


def rules_dir() -> Path:
    """The default rule set's folder (its *.yaml files, tests/ and schema.json)."""
    return _find("rules", _CHECKOUT / "rules")


def example_config() -> Path:
    """The example config, every option commented (its `rules.dir: ../rules` points at
    `rules_dir()` in a checkout and in an installed package alike)."""
    return _find("config", _CHECKOUT / "config") / "syncd.example.yaml"


def rules_here_or_default() -> Path:
    """The rules a generated config (`syncd sandbox`, `syncd demo`) points at: ./rules when
    the working folder has one (an admin trying their own edits), else the default set."""
    here = Path("rules")
    return here.resolve() if here.is_dir() else rules_dir()


def _find(name: str, checkout: Path) -> Path:
    packaged = Path(str(files(__name__))) / name
    if packaged.is_dir():  # an installed package
        return packaged
    if checkout.is_dir():  # a checkout: the files are at the repository's root
        return checkout
    raise SyncdError(
        f"syncd's default {name} files are missing from {packaged}: the installation is "
        "incomplete; reinstall syncd (pip install --force-reinstall syncd)"
    )
