"""syncd's configuration: one YAML file, validated with pydantic.

Every mistake becomes one `ConfigError` naming the file, the line, the key and the fix.
Secrets are never in the file: the file names the environment variable that holds each one.
Relative paths in the file are resolved against the file's own folder, so a config works
whatever directory the daemon is started from.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from syncd.durations import parse_duration
from syncd.errors import ConfigError
from syncd.registry import HELPDESKS, HelpdeskSection
from syncd.registry import FreshdeskConfig as FreshdeskConfig  # the helpdesks' sections,
from syncd.registry import ZendeskConfig as ZendeskConfig  # where they were before
from syncd.yamlfile import load_yaml


def _positive_seconds(value: Any) -> float:
    """A duration ("90s", "5m", 300) in seconds; more than zero."""
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError("must be more than 0 seconds")
    return seconds


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


# The `helpdesk:` section: one model per registered helpdesk (syncd.registry), told apart by
# `kind`. Type checkers see what every helpdesk's section has.
if TYPE_CHECKING:
    HelpdeskConfig = HelpdeskSection
else:
    HelpdeskConfig = Annotated[
        Union[tuple(entry.model for entry in HELPDESKS.values())],  # noqa: UP007
        Field(discriminator="kind"),
    ]


class HubSpotConfig(_Section):
    """The CRM sink."""

    enabled: bool = True
    token_env: str = "HUBSPOT_TOKEN"
    base_url: str | None = None
    id_property: str = "helpdesk_ticket_id"
    pipeline: str = "0"
    # helpdesk status -> stage id of the pipeline (HubSpot's default Support Pipeline)
    stages: dict[str, str] = {
        "new": "1",
        "open": "3",
        "pending": "2",
        "on_hold": "3",
        "solved": "4",
        "closed": "4",
        "merged": "4",
        "spam": "4",
        "deleted": "4",
    }
    # syncd priority level -> hs_ticket_priority option
    priorities: dict[str, str] = {
        "Critical": "URGENT",
        "High": "HIGH",
        "Medium": "MEDIUM",
        "Low": "LOW",
    }
    batch_size: int = Field(100, ge=1, le=100)
    # HubSpot allows 100-190 requests per 10 s by plan; stay under it rather than meet 429s.
    requests_per_10s: int = Field(100, ge=1, le=1000)
    timeout: float = Field(30.0, gt=0)
    # What to do with a gone ticket (merged, spam or deleted in the helpdesk): "mark" keeps the
    # CRM ticket, in the stage `stages` names for its status; "archive" archives the HubSpot
    # object, which takes it out of HubSpot's views, reports and associations. "mark" keeps
    # that history in the CRM, hence the default.
    gone_tickets: Literal["mark", "archive"] = "mark"
    # Link each ticket to its requester, upserted as a contact by email, and to its
    # organization, upserted as a company by domain (by helpdesk organization id when it has
    # none). Off: tickets only (the token then needs no contact or company scopes).
    contacts: bool = True
    companies: bool = True

    @field_validator("stages")
    @classmethod
    def _known_statuses(cls, stages: dict[str, str]) -> dict[str, str]:
        # A misspelt status would silently fall back to the open stage.
        from syncd.model import Status

        known = [s.value for s in Status]
        for status in stages:
            if status not in known:
                raise ValueError(f"unknown status {status!r}; statuses are {', '.join(known)}")
        return stages


class SheetsConfig(_Section):
    """The managers' Google Sheet."""

    enabled: bool = True
    spreadsheet_id: str
    credentials_file: Path
    worksheet: str = "Tickets"  # deprecated: the Tickets tab's title, now `tabs.tickets`
    base_url: str | None = None
    token_url: str | None = None
    timeout: float = Field(30.0, gt=0)
    # What to do with a gone ticket's row (merged, spam or deleted in the helpdesk): "mark"
    # keeps it with that status (never an open one); "remove" deletes the row, so the tab lists
    # only tickets that still exist. Either way a gone ticket is never shown as open.
    gone_tickets: Literal["mark", "remove"] = "mark"
    # The Tickets tab's columns, in order: keys (syncd.sheet_columns.COLUMN_KEYS), or
    # {key: Title} to retitle one; None: the default set.
    columns: list[str | dict[str, str]] | None = None
    # Tab titles by what they show: tickets, breaches, escalations, daily, weekly, monthly.
    tabs: dict[str, str] = Field({}, validate_default=True)  # checked against `worksheet`
    # Finished tickets (solved, closed, merged, spam, deleted) whose last change is older move
    # from the Tickets tab to a yearly "Archive <year>" tab; None: they stay.
    archive_after_days: int | None = Field(365, ge=1)

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, columns: list[str | dict[str, str]] | None) -> Any:
        from syncd.sheet_columns import column_problem

        problem = column_problem(columns) if columns is not None else None
        if problem:
            raise ValueError(problem)
        return columns

    @field_validator("tabs")
    @classmethod
    def _known_tabs(cls, tabs: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        from syncd.reports import TITLES

        known = ("tickets", "breaches", "escalations", "daily", "weekly", "monthly")
        for key, title in tabs.items():
            if key not in known:
                raise ValueError(f"unknown tab {key!r}; tabs are {', '.join(known)}")
            if not title.strip() or len(title) > 100 or title.startswith("Archive "):
                raise ValueError(
                    f"the title of {key!r} must be 1 to 100 characters, not starting "
                    "'Archive ' (those are the archive's tabs)"
                )
        # Every tab's title as the sheet will have it (a default where none is set), compared
        # as Google does: two titles differing only in case are the same tab.
        worksheet = info.data.get("worksheet", "Tickets")
        titles = {"tickets": worksheet, **TITLES, **tabs}
        seen: dict[str, str] = {}
        for key, title in titles.items():
            other = seen.setdefault(title.strip().casefold(), key)
            if other != key:
                raise ValueError(
                    f"the {other} and {key} tabs would both be titled {title!r}; "
                    "give each tab a title of its own"
                )
        return tabs

    @model_validator(mode="after")
    def _archive_reads_its_columns(self) -> SheetsConfig:
        # The archive tells finished, old tickets by their Status and Updated cells.
        keys = {next(iter(c)) if isinstance(c, dict) else c for c in self.columns or []}
        if self.columns and self.archive_after_days and not {"status", "updated"} <= keys:
            raise ValueError(
                "archive_after_days needs the status and updated columns; keep them in "
                "sheets.columns, or set archive_after_days: null"
            )
        return self

    @property
    def tickets_tab(self) -> str:
        """The Tickets tab's title: `tabs.tickets`, else the older `worksheet`."""
        return self.tabs.get("tickets", self.worksheet)

    # Dates and times in the sheet are this zone's, and so are the report tabs' days (SLA
    # breaches, escalations, daily, weekly, monthly; syncd.reports); weeks end on `week_ends`;
    # the tabs show the last `report_days` days, `report_weeks` weeks and `report_months`
    # months. The SLA breaches and Escalations tabs keep what is open plus `history_days` of
    # history (a breach that ended, an escalation of a closed ticket), newest first, and count
    # the older rows left out (`recent_breach_days`, its former name, is still read).
    timezone: str = "UTC"
    week_ends: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "friday"
    report_days: int = Field(92, ge=1, le=3660)
    report_weeks: int = Field(26, ge=1, le=520)
    report_months: int = Field(24, ge=1, le=120)
    history_days: int = Field(30, ge=0, le=366)

    @model_validator(mode="before")
    @classmethod
    def _old_history_name(cls, data: Any) -> Any:
        # recent_breach_days set the SLA breaches tab's window; it is now both tabs' history.
        if isinstance(data, dict) and "recent_breach_days" in data:
            if "history_days" in data:
                raise ValueError(
                    "recent_breach_days is the former name of history_days; keep history_days"
                )
            data = dict(data)
            data["history_days"] = data.pop("recent_breach_days")
        return data

    @property
    def recent_breach_days(self) -> int:
        """The former name of `history_days`."""
        return self.history_days

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ValueError, ZoneInfoNotFoundError):
            raise ValueError(
                f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin or UTC"
            ) from None
        return name


