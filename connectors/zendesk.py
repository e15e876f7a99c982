"""Zendesk source: the cursor-based incremental ticket export, through zenpy. Read-only.

One request per page of up to 1000 tickets, with requester, organization, assignee, group
and ticket metrics sideloaded; each ticket's people and group are looked up in the page's
own sideloads, so no lazy lookup ever sends a request. We fetch page by page with `cursor=`
rather than letting zenpy's generator follow `after_url`, so every page is retried on its own
and the pipeline decides when to stop.

zenpy sends the requests (its session and auth, its URLs, its 429 and error handling), but
the connector reads each answer's JSON itself, once, and normalises straight from its dicts
(`_answer`, `_Sideloads`): zenpy would decode the JSON three times and map every ticket,
user, organization and group into objects (which we then turned back into dicts), about
0.8 ms of CPU a ticket, more than syncd's whole per-ticket budget (issue 17).

The ticket lifecycle as the export shows it: a ticket merged into another is closed with the
`closed_by_merge` tag (Status.MERGED; the export does not say into which ticket); a ticket
marked as spam is deleted and its requester suspended (Status.SPAM); archived tickets (closed
over 120 days) stay in the export, so a backfill from an old start_time still sees them.
Reply times, solve time and reopens come from the `metric_sets` sideload.

Satisfaction: a ticket's `satisfaction_rating` says good or bad. With Zendesk's updated
(customizable) CSAT that is a conversion of a 2-, 3- or 5-point survey (on 5 points 1-3 are
bad), and the real score is in the CSAT Survey Responses API (`GET
/api/v2/guide/survey_responses`, developer.zendesk.com/api-reference/ticketing/
ticket-management/csat_survey_responses/). For the rated tickets of each export answer, one
request asks for their survey responses (`filter[subject_zrns]`, up to 100 tickets); a
ticket with one gets that score on syncd's 1-5 scale and its scale (`Ticket.csat_scale`),
one without keeps good/bad (5.0 / 1.0, scale 2). An answer without rated tickets, such as an
idle cycle's, costs nothing more. An account whose token may not read survey responses
(403/404: plan or role) is asked no more in this process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
import structlog
from zenpy import Zenpy
from zenpy.lib.exception import APIException, RatelimitBudgetExceeded, ZenpyException

from syncd.config import ZendeskConfig
from syncd.errors import Refusal, TerminalError, TransientError, error_for
from syncd.incremental import resume_point
from syncd.model import HelpdeskSla, Organization, Person, Status, Ticket, parse_timestamp
from syncd.ports import Page
from syncd.retry import retry_after_seconds, with_retry

# `slas`: Zendesk's own SLA state inside each ticket (for `syncd sla check`); an include
# costs no request, only a few hundred bytes per measured ticket.
# users: requesters and assignees (agents by name); groups: the tickets' groups by name.
SIDELOADS = ["users", "organizations", "groups", "metric_sets", "slas"]
SURVEY_RESPONSES = "/api/v2/guide/survey_responses"
SURVEY_TICKETS = 100  # tickets per survey-responses request (one page of 100 responses)
SHOW_MANY = 100  # ids per show_many request (Zendesk's limit)
START_PREFIX = "start_time:"  # our cursors that begin an export (Zendesk's never look so)
MERGED_TAG = "closed_by_merge"  # what Zendesk tags a ticket closed by a merge with
log = structlog.get_logger("syncd.zendesk")
CSAT_SCORES = {"good": 5.0, "bad": 1.0}  # Zendesk's two-point survey on syncd's 1-5 scale
STATUSES = {
    "new": Status.NEW,
    "open": Status.OPEN,
    "pending": Status.PENDING,
    "hold": Status.ON_HOLD,
    "solved": Status.SOLVED,
    "closed": Status.CLOSED,
    "deleted": Status.DELETED,
}


class ZendeskSource:
    """Tickets changed since a cursor, from Zendesk's incremental export."""

    name = "zendesk"

    def __init__(self, config: ZendeskConfig, token: str, attempts: int = 5) -> None:
        if config.base_url:
            # zenpy builds https://{subdomain}.zendesk.com URLs; these variables are its
            # documented override (process-wide, which is fine: one helpdesk per process).
            parts = urlsplit(config.base_url)
            os.environ["ZENPY_FORCE_SCHEME"] = parts.scheme
            os.environ["ZENPY_FORCE_NETLOC"] = parts.netloc
        self.config = config
        self.attempts = attempts
        self.requests_sent = 0
        self.link_base = (config.base_url or f"https://{config.subdomain}.zendesk.com").rstrip("/")
        # zenpy would sleep through a 429's Retry-After itself, unseen by syncd's retry policy
        # and its metrics, and where a shutdown cannot cut the wait short. A budget of 0
        # seconds makes it hand the 429 back at once (RatelimitBudgetExceeded); a response
        # hook on its session (one for all its endpoints) notes the Retry-After the 429 came
        # with, and syncd.retry counts the 429 and waits that long before asking again.
        self._retry_after: float | None = None
        self.client = Zenpy(
            subdomain=config.subdomain,
            email=config.email,
            token=token,
            timeout=config.timeout,
            ratelimit_budget=0,
        )
        self.client.tickets.session.hooks["response"].append(self._note_retry_after)
        self._surveys = True  # False once Zendesk says this token cannot read survey responses

    def _note_retry_after(self, response: Any, *_args: Any, **_kwargs: Any) -> None:
        if response.status_code == 429:
            self._retry_after = retry_after_seconds(response.headers.get("Retry-After"))

    def start_cursor(self, since: datetime) -> str:
        """A cursor that starts the export at `since` (Zendesk's start_time)."""
        return f"{START_PREFIX}{int(since.timestamp())}"

    def pull(self, cursor: str | None) -> Iterator[Page]:
        """Pages of at most `page_size` changed tickets, starting after `cursor` (or at
        start_time the first time).

        zenpy's export URLs carry per_page on the first request only (later pages are built
        from the cursor and include: zenpy lib/endpoint.py, PrimaryEndpoint.__call__), so
        Zendesk answers those with up to 1,000 tickets. Such an answer is handed over in slices of
        page_size, so the pipeline can stop near max_tickets_per_cycle; a slice's cursor is
        then a time cursor (start_time of the first ticket not handed over yet, see
        `_slices`), which resumes exactly there."""
        while True:
            page, stamps = with_retry(
                partial(self._fetch, cursor), api="zendesk", attempts=self.attempts
            )
            yield from _slices(self._with_surveys(page), stamps, self.config.page_size)
            if page.end_of_stream:
                return
            cursor = page.cursor

    def _fetch(self, cursor: str | None) -> tuple[Page, dict[str, int]]:
        self.requests_sent += 1
        export = self.client.tickets.endpoint.incremental
        if cursor is None or cursor.startswith(START_PREFIX):
            start = self.config.start_time
            start_time = int(start.timestamp()) if start else 0
            if cursor is not None:
                start_time = int(cursor.removeprefix(START_PREFIX))
            endpoint = export.cursor_start(
                start_time=start_time, include=SIDELOADS, per_page=self.config.page_size
            )
        else:  # zenpy's cursor endpoint knows no per_page: Zendesk's default, 1,000, applies
            endpoint = export.cursor(cursor=cursor, include=SIDELOADS)
        page = self._answer(endpoint, "the ticket export")
        tickets, rejected = self._normalize_page(page)
        next_cursor = page.get("after_cursor") or cursor or ""
        end = bool(page.get("end_of_stream", True))
        return Page(tickets, next_cursor, end, rejected), _stamps(page)

    def fetch(self, keys: Sequence[str]) -> Page:
        """The current version of these tickets, by id, with the export's sideloads
        (`GET /api/v2/tickets/show_many`, 100 a request); those Zendesk no longer has are
        rejected so."""
        ids = [int(key) for key in keys if key.isdigit()]
        tickets: list[Ticket] = []
        rejected: list[tuple[str, str, Any]] = [
            (key, "not a Zendesk ticket id", None) for key in keys if not key.isdigit()
        ]
        for start in range(0, len(ids), SHOW_MANY):
            chunk = ids[start : start + SHOW_MANY]
            found, bad = with_retry(
                partial(self._show_many, chunk), api="zendesk", attempts=self.attempts
            )
            tickets += found
            rejected += bad
            seen = {t.id for t in found} | {key for key, _, _ in bad}
            rejected += [
                (str(i), "Zendesk no longer has this ticket", None)
                for i in chunk
                if str(i) not in seen
            ]
        return self._with_surveys(Page(tickets, "", True, rejected))

    def _with_surveys(self, page: Page) -> Page:
        """The page with each rated ticket's survey score, where Zendesk has one."""
        rated = [t.id for t in page.tickets if t.csat is not None]
        if not rated or not self._surveys:
            return page
        scores: dict[str, SurveyScore] = {}
        for start in range(0, len(rated), SURVEY_TICKETS):
            chunk = rated[start : start + SURVEY_TICKETS]
            scores |= with_retry(
                partial(self._survey_scores, chunk), api="zendesk", attempts=self.attempts
            )
        if not scores:
            return page
        tickets = [_rescored(t, scores[t.id]) if t.id in scores else t for t in page.tickets]
        return Page(tickets, page.cursor, page.end_of_stream, page.rejected)

    def _survey_scores(self, ticket_ids: list[str]) -> dict[str, SurveyScore]:
        """The newest answered survey of each ticket (by id), following `links.next`."""
        url: str | None = self.link_base + SURVEY_RESPONSES
        params: dict[str, Any] | None = {
            "filter[subject_zrns]": ",".join(f"zen:ticket:{i}" for i in ticket_ids),
            "page[size]": 100,
        }
        wanted, found = set(ticket_ids), dict[str, SurveyScore]()
        while url:
            body = self._get_surveys(url, params)
            if body is None:
                return {}
            for response in body.get("survey_responses") or []:
                try:
                    answered = _survey_scores(response) if isinstance(response, dict) else []
                except ValueError:  # a malformed time: keep the ticket's good/bad
                    answered = []
                for ticket_id, score in answered:
                    if ticket_id in wanted and (
                        ticket_id not in found or score.at > found[ticket_id].at
                    ):
                        found[ticket_id] = score
            more = (body.get("meta") or {}).get("has_more")
            url, params = ((body.get("links") or {}).get("next") if more else None), None
        return found

    def _get_surveys(self, url: str, params: dict[str, Any] | None) -> dict[str, Any] | None:
        """One page of survey responses; None when this token may not read them."""
        self.requests_sent += 1
        try:
            response = self.client.tickets.session.get(
                url, params=params, timeout=self.config.timeout
            )
        except requests.RequestException as exc:
            raise _translate(exc, self.link_base) from None
        if response.status_code in (403, 404):
            # Survey responses need the Professional plan (Suite Growth) and an admin.
            self._surveys = False
            log.warning(
                "Zendesk survey responses not readable: CSAT stays good/bad",
                status=response.status_code,
            )
            return None
        if response.status_code != 200:
            raise _translate(requests.HTTPError(response=response), self.link_base)
        try:
            body = response.json()
        except ValueError:
            raise TransientError("Zendesk answered survey responses with no JSON") from None
        return body if isinstance(body, dict) else {}

    def _show_many(self, ids: list[int]) -> tuple[list[Ticket], list[tuple[str, str, Any]]]:
        self.requests_sent += 1
        endpoint = self.client.tickets.endpoint(ids=ids, include=SIDELOADS)
        return self._normalize_page(self._answer(endpoint, "show_many"))

    def _answer(self, endpoint: Any, what: str) -> dict[str, Any]:
        """The JSON of Zendesk's answer to a zenpy endpoint (URL), decoded once.

        The request goes zenpy's own way (`_get`: its session with our Retry-After hook, its
        429 handling under a budget of 0 seconds, `_check_response` raising APIException & co.,
        which `_translate` maps), but its `raw_response` is read here rather than mapped into
        zenpy objects: that mapping cost about 0.8 ms a ticket (module docstring)."""
        api = self.client.tickets
        try:
            response = api._get(api._build_url(endpoint), raw_response=True)
        except Exception as exc:
            raise _translate(exc, self.link_base, self._retry_after) from None
        try:
            body = _json(response.content)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise TransientError(f"Zendesk answered {what} with no JSON object", vendor="Zendesk")
        return body

    def _normalize_page(
        self, page: Mapping[str, Any]
    ) -> tuple[list[Ticket], list[tuple[str, str, Any]]]:
        """The answer's tickets, normalised with its sideloads; malformed ones rejected."""
        side = _Sideloads.of(page)
        tickets, rejected = [], []
        given = page.get("tickets")
        for raw in given if isinstance(given, list) else ():
            if not isinstance(raw, dict):
                rejected.append(("?", "malformed ticket: not a JSON object", raw))
                continue
            try:
                tickets.append(self._normalize(raw, side))
            except (ValueError, TypeError, KeyError) as exc:
                rejected.append((str(raw.get("id", "?")), f"malformed ticket: {exc}", raw))
        return tickets, rejected

    def _normalize(self, raw: Mapping[str, Any], side: _Sideloads) -> Ticket:
        user = side.users.get(raw.get("requester_id"))
        requester = _user(user, raw.get("requester_id"))
        org_id = raw.get("organization_id")
        organization = _organization(side.organizations.get(org_id), org_id)
        ticket = normalize(
            raw,
            requester,
            organization,
            self.link_base,
            metrics=side.metrics.get(raw.get("id")),
            requester_suspended=bool(user.get("suspended")) if user is not None else False,
            custom_names=self.config.custom_fields,
        )
        return _named(ticket, raw, side)


