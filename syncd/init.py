"""`syncd init [DIR]`: a starter config and a copy of the default rules, for a first real run.

It writes DIR/syncd.yaml (the helpdesk, HubSpot, the sheet, a SQLite state beside it, the
Slack channels the rules notify) and DIR/rules/ (the default SOP rule set with its tests and
schema.json, to edit). The answers come from flags; on a terminal, what the flags left out is
asked for. A file already there is never overwritten without --force. Secrets are not asked
for: the config names the environment variables that hold them.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import typer

from syncd.defaults import example_config, rules_dir
from syncd.errors import UserError

HELPDESKS = ("zendesk", "freshdesk")
CONFIG_NAME = "syncd.yaml"
# Ask(question, option) -> the answer typed; `option` is the flag that would have given it.
Ask = Callable[[str, str], str]


@dataclass
class Answers:
    """What a starter config needs from the user (each may also come from a flag)."""

    helpdesk: str | None = None  # zendesk or freshdesk
    account: str | None = None  # Zendesk subdomain or Freshdesk domain: acme
    email: str | None = None  # Zendesk: the agent whose API token syncd uses
    spreadsheet_id: str | None = None
    credentials_file: str | None = None  # the Google service account's JSON key


@dataclass(frozen=True)
class Written:
    """What `init` wrote, and the commands to run next."""

    config: Path
    rules: Path
    secrets: tuple[str, ...]  # environment variables the config reads secrets from
    next_commands: tuple[str, ...]


def init(folder: Path, answers: Answers, ask: Ask | None, force: bool = False) -> Written:
    """Write the starter config and the rules copy into `folder`. `ask` fills in what the
    answers lack (None off a terminal: a missing answer is a UserError naming its flag)."""
    config, rules = folder / CONFIG_NAME, folder / "rules"
    _check_folder(folder, "DIR")
    given = _complete(answers, None, only_given=True)  # the flags' mistakes first
    _refuse_overwrite(config, rules, force)
    complete = _complete(given, ask)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copytree(
            rules_dir(),
            rules,
            ignore=shutil.ignore_patterns("__pycache__", "*.py", "*.pyc"),
            dirs_exist_ok=True,
        )
        config.write_text(starter_config(complete, folder, _channels(rules)), encoding="utf-8")
    except OSError as exc:
        raise UserError(
            f"cannot write into {folder}: {exc.strerror or exc}",
            where=str(folder),
            hint="Give a folder (new or existing) where you can write",
        ) from None
    shown = str(config) if folder != Path(".") else CONFIG_NAME
    return Written(
        config=config,
        rules=rules,
        secrets=_secrets(complete.helpdesk or "zendesk"),
        next_commands=(
            f"syncd setup --config {shown}",
            f"syncd once --dry-run --config {shown}",
            f"syncd run --config {shown}",
        ),
    )


def starter_config(answers: Answers, folder: Path, channels: list[str]) -> str:
    """The starter syncd.yaml's text: the essentials, each commented."""
    q = json.dumps  # a JSON string is a YAML string, whatever it holds
    if answers.helpdesk == "freshdesk":
        helpdesk = [
            "  kind: freshdesk",
            f"  domain: {q(answers.account)}  # https://{answers.account}.freshdesk.com",
            "  api_key_env: FRESHDESK_API_KEY  # environment variable holding an agent's API key",
        ]
    else:
        helpdesk = [
            "  kind: zendesk",
            f"  subdomain: {q(answers.account)}  # https://{answers.account}.zendesk.com",
            f"  email: {q(answers.email)}  # the agent whose API token syncd uses",
            "  token_env: ZENDESK_TOKEN  # environment variable holding that agent's API token",
        ]
    slack = [f"      {q(c)}: SLACK_WEBHOOK_{_env_name(c)}" for c in channels] or ["      {}"]
    lines = [
        "# syncd's config, written by `syncd init`. Relative paths are resolved against this",
        "# file's folder. Secrets never go in this file: each *_env key names the environment",
        "# variable that holds one. Every option, with its default and what it does:",
        f"#   {example_config()}",
        "",
        "helpdesk:",
        *helpdesk,
        "",
        "hubspot:",
        "  token_env: HUBSPOT_TOKEN  # a private app's access token (`syncd setup` checks its",
        "                            # scopes and creates the ticket properties syncd writes)",
        "",
        "sheets:",
        f"  spreadsheet_id: {q(answers.spreadsheet_id)}  # from the sheet's URL: /d/<id>/edit",
        f"  credentials_file: {q(_relative(answers.credentials_file or '', folder))}",
        "  # the Google service account's JSON key: share the sheet with its client_email",
        "  timezone: UTC  # the sheet's dates, and where report days begin (e.g. Europe/Berlin)",
        "",
        "state:",
        "  url: sqlite:///syncd-state.db  # beside this file; postgresql://... for replicas",
        "",
        "rules:",
        "  dir: rules  # your copy of the default SOP rules: edit them, then",
        "              # `syncd rules check rules` and `syncd rules test rules`",
        "",
        "notifications:",
        "  slack:",
        "    channels:  # a channel the rules notify -> environment variable holding its",
        "               # webhook URL; a variable left unset turns its channel off (one warning)",
        *slack,
        "  # email: SMTP for the rules' email actions (off while this section is left out):",
        "  # email: {host: smtp.example.com, port: 587, sender: support@example.com,",
        "  #         username_env: SMTP_USERNAME, password_env: SMTP_PASSWORD}",
        "",
        "poll_interval: 60s  # pause between cycles of `syncd run`",
        "",
    ]
    return "\n".join(lines)


