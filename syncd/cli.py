"""The `syncd` command line.

Exit codes: 0 success; 1 a sync error (a sink failed, records were dead-lettered, an API
stayed unreachable); 2 something for the user to fix (config, rules, credentials) or to act
on (`once` or `backfill` beside a daemon that holds the pipeline's lease).
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from syncd import logs
from syncd.config import Config, load_config
from syncd.dlq import dlq_app
from syncd.errors import SyncdError, UserError
from syncd.registry import HELPDESKS, SINKS


class _OneLineErrors(TyperGroup):
    """The root command: errors syncd raises on purpose become one line and an exit code
    (2: something to fix, 1: a sync error), whoever runs the app (`main`, or a test's
    CliRunner in-process), instead of a traceback."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Like click's main, but a usage error (an unknown choice, a number out of range, a
        missing option) is one line too, without the usage text or a box around it."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.Abort:
            typer.echo("aborted", err=True)
            sys.exit(1)
        except typer.TyperException as exc:  # click's ClickException and UsageError
            if type(exc).__name__ == "NoArgsIsHelpError":
                typer.echo(exc.format_message())  # the help text, as a bare `syncd` asks
            else:
                typer.echo(f"error: {_usage_line(exc)}", err=True)
            sys.exit(exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: Any) -> Any:  # click's Context (typer vendors click privately)
        try:
            return super().invoke(ctx)
        except UserError as exc:
            typer.echo(f"error: {logs.scrub(exc.render())}", err=True)
            raise typer.Exit(2) from None
        except SyncdError as exc:
            typer.echo(f"error: {logs.scrub(str(exc))}", err=True)
            raise typer.Exit(1) from None


def _usage_line(exc: typer.TyperException) -> str:
    """`syncd sandbox: Invalid value for '--port': ... See 'syncd sandbox --help'.`"""
    message = exc.format_message().replace("Value error, ", "").strip()
    message += "" if message.endswith(".") else "."
    ctx = getattr(exc, "ctx", None)
    if ctx is None:
        return message
    return f"{ctx.command_path}: {message} See '{ctx.command_path} --help'."


app = typer.Typer(
    cls=_OneLineErrors,
    help="Run your support SOPs on top of your helpdesk: Zendesk → rules → HubSpot + Google "
    "Sheets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
rules_app = typer.Typer(help="Check and try the SOP rule files.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(dlq_app, name="dlq")
sla_app = typer.Typer(help="Compare syncd's SLA with the helpdesk's own.", no_args_is_help=True)
app.add_typer(sla_app, name="sla")

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="The syncd YAML config file.", show_default=False)
]
WaitOption = Annotated[
    float,
    typer.Option(
        min=0,
        help="While a daemon holds the pipeline's lease, wait this many seconds for it, "
        "then exit 2 naming it (0: at once).",
    ),
]


class LogLevel(StrEnum):
    """--log-level's choices (click refuses any other word, naming these)."""

    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


class LogFormat(StrEnum):
    """--log-format's choices."""

    auto = "auto"
    json = "json"
    console = "console"


class _State:
    log_level = "info"
    log_format = "auto"


@app.callback()
def _global(
    log_level: Annotated[
        LogLevel, typer.Option(case_sensitive=False, help="How much to log.")
    ] = LogLevel.info,
    log_format: Annotated[
        LogFormat, typer.Option(case_sensitive=False, help="auto: JSON off a terminal.")
    ] = LogFormat.auto,
) -> None:
    _State.log_level, _State.log_format = log_level.value, log_format.value
    logs.configure(log_level.value, log_format.value)


def _load(path: Path) -> Config:
    config = load_config(path)
    if _State.log_level == "info" and config.log.level != "info":
        logs.configure(config.log.level, config.log.format)
    return config


@app.command()
def once(
    config: ConfigOption,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Pull and evaluate, write nothing, move no cursor.")
    ] = False,
    wait: WaitOption = 0.0,
) -> None:
    """Run one sync cycle and print a JSON summary line. It holds the pipeline's lease
    while it runs, as `syncd run` does, so it never races a running daemon: while one holds
    the lease it waits up to --wait seconds, then exits 2 naming it (a dry run writes
    nothing, and runs beside a daemon)."""
    from contextlib import nullcontext

    from syncd.wiring import build

    cfg = _load(config)
    parts = build(cfg)
    with nullcontext() if dry_run else _one_writer(parts, cfg, wait, "syncd once"):
        _once(cfg, parts, dry_run)


