"""`syncd init [DIR]` (issue 15, item 1): a starter config and a copy of the default rules.

Run in this process, off a terminal: the answers come from flags. The questions asked on a
terminal are tested through `syncd.init.init`'s `ask`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd import defaults
from syncd.config import load_config
from syncd.errors import UserError
from syncd.init import Answers, init
from tests.conftest import RULES, run_cli

ZENDESK = (
    "--helpdesk", "zendesk", "--subdomain", "acme", "--email", "ops@acme.example",
    "--spreadsheet-id", "1AbCdEfGhIjKlMnOpQrStUvWxYz", "--credentials-file",
)  # fmt: skip


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_the_default_rules_and_example_config_are_found_where_syncd_runs() -> None:
    assert defaults.rules_dir().resolve() == RULES.resolve()  # a checkout: the root's rules/
    assert {"schema.json", "triage.yaml", "tests/triage.yaml"} <= _files(defaults.rules_dir())
    assert defaults.example_config().is_file()
    # The example's relative rules.dir reaches the default rules from where it ships.
    text = defaults.example_config().read_text()
    assert "dir: ../rules" in text
    assert (defaults.example_config().parent / "../rules").resolve() == defaults.rules_dir()


def test_init_from_flags_writes_a_config_that_loads_and_the_rules_to_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "key.json"
    key.write_text("{}")
    folder = tmp_path / "acme"

    result = run_cli("init", str(folder), *ZENDESK, str(key))

    assert result.returncode == 0, result.stderr
    assert _files(folder / "rules") == _files(RULES) - {
        f for f in _files(RULES) if "__pycache__" in f
    }
    commands = [line.strip() for line in result.stdout.splitlines() if line.startswith("  ")]
    config = folder / "syncd.yaml"
    assert commands == [
        f"syncd setup --config {config}",
        f"syncd once --dry-run --config {config}",
        f"syncd run --config {config}",
    ]
    assert "export ZENDESK_TOKEN=... HUBSPOT_TOKEN=..." in result.stdout
    # The secrets are set (conftest sets ZENDESK_TOKEN and HUBSPOT_TOKEN); the Slack
    # webhooks are not, so their channels are off, with a warning.
    loaded = load_config(config)
    assert loaded.helpdesk.kind == "zendesk"
    assert (loaded.helpdesk.subdomain, loaded.helpdesk.email) == ("acme", "ops@acme.example")
    assert loaded.sheets.spreadsheet_id == "1AbCdEfGhIjKlMnOpQrStUvWxYz"
    assert loaded.sheets.credentials_file == key.resolve()
    assert loaded.rules.dir == (folder / "rules").resolve()
    assert loaded.state.url == f"sqlite:///{(folder / 'syncd-state.db').resolve()}"
    assert "#support-escalations" in loaded.notifications.slack.channels
    # The rule copy works as the default set does, its tests included.
    copy, original = (run_cli("rules", "test", str(d)) for d in (folder / "rules", RULES))
    assert copy.returncode == original.returncode
    assert copy.stdout.splitlines()[-1] == original.stdout.splitlines()[-1]  # "119 passed..."


def test_init_for_freshdesk_takes_the_domain_and_a_sheet_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRESHDESK_API_KEY", "key")
    url = "https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOpQrStUvWxYz/edit#gid=0"
    args = ("--domain", "https://acme.freshdesk.com", "--spreadsheet-id", url)
    result = run_cli("init", str(tmp_path), *args, "--credentials-file", "key.json")

    assert result.returncode == 0, result.stderr
    assert "export FRESHDESK_API_KEY=... HUBSPOT_TOKEN=..." in result.stdout
    loaded = load_config(tmp_path / "syncd.yaml")
    assert loaded.helpdesk.kind == "freshdesk" and loaded.helpdesk.domain == "acme"
    assert loaded.sheets.spreadsheet_id == "1AbCdEfGhIjKlMnOpQrStUvWxYz"


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    assert run_cli("init", str(tmp_path), *ZENDESK, "key.json").returncode == 0
    config = tmp_path / "syncd.yaml"
    config.write_text("# my edits\n")
    (tmp_path / "rules" / "triage.yaml").write_text("# my rules\n")

    refused = run_cli("init", str(tmp_path), *ZENDESK, "key.json")
    assert refused.returncode == 2
    (line,) = refused.stderr.splitlines()
    assert "already exist" in line and "--force" in line and "Traceback" not in line
    assert config.read_text() == "# my edits\n", "nothing was written"

    forced = run_cli("init", str(tmp_path), *ZENDESK, "key.json", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "kind: zendesk" in config.read_text()
    assert (tmp_path / "rules" / "triage.yaml").read_text() == (RULES / "triage.yaml").read_text()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--helpdesk", "zendesk", "--subdomain", "acme"), "--email"),
        (("--subdomain", "acme", "--email", "a@b.example"), "--spreadsheet-id"),
        (("--helpdesk", "servicenow"), "--helpdesk"),
        (("--helpdesk", "freshdesk", "--subdomain", "acme"), "--subdomain"),
        (("--helpdesk", "zendesk", "--subdomain", "acme corp"), "--subdomain"),
        (("--helpdesk", "zendesk", "--subdomain", "acme", "--email", "nobody"), "--email"),
        ((*ZENDESK[:6], "--spreadsheet-id", "short", "--credentials-file", "k"), "--spreadsheet"),
    ],
)
def test_off_a_terminal_each_missing_or_wrong_answer_is_one_line_naming_its_flag(
    tmp_path: Path, args: tuple[str, ...], named: str
) -> None:
    result = run_cli("init", str(tmp_path / "new"), *args)
    assert result.returncode == 2, result.stdout
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and named in line, line
    assert not (tmp_path / "new").exists(), "nothing written"


def test_on_a_terminal_it_asks_for_what_the_flags_left_out_and_again_after_a_bad_answer(
    tmp_path: Path,
) -> None:
    answers = iter(["Freshdesk", "acme!", "acme", "1AbCdEfGhIjKlMnOpQrStUvWxYz", "key.json"])
    asked: list[str] = []

    def ask(question: str, option: str) -> str:
        asked.append(option)
        return next(answers)

    written = init(tmp_path, Answers(), ask)

    assert asked == ["--helpdesk", "--domain", "--domain", "--spreadsheet-id", "--credentials-file"]
    assert "kind: freshdesk" in written.config.read_text()
    assert written.secrets == ("FRESHDESK_API_KEY", "HUBSPOT_TOKEN")
    with pytest.raises(UserError, match="already exist"):
        init(tmp_path, Answers(), ask)