def _complete(answers: Answers, ask: Ask | None, only_given: bool = False) -> Answers:
    """Every answer checked, the missing ones asked for (or refused off a terminal);
    `only_given`: check the answers there are and leave the missing ones missing."""

    def get(value: str | None, question: str, option: str) -> str | None:
        while True:
            if only_given and (value is None or not value.strip()):
                return None
            if value is None or not value.strip():
                if ask is None:
                    raise UserError(
                        f"{option} is required when syncd init is not run on a terminal",
                        where="init",
                        hint=f"Pass {option}, or run syncd init on a terminal to be asked",
                    )
                value = ask(question, option)
            try:
                return _check(option, value.strip())
            except UserError as exc:
                if ask is None:
                    raise
                typer.echo(f"  {exc.message}. {exc.hint or ''}".rstrip(), err=True)
                value = None

    helpdesk = get(answers.helpdesk, "Helpdesk (zendesk or freshdesk)", "--helpdesk")
    if helpdesk != "freshdesk":
        account = get(
            answers.account, "Zendesk subdomain (acme for acme.zendesk.com)", "--subdomain"
        )
        email = get(answers.email, "Zendesk agent email (whose API token syncd uses)", "--email")
    else:
        account = get(answers.account, "Freshdesk domain (acme for acme.freshdesk.com)", "--domain")
        email = None
    sheet = get(
        answers.spreadsheet_id,
        "Google spreadsheet id (or the sheet's URL)",
        "--spreadsheet-id",
    )
    key = get(
        answers.credentials_file,
        "Google service-account key file (JSON)",
        "--credentials-file",
    )
    return Answers(helpdesk, account, email, sheet, key)


def _check(option: str, value: str) -> str:
    """An answer as the config wants it (a URL cut down to its id), or a UserError."""
    if option == "--helpdesk":
        if value.lower() not in HELPDESKS:
            raise UserError(
                f"unknown helpdesk {value!r}", where=option, hint="Give zendesk or freshdesk"
            )
        return value.lower()
    if option in ("--subdomain", "--domain"):
        vendor = "zendesk" if option == "--subdomain" else "freshdesk"
        name = re.sub(r"^https?://", "", value).split("/")[0].removesuffix(f".{vendor}.com")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", name):
            raise UserError(
                f"{value!r} is not a {vendor} {option[2:]}",
                where=option,
                hint=f"Give the first part of your helpdesk's address: acme for acme.{vendor}.com",
            )
        return name.lower()
    if option == "--email":
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise UserError(
                f"{value!r} is not an email address", where=option, hint="e.g. ops@acme.com"
            )
        return value
    if option == "--spreadsheet-id":
        found = re.search(r"/spreadsheets/d/([A-Za-z0-9_-]+)", value)
        sheet = found.group(1) if found else value
        if not re.fullmatch(r"[A-Za-z0-9_-]{10,}", sheet):
            raise UserError(
                f"{value!r} is not a spreadsheet id",
                where=option,
                hint="Give the id from the sheet's URL (/spreadsheets/d/<id>/edit), or the URL",
            )
        return sheet
    path = Path(value).expanduser()
    if path.is_dir():
        raise UserError(f"{value} is a folder", where=option, hint="Give the key's JSON file")
    _check_folder(path.parent, option, value)
    return str(path)


def _check_folder(folder: Path, where: str, what: str | None = None) -> None:
    """A UserError when `folder`, or the nearest of its parents that exists, is a file."""
    for place in (folder, *folder.parents):
        if place.exists():
            if not place.is_dir():
                inside = "" if place == folder and what is None else f"{what or folder}: "
                raise UserError(
                    f"{inside}{place} is a file, not a folder",
                    where=where,
                    hint="Give a path in a folder",
                )
            return


def _refuse_overwrite(config: Path, rules: Path, force: bool) -> None:
    if force:
        return
    if config.is_dir():
        raise UserError(f"{config} is a folder", where=str(config), hint="Choose another DIR")
    there = [p for p in (config, rules) if p.exists()]
    if there:
        names = " and ".join(str(p) for p in there)
        raise UserError(
            f"{names} already exist{'s' if len(there) == 1 else ''}; nothing was written",
            where="init",
            hint="Pass --force to replace them (edits there are lost), or choose another DIR",
        )


def _relative(value: str, folder: Path) -> str:
    """A path typed relative to the working folder, written relative to the config's folder
    (where the config resolves it) when it lies inside it, else absolute."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return str(path)
    absolute = path.resolve()
    try:
        return str(absolute.relative_to(folder.resolve()))
    except ValueError:
        return str(absolute)


def _channels(rules: Path) -> list[str]:
    """The Slack channels the rule files notify (`notify: "slack:#support"`), in order."""
    found: dict[str, None] = {}
    for path in sorted(rules.glob("*.yaml")):
        for channel in re.findall(r"slack:(#[A-Za-z0-9_-]+)", path.read_text(encoding="utf-8")):
            found[channel] = None
    return list(found)


def _env_name(channel: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in channel.lstrip("#")).upper()


def _secrets(helpdesk: str) -> tuple[str, ...]:
    first = "FRESHDESK_API_KEY" if helpdesk == "freshdesk" else "ZENDESK_TOKEN"
    return (first, "HUBSPOT_TOKEN")
