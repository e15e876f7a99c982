"""Google Sheets sink: the managers' spreadsheet, one cycle in at most three requests.

Tabs syncd owns, created on first use: "Tickets" (one row per ticket, updated in place),
the report tabs (SLA breaches, Escalations, Daily summary, Weekly report, Monthly trends,
each rewritten whole when its table changes) and yearly "Archive <year>" tabs. Any other tab,
and any column right of syncd's, is a manager's and is never written.

A write costs one read and one write request however many records changed, at most three:
- read: one `spreadsheets.get` with a field mask, asking for the header row and key column
  of the tabs written this cycle with their properties and syncd's stamps (sheets_layout).
  Rows are found by id on every write, so a manager may sort or filter the tab freely. The
  titles of the spreadsheet's tabs are remembered between cycles; a daemon's first write
  reads them first, with a small metadata-only `get` (so does the write after a refusal,
  e.g. when a manager deleted one of syncd's tabs).
- write (sheets_plan): one `:batchUpdate` when a tab must change (created, formatted when its
  stamp says so, grown, the archive move, row deletions) carrying the cells too while it
  stays small; else, or for big writes (thousands of rows), the cells in one
  `values:batchUpdate` (RAW: a text stays text, nothing becomes a formula). The ticket id
  links to the helpdesk through a cell-level link set when its row is appended. Any failure
  is retried from a fresh read, so replaying a row deletion can never delete the wrong row.

Gone tickets (merged, spam or deleted in the helpdesk) are never shown as open: their Status
says so ("merged into #123" when the target is known) and their SLA and escalation cells are
empty. With `sheets.gone_tickets: remove` their rows are deleted instead, still within the one
write; a gone ticket without a row is not appended; a restored one is, as its record changes.

Once a day, finished tickets (solved, closed or gone) whose Updated moment is older than
`sheets.archive_after_days` move to the "Archive <year>" tab of that year; a warning is
logged when the spreadsheet passes 80% of Google's 10,000,000-cell limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import google.auth.exceptions
import gspread
import requests
import structlog
from google.auth.transport.requests import AuthorizedSession, Request
from google.oauth2 import service_account

from connectors.sheets_format import column_letter, tickets_spec
from connectors.sheets_layout import (
    DATA_FIELDS,
    META_FIELDS,
    Book,
    header_differs,
    parse_book,
    row_layout,
)
from connectors.sheets_plan import (
    REMOVE,
    Plan,
    Sweep,
    cell_bytes_at_least,
    cell_requests,
    plan,
    value_ranges,
)
from syncd.config import SheetsConfig
from syncd.errors import ConfigError, CredentialsError, Refusal, TransientError, error_for
from syncd.keys import is_report_key, report_key
from syncd.logs import register_secret
from syncd.model import Decision, Ticket
from syncd.ports import Chart, Report, SinkRecord, SinkResult
from syncd.retry import retry_after_seconds, with_retry
from syncd.sheet_columns import cell_value, ticket_columns, to_serial

log = structlog.get_logger("syncd.sheets")

SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
GOOGLE_APIS = ".googleapis.com"
MAX_CELL = 50_000  # characters a cell holds
TRUNCATED = "… [truncated by syncd]"
MAX_REQUEST = 9_000_000  # bytes per request, under Google's limit of 10 MB (10,485,760)
# A batch carries the cells too while it stays this small (Google recommends 2 MB at most);
# bigger writes send them in the compact values form, in a request of their own.
MAX_INLINE = 2_000_000
HEADROOM = 500  # rows added beyond need when the Tickets grid grows, so growth is rare
CELL_LIMIT = 10_000_000  # cells a spreadsheet holds (every tab's grid counts)
CELL_WARNING = 0.8  # share of the limit past which the log warns


def quote_sheet(title: str) -> str:
    """A sheet title as A1 notation wants it: 'My Tab' with quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


class _MissingTab(Exception):
    """A range named a tab that is no longer there (a manager deleted or renamed it)."""


