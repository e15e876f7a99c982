"""Every command of the CLI, fed bad input: one line naming what to fix, exit 2, never a
traceback (README: "Errors are one line that names the file, line or key and the fix").

The commands are read from the typer app, so a new command is covered as soon as it exists:
each gets an unknown option, a word for each of its numbers, a path under a regular file for
each of its paths, and (if it reads a config) every broken config below. The cases issue 15
listed come on top. Everything runs in this process (typer's CliRunner), and every variant has
exactly one bad value, so no command ever gets as far as the network.
"""

from __future__ import annotations

import functools
import inspect
import socket
import sys
import traceback
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from syncd.cli import app
from tests.conftest import RULES

GOOD_CONFIG = """\
helpdesk:
  kind: zendesk
  subdomain: acme
  email: ops@acme.test
hubspot: {}
sheets:
  spreadsheet_id: abc
  credentials_file: sa.json
state: {url: "sqlite:///state.db"}
rules: {dir: "RULES"}
notifications: {}
"""

# Broken configs: (file name, text, what the error must name).
BAD_CONFIGS = [
    ("yaml.yaml", "helpdesk: [oops\n", "not valid YAML"),
    (
        "scheme.yaml",
        GOOD_CONFIG.replace(
            "email: ops@acme.test", "email: ops@acme.test\n  base_url: 127.0.0.1:8765"
        ),
        "helpdesk.base_url must be a URL",
    ),
    (
        "tabs.yaml",
        GOOD_CONFIG.replace(
            "credentials_file: sa.json", "credentials_file: sa.json\n  tabs: {daily: Tickets}"
        ),
        "sheets.tabs",
    ),
    (
        "leftovers.yaml",  # switched to Freshdesk, Zendesk's keys left behind
        GOOD_CONFIG.replace("kind: zendesk", "kind: freshdesk"),
        "problems in",
    ),
]

# Ticket files for `rules explain`: (file name, text, what the error must name).
BAD_TICKETS = [
    ("created.yaml", "subject: Hi\ncreated_at: yesterday\n", "created_at"),
    ("csat.yaml", "subject: Hi\ncsat: great\n", "csat"),
    ("status.yaml", "subject: Hi\nstatus: closedd\n", "closedd"),
    ("typo.yaml", "subjct: Hi\n", "subjct"),
]

# Sandbox ticket files (JSON): (file name, text, what the error must name).
BAD_SANDBOX_TICKETS = [
    ("field.json", '[{"subject": "Hi", "colour": "red"}]', "colour"),
    ("date.json", '[{"subject": "Hi", "created_at": "yesterday"}]', "created_at"),
]


@dataclass(frozen=True)
class Files:
    """The files the variants point at."""

    root: Path
    config: Path
    ticket: Path
    under_a_file: Path  # a path whose parent is a regular file: neither readable nor writable
    empty: Path  # a folder with nothing in it


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    root = tmp_path_factory.mktemp("cli-bad-input")
    config = root / "syncd.yaml"
    config.write_text(GOOD_CONFIG.replace("RULES", str(RULES)))
    ticket = root / "ticket.yaml"
    ticket.write_text("subject: Refund my invoice\ncreated_at: 2026-01-05T09:00:00Z\n")
    (root / "a-file").write_text("x")
    (root / "empty").mkdir()
    for name, text, _ in BAD_CONFIGS:
        (root / name).write_text(text.replace("RULES", str(RULES)))
    for name, text, _ in [*BAD_TICKETS, *BAD_SANDBOX_TICKETS]:
        (root / name).write_text(text)
    return Files(root, config, ticket, root / "a-file" / "child", root / "empty")