def _once(cfg: Config, parts: Any, dry_run: bool) -> None:
    # Until the helpdesk has been caught up once, the pipeline records the rules' actions as
    # a baseline instead of sending them (its `caught_up:<source>` mark; see run_cycle).
    baseline = (
        not cfg.notifications.notify_on_first_sync
        and parts.store.get_meta(f"caught_up:{parts.source.name}") is None
    )
    report = parts.cycle(dry_run=True) if dry_run else _recorded_cycle(parts)
    for name, sink in report.sinks.items():
        if dry_run:
            typer.echo(f"{name}: would {sink.plan}")
            for sample in sink.sample:
                typer.echo(f"  {json.dumps(sample, default=str, ensure_ascii=False)[:300]}")
        if sink.error:
            typer.echo(f"error: {name}: {sink.error}", err=True)
    if baseline and report.planned_actions:
        typer.echo(
            f"actions: first sync: these {len(report.planned_actions)} would be recorded as "
            "a baseline, not sent (notifications.notify_on_first_sync: false)"
        )
    verb = "record" if baseline else "carry out"
    for planned in report.planned_actions:
        typer.echo(f"actions: would {verb} {planned}")
    summary: dict[str, Any] = {"pulled": report.pulled, "changed": report.changed}
    for kind, entry in SINKS.items():  # each sink's count, under the registry's name for it
        summary[entry.summary] = report.sinks[kind].written if kind in report.sinks else 0
    summary["errors"] = report.errors
    if dry_run:
        summary["dry_run"] = True
    typer.echo(json.dumps(summary))
    if any(s.user_error for s in report.sinks.values()):
        raise typer.Exit(2)
    if report.errors:
        raise typer.Exit(1)


def _one_writer(parts: Any, cfg: Config, wait: float, command: str) -> Any:
    """The pipeline's lease for a hand-run command (syncd.replica.one_writer): held while it
    runs; another holder makes it wait up to `wait` seconds, then exit 2 with one line."""
    from syncd.replica import one_writer

    def waiting(holder: str) -> None:
        typer.echo(f"waiting up to {wait:g}s for the pipeline's lease ({holder})", err=True)

    return one_writer(parts.store, cfg.state.lease_seconds, wait, command=command, on_wait=waiting)


def _recorded_cycle(parts: Any) -> Any:
    """One cycle, left in the state store as the daemon leaves its own, so `syncd status`
    shows it (the cycle's figures, or the error it ended with)."""
    import time

    from syncd import metrics
    from syncd.ops import CycleRecorder

    record = CycleRecorder(metrics.current(), parts.store)
    started = time.monotonic()
    try:
        report = parts.cycle()
    except SyncdError as exc:
        record(None, time.monotonic() - started, str(exc))
        raise
    record(report, time.monotonic() - started, None)
    return report


@app.command()
def backfill(
    config: ConfigOption,
    since: Annotated[
        str, typer.Option(help="Sync every ticket changed since this date (2026-01-31) or time.")
    ],
    batch: Annotated[
        int, typer.Option(min=1, help="Tickets per cycle (one checkpoint each).")
    ] = 1000,
    wait: WaitOption = 0.0,
) -> None:
    """Sync every ticket changed since a date, with progress. Resumable: after an
    interruption, run the same command again and it continues where it stopped. Holds the
    pipeline's lease while it runs, as `syncd once` does (--wait)."""
    from datetime import UTC, datetime, timedelta

    from syncd.backfill import run_backfill
    from syncd.wiring import build

    try:
        start = datetime.fromisoformat(since)
    except ValueError:
        raise UserError(
            f"{since!r} is not a date", where="--since", hint="e.g. --since 2026-01-31"
        ) from None
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    # The helpdesks' exports refuse a start in the future (Zendesk: less than a minute ago)
    # with a 422 whose raw JSON says little; say it here, before any request.
    if start > datetime.now(UTC) - timedelta(minutes=1):
        raise UserError(
            f"{since!r} is not in the past",
            where="--since",
            hint="A backfill brings in tickets changed since a past date, e.g. --since 2026-01-31",
        )
    cfg = _load(config)
    parts = build(cfg)
    # Freshdesk's budget is in credits (an include costs more than one): shown beside the
    # request count, not as its ceiling.
    budget = getattr(cfg.helpdesk, "credits_per_minute", None)
    report = _BackfillDisplay(budget)
    with _one_writer(parts, cfg, wait, "syncd backfill"), report.display:
        done = run_backfill(parts, start, batch=batch, on_progress=report.update)
    typer.echo(json.dumps({"backfilled": done.tickets, "requests": done.requests}))