@dataclass(frozen=True, slots=True)
class _Sideloads:
    """An answer's sideloads by id: `users` (requesters and assignees), `organizations`,
    `groups`, and `metrics` (the `metric_sets`, by ticket id)."""

    users: Mapping[Any, Mapping[str, Any]]
    organizations: Mapping[Any, Mapping[str, Any]]
    groups: Mapping[Any, Mapping[str, Any]]
    metrics: Mapping[Any, Mapping[str, Any]]

    @classmethod
    def of(cls, page: Mapping[str, Any]) -> _Sideloads:
        return cls(
            _by_key(page, "users", "id"),
            _by_key(page, "organizations", "id"),
            _by_key(page, "groups", "id"),
            _by_key(page, "metric_sets", "ticket_id"),
        )


def _by_key(page: Mapping[str, Any], sideload: str, key: str) -> dict[Any, Mapping[str, Any]]:
    """The records of a sideload (a list of objects) by their `key`; a later one wins."""
    records = page.get(sideload)
    if not isinstance(records, list):
        return {}
    return {record.get(key): record for record in records if isinstance(record, dict)}


def normalize(
    raw: Mapping[str, Any],
    requester: Person | None,
    organization: Organization | None,
    link_base: str,
    *,
    metrics: Mapping[str, Any] | None = None,
    requester_suspended: bool = False,
    custom_names: Mapping[str, str] | None = None,
) -> Ticket:
    """A Zendesk ticket (API JSON) and its ticket metrics -> Ticket. Raises ValueError on data
    that cannot be used. `custom_names` maps rule names to custom field ids."""
    ticket_id = raw.get("id")
    if not isinstance(ticket_id, int) or isinstance(ticket_id, bool):
        raise ValueError(f"id {ticket_id!r} is not a ticket number")
    status = STATUSES.get(str(raw.get("status") or "").lower())
    if status is None:
        raise ValueError(f"unknown status {raw.get('status')!r}")
    tags = tuple(str(t).lower() for t in raw.get("tags") or ())  # Zendesk's are already
    if status is Status.CLOSED and MERGED_TAG in tags:
        status = Status.MERGED
    elif status is Status.DELETED and requester_suspended:
        status = Status.SPAM  # Zendesk's "mark as spam" deletes the ticket, suspends the user
    given_via = raw.get("via")
    via: dict[str, Any] = given_via if isinstance(given_via, dict) else {}
    custom = {
        str(f["id"]): f.get("value")
        for f in raw.get("custom_fields") or []
        if isinstance(f, dict) and "id" in f
    }
    for name, field_id in (custom_names or {}).items():
        custom[name] = custom.get(str(field_id))
    created_at = parse_timestamp(raw.get("created_at"), "created_at")
    updated_at = parse_timestamp(raw.get("updated_at"), "updated_at")
    given = raw.get("satisfaction_rating")
    rating: dict[str, Any] = given if isinstance(given, dict) else {}
    csat = CSAT_SCORES.get(str(rating.get("score")))
    replied = _reply_time(metrics)
    return Ticket(
        id=str(ticket_id),
        source="zendesk",
        subject=_text(raw.get("subject") or raw.get("raw_subject")),
        description=_text(raw.get("description")),
        status=status,
        created_at=created_at,
        updated_at=updated_at,
        helpdesk_priority=str(raw["priority"]).lower() if raw.get("priority") else None,
        channel=str(via.get("channel") or ""),
        tags=tags,
        requester=requester,
        organization=organization,
        assignee_id=str(raw["assignee_id"]) if raw.get("assignee_id") else None,
        url=f"{link_base}/agent/tickets/{ticket_id}",
        custom_fields=custom,
        first_response_at=created_at + replied if replied is not None else None,
        solved_at=_optional_timestamp(metrics, "solved_at"),
        reopens=_count(metrics, "reopens"),
        paused_minutes=_paused_minutes(metrics),
        # Rating a ticket updates it, so the version that first carries a rating is its time.
        csat=csat,
        csat_scale=2 if csat is not None else None,  # good/bad; the survey may say more
        csat_at=updated_at if csat is not None else None,
        csat_comment=_text(rating.get("comment")) if csat is not None else "",
        # Without its metrics (a deleted ticket has none) syncd cannot tell whether an agent
        # replied: first-response SLAs are then shown, not judged, rather than falsely breached.
        replies_known=metrics is not None,
        first_solved_at=_first_solve(created_at, metrics),
        # Ticket metrics count replies but date only the first: who waits for the next reply,
        # and since when the last public agent reply, are not in them.
        unseen=UNSEEN if metrics is not None else UNSEEN | {"first_resolution"},
        helpdesk_sla=_helpdesk_slas(raw.get("slas")),
    )


