"""Config errors: one line naming the file, line and key; exit code 2; no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.config import load_config
from syncd.durations import parse_duration
from syncd.errors import ConfigError
from tests.conftest import ROOT, run_cli

GOOD = """\
helpdesk:
  kind: zendesk
  subdomain: acme
  email: ops@acme.test
hubspot: {}
sheets:
  spreadsheet_id: abc
  credentials_file: sa.json
poll_interval: 90s
"""


def test_example_config_documents_every_option_and_loads():
    config = load_config(ROOT / "config" / "syncd.example.yaml")
    assert config.poll_interval == 60
    assert config.rules.dir == (ROOT / "rules").resolve()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace("90s", "soon"), ":9: poll_interval 'soon' is not a duration"),
        (GOOD.replace("kind: zendesk", "kind: jira"), ":2: helpdesk.kind Input should be"),
        (GOOD.replace("  subdomain: acme\n", ""), "helpdesk.subdomain is required"),
        (GOOD + "pol_interval: 5s\n", ":10: pol_interval is not a known setting"),
        (GOOD.replace("hubspot: {}", "hubspot: {batch_size: 500}"), ":5: hubspot.batch_size"),
        (GOOD.replace("email: ops@acme.test", "email: [oops"), "not valid YAML"),
    ],
)
def test_bad_values_name_file_line_and_key(tmp_path: Path, text: str, expected: str):
    path = tmp_path / "syncd.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_relative_paths_follow_the_config_file(tmp_path: Path):
    path = tmp_path / "conf" / "syncd.yaml"
    path.parent.mkdir()
    path.write_text(GOOD + "state: {url: 'sqlite:///state/s.db'}\n")
    config = load_config(path)
    assert config.sheets.credentials_file == path.parent / "sa.json"
    assert config.state.url == f"sqlite:///{path.parent / 'state' / 's.db'}"


def test_durations():
    assert parse_duration("90s") == 90 and parse_duration("5m") == 300
    assert parse_duration("1.5h") == 5400 and parse_duration(2) == 2


def test_cli_bad_config_exits_2_with_one_line(tmp_path: Path):
    path = tmp_path / "syncd.yaml"
    path.write_text(GOOD.replace("90s", "-3"))
    result = run_cli("once", "--config", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("error: ") and "poll_interval" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_missing_token_env_names_the_variable(tmp_path: Path):
    path = tmp_path / "syncd.yaml"
    path.write_text(GOOD)
    (tmp_path / "rules").mkdir()
    result = run_cli("once", "--config", str(path), "--dry-run", env={"ZENDESK_TOKEN": ""})
    assert result.returncode == 2
    assert "ZENDESK_TOKEN" in result.stderr and "Traceback" not in result.stderr
