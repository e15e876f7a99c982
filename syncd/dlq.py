"""`syncd dlq`: the dead letters, listed, retried now, or dropped.

A dead letter is a record a sink rejected (its `sink` is the sink's name) or a ticket the
helpdesk sent malformed (`source:<helpdesk>`). The daemon tries each again on a backoff
(`dead_letters` in the config), then parks it; `syncd dlq retry` tries parked ones too.

- A sink's dead letter is retried by rendering the ticket again from syncd's snapshot, with
  today's rules and config, and sending it to that sink.
- A source's dead letter is retried by reading the ticket again from the helpdesk by id (its
  current version, normalised with today's config, e.g. a fixed `custom_fields` mapping);
  read fine, it goes through the rules to every sink like a changed ticket.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from syncd.config import load_config
from syncd.errors import UserError
from syncd.keys import letter_source
from syncd.logs import scrub

dlq_app = typer.Typer(
    help="Dead letters: records a sink rejected and tickets the helpdesk sent malformed.",
    no_args_is_help=True,
)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="The syncd YAML config file.", show_default=False)
]
IdsArgument = Annotated[list[int] | None, typer.Argument(help="Dead letter ids (see list).")]
REASON_WIDTH = 70


def how_retried(sink: str) -> str:
    """How a dead letter of this sink is tried again, in a few words."""
    source = letter_source(sink)
    if source is not None:
        return f"read again from {source}"
    return f"sent again to {sink}"


def next_retry(row: dict[str, Any], now: datetime) -> str:
    """When the daemon tries a dead letter next: a time, "due", or "parked"."""
    moment = row.get("next_attempt_at")
    if moment is None:
        return "parked: syncd dlq retry"
    if moment <= now:
        return "due (next cycle)"
    return f"{moment:%Y-%m-%d %H:%M:%S}Z"


@dlq_app.command("list")
def list_letters(
    config: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List the dead letters: id, sink, ticket, attempts, next retry and the reason."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    store = _store(config)
    rows = store.dead_letter_rows()
    now = datetime.now(UTC)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(_plain(row, now), ensure_ascii=False))
        return
    table = Table(title=f"{len(rows)} dead letter(s)")
    for column in ("id", "sink", "ticket", "attempts", "next retry", "retried by", "reason"):
        table.add_column(column, overflow="fold")
    for row in rows:
        reason = scrub(str(row["reason"]))
        if len(reason) > REASON_WIDTH:
            reason = reason[: REASON_WIDTH - 1] + "…"
        table.add_row(
            str(row["id"]),
            escape(row["sink"]),
            escape(row["ticket_key"]),
            str(row["attempts"]),
            next_retry(row, now),
            how_retried(row["sink"]),
            escape(reason),
        )
    Console(width=160, emoji=False).print(table)


@dlq_app.command("retry")
def retry(config: ConfigOption, ids: IdsArgument = None) -> None:
    """Try dead letters again now (all, or those named), parked ones too, and report each
    outcome; exit 1 if any is still a dead letter."""
    from syncd.wiring import build

    cfg = load_config(config)
    parts = build(cfg)
    before = _chosen(parts.store, ids)
    if not before:
        typer.echo("no dead letters")
        return
    parts.store.retry_dead_letters_now([row["id"] for row in before], datetime.now(UTC))
    report = parts.cycle(pull=False)  # only what the sinks owe; the cursor stays
    after = {row["id"]: row for row in parts.store.dead_letter_rows([r["id"] for r in before])}
    sinks = {sink.name for sink in parts.sinks}
    left = 0
    for row in before:
        outcome = _outcome(row, after.get(row["id"]), report, sinks)
        left += row["id"] in after
        typer.echo(f"{row['id']} {row['sink']} #{row['ticket_key']}: {outcome}")
    typer.echo(f"{len(before) - left} recovered, {left} still dead letters")
    if left:
        raise typer.Exit(1)


@dlq_app.command("drop")
def drop(
    config: ConfigOption,
    ids: Annotated[list[int], typer.Argument(help="Dead letter ids (see list).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Drop without asking.")] = False,
) -> None:
    """Forget dead letters for good (the records are not sent)."""
    store = _store(config)
    rows = _chosen(store, ids)
    if not yes:
        if not sys.stdin.isatty():
            raise UserError(
                f"dropping {len(rows)} dead letter(s) needs confirmation", hint="Add --yes"
            )
        listed = ", ".join(f"{r['id']} ({r['sink']} #{r['ticket_key']})" for r in rows)
        typer.confirm(f"Drop {listed}? Their records will not be sent", abort=True)
    dropped = store.drop_dead_letters([row["id"] for row in rows])
    typer.echo(f"dropped {dropped} dead letter(s)")


def _store(config: Path) -> Any:
    from syncd.state import open_store

    cfg = load_config(config)
    return open_store(cfg.state.url, cfg.state.pipeline)


def _chosen(store: Any, ids: list[int] | None) -> list[dict[str, Any]]:
    """The dead letters named (all when none); an unknown id is the user's to fix."""
    rows: list[dict[str, Any]] = store.dead_letter_rows(ids or ())
    missing = sorted(set(ids or ()) - {row["id"] for row in rows})
    if missing:
        raise UserError(
            f"no dead letter with id {', '.join(map(str, missing))}",
            hint="`syncd dlq list` shows the ids",
        )
    return rows


def _outcome(
    before: dict[str, Any], after: dict[str, Any] | None, report: Any, sinks: set[str]
) -> str:
    sink = before["sink"]
    if after is None:
        if letter_source(sink) is not None:
            return "recovered: read fine and sent through the rules to every sink"
        return f"recovered: {sink} accepted it"
    if after["attempts"] > before["attempts"]:
        return f"failed again ({next_retry(after, datetime.now(UTC))}): {scrub(after['reason'])}"
    if letter_source(sink) is None and sink not in sinks:
        return f"not tried: no sink {sink} is enabled in the config"
    failed = report.sinks.get(sink)
    if failed is not None and failed.error:
        return f"not tried: {sink} failed as a whole: {scrub(failed.error)}"
    return "not tried (the helpdesk could not be read; see the log)"


def _plain(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    out = {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in row.items()
    }
    out["reason"] = scrub(str(row["reason"]))
    out["payload"] = json.loads(row["payload"]) if row.get("payload") else None
    out["next_retry"] = next_retry(row, now)
    out["retried_by"] = how_retried(row["sink"])
    return out