@dataclass(frozen=True, slots=True)
class SurveyScore:
    """A ticket's answer to an updated-CSAT survey."""

    rating: int
    scale: int  # points: 2, 3 or 5
    at: datetime
    comment: str

    @property
    def csat(self) -> float:
        """The rating on syncd's 1-5 scale: 3/5 is 3.0, 2/3 is 3.0, 2/2 is 5.0."""
        return 1 + (self.rating - 1) * 4 / (self.scale - 1)


def _survey_scores(response: Mapping[str, Any]) -> list[tuple[str, SurveyScore]]:
    """(ticket id, score) for each ticket a survey response is about; none if unanswered."""
    answers = [a for a in response.get("answers") or [] if isinstance(a, dict)]
    ratings = [a for a in answers if a.get("type") == "rating_scale"]
    csat = [
        a for a in ratings if (a.get("question") or {}).get("sub_type") == "customer_satisfaction"
    ]
    chosen = csat or ratings
    if not chosen:
        return []
    answer: dict[str, Any] = chosen[0]
    rating = answer.get("rating")
    if not isinstance(rating, int) or isinstance(rating, bool) or rating < 1:
        return []
    options = (answer.get("question") or {}).get("options") or []
    points: list[int] = [
        o["rating"]
        for o in options
        if isinstance(o, dict)
        and isinstance(o.get("rating"), int)
        and not isinstance(o.get("rating"), bool)
    ]
    # The list's question may leave out its options (optional in the docs); Zendesk's
    # default scale has 5 points, and a rating above 3 can only be on it.
    scale = max(points) if points else 5
    if scale < 2 or rating > scale:
        return []
    comment = next(
        (str(a.get("value") or "") for a in answers if a.get("type") == "open_ended"), ""
    )
    at = parse_timestamp(answer.get("updated_at") or answer.get("created_at"), "updated_at")
    score = SurveyScore(rating, scale, at, comment)
    return [
        (str(subject.get("id")), score)
        for subject in response.get("subjects") or []
        if isinstance(subject, dict) and subject.get("type") == "ticket"
    ]