class SheetsSink:
    """The managers' spreadsheet: the Tickets tab, the report tabs and the archive."""

    name = "sheets"

    def __init__(
        self,
        config: SheetsConfig,
        attempts: int = 5,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.attempts = attempts
        self.clock = clock
        self.zone = ZoneInfo(config.timezone)
        self.tab = config.tickets_tab
        self.columns = ticket_columns(config.columns, config.timezone)
        self.spec = tickets_spec(self.tab, self.columns, HEADROOM)
        keys = [c.key for c in self.columns]
        # The config makes sure the archive has the Status and Updated columns to read.
        self.archive = config.archive_after_days is not None
        self._status = keys.index("status") if "status" in keys else -1
        self._updated = keys.index("updated") if "updated" in keys else -1
        self._titles: set[str] | None = None  # the spreadsheet's tabs, as last read
        self._swept: date | None = None  # the day of the last archive sweep
        self._warned: set[str] = set()
        self._reads = 0  # reads sent by the current write
        self._relayout = False  # the layout changed since the rows were written (`relayout`)
        self._stale: list[str] = []  # rows to write again in the new layout (`stale_rows`)
        self._sheet_ids: dict[str, int] = {}  # tab title -> sheetId, as last read
        creds = _credentials(config)
        session = (
            _RedirectedSession(creds, config.base_url.rstrip("/"))
            if config.base_url
            else AuthorizedSession(creds)
        )
        self.client = gspread.Client(auth=creds, session=session)
        self.client.set_timeout(config.timeout)
        self.http = self.client.http_client

    # --- the rows' layout ----------------------------------------------------------------

    @property
    def layout(self) -> str:
        """A fingerprint of how rows are laid out (columns and timezone); the pipeline keeps
        it in the state store and calls `relayout` when the config changed it."""
        return row_layout([(c.key, c.title) for c in self.columns], self.config.timezone)

    def relayout(self) -> None:
        """The rows in the Tickets tab were written in another layout (the columns or the
        timezone changed): the next read names them all in `stale_rows`."""
        self._relayout = True

    def stale_rows(self) -> list[str]:
        """Tickets whose rows the last read found in an older layout (the header differed
        from the configured columns, or `relayout` was called); each call hands them over
        once. The pipeline queues them in this sink's backlog, which rewrites them from the
        ticket snapshots within the usual per-cycle limits."""
        stale, self._stale = self._stale, []
        return stale

    def tab_url(self, name: str, title: str) -> str:
        """A link to a tab of the spreadsheet (`name` as in `sheets.tabs`, `title` its default
        title); to the spreadsheet until the tab was read."""
        url = f"https://docs.google.com/spreadsheets/d/{self.config.spreadsheet_id}/edit"
        title = self.config.tabs.get(name, title)
        sheet_id = self._sheet_ids.get(title)
        return url if sheet_id is None else f"{url}#gid={sheet_id}"

    # --- rendering (pure) ----------------------------------------------------------------

    def render(self, ticket: Ticket, decision: Decision) -> SinkRecord:
        """The ticket's row, one value per column (moments as serial numbers in the sheet's
        timezone), and its helpdesk link; for a gone ticket with `gone_tickets: remove`, the
        request to delete its row."""
        gone = ticket.status.is_gone
        if gone and self.config.gone_tickets == "remove":
            # Only the intent is fingerprinted: later edits of a gone ticket cost no request,
            # and a restored ticket's row differs from this, so it is written (appended) again.
            return SinkRecord(key=ticket.id, payload={REMOVE: True})
        row = [_fit(cell_value(c.value(ticket, decision, gone), self.zone)) for c in self.columns]
        return SinkRecord(key=ticket.id, payload={"row": row, "link": ticket.url})

    def render_reports(self, reports: Sequence[Report]) -> list[SinkRecord]:
        """Each report as the sheet shows it, keyed "report:<name>": the tab's title, the
        columns, the rows (moments and days as serial numbers), each column's number format
        and the charts."""
        records = []
        for report in reports:
            formats = [report.formats.get(c) or _inferred(report, i) for i, c in
                       enumerate(report.columns)]  # fmt: skip
            payload = {
                "tab": self.config.tabs.get(report.name, report.title),
                "columns": list(report.columns),
                "rows": [[_fit(cell_value(v, self.zone)) for v in row] for row in report.rows],
                "formats": formats,
                "charts": [_chart(c) for c in report.charts],
            }
            people = list(getattr(report, "people", ()))
            if people:  # columns people fill (the Incidents tab's RCA owner): see sheets_plan
                payload["people"] = people
            records.append(SinkRecord(key=report_key(report.name), payload=payload))
        return records

    def describe(self, records: Sequence[SinkRecord]) -> str:
        """What write() would do."""
        tickets, reports = _split(records)
        gone = sum(1 for p in tickets.values() if p.get(REMOVE))
        text = f"write {len(tickets) - gone} row(s)"
        if gone:
            text += f", remove the rows of {gone} gone ticket(s) (those present)"
        text += f" of '{self.tab}'"
        if reports:
            text += " and the report tab(s) " + ", ".join(f"'{r['tab']}'" for r in reports)
        return f"{text} in 1 read + 1 write request"

    # --- writing -------------------------------------------------------------------------

    def write_reports(self, reports: Sequence[Report]) -> None:
        """Write report tabs alone, outside a cycle (`syncd sla check --sheet`): one read and
        one write request, never the daily archive sweep (that stays the cycle's)."""
        _tickets, payloads = _split(self.render_reports(reports))
        with_retry(
            lambda: self._write_once({}, payloads, False), api="sheets", attempts=self.attempts
        )

    def write(self, records: Sequence[SinkRecord]) -> SinkResult:
        """Write the cycle's records: one read and one or two writes (see the module
        docstring); the first write of a day also sweeps old finished tickets to the
        archive."""
        tickets, reports = _split(records)
        today = self.clock().astimezone(self.zone).date()
        sweep = self.archive and self._swept != today
        done = with_retry(
            lambda: self._write_once(tickets, reports, sweep), api="sheets", attempts=self.attempts
        )
        if sweep:
            self._swept = today
        log.info(
            "sheet written",
            rows=done.written,
            appended=done.appended,
            removed=done.removed,
            archived=done.archived or None,
            reports=done.reports or None,
            formatted=done.formatted or None,
        )
        # Every record is accepted, a gone ticket without a row too: the sheet is as wanted.
        return SinkResult(accepted=list(dict.fromkeys(r.key for r in records)))

    def _write_once(
        self, tickets: dict[str, dict[str, Any]], reports: list[dict[str, Any]], sweep: bool
    ) -> Plan:
        try:
            self._reads = 0
            book = self._read(sweep, [r["tab"] for r in reports])
            self._warn(book)
            batch = plan(book, tickets, reports, self.spec, self._sweep() if sweep else None)
            cells = batch.cells
            if batch.requests or batch.links:
                # The cells ride in the batch while it stays small; a bigger one too, up to
                # what a request may carry, when a request of their own would be a fourth.
                structure = batch.requests + batch.links
                limit = MAX_REQUEST if self._reads > 1 else MAX_INLINE
                fits = cell_bytes_at_least(cells) <= limit
                requests = structure + (cell_requests(cells) if fits else [])
                if fits and _size({"requests": requests}) <= limit:
                    cells = []
                elif self._reads > 1 and batch.links:
                    # Links would cost a fourth request here: the ids go without this time.
                    log.warning(
                        "ticket links left out to stay within 3 requests", rows=batch.appended
                    )
                    structure = batch.requests
                    requests = structure + (cell_requests(cells) if fits else [])
                    if fits and _size({"requests": requests}) <= limit:
                        cells = []
                    else:
                        requests = structure
                else:
                    requests = structure
                if requests:
                    self._call(self.http.batch_update, {"requests": requests})
                self._titles = (self._titles or set()) | set(batch.formatted)
            for chunk in _chunks(value_ranges(cells)):
                body = {"valueInputOption": "RAW", "data": chunk}
                self._call(self.http.values_batch_update, body)
            return batch
        except TransientError:
            raise
        except Exception:
            # A refusal may come from a tab a manager added, deleted or renamed since the
            # tabs were last read: the next attempt reads them anew.
            self._titles = None
            raise

    def _sweep(self) -> Sweep:
        days = self.config.archive_after_days or 0
        cutoff = to_serial(self.clock() - timedelta(days=days), self.zone)
        return Sweep(cutoff, lambda title: tickets_spec(title, self.columns, 0))

    def _read(self, sweep: bool, report_tabs: list[str]) -> Book:
        """What this write needs to know; see the module docstring for the requests."""
        fresh = None
        if self._titles is None:
            fresh = self._get(None, META_FIELDS, {}, complete=True)
            self._titles = {t.title for t in fresh.tabs.values() if t.grid}
        ranges: list[str] = []
        roles: dict[str, list[str]] = {}  # tab -> what each of its ranges is, in order
        owned = [self.tab, *report_tabs]
        if sweep:
            owned += sorted(t for t in self._titles if t.startswith("Archive "))
        present = {t.casefold(): t for t in self._titles}
        for name in owned:
            title = present.get(name.casefold())  # as the tab is titled
            if title is None or title in roles:
                continue
            q = quote_sheet(title)
            ranges += [f"{q}!1:1", f"{q}!A:A"]
            roles[title] = ["header", "keys"]
            if sweep and name == self.tab:
                for index in (self._status, self._updated):
                    letter = column_letter(index)
                    ranges.append(f"{q}!{letter}:{letter}")
                    roles[title].append("extra")
        if sweep and fresh is None:
            # One cell of every other tab brings its grid's size: the day's cell count.
            ranges += [f"{quote_sheet(t)}!A1" for t in sorted(self._titles) if t not in roles]
        if not ranges:
            return fresh or Book()
        try:
            book = self._get(ranges, DATA_FIELDS, roles, complete=sweep)
        except _MissingTab:
            if fresh is not None:
                raise TransientError("a tab went away while the sheet was read") from None
            self._titles = None
            return self._read(sweep, report_tabs)
        if fresh is not None:
            for title, tab in fresh.tabs.items():
                book.tabs.setdefault(title, tab)
            book.complete = True
        return book

    def _get(
        self,
        ranges: list[str] | None,
        fields: str,
        wanted: dict[str, list[str]],
        complete: bool = False,
    ) -> Book:
        params: dict[str, Any] = {"fields": fields}
        if ranges:
            params["ranges"] = ranges
        try:
            # spreadsheets.get as gspread sends it, parsed here so that each cell becomes its
            # text as it is read (sheets_layout).
            url = gspread.urls.SPREADSHEET_URL % self.config.spreadsheet_id
            self._reads += 1
            response = self.http.request("get", url, params=params)
            return parse_book(response.content, wanted, complete)
        except gspread.exceptions.APIError as exc:
            # Our ranges are well formed, so a 400 about one means its tab is gone.
            if ranges and exc.code == 400 and "range" in str(exc).lower():
                raise _MissingTab() from None
            raise _translate(exc) from None
        except Exception as exc:
            raise _translate(exc) from None

    def _warn(self, book: Book) -> None:
        """Warn, once a day, when the spreadsheet nears Google's cell limit; and note the rows
        of the Tickets tab written in an older layout (`stale_rows`)."""
        day = self.clock().astimezone(self.zone).date().isoformat()
        if book.complete and book.cells > CELL_WARNING * CELL_LIMIT and day not in self._warned:
            self._warned.add(day)
            biggest = sorted(book.tabs.values(), key=lambda t: t.cells, reverse=True)[:3]
            log.warning(
                "the spreadsheet nears Google's cell limit",
                cells=book.cells,
                limit=CELL_LIMIT,
                share=round(book.cells / CELL_LIMIT, 3),
                biggest={t.title: t.cells for t in biggest},
                hint="lower sheets.archive_after_days, or move old Archive tabs to another "
                "spreadsheet (Copy to > existing spreadsheet) and delete them here",
            )
        self._sheet_ids.update({t.title: t.sheet_id for t in book.tabs.values()})
        tab = book.find(self.tab)
        # syncd's own columns changed (the write reformats the tab now): the header differs
        # from the configured columns and the tab's stamp is of another layout. A header a
        # manager edited by hand does not count.
        moved = tab is not None and (tab.stamp is None or tab.stamp.layout != self.spec.layout)
        if tab is not None and (
            (moved and header_differs(tab, self.spec.columns)) or self._relayout
        ):
            self._relayout = False
            if tab.keys:
                self._stale = list(tab.keys)
                log.info(
                    "the Tickets tab's layout changed: its rows are rewritten in the new "
                    "layout over the next cycles, within the usual requests per cycle",
                    tab=self.tab,
                    rows=len(tab.keys),
                )

    def _call(self, method: Any, body: dict[str, Any]) -> Any:
        try:
            return method(self.config.spreadsheet_id, body)
        except Exception as exc:
            raise _translate(exc) from None


def _split(records: Sequence[SinkRecord]) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Ticket payloads by key (the latest of each) and report payloads."""
    tickets: dict[str, dict[str, Any]] = {}
    reports: dict[str, dict[str, Any]] = {}
    for record in records:
        target = reports if is_report_key(record.key) else tickets
        target[record.key] = dict(record.payload)
    return tickets, list(reports.values())


def _chunks(ranges: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The ValueRanges in as few requests as Google's 10 MB request limit allows (one, for
    10,000 ordinary rows; long texts can make more)."""
    chunks: list[list[dict[str, Any]]] = []
    size = MAX_REQUEST
    for value_range in ranges:
        length = _size(value_range)
        if size + length > MAX_REQUEST:
            chunks.append([])
            size = 0
        chunks[-1].append(value_range)
        size += length
    return chunks


def _size(body: Any) -> int:
    """Bytes of a request body as sent."""
    return len(json.dumps(body).encode())  # escaped as requests sends it


def _chart(chart: Chart) -> dict[str, Any]:
    """A chart as the payload carries it; "rows" when it plots only the table's first rows
    (the Agents tab's newest week: syncd.reports.LeadingChart)."""
    shown: dict[str, Any] = {"title": chart.title, "kind": chart.kind, "domain": chart.domain}
    shown["series"] = list(chart.series)
    leading = getattr(chart, "rows", None)
    return shown if leading is None else shown | {"rows": int(leading)}


def _inferred(report: Report, index: int) -> str:
    """A column's format from its cells when the report names none: moments and days must
    not show as bare serial numbers."""
    for row in report.rows:
        value = row[index] if index < len(row) else None
        if isinstance(value, datetime):
            return "datetime"
        if isinstance(value, date):
            return "date"
    return ""


def _fit(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_CELL:
        return value[: MAX_CELL - len(TRUNCATED)] + TRUNCATED
    return value


def _redirect(base: str, url: str) -> str:
    """https://sheets.googleapis.com/v4/x -> {base}/v4/x; other hosts untouched."""
    parts = urlsplit(url)
    if parts.scheme == "https" and (parts.hostname or "").endswith(GOOGLE_APIS):
        return base + url[len(f"https://{parts.netloc}") :]
    return url


class _RedirectingSession(requests.Session):
    """Plain session for google-auth's own calls (token refresh, IAM look-ups)."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        return super().request(method, _redirect(self.base, str(url)), *args, **kwargs)


class _RedirectedSession(AuthorizedSession):
    """An authorized session where a sandbox or proxy stands in for every Google API host:
    Sheets, and the IAM endpoint google-auth consults about a service-account key."""

    def __init__(self, credentials: Any, base: str) -> None:
        # google-auth's AuthorizedSession is not annotated.
        auth_request = Request(session=_RedirectingSession(base))
        super().__init__(credentials, auth_request=auth_request)  # type: ignore[no-untyped-call]
        self.base = base

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        target = _redirect(self.base, str(url))
        return super().request(method, target, *args, **kwargs)  # type: ignore[no-untyped-call]


def _credentials(config: SheetsConfig) -> service_account.Credentials:
    path = config.credentials_file
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"service-account key {path} not found",
            where="sheets.credentials_file",
            hint="Download a JSON key for the service account and share the sheet with it",
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read the service-account key {path}: {exc}",
            where="sheets.credentials_file",
        ) from None
    for key in ("private_key", "private_key_id"):
        register_secret(str(info.get(key, "")))
    if config.token_url:
        info["token_uri"] = config.token_url
    try:
        credentials: service_account.Credentials = (
            service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
        )
        return credentials
    except (ValueError, KeyError) as exc:
        raise ConfigError(
            f"{path} is not a service-account key: {exc}",
            where="sheets.credentials_file",
            hint="Use the JSON key file Google gives for a service account",
        ) from None


def _status(exc: gspread.exceptions.APIError) -> int:
    """The HTTP status of a Sheets error. gspread takes the code from the JSON error body and
    falls back to -1 when the body is not JSON, such as the HTML page Google's front end
    serves with a 502 or 503 (gspread/exceptions.py, APIError.__init__): the response's own
    status then tells what happened."""
    if exc.code > 0:
        return exc.code
    response = getattr(exc, "response", None)
    return int(getattr(response, "status_code", 0) or 0)


REFUSAL = Refusal(
    "access",
    where="sheets",
    hint="Share the spreadsheet with the service account's email as an editor",
)


def _translate(exc: Exception) -> Exception:
    """A gspread/google-auth/requests failure -> syncd's error tree (syncd.errors' table)."""
    if isinstance(exc, gspread.exceptions.APIError):
        status = _status(exc)
        detail = exc.error.get("message", "") if exc.code == status else ""
        if status == 404:  # the one thing a 404 can mean to this sink
            detail = "spreadsheet not found: check sheets.spreadsheet_id and that it is shared "
            detail += "with the service account"
        return error_for(
            "Google Sheets",
            status,
            str(detail)[:300],
            retry_after=retry_after_seconds(exc.response.headers.get("Retry-After")),
            refusal=REFUSAL,
        )
    if isinstance(exc, google.auth.exceptions.RefreshError):
        return CredentialsError(
            f"Google refused the service-account key: {exc}",
            where="sheets.credentials_file",
            hint="Create a new key for the service account",
        )
    if isinstance(exc, google.auth.exceptions.TransportError | requests.RequestException):
        return TransientError(f"cannot reach Google: {type(exc).__name__}", vendor="Google Sheets")
    return exc