class SlackConfig(_Section):
    """Slack incoming webhooks for `notify: slack:#channel` actions."""

    # "#channel" -> environment variable holding that channel's webhook URL (a secret)
    channels: dict[str, str] = {}
    timeout: float = Field(15.0, gt=0)


class EmailConfig(_Section):
    """An SMTP relay for `notify: email:<address>` and `notify: email:requester` actions."""

    host: str
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True  # upgrade the connection with STARTTLS before logging in
    # Environment variables holding the login (both or neither; none: send without AUTH).
    username_env: str | None = None
    password_env: str | None = None
    sender: str  # the From address, e.g. support@acme.example
    timeout: float = Field(30.0, gt=0)

    @field_validator("sender")
    @classmethod
    def _an_address(cls, sender: str) -> str:
        if "@" not in sender:
            raise ValueError("must be an email address, e.g. support@acme.example")
        return sender


class CrmActionsConfig(_Section):
    """The rules' actions in HubSpot (only when `hubspot.enabled`): `task:` actions become
    HubSpot tasks, and every escalation level a ticket reaches leaves a note on its timeline."""

    tasks: bool = True
    notes: bool = True


class NotificationsConfig(_Section):
    """Where the rules' notify actions go."""

    slack: SlackConfig = SlackConfig()
    # `notify: webhook:<name>` -> environment variable holding that webhook's URL (a secret)
    webhooks: dict[str, str] = {}
    webhook_timeout: float = Field(15.0, gt=0)
    # SMTP for `email:` actions; None: they are recorded as skipped.
    email: EmailConfig | None = None
    crm: CrmActionsConfig = CrmActionsConfig()
    # The first sync meets the whole backlog; by default its actions are recorded, not sent.
    notify_on_first_sync: bool = False