def _rescored(ticket: Ticket, score: SurveyScore) -> Ticket:
    return replace(
        ticket,
        csat=score.csat,
        csat_scale=score.scale,
        csat_at=score.at,
        csat_comment=score.comment or ticket.csat_comment,
    )


def _stamps(page_json: Mapping[str, Any]) -> dict[str, int]:
    """Each exported ticket's generated_timestamp, which a start_time export compares with
    ("the API compares the start_time with the ticket's generated_timestamp", Zendesk,
    Incremental Exports)."""
    stamps = {}
    for raw in page_json.get("tickets") or []:
        value = raw.get("generated_timestamp") if isinstance(raw, dict) else None
        if isinstance(value, int) and not isinstance(value, bool):
            stamps[str(raw.get("id"))] = value
    return stamps


def _slices(page: Page, stamps: Mapping[str, int], size: int) -> Iterator[Page]:
    """The page in slices of at least `size` tickets. A slice that is not the page's last
    ends where a start_time export resumes exactly: every ticket handed over so far has an
    older generated_timestamp than every ticket still to come (so a cycle that stops there
    reads none twice and loses none); its cursor is then that start_time. Where no such
    point exists (tickets sharing a second, a missing timestamp), the slice grows."""
    tickets = list(page.tickets)
    start, rejected = 0, page.rejected
    while len(tickets) - start > size:
        found = _cut(tickets, stamps, start + size)
        if found is None:
            break
        cut, resume = found
        yield Page(tickets[start:cut], f"{START_PREFIX}{resume}", False, rejected)
        start, rejected = cut, ()
    yield Page(tickets[start:], page.cursor, page.end_of_stream, rejected)


