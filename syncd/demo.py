"""`syncd demo`: the whole product end to end against the sandbox, in under a minute.

Starts the sandbox with sample tickets, creates the HubSpot properties, runs sync cycles
while tickets change between them, then shows the managers' sheet and exports it: one CSV per
tab and `syncd-demo.xlsx` with the sheet's formatting and charts (syncd.sheet_export).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from ruamel.yaml import YAML

from syncd.config import load_config
from syncd.defaults import rules_here_or_default
from syncd.errors import UserError
from syncd.pipeline import CycleReport
from syncd.sandbox import HUBSPOT_TOKEN, SPREADSHEET_ID, ZENDESK_TOKEN, Sandbox
from syncd.sheet_export import export
from syncd.wiring import build

console = Console(width=None if sys.stdout.isatty() else 150)
DEMO_DAYS = 28  # the sample tickets' history: four weeks of a team's work


def run_demo(output: Path, ticket_count: int, rules_dir: Path | None = None) -> None:
    """Run the demo, writing its config, state and CSV under `output`; `rules_dir` defaults
    to ./rules, else the default rule set syncd ships (syncd.defaults)."""
    rules_dir = rules_dir or rules_here_or_default()
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"cannot make the folder {output}: {exc.strerror or exc}",
            where="--output",
            hint="Give a folder (new or existing) where you can write",
        ) from None
    state = output / "state.db"
    state.unlink(missing_ok=True)
    with Sandbox() as sandbox:
        # Four weeks of a working team's tickets (most solved in hours, a few stuck; see
        # syncd.sandbox.zendesk_data), so the weekly report and its charts have a shape.
        sandbox.zendesk.generate(ticket_count, seed=7, days=DEMO_DAYS)
        # And the last two days' inbox, which the team is still working through.
        sandbox.zendesk.generate(max(5, ticket_count // 6), seed=8, days=2)
        key = sandbox.write_service_account(output.resolve() / "sandbox-service-account.json")
        config_path = output / "syncd.yaml"
        config = sandbox.config(f"sqlite:///{state.resolve()}", str(rules_dir.resolve()), key)
        # Report windows that fit the sample's four weeks.
        config["sheets"].update(report_days=28, report_weeks=4, report_months=2)
        # The sandbox's own secrets, under names of the demo's own: ZENDESK_TOKEN or
        # HUBSPOT_TOKEN in the shell may hold production secrets, which the sandbox refuses
        # (and which have no business being sent to it).
        config["helpdesk"]["token_env"] = "SYNCD_DEMO_ZENDESK_TOKEN"
        config["hubspot"]["token_env"] = "SYNCD_DEMO_HUBSPOT_TOKEN"
        with config_path.open("w") as handle:
            YAML().dump(config, handle)
        os.environ.update(sandbox.slack_webhooks())
        os.environ["SYNCD_DEMO_ZENDESK_TOKEN"] = ZENDESK_TOKEN
        os.environ["SYNCD_DEMO_HUBSPOT_TOKEN"] = HUBSPOT_TOKEN
        os.environ.pop("SYNCD_STATE_URL", None)  # a production state must not get demo data
        console.rule(f"syncd demo: sandbox at {sandbox.url}")
        parts = build(load_config(config_path))
        for sink in parts.sinks:
            for action in getattr(sink, "setup", lambda: [])() or []:
                console.print(f"setup: {sink.name}: {action}")

        def cycle(title: str) -> CycleReport:
            sandbox.reset_counts()
            started = time.monotonic()
            report = parts.cycle()
            written = {name: s.written for name, s in report.sinks.items()}
            console.print(
                f"[bold]{title}[/]: pulled {report.pulled}, changed {report.changed}, "
                f"written {written}, actions {report.actions_fired}, errors {report.errors} "
                f"in {time.monotonic() - started:.2f}s; requests {sandbox.counts()}"
            )
            return report

        cycle("cycle 1 (first sync)")
        cycle("cycle 2 (nothing changed)")
        # The team works on: three tickets change, open ones first (closed ones cannot).
        tickets = sorted(
            (t for t in sandbox.zendesk.tickets() if t["status"] not in ("closed", "deleted")),
            key=lambda t: t["status"] in ("solved",),
        )
        sandbox.zendesk.update_ticket(tickets[0]["id"], status="solved")
        sandbox.zendesk.update_ticket(
            tickets[1]["id"], subject="URGENT: the site is down for all users"
        )
        sandbox.zendesk.update_ticket(tickets[2]["id"], subject='=IMPORTXML("http://x", "//a")')
        sandbox.zendesk.add_ticket(
            subject="I was charged twice this month",
            description="Please refund the second charge on my invoice.",
            requester_email="dana@globex.example",
            requester_name="Dana Scully",
        )
        console.print("changed 3 tickets in the helpdesk and added 1")
        cycle("cycle 3 (after changes)")
        rows = sandbox.sheets.values(SPREADSHEET_ID, "Tickets")
        spreadsheet = sandbox.sheets.resource(SPREADSHEET_ID)
        hubspot_tickets = sandbox.hubspot.objects("tickets")
        slack = sandbox.slack.messages()
    console.print(f"Slack received {len(slack)} escalation/follow-up messages, e.g.:")
    for message in slack[:2]:
        console.print(f"  {message['channel']}: {message['text'].strip()}")
    _show(rows, len(hubspot_tickets))
    files = export(spreadsheet, output)
    tabs = ", ".join(f.name for f in files)
    console.print(f"wrote {tabs} ({len(rows) - 1} tickets) and {config_path} to {output}")
    console.print(
        json.dumps({"sheet_rows": len(rows) - 1, "hubspot_tickets": len(hubspot_tickets)})
    )


def _show(rows: list[list[str]], hubspot_count: int) -> None:
    header, body = rows[0], rows[1:]
    wanted = ["Ticket", "Subject", "Requester", "Status", "Category", "Priority", "SLA"]
    wanted += ["Escalation", "Updated"]
    # Date columns are titled with the sheet's timezone: "Updated (UTC)".
    index = [i for c in wanted for i, h in enumerate(header) if h.split(" (")[0] == c]
    table = Table(title=f"Google Sheet 'Tickets' ({len(body)} rows; HubSpot holds {hubspot_count})")
    for i in index:
        table.add_column(
            header[i], overflow="fold", max_width=48 if header[i] == "Subject" else None
        )
    for row in body[:25]:
        table.add_row(*[(row[i] if i < len(row) else "") for i in index])
    console.print(table)
    if len(body) > 25:
        console.print(f"… {len(body) - 25} more rows in the CSV")