class _BackfillDisplay:
    """A rich progress bar on a terminal; one plain line per cycle otherwise (logs, CI)."""

    def __init__(self, budget: int | None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.console = Console(stderr=True)
        self.budget = f" (budget {budget} credits/min)" if budget else ""
        self.display = Progress(
            TextColumn("backfill"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[tickets]:,} tickets, {task.fields[rate]:,.0f}/s"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[requests]:,} requests" + self.budget),
            console=self.console,
            disable=not self.console.is_terminal,
        )
        self.task = self.display.add_task("backfill", total=1000, tickets=0, rate=0, requests=0)
        self.started: tuple[float, int] | None = None  # when and at how many tickets

    def update(self, progress: Any) -> None:
        import time

        now = time.monotonic()
        self.started = self.started or (now, progress.tickets)
        elapsed = max(now - self.started[0], 1e-9)
        rate = (progress.tickets - self.started[1]) / elapsed
        self.display.update(
            self.task,
            completed=round(progress.share * 1000),
            tickets=progress.tickets,
            rate=rate,
            requests=progress.requests,
        )
        if not self.console.is_terminal:
            self.console.print(
                f"backfill {progress.share:.0%}: {progress.tickets:,} tickets, "
                f"{progress.requests:,} requests{self.budget}",
                highlight=False,
            )


@app.command()
def run(config: ConfigOption) -> None:
    """Poll forever at poll_interval; SIGTERM/SIGINT finish the current batch and exit 0.
    Serves /healthz, /readyz and /metrics on ops.host:ops.port (default 0.0.0.0:9102).
    Replicas sharing the state database take turns: one holds the pipeline's lease and
    syncs, the others wait as standbys and take over when it stops renewing."""
    from syncd import metrics
    from syncd.daemon import Daemon
    from syncd.ops import CycleRecorder, start_ops
    from syncd.reload import RuleReloader
    from syncd.replica import LeaseKeeper
    from syncd.wiring import build

    cfg = _load(config)
    parts = build(cfg)
    rules = RuleReloader(cfg.rules.dir, parts.rules)
    measured = metrics.current()
    daemon = Daemon(
        lambda: parts.cycle(rules=rules.ruleset),  # the rules in force, after a reload
        cfg.poll_interval,
        before_cycle=rules.check,
        after_cycle=CycleRecorder(measured, parts.store),
        lease=LeaseKeeper(parts.store, cfg.state.lease_seconds, measured),
    )
    # Handlers first: a SIGTERM from here on ends the loop and so reaches the `finally` that
    # releases the endpoint's port, instead of killing the process mid-start.
    daemon.install_signal_handlers()
    server = start_ops(cfg, measured)
    try:
        daemon.run()
    finally:
        if server is not None:
            server.stop()


@app.command()
def status(
    config: ConfigOption,
    url: Annotated[
        str | None,
        typer.Option(help="The daemon's ops endpoint (default: from ops.host and ops.port)."),
    ] = None,
) -> None:
    """Show what syncd last did (cycle, cursors, dead letters, timers) and whether the
    running daemon is ready; works with no daemon running."""
    from datetime import UTC, datetime

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from syncd.ops import ops_url, probe_ready, status_rows
    from syncd.state import open_store

    cfg = _load(config)
    store = open_store(cfg.state.url, cfg.state.pipeline)
    rows = status_rows(store, datetime.now(UTC))
    endpoint = url or ops_url(cfg)
    if endpoint:
        daemon = probe_ready(endpoint)
    elif not cfg.ops.enabled:
        daemon = "not asked: the ops endpoint is off (ops.enabled: false)"
    else:
        daemon = "not asked: ops.port is 0 (any free port); pass --url"
    table = Table(title=f"syncd status ({config})", show_header=False)
    table.add_column("", style="bold", no_wrap=True)
    table.add_column("", overflow="fold")
    table.add_row("daemon", escape(daemon))
    for label, value in rows:
        table.add_row(escape(label), escape(value))  # errors may hold [brackets]
    Console(width=160, emoji=False).print(table)