def _cut(tickets: list[Ticket], stamps: Mapping[str, int], earliest: int) -> tuple[int, int] | None:
    """The first index from `earliest` on where the page splits cleanly by time, with the
    start_time that resumes there; None when there is none (syncd.incremental)."""
    if any(t.id not in stamps for t in tickets):
        return None
    return resume_point([stamps[t.id] for t in tickets], earliest)


def _reply_time(metrics: Mapping[str, Any] | None) -> timedelta | None:
    """Time to the first public agent reply (calendar minutes), None when not replied yet."""
    if not metrics or not _count(metrics, "replies"):
        return None
    minutes = (metrics.get("reply_time_in_minutes") or {}).get("calendar")
    if not isinstance(minutes, int | float) or isinstance(minutes, bool) or minutes < 0:
        return None
    return timedelta(minutes=minutes)


# Zendesk's totals of time spent in a status: agent wait time is time pending.
PAUSED_METRICS = {"pending": "agent_wait_time_in_minutes", "on_hold": "on_hold_time_in_minutes"}


def _paused_minutes(metrics: Mapping[str, Any] | None) -> dict[str, dict[str, float]]:
    """Minutes spent pending and on hold, {calendar, business} each. Zendesk adds a stretch
    to these totals when the status changes again, so they leave out a current one."""
    out: dict[str, dict[str, float]] = {}
    for status, key in PAUSED_METRICS.items():
        value = (metrics or {}).get(key)
        minutes = {
            kind: float(v)
            for kind, v in (value.items() if isinstance(value, dict) else ())
            if kind in ("calendar", "business")
            and isinstance(v, int | float)
            and not isinstance(v, bool)
            and v > 0
        }
        if minutes:
            out[status] = minutes
    return out