def commands() -> list[tuple[str, ...]]:
    """The path of every command the app has (`once`, `rules check`...), read from typer."""
    found: list[tuple[str, ...]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        children = getattr(command, "commands", None)
        if children is None:
            found.append(path)
            return
        for name, child in sorted(children.items()):
            walk(child, (*path, name))

    walk(root_command(), ())
    return found


def params(path: tuple[str, ...]) -> list[Any]:
    """The click parameters of one command."""
    command: Any = root_command()
    for name in path:
        command = command.commands[name]
    return [p for p in command.params if p.name != "help"]


def kinds(path: tuple[str, ...]) -> dict[str, set[type]]:
    """Parameter name -> the Python types its annotation allows (int, Path, None...), read
    from the command function's type hints, which is what typer builds the command from."""
    command: Any = root_command()
    for name in path:
        command = command.commands[name]
    hints = typing.get_type_hints(inspect.unwrap(command.callback), include_extras=True)
    found: dict[str, set[type]] = {}
    for name, hint in hints.items():
        if typing.get_origin(hint) is typing.Annotated:
            hint = typing.get_args(hint)[0]
        found[name] = set(typing.get_args(hint)) or {hint}
    return found


def fill(path: tuple[str, ...], param: Any, files: Files, config_is_bad: bool) -> list[str]:
    """A good value for a parameter, so a variant has exactly one bad one."""
    good: dict[str, str] = {
        "config": str(files.config),
        "since": "7d" if path == ("rules", "preview") else "2026-01-01",
        "ticket": "42" if config_is_bad else str(files.ticket),  # an id makes explain read it
        "directory": str(RULES),
        "ids": "1",
        "port": "0",  # a variant left running would still not take a known port
    }
    if param.name not in good:
        if param.required:
            raise AssertionError(
                f"no good value for the required {param.name!r}: add one to fill() so the "
                "command's bad inputs can be tried"
            )
        return []
    value = good[param.name]
    return [value] if not param.opts[0].startswith("-") else [param.opts[0], value]


def option(param: Any) -> str:
    """How the variant names the parameter: --name, or the argument's name."""
    return str(param.opts[0] if param.opts[0].startswith("-") else param.name)


def arguments(path: tuple[str, ...], files: Files, bad: Any | None, bad_value: str) -> list[str]:
    """The command line with `bad` given `bad_value` and every other parameter filled."""
    args = list(path)
    config_is_bad = bad is not None and bad.name == "config"
    for param in params(path):
        if bad is not None and param.name == bad.name:
            args += [bad_value] if not param.opts[0].startswith("-") else [param.opts[0], bad_value]
        else:
            args += fill(path, param, files, config_is_bad)
    return args


@dataclass(frozen=True)
class Variant:
    """One bad command line and what its error must name."""

    args: tuple[str, ...]
    names: str

    def __str__(self) -> str:
        return " ".join(self.args)


def generic_variants(files: Files, path: tuple[str, ...]) -> Iterator[Variant]:
    """For one command: an unknown option, a word where a number goes, a path under a
    regular file where a path goes, every broken config."""
    yield Variant((*arguments(path, files, None, ""), "--no-such-option"), "--no-such-option")
    types = kinds(path)
    for param in params(path):
        kind = types.get(param.name, set())
        if kind & {int, float}:
            yield Variant(tuple(arguments(path, files, param, "many")), option(param))
        elif Path in kind:
            value = str(files.under_a_file)
            yield Variant(tuple(arguments(path, files, param, value)), value)
        if param.name == "config":
            yield Variant(tuple(arguments(path, files, param, str(files.root))), "is a folder")
            for name, _, names in BAD_CONFIGS:
                config = str(files.root / name)
                yield Variant(tuple(arguments(path, files, param, config)), names)


def issue_variants(files: Files) -> Iterator[Variant]:
    """The cases issue 15 found ending in a traceback, and the other first-hour trips."""
    config = ("--config", str(files.config))
    yield Variant(("--log-level", "loud", "status", *config), "--log-level")
    yield Variant(("--log-format", "xml", "status", *config), "--log-format")
    explain = ("rules", "explain", "--rules", str(RULES))
    yield Variant((*explain, "--ticket", str(files.ticket), "--at", "garbage"), "--at")
    for name, _, names in BAD_TICKETS:
        yield Variant((*explain, "--ticket", str(files.root / name)), names)
    yield Variant(("once", "--config", str(files.root / "scheme.yaml")), "base_url")
    yield Variant(("once", "--config", str(files.root)), "is a folder")
    future = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    yield Variant(("backfill", *config, "--since", future), "--since")
    yield Variant(("setup", "--config", str(files.root / "tabs.yaml")), "tabs")
    yield Variant(("rules", "check", str(files.empty)), "no rule files")
    yield Variant(("rules", "test", str(files.empty)), "no rule files")
    yield Variant(("rules", "preview", str(files.empty), *config), "no rule files")
    yield Variant(("rules", "test", str(RULES), "--cases", str(files.empty)), "no rule test files")
    yield Variant(("sandbox", "--port", "99999"), "--port")
    yield Variant(("sandbox", "--port", "0", "--fault-rate", "2"), "--fault-rate")
    yield Variant(("sandbox", "--port", "0", "--helpdesk", "jira"), "--helpdesk")
    for name, _, names in BAD_SANDBOX_TICKETS:
        for helpdesk in ("zendesk", "freshdesk"):
            args = ("sandbox", "--port", "0", "--helpdesk", helpdesk)
            yield Variant((*args, "--tickets", str(files.root / name)), names)
    yield Variant(("demo", "--output", str(files.root / "a-file")), "--output")
    yield Variant(("demo", "--tickets", "0"), "--tickets")


@pytest.fixture(autouse=True)
def _never_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad input that a command wrongly accepts fails the test at once, instead of serving
    (the sandbox, the daemon's loop) until the test times out."""
    from syncd.daemon import Daemon
    from syncd.sandbox import cli as sandbox_cli

    def served(*_args: Any) -> None:
        raise AssertionError("accepted the input and started serving")

    monkeypatch.setattr(sandbox_cli, "wait_for_stop", served)
    monkeypatch.setattr(Daemon, "run", served)


@functools.cache
def root_command() -> Any:
    """The click command typer builds from the app: built once, as building it costs about
    as much as running most of these commands."""
    return get_command(app)


@dataclass(frozen=True)
class Outcome:
    """What a command did: its exit code, what it printed, what it raised besides exiting."""

    exit_code: int
    output: str
    exception: BaseException | None


def run(args: tuple[str, ...]) -> Outcome:
    """The command in this process, as the `syncd` script runs it (`CliRunner.invoke`, with
    the command built once)."""
    exception: BaseException | None = None
    with CliRunner().isolation() as (out, err, _):
        try:
            root_command().main(args=list(args), prog_name="syncd")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception as exc:  # a traceback: the failure this file looks for
            exception, code = exc, 1
        sys.stdout.flush()
        sys.stderr.flush()
        output = out.getvalue().decode() + err.getvalue().decode()
    return Outcome(code, output, exception)


def check(variant: Variant) -> str | None:
    """What is wrong with the command's answer to a bad input, or None when it is right."""
    result = run(variant.args)
    output = result.output
    if result.exception is not None:
        trace = "".join(traceback.format_exception(result.exception))
        return f"raised {type(result.exception).__name__}:\n{trace}"
    if "Traceback" in output:
        return f"printed a traceback:\n{output}"
    if result.exit_code != 2:
        return f"exit code {result.exit_code}, not 2:\n{output}"
    if variant.names not in output:
        return f"does not name {variant.names!r}:\n{output}"
    return None


@pytest.mark.parametrize("path", commands(), ids=" ".join)
def test_every_command_refuses_bad_input_in_one_line(files: Files, path: tuple[str, ...]) -> None:
    """Each command, each generic bad input: exit 2, one line naming the fix."""
    variants = list(generic_variants(files, path))
    failures = [f"syncd {v}: {problem}" for v in variants if (problem := check(v))]
    assert not failures, "\n\n".join(failures)


def test_the_cases_issue_15_found_are_refused_in_one_line(files: Files) -> None:
    """The reported tracebacks, each now one line, exit 2."""
    failures = [f"syncd {v}: {problem}" for v in issue_variants(files) if (problem := check(v))]
    assert not failures, "\n\n".join(failures)


def test_a_port_in_use_is_named(files: Files) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        assert check(Variant(("sandbox", "--port", port), "in use")) is None


def test_one_problem_is_one_line(files: Files) -> None:
    result = run(("once", "--config", str(files.root / "scheme.yaml")))
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: ") and "scheme.yaml:5" in line, line


def test_every_command_is_tried(files: Files) -> None:
    """A new command is covered without editing this file, by more than the unknown option."""
    found = commands()
    assert {("once",), ("run",), ("sandbox",), ("demo",), ("rules", "check")} <= set(found)
    variants = [v for path in found for v in generic_variants(files, path)]
    variants += issue_variants(files)
    for path in found:
        tried = [v for v in variants if v.args[: len(path)] == path]
        assert len(tried) >= 2, f"syncd {' '.join(path)} is tried with only {len(tried)} input(s)"