@app.command()
def setup(
    config: ConfigOption,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
) -> None:
    """Create the HubSpot properties syncd writes (idempotent)."""
    from syncd.ports import ChecksScopes, SetsUp
    from syncd.wiring import build_sinks

    cfg = _load(config)
    for sink in build_sinks(cfg):
        if not isinstance(sink, SetsUp):
            continue
        actions = sink.setup(dry_run=dry_run)
        scopes = sink.scope_check if isinstance(sink, ChecksScopes) else None
        if scopes is not None:
            warning = "" if scopes.ok else "warning: "
            typer.echo(f"{warning}{sink.name}: {scopes.message}", err=not scopes.ok)
        verb = "would " if dry_run else ""
        for action in actions or ["nothing to do: already set up"]:
            typer.echo(f"{sink.name}: {verb}{action}")


@rules_app.command("check")
def rules_check(
    directory: Annotated[Path, typer.Argument(help="Folder of rule files.")] = Path("rules"),
) -> None:
    """Load every rule file and report problems with file:line:column (exit 0 or 1; 2 when
    the folder holds no rule files)."""
    from datetime import date

    ruleset = _rules_or_exit(directory)
    for rule_file in ruleset.files:
        if rule_file.review_by and rule_file.review_by < date.today():
            typer.echo(
                f"warning: {rule_file.path}: review_by {rule_file.review_by} has passed; "
                f"{rule_file.owner or 'the owner'} should review this SOP",
                err=True,
            )
    typer.echo(
        f"ok: {len(ruleset.files)} file(s): {len(ruleset.categories)} category, "
        f"{len(ruleset.priorities)} priority, {len(ruleset.sla.policies)} SLA policy, "
        f"{sum(len(lad.levels) for lad in ruleset.ladders)} escalation level and "
        f"{len(ruleset.follow_ups)} follow-up rule(s), {len(ruleset.templates)} template(s)"
    )