UNSEEN = frozenset({"next_reply", "periodic_update"})
# Zendesk's SLA metric names -> syncd's measures ("": one syncd does not track).
SLA_METRICS = {
    "first_reply_time": "first_response",
    "next_reply_time": "next_reply",
    "periodic_update_time": "periodic_update",
    "requester_wait_time": "requester_wait",
    "agent_work_time": "agent_work",
    "pausable_update_time": "",
    "total_resolution_time": "",
}


def _first_solve(created_at: datetime, metrics: Mapping[str, Any] | None) -> datetime | None:
    """The first solve, from first_resolution_time_in_minutes (calendar minutes from the
    ticket's creation, kept through reopens)."""
    value = ((metrics or {}).get("first_resolution_time_in_minutes") or {}).get("calendar")
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        return None
    return created_at + timedelta(minutes=value)


def _helpdesk_slas(slas: Any) -> tuple[HelpdeskSla, ...]:
    """The ticket's `slas.policy_metrics` (include=slas): metric, stage, breach_at."""
    metrics = slas.get("policy_metrics") if isinstance(slas, dict) else None
    out = []
    for item in metrics if isinstance(metrics, list) else ():
        if not isinstance(item, dict) or not isinstance(item.get("metric"), str):
            continue
        metric = item["metric"]
        breach_at = item.get("breach_at")
        out.append(
            HelpdeskSla(
                SLA_METRICS.get(metric, ""),
                metric,
                str(item.get("stage") or ""),
                parse_timestamp(breach_at, "slas.breach_at") if breach_at else None,
            )
        )
    return tuple(out)


