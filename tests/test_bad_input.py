"""Whatever a helpdesk sends, no cycle crashes: a ticket is either normalised, evaluated and
rendered for every sink, or refused with a ValueError/TypeError/KeyError (which the sources
park as a dead letter). Hypothesis varies every field of a real-looking payload."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors import freshdesk, zendesk
from syncd.config import load_config
from syncd.model import Ticket
from syncd.sandbox import Sandbox
from syncd.wiring import Parts, build
from tests.conftest import RULES, write_config

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
REFUSED = (ValueError, TypeError, KeyError)

# Text that has broken integrations: control characters, right-to-left marks, emoji,
# surrogates escaped in JSON, formulas, and a megabyte of description.
HOSTILE_TEXT = st.sampled_from(
    [
        "",
        "\x00\x01\x1b[31mred\x7f",
        "\u202eevil\u202c txt.exe",
        "שלום עולם مرحبا",
        "🔥💥 down 💣",
        '=IMPORTXML("http://x", "//a")',
        "+1 555 0100",
        "x" * 1_000_000,
        "line\r\nbreak\u2028sep",
    ]
)
ANY_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=True)
    | st.text(max_size=30)
    | HOSTILE_TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
DATES = st.sampled_from(
    ["2026-11-01T10:00:00Z", "2026-02-30T10:00:00Z", "yesterday", "2026-11-01", "", None, 17]
)

ZENDESK = {
    "id": 42,
    "subject": "Refund my invoice",
    "description": "I was charged twice",
    "status": "open",
    "priority": "high",
    "tags": ["vip"],
    "via": {"channel": "email"},
    "custom_fields": [{"id": 360001, "value": "enterprise"}],
    "satisfaction_rating": {"score": "bad", "comment": "slow"},
    "created_at": "2026-11-01T10:00:00Z",
    "updated_at": "2026-11-02T10:00:00Z",
}
FRESHDESK = {
    "id": 7,
    "subject": "Site is down",
    "description": "<p>All users affected</p>",
    "description_text": "All users affected",
    "status": 2,
    "priority": 4,
    "source": 1,
    "tags": ["outage"],
    "custom_fields": {"cf_plan": "Enterprise"},
    "requester": {"id": 5, "name": "Ann Lee", "email": "ann@x.example"},
    "stats": {"first_responded_at": "2026-11-01T10:05:00Z", "resolved_at": None},
    "company_id": 9,
    "created_at": "2026-11-01T10:00:00Z",
    "updated_at": "2026-11-02T10:00:00Z",
}


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parts]:
    tmp = tmp_path_factory.mktemp("bad-input")
    with Sandbox() as sandbox:
        key = sandbox.write_service_account(tmp / "sa.json")
        data = sandbox.config(f"sqlite:///{tmp / 'state.db'}", str(RULES), key)
        data["notifications"] = {}
        with pytest.MonkeyPatch.context() as env:
            env.setenv("ZENDESK_TOKEN", "t")
            env.setenv("HUBSPOT_TOKEN", "t")
            yield build(load_config(write_config(Path(tmp) / "syncd.yaml", data)))


def _survives(parts: Parts, make: Any) -> None:
    try:
        ticket = make()
    except REFUSED:
        return  # parked as a dead letter by the source, with the reason
    assert isinstance(ticket, Ticket)
    decision = parts.rules.evaluate(ticket, NOW)
    for sink in parts.sinks:
        record = sink.render(ticket, decision)
        assert record.key == ticket.id


def _vary(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    keys = sorted(base)
    return st.dictionaries(
        st.sampled_from(keys), ANY_VALUE | DATES | HOSTILE_TEXT, max_size=len(keys)
    ).map(lambda changes: {**base, **changes})


HYPOTHESIS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@HYPOTHESIS
@given(raw=_vary(ZENDESK), metrics=st.none() | ANY_VALUE)
def test_any_zendesk_payload_is_synced_or_refused_cleanly(parts: Parts, raw, metrics):
    _survives(
        parts,
        lambda: zendesk.normalize(
            raw, None, None, "https://acme.zendesk.com",
            metrics=metrics if isinstance(metrics, dict) else None,
            custom_names={"plan": "360001"},
        ),
    )  # fmt: skip


@HYPOTHESIS
@given(raw=_vary(FRESHDESK), company=st.none() | ANY_VALUE)
def test_any_freshdesk_payload_is_synced_or_refused_cleanly(parts: Parts, raw, company):
    _survives(
        parts,
        lambda: freshdesk.normalize(
            raw, company if isinstance(company, dict) else None,
            "https://acme.freshdesk.com", {"plan": "cf_plan"},
        ),
    )  # fmt: skip


def test_no_secret_reaches_logs_errors_dead_letters_or_the_sheet(
    sandbox: Sandbox, config_path: Path, tmp_path: Path
):
    import json
    import os
    import sqlite3

    from syncd.sandbox import SPREADSHEET_ID
    from tests.conftest import run_cli

    key = json.loads((tmp_path / "sa.json").read_text())
    secrets = {
        "zendesk token": os.environ["ZENDESK_TOKEN"],
        "hubspot token": os.environ["HUBSPOT_TOKEN"],
        "service-account key": key["private_key"].splitlines()[1],
        **{name: url for name, url in os.environ.items() if name.startswith("SLACK_WEBHOOK_")},
    }
    sandbox.zendesk.generate(30, seed=4)
    sandbox.zendesk.add_ticket("\x00 Refund \u202e", '=HYPERLINK("x")', "a@b.example")
    outputs = []
    debug = ("--log-level", "debug")
    # Real processes: stdlib logging (urllib3 at debug) prints to the process's own stderr.
    outputs.append(run_cli(*debug, "setup", "--config", str(config_path), subprocess_=True))
    sandbox.faults.rate = 0.3  # retries and 429s log their requests
    outputs.append(run_cli(*debug, "once", "--config", str(config_path), subprocess_=True))
    sandbox.faults.rate = 0.0
    wrong = {"HUBSPOT_TOKEN": "pat-wrong-0000", "ZENDESK_TOKEN": "wrong-zendesk-token"}
    outputs.append(
        run_cli(*debug, "once", "--config", str(config_path), env=wrong, subprocess_=True)
    )
    secrets.update({"wrong hubspot token": wrong["HUBSPOT_TOKEN"]})
    outputs.append(
        run_cli(
            *debug,
            "backfill",
            "--config",
            str(config_path),
            "--since",
            "2020-01-01",
            subprocess_=True,
        )
    )
    seen = "\n".join(o.stdout + o.stderr for o in outputs)
    assert "cycle" in seen and "error" in seen  # the runs did log, and did fail
    state = sqlite3.connect(tmp_path / "state.db")
    stored = "\n".join(str(row) for row in state.execute("select * from dead_letters"))
    sheet = json.dumps(sandbox.sheets.values(SPREADSHEET_ID, "Tickets"))
    for where, text in (("output", seen), ("dead letters", stored), ("sheet", sheet)):
        for name, value in secrets.items():
            assert value not in text, f"{name} appears in the {where}"
