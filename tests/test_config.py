"""Config errors: one line naming the file, line and key; exit code 2; no traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def test_example_config_documents_every_option_and_loads() -> None:
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
def test_bad_values_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "syncd.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_relative_paths_follow_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "syncd.yaml"
    path.parent.mkdir()
    path.write_text(GOOD + "state: {url: 'sqlite:///state/s.db'}\n")
    config = load_config(path)
    assert config.sheets.credentials_file == path.parent / "sa.json"
    assert config.state.url == f"sqlite:///{path.parent / 'state' / 's.db'}"


def test_durations() -> None:
    assert parse_duration("90s") == 90 and parse_duration("5m") == 300
    assert parse_duration("1.5h") == 5400 and parse_duration(2) == 2


def test_cli_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "syncd.yaml"
    path.write_text(GOOD.replace("90s", "-3"))
    result = run_cli("once", "--config", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("error: ") and "poll_interval" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_missing_token_env_names_the_variable(tmp_path: Path) -> None:
    path = tmp_path / "syncd.yaml"
    path.write_text(GOOD)
    (tmp_path / "rules").mkdir()
    result = run_cli("once", "--config", str(path), "--dry-run", env={"ZENDESK_TOKEN": ""})
    assert result.returncode == 2
    assert "ZENDESK_TOKEN" in result.stderr and "Traceback" not in result.stderr


# The example config, as the README says to use it: copied, with only the helpdesk, HubSpot
# and Google secrets set (conftest sets the two tokens; the key file is the Google one).
NOTIFICATION_VARIABLES = (
    "SLACK_WEBHOOK_SUPPORT",
    "SLACK_WEBHOOK_SUPPORT_ESCALATIONS",
    "SLACK_WEBHOOK_INCIDENTS",
    "SLACK_WEBHOOK_SUPPORT_QUALITY",
    "ONCALL_WEBHOOK_URL",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
)


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """config/syncd.example.yaml copied beside a rules folder, its key file pointed at one."""
    from syncd.sandbox.oauth import GoogleOAuthApp

    (tmp_path / "config").mkdir()
    (tmp_path / "rules").symlink_to(ROOT / "rules")
    key = tmp_path / "service-account.json"
    key.write_text(json.dumps(GoogleOAuthApp().service_account_info(token_uri="http://x/token")))
    text = (ROOT / "config" / "syncd.example.yaml").read_text()
    path = tmp_path / "config" / "syncd.yaml"
    path.write_text(text.replace("/secrets/service-account.json", str(key)))
    for name in NOTIFICATION_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return path


def test_example_config_runs_with_only_the_main_secrets(example: Path) -> None:
    """Channels whose variable is unset are off, named in one warning; their actions are
    recorded as skipped, saying what to set."""
    from structlog.testing import capture_logs

    from syncd.wiring import OffChannels, build

    with capture_logs() as logged:
        parts = build(load_config(example))
    warnings = [e for e in logged if e["log_level"] == "warning"]
    assert len(warnings) == 1, warnings
    assert "notification channels off" in warnings[0]["event"]
    named = " ".join(warnings[0]["unset"])
    assert all(name in named for name in NOTIFICATION_VARIABLES), named
    assert "webhook URL" in named  # a URL, not a token
    chain: list[Any] = getattr(parts.notifiers[0], "chain", parts.notifiers)
    off = next(n for n in chain if isinstance(n, OffChannels))
    assert str(off.deliver(*_notify("slack:#support"))).startswith("skipped: ")
    assert "SLACK_WEBHOOK_SUPPORT" in str(off.deliver(*_notify("slack:#support")))
    assert "SMTP_USERNAME" in str(off.deliver(*_notify("email:requester")))
    assert "ONCALL_WEBHOOK_URL" in str(off.deliver(*_notify("webhook:oncall")))
    assert off.deliver(*_notify("slack:#elsewhere")) is None  # not configured: not off


def _notify(target: str) -> tuple[Any, ...]:
    """(ticket, action, text, decision) for a notify action to `target`."""
    from datetime import UTC, datetime

    from syncd.model import Action, Decision
    from syncd.rules.cases import ticket_from_data

    ticket = ticket_from_data({"subject": "Site down"}, datetime(2026, 1, 5, tzinfo=UTC))
    action = Action("escalation:1:0", "notify", "escalation level 1", target)
    return ticket, action, "", Decision("General", "High")


def test_a_webhook_variable_holding_no_url_says_it_wants_a_url(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syncd.wiring import build

    monkeypatch.setenv("SLACK_WEBHOOK_SUPPORT", "xoxb-a-token-not-a-url")
    with pytest.raises(ConfigError) as info:
        build(load_config(example))
    assert "SLACK_WEBHOOK_SUPPORT" in str(info.value) and "URL" in str(info.value)
    assert "xoxb-a-token-not-a-url" not in str(info.value)


def test_every_problem_is_listed_at_once_with_its_line(example: Path) -> None:
    """Switched to Freshdesk, Zendesk's keys left behind: each named, with its line."""
    text = example.read_text().replace("  kind: zendesk ", "  kind: freshdesk ", 1)
    example.write_text(text.replace("  base_url: null  ", "  base_url: 127.0.0.1:8765  ", 1))
    with pytest.raises(ConfigError) as info:
        load_config(example)
    lines = str(info.value).splitlines()
    assert lines[0].endswith(f"problems in {example}:"), lines[0]
    expected = ["domain is required", "subdomain is not a known setting", "email is not a"]
    expected += ["token_env is not a known setting", "base_url must be a URL"]
    for fragment in expected:
        (line,) = [line for line in lines if fragment in line]
        assert line.strip().startswith(f"{example}:"), line


@pytest.mark.parametrize(
    ("sheets", "names", "line"),
    [
        ("  tabs: {daily: Tickets}\n", "the tickets and daily tabs", 9),
        ("  tabs: {weekly: monthly trends}\n", "the weekly and monthly tabs", 9),
        ("  worksheet: Escalations\n", "the tickets and escalations tabs", 6),  # sheets:
    ],
)
def test_two_tabs_with_one_title_are_refused(
    tmp_path: Path, sheets: str, names: str, line: int
) -> None:
    """Titles are compared with the defaults of the tabs left out, ignoring case (as Google
    Sheets does)."""
    path = tmp_path / "syncd.yaml"
    path.write_text(
        GOOD.replace("  credentials_file: sa.json\n", "  credentials_file: sa.json\n" + sheets)
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert names in str(info.value) and f"{path}:{line}:" in str(info.value)


def test_a_url_without_its_scheme_is_refused_when_read(tmp_path: Path) -> None:
    path = tmp_path / "syncd.yaml"
    path.write_text(GOOD.replace("hubspot: {}", "hubspot: {base_url: 'localhost:8765'}"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"{path}:5: hubspot.base_url must be a URL" in str(info.value)
    assert "http://localhost:8765" in str(info.value)


def test_a_folder_is_named_as_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder, not a config file"):
        load_config(tmp_path)