def _count(metrics: Mapping[str, Any] | None, key: str) -> int:
    value = (metrics or {}).get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _optional_timestamp(metrics: Mapping[str, Any] | None, key: str) -> datetime | None:
    value = (metrics or {}).get(key)
    return parse_timestamp(value, key) if value else None


def _named(ticket: Ticket, raw: Mapping[str, Any], side: _Sideloads) -> Ticket:
    """The ticket with its assignee's and group's names, from the page's `users` (which hold
    the assignees) and `groups` sideloads; without them the ids stay, names empty."""
    assignee = side.users.get(raw.get("assignee_id")) if raw.get("assignee_id") else None
    group_id = raw.get("group_id")
    group = side.groups.get(group_id) if group_id else None
    if assignee is None and not group_id:
        return ticket
    return replace(
        ticket,
        assignee_name=str((assignee or {}).get("name") or ""),
        group_id=str(group_id) if group_id else None,
        group_name=str((group or {}).get("name") or ""),
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _user(user: Mapping[str, Any] | None, user_id: Any) -> Person | None:
    if user is None:
        return Person(id=str(user_id)) if user_id else None
    return Person(
        id=str(user.get("id")), name=user.get("name") or "", email=user.get("email") or ""
    )


def _organization(org: Mapping[str, Any] | None, org_id: Any) -> Organization | None:
    if org is None:
        return Organization(id=str(org_id)) if org_id else None
    domains = org.get("domain_names") or []
    return Organization(
        id=str(org.get("id")), name=org.get("name") or "", domain=domains[0] if domains else ""
    )


REFUSAL = Refusal(
    "the API token",
    where="helpdesk",
    hint="Check helpdesk.email and the token in the variable named by helpdesk.token_env",
)


def _json(content: bytes) -> Any:
    """Decoded JSON: orjson, several times faster on a page of megabytes, or json where orjson
    refuses what JSON's \\u escapes allow (a lone surrogate in a ticket's text)."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content)


def _translate(exc: Exception, base: str, retry_after: float | None = None) -> Exception:
    """A zenpy/requests failure -> syncd's error tree (`retry_after`: what the last 429 said,
    for the 429 zenpy hands back without its response)."""
    if isinstance(exc, RatelimitBudgetExceeded):
        return error_for("Zendesk", 429, "rate limited", retry_after=retry_after)
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        return error_for(
            "Zendesk",
            status,
            str(exc)[:300],
            retry_after=retry_after_seconds(getattr(response, "headers", {}).get("Retry-After")),
            refusal=REFUSAL,
        )
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return TransientError(
            f"cannot reach Zendesk at {base}: {type(exc).__name__}", vendor="Zendesk"
        )
    if isinstance(exc, APIException | ZenpyException | requests.HTTPError):
        return TerminalError(f"Zendesk rejected the request: {str(exc)[:300]}")
    return exc