@rules_app.command("test")
def rules_test(
    directory: Annotated[Path, typer.Argument(help="Folder of rule files.")] = Path("rules"),
    cases: Annotated[
        Path | None, typer.Option(help="Folder of test cases (default: DIR/tests).")
    ] = None,
) -> None:
    """Run the rule test cases (DIR/tests/*.yaml) and print a pass/fail table."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from syncd.errors import RuleError
    from syncd.rules.cases import load_cases, run_cases

    ruleset = _rules_or_exit(directory)
    folder = cases or directory / "tests"
    if not folder.is_dir() or not any(folder.glob("*.yaml")):
        raise UserError(
            f"no rule test files (*.yaml) in {folder}",
            where="--cases" if cases else str(folder),
            hint="Give the folder of your rule test cases (rules/tests/*.yaml shows the format)",
        )
    try:
        loaded = load_cases(folder)
    except RuleError as exc:
        typer.echo(exc.render(), err=True)
        raise typer.Exit(1) from None
    outcomes = run_cases(ruleset, loaded)
    table = Table(title=f"rule tests in {folder}")
    for column in ("", "case", "where", "what differs"):
        table.add_column(column, overflow="fold")
    for outcome in outcomes:
        mark = "[green]PASS[/]" if outcome.passed else "[red]FAIL[/]"
        table.add_row(  # escaped: case names and values may hold [brackets] or :emoji:
            mark,
            escape(outcome.case.name),
            escape(outcome.case.where.rsplit("/", 1)[-1]),
            escape("\n".join(outcome.failures)),
        )
    Console(width=160, emoji=False).print(table)
    failed = sum(not o.passed for o in outcomes)
    typer.echo(f"{len(outcomes) - failed} passed, {failed} failed")
    if failed or not outcomes:
        raise typer.Exit(1)


@rules_app.command("explain")
def rules_explain(
    ticket: Annotated[
        str,
        typer.Option(
            help="A ticket file (YAML, as in rule tests) or a "
            "ticket id syncd has seen (needs --config)."
        ),
    ],
    directory: Annotated[
        Path | None,
        typer.Option(
            "--rules", help="Folder of rule files (default: the config's rules.dir, or rules)."
        ),
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="Evaluate as of this time (ISO 8601); default now.")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="syncd config, to read a ticket from the state store."),
    ] = None,
) -> None:
    """Show each decision for a ticket, the rule (file:line) that made it, and why its
    condition held: the phrase found and where, the tag, the value, the SLA figure."""
    from datetime import UTC, datetime

    from syncd.model import Ticket
    from syncd.rules.cases import TicketDataError, parse_time, read_ticket_file
    from syncd.rules.preview import why
    from syncd.state import open_store

    try:
        moment = parse_time(at, "--at") if at else None
    except TicketDataError as exc:
        raise UserError(str(exc).removeprefix("--at: "), where="--at", hint=exc.hint) from None
    now = moment or datetime.now(UTC)
    subjects: list[tuple[Ticket, datetime]] = []
    if Path(ticket).is_file():
        subjects = read_ticket_file(Path(ticket), moment, now)
    else:
        if config is None:
            raise UserError(
                f"{ticket!r} is not a file",
                where="--ticket",
                hint="Give a ticket file, or --config to look the id up",
            )
        cfg = _load(config)
        found = open_store(cfg.state.url, cfg.state.pipeline).ticket(ticket)
        if found is None:
            raise UserError(f"syncd has not seen ticket {ticket}", where="--ticket")
        subjects.append((found, now))
        directory = directory or cfg.rules.dir  # --rules wins: try edited rules on it
    ruleset = _rules_or_exit(directory or Path("rules"))
    for subject, now in subjects:
        decision = ruleset.evaluate(subject, now)
        typer.echo(f"ticket #{subject.id} {subject.subject!r} as of {now.isoformat()}")
        for reason in decision.reasons:
            typer.echo(
                f"  {reason.decision:<10} {reason.value:<28} by {reason.rule!r} at {reason.where}"
            )
            for line in why(ruleset, subject, now, decision, reason):
                typer.echo(f"      {line}")
        if decision.sla:
            for label, target in (
                ("first response", decision.sla.first_response),
                ("resolution", decision.sla.resolution),
            ):
                due = target.due.isoformat() if target.due else "none"
                typer.echo(
                    f"  sla        {label}: due {due}, used {target.used:.0%}, "
                    f"breached={target.breached}, at_risk={target.at_risk}"
                )
        for action in decision.actions:
            typer.echo(
                f"  action     {action.kind} {action.target or ', '.join(action.tags)} "
                f"({action.origin}) at {action.where}"
            )
        if decision.next_check:
            typer.echo(f"  next check {decision.next_check.isoformat()}")


@rules_app.command("preview")
def rules_preview(
    directory: Annotated[Path, typer.Argument(help="Folder of the edited rule files.")],
    config: ConfigOption,
    since: Annotated[str, typer.Option(help="Tickets changed in this window: 7d, 24h...")] = "7d",
    limit: Annotated[int, typer.Option(help="Rows of changes to show.")] = 50,
) -> None:
    """Show every decision an edit would change on the tickets syncd has seen; writes nothing."""
    from datetime import UTC, datetime, timedelta

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from syncd.durations import parse_duration
    from syncd.rules.preview import compare
    from syncd.state import open_store

    cfg = _load(config)
    try:
        window = timedelta(seconds=parse_duration(since))
    except ValueError as exc:
        raise UserError(str(exc), where="--since") from None
    running, edited = _rules_or_exit(cfg.rules.dir), _rules_or_exit(directory)
    now = datetime.now(UTC)
    tickets = open_store(cfg.state.url, cfg.state.pipeline).tickets_since(now - window)
    changes, per_field, seen = compare(tickets, running, edited, now)
    table = Table(
        title=f"{len(changes)} decision(s) would change on {seen} ticket(s) "
        f"seen in the last {since}"
    )
    for column in ("ticket", "subject", "field", "before", "after"):
        table.add_column(column, overflow="fold")
    for change in changes[:limit]:
        table.add_row(
            change.ticket.id,
            escape(change.ticket.subject[:60]),
            change.field,
            escape(change.before),
            escape(change.after),
        )
    console = Console(width=160, emoji=False)
    console.print(table)
    if len(changes) > limit:
        console.print(f"... and {len(changes) - limit} more (--limit)")
    for name, count in per_field.most_common():
        typer.echo(f"{name}: {count} ticket(s) change")


@sla_app.command("check")
def sla_check(
    config: ConfigOption,
    sheet: Annotated[
        bool,
        typer.Option(
            "--sheet",
            help="Also write the disagreements to the sheet's 'SLA check' tab (replaced "
            "each time: one read and one write request).",
        ),
    ] = False,
) -> None:
    """Compare syncd's SLA verdicts with the helpdesk's own for every ticket it measures
    (Zendesk's SLA policies, Freshdesk's due dates); each disagreement is printed with its
    reason. Exit 1 if there is any."""
    from datetime import UTC, datetime

    from syncd.ports import WritesReports
    from syncd.sla_check import check_source, sheet_report
    from syncd.wiring import build_sinks, build_source

    loaded = _load(config)
    rules = _rules_or_exit(loaded.rules.dir)
    now = datetime.now(UTC)
    writer = None
    if sheet:
        writer = next((s for s in build_sinks(loaded) if isinstance(s, WritesReports)), None)
        if writer is None:
            raise UserError(
                "--sheet needs the sheet: no sheets sink is configured",
                where=str(config),
                hint="Add a sheets sink to the config, or leave out --sheet",
            )
    found, measured = check_source(rules, build_source(loaded), now)
    for disagreement in found:
        typer.echo(disagreement.line())
    typer.echo(f"{measured} ticket(s) measured by the helpdesk, {len(found)} disagreement(s)")
    if writer is not None:
        writer.write_reports([sheet_report(found, measured, now)])
        typer.echo("written to the sheet's SLA check tab")
    if found:
        raise typer.Exit(1)


def _rules_or_exit(directory: Path) -> Any:
    """The compiled rule set; a folder without rule files is a UserError (exit 2), problems
    in the rule files are listed with file:line:column (exit 1, as a linter's findings)."""
    from syncd.errors import RuleError
    from syncd.rules import load_rules

    if not directory.is_dir():
        what = "is a file, not a folder" if directory.is_file() else "does not exist"
        raise UserError(
            f"rules folder {directory} {what}",
            where=str(directory),
            hint="Give the folder holding your rule files (*.yaml), e.g. rules/",
        )
    if not any(directory.glob("*.yaml")):
        raise UserError(
            f"no rule files (*.yaml) in {directory}",
            where=str(directory),
            hint="Give the folder holding your rule files, e.g. rules/",
        )
    try:
        return load_rules(directory)
    except RuleError as exc:
        typer.echo(exc.render(), err=True)
        raise typer.Exit(1) from None


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Port to listen on (0 picks a free one).")] = 8765,
    tickets: Annotated[
        Path | None, typer.Option(help="JSON file of tickets to load (a list of objects).")
    ] = None,
    generate: Annotated[int, typer.Option(min=0, help="Generate this many sample tickets.")] = 0,
    fault_rate: Annotated[
        float, typer.Option(help="Share of requests answered 429/5xx (0 to 1).")
    ] = 0.0,
    credentials_out: Annotated[
        Path | None, typer.Option(help="Write a service-account key for the sandbox here.")
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0: reachable from other containers).")
    ] = "127.0.0.1",
    helpdesk: Annotated[
        str,
        typer.Option(
            help="The helpdesk that --tickets, --generate and the config are for: "
            f"{' or '.join(HELPDESKS)}."
        ),
    ] = "zendesk",
    config_out: Annotated[
        Path | None,
        typer.Option(
            help="Write a syncd config for the sandbox here (default: in the temp folder)."
        ),
    ] = None,
) -> None:
    """Serve local emulators of the Zendesk, Freshdesk, HubSpot, Google Sheets and Slack APIs
    (and an SMTP server), and print the config and secrets that point syncd at them."""
    from syncd.defaults import rules_here_or_default
    from syncd.sandbox.cli import serve

    rules = rules_here_or_default()  # ./rules, else the rule set syncd ships
    serve(port, tickets, generate, fault_rate, credentials_out, host, helpdesk, config_out, rules)


