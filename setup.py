"""Where the packages live; everything else is in pyproject.toml.

The default rule set (rules/, with its tests and schema.json) and the example config
(config/syncd.example.yaml) stay where admins and the docs expect them in a checkout, and ship
inside the package as `syncd.defaults.rules` and `syncd.defaults.config` (package_dir maps them;
pyproject.toml's package-data names their files), so an installed syncd finds them with
importlib.resources from any folder: `syncd demo`, `syncd sandbox` and `syncd init` read them
there (syncd/defaults/__init__.py). One copy in the repository, one in the wheel.

setup.py only because pyproject.toml cannot list found packages and mapped ones together.
"""

from setuptools import find_packages, setup

MAPPED = {
    "syncd.defaults.rules": "rules",
    "syncd.defaults.rules.tests": "rules/tests",
    "syncd.defaults.config": "config",
}

setup(
    packages=[*find_packages(include=["syncd*", "connectors*"]), *MAPPED],
    package_dir=MAPPED,
)