class StateConfig(_Section):
    """Where syncd remembers cursors and what each sink accepted, and how replicas share it."""

    url: str = "sqlite:///syncd-state.db"
    # One helpdesk account and its sinks. Pipelines sharing a PostgreSQL database each get a
    # schema of their own (syncd_<pipeline>); None: derived from the helpdesk (zendesk-acme).
    pipeline: str | None = None
    # A replica holds the pipeline's lease to run cycles; a standby takes over once the
    # holder has not renewed it for this long.
    lease_seconds: float = 30.0

    @field_validator("pipeline")
    @classmethod
    def _pipeline_name(cls, name: str | None) -> str | None:
        if name is not None and not (
            len(name) <= 48 and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name)
        ):
            raise ValueError(
                "must be 1 to 48 lower-case letters, digits and single hyphens, e.g. zendesk-acme"
            )
        return name

    @field_validator("lease_seconds", mode="before")
    @classmethod
    def _lease(cls, value: Any) -> float:
        seconds = parse_duration(value)
        if seconds < 1:
            raise ValueError("must be at least 1 second (replicas renew it three times per term)")
        return seconds


class RulesConfig(_Section):
    """The SOP rule files."""

    dir: Path = Path("rules")


class LogConfig(_Section):
    """Log level and format (json when not on a terminal, unless set)."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class OpsConfig(_Section):
    """The operations endpoint of `syncd run`: /healthz, /readyz and /metrics over HTTP."""

    enabled: bool = True
    # All interfaces: in a container, loopback cannot be reached from outside (publish the
    # port, or set 127.0.0.1 on a shared host). The endpoint shows counts and sink errors
    # with secrets masked, never ticket data.
    host: str = "0.0.0.0"
    port: int = Field(9102, ge=0, le=65535)  # 0 picks a free port (tests)
    # /readyz fails when no cycle succeeded for this long; default 3 × poll_interval, at
    # least 5 minutes (None here; see syncd.ops.ready_within).
    ready_within: float | None = None

    @field_validator("ready_within", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return None if value is None else _positive_seconds(value)


class DeadLettersConfig(_Section):
    """Records a sink rejected and tickets the helpdesk sent malformed: tried again
    automatically with exponential backoff, then parked until `syncd dlq retry`."""

    retries: int = Field(5, ge=0, le=30)  # automatic attempts after the first failure
    first_retry: float = 300.0  # wait before the first of them; doubled each time after
    max_wait: float = 21_600.0  # the longest wait between two attempts (6h)

    @field_validator("first_retry", "max_wait", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return _positive_seconds(value)


class CircuitBreakerConfig(_Section):
    """Per vendor API: after `failures` failed calls in a row (each after its retries) the
    API is considered down; calls fail at once and one request probes it per interval."""

    failures: int = Field(5, ge=1, le=100)
    probe_interval: float = 60.0

    @field_validator("probe_interval", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return _positive_seconds(value)


class DigestConfig(_Section):
    """One digest of the report tabs' key figures (syncd.digests): when it goes out (local
    time `at`, HH:MM in `sheets.timezone`) and to whom (`slack:#channel`, `email:address`);
    no targets: off."""

    at: str = "08:00"
    to: list[str] = []

    @field_validator("at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
        if match is None:
            raise ValueError(f"{value!r} is not a time of day; write HH:MM, e.g. 08:00")
        return f"{int(match[1]):02d}:{match[2]}"

    @field_validator("to")
    @classmethod
    def _targets(cls, targets: list[str]) -> list[str]:
        for target in targets:
            kind, _, rest = target.partition(":")
            if kind == "slack" and rest.startswith("#") and len(rest) > 1:
                continue
            if kind == "email" and "@" in rest:
                continue
            raise ValueError(
                f"{target!r} is not a digest target; write slack:#channel or "
                "email:someone@example.com"
            )
        return targets


class DigestsConfig(_Section):
    """The SOPs' daily issue summary and weekly report, pushed (syncd.digests): the daily one
    every day at `daily.at`, the weekly one on `sheets.week_ends` at `weekly.at`."""

    daily: DigestConfig = DigestConfig()
    weekly: DigestConfig = DigestConfig(at="16:00")


class Config(_Section):
    """The whole configuration file."""

    helpdesk: HelpdeskConfig
    hubspot: HubSpotConfig
    sheets: SheetsConfig
    state: StateConfig = StateConfig()
    rules: RulesConfig = RulesConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    digests: DigestsConfig = DigestsConfig()
    poll_interval: float = 60.0
    max_tickets_per_cycle: int = Field(10_000, ge=1)
    retry_attempts: int = Field(5, ge=1, le=20)
    circuit_breaker: CircuitBreakerConfig = CircuitBreakerConfig()
    dead_letters: DeadLettersConfig = DeadLettersConfig()
    log: LogConfig = LogConfig()
    ops: OpsConfig = OpsConfig()

    @field_validator("helpdesk", mode="before")
    @classmethod
    def _zendesk_by_default(cls, value: Any) -> Any:
        # Configs written before Freshdesk existed have no `kind`: they are Zendesk's.
        if isinstance(value, dict) and "kind" not in value:
            return {"kind": "zendesk", **value}
        return value

    @field_validator("poll_interval", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return _positive_seconds(value)

    @model_validator(mode="after")
    def _digest_channels(self) -> Config:
        # A digest posts through the channels notifications set up: name them there.
        channels = self.notifications.slack.channels
        for kind in ("daily", "weekly"):
            for target in getattr(self.digests, kind).to:
                if target.startswith("slack:") and target.removeprefix("slack:") not in channels:
                    raise ValueError(
                        f"digests.{kind}.to names {target}, which notifications.slack.channels "
                        "does not map to a webhook; add it there"
                    )
                if target.startswith("email:") and self.notifications.email is None:
                    raise ValueError(
                        f"digests.{kind}.to names {target}, but notifications.email (the SMTP "
                        "relay) is not set"
                    )
        return self

    @model_validator(mode="after")
    def _name_the_pipeline(self) -> Config:
        if self.state.pipeline is None:
            name = default_pipeline(self.helpdesk)
            self.state = self.state.model_copy(update={"pipeline": name})
        return self


def default_pipeline(helpdesk: HelpdeskSection) -> str:
    """The pipeline's name when `state.pipeline` is not set: the helpdesk and its account,
    e.g. zendesk-acme (for acme.zendesk.com) or freshdesk-acme."""
    words = re.findall(r"[a-z0-9]+", helpdesk.account.lower())
    return "-".join([helpdesk.kind, *words])[:48].strip("-")


def secret(env_name: str, key: str, holds: str = "the token") -> str:
    """The secret held in environment variable `env_name` (named by config key `key`);
    `holds` says what it is, for the message (the token, the webhook's URL...)."""
    value = os.environ.get(env_name, "").strip()
    if not value:
        raise ConfigError(
            f"environment variable {env_name} is not set",
            where=key,
            hint=f"Export {env_name} with {holds}, or set {key} to the variable that holds it",
        )
    return value


def load_config(path: str | Path) -> Config:
    """Read, validate and resolve a config file; raises ConfigError with file:line on failure,
    listing every problem of the file at once."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(
            f"{path} is a folder, not a config file",
            where="--config",
            hint=f"Pass the YAML file itself, e.g. --config {path / 'syncd.yaml'}",
        )
    if not path.is_file():
        raise ConfigError(
            f"config file {path} not found",
            hint="Pass --config with the path of your syncd.yaml "
            "(config/syncd.example.yaml documents every option)",
        )
    data = load_yaml(path, ConfigError)
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of settings at the top level", where=str(path))
    if "SYNCD_STATE_URL" in os.environ:
        data.setdefault("state", {})["url"] = os.environ["SYNCD_STATE_URL"]
    problems = _url_problems(data)
    try:
        config = Config.model_validate(_plain(data))
    except ValidationError as exc:
        problems += [_problem(error) for error in exc.errors()]
    if problems:
        raise _config_error(path, data, problems)
    return _resolve_paths(config, path.parent)


# A problem found in the file: (location as keys, message, hint).
Problem = tuple[tuple[Any, ...], str, str | None]

# Settings holding a URL that requests are sent to: without a scheme, the first request would
# fail deep in the vendor's client (requests' MissingSchema), long after the config loaded.
URL_SETTINGS = (
    ("helpdesk", "base_url"),
    ("hubspot", "base_url"),
    ("sheets", "base_url"),
    ("sheets", "token_url"),
)


def _url_problems(data: Any) -> list[Problem]:
    """Every URL setting that is not an http(s) URL with a host."""
    from urllib.parse import urlsplit

    problems: list[Problem] = []
    for loc in URL_SETTINGS:
        section = data.get(loc[0])
        value = section.get(loc[1]) if isinstance(section, dict) else None
        if not isinstance(value, str) or not value:
            continue  # null (the vendor's own URL), or a wrong type pydantic names
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            example = f"http://{value}" if "://" not in value else "https://proxy.example.com"
            problems.append(
                (loc, "must be a URL starting with http:// or https://", f"Write e.g. {example}")
            )
    return problems


def _problem(error: Any) -> Problem:
    """One pydantic error in the file's terms: where, what, and how to fix it."""
    loc = tuple(error["loc"])
    if loc[:1] == ("helpdesk",) and len(loc) > 1 and loc[1] in HELPDESKS:
        loc = loc[:1] + loc[2:]  # pydantic names the union member; the file does not
    message = str(error["msg"]).removeprefix("Value error, ")
    hint = f"got {error['input']!r}" if "input" in error else None
    if error["type"] == "union_tag_invalid":
        loc = (*loc, "kind")
        message = f"Input should be one of: {error['ctx']['expected_tags']}"
        hint = f"got {error['ctx']['tag']!r}"
    elif error["type"] == "missing":
        message, hint = "is required", "Add it (config/syncd.example.yaml shows every key)"
    elif error["type"] == "extra_forbidden":
        message, hint = "is not a known setting", "Check the spelling against the example"
    if hint and len(hint) > 120:
        hint = hint[:117] + "..."
    return loc, message, hint


def _config_error(path: Path, data: Any, problems: list[Problem]) -> ConfigError:
    """One ConfigError: one problem on one line, or several, one per line, in file order."""
    located = sorted(
        ((_line_of(data, loc) or 0, loc, msg, hint) for loc, msg, hint in problems),
        key=lambda problem: problem[0],
    )
    errors = [
        ConfigError(
            f"{'.'.join(map(str, loc))} {message}",
            where=f"{path}:{line}" if line else str(path),
            hint=hint,
        )
        for line, loc, message, hint in located
    ]
    if len(errors) == 1:
        return errors[0]
    listing = "\n".join(f"  {error.render()}" for error in errors)
    return ConfigError(f"{len(errors)} problems in {path}:\n{listing}")


def _plain(node: Any) -> Any:
    """ruamel's commented containers -> plain dicts and lists for pydantic."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _line_of(data: Any, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest key of `loc` present in the YAML document."""
    line = None
    node = data
    for key in loc:
        lc = getattr(node, "lc", None)
        if isinstance(node, dict) and key in node:
            if lc is not None:
                line = lc.key(key)[0] + 1
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            if lc is not None:
                line = lc.item(key)[0] + 1
            node = node[key]
        else:
            break
    return line


def _resolve_paths(config: Config, base: Path) -> Config:
    """Make relative paths relative to the config file, not to the working directory."""

    def resolve(p: Path) -> Path:
        return p if p.is_absolute() else (base / p).resolve()

    config.rules.dir = resolve(config.rules.dir)
    config.sheets.credentials_file = resolve(config.sheets.credentials_file)
    prefix = "sqlite:///"
    url = config.state.url
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        config.state.url = prefix + str(resolve(Path(url[len(prefix) :])))
    return config