@app.command()
def demo(
    output: Annotated[Path, typer.Option(help="Folder for the demo's files.")] = Path(
        "demo-output"
    ),
    tickets: Annotated[int, typer.Option(min=1, help="Sample tickets to start with.")] = 60,
) -> None:
    """Run syncd end to end against the sandbox and show the resulting sheet."""
    from syncd.demo import run_demo

    run_demo(output, tickets)


@app.command()
def init(
    folder: Annotated[
        Path, typer.Argument(help="Folder for syncd.yaml and rules/ (made if missing).")
    ] = Path("."),
    helpdesk: Annotated[
        str | None, typer.Option(help="zendesk or freshdesk.", show_default=False)
    ] = None,
    subdomain: Annotated[
        str | None, typer.Option(help="Zendesk: acme for acme.zendesk.com.", show_default=False)
    ] = None,
    domain: Annotated[
        str | None,
        typer.Option(help="Freshdesk: acme for acme.freshdesk.com.", show_default=False),
    ] = None,
    email: Annotated[
        str | None,
        typer.Option(help="Zendesk: the agent whose API token syncd uses.", show_default=False),
    ] = None,
    spreadsheet_id: Annotated[
        str | None,
        typer.Option(help="The Google Sheet's id (or its URL).", show_default=False),
    ] = None,
    credentials_file: Annotated[
        Path | None,
        typer.Option(help="The Google service account's JSON key file.", show_default=False),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace syncd.yaml and the rule files there.")
    ] = False,
) -> None:
    """Write a starter syncd.yaml and a copy of the default rules (rules/) to edit, then
    print the next commands. On a terminal it asks for what the options leave out; off a
    terminal every answer comes from the options (exit 2 naming a missing one)."""
    from syncd.init import Answers
    from syncd.init import init as write_starter

    if helpdesk and subdomain and domain:
        raise UserError(
            "give --subdomain (Zendesk) or --domain (Freshdesk), not both", where="init"
        )
    kind = helpdesk or ("freshdesk" if domain and not subdomain else None)
    if kind and kind.lower() == "freshdesk" and subdomain:
        raise UserError("--subdomain is Zendesk's", where="--subdomain", hint="Use --domain")
    if kind and kind.lower() == "zendesk" and domain:
        raise UserError("--domain is Freshdesk's", where="--domain", hint="Use --subdomain")
    answers = Answers(
        helpdesk=kind or ("zendesk" if subdomain else None),
        account=subdomain or domain,
        email=email,
        spreadsheet_id=spreadsheet_id,
        credentials_file=str(credentials_file) if credentials_file else None,
    )

    def ask(question: str, _option: str) -> str:
        return str(typer.prompt(question))

    on_terminal = sys.stdin.isatty() and sys.stdout.isatty()
    written = write_starter(folder, answers, ask if on_terminal else None, force)
    typer.echo(f"wrote {written.config} and {written.rules}/ (the default rules, to edit)")
    typer.echo(f"set the secrets: export {'=... '.join(written.secrets)}=...")
    typer.echo("then:")
    for command in written.next_commands:
        typer.echo(f"  {command}")


def tune_gc() -> None:
    """Collect cycles less often than Python's default (every 700 new containers): each
    export page and sheet read makes hundreds of thousands of short-lived ones, freed by
    reference counting anyway, and the default had a 20,000-ticket backfill spend 2.5 of its
    14 s of CPU in 36 full collections, with the same peak memory either way (issue 17).
    What is loaded by now (the modules) lives as long as the process: no collection scans it
    (once a process: main() runs again for each command in the tests' process)."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
    gc.set_threshold(20_000, 10, 10)


def main() -> None:
    """Entry point: user errors become one line and exit code 2, never a traceback (the
    root command, `_OneLineErrors`, does that)."""
    tune_gc()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
