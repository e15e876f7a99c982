"""Zendesk's updated (customizable) CSAT: survey responses, as the CSAT Survey Responses API
serves them. A mixin of `ZendeskApp`.

References:

- [CSR] CSAT Survey Responses,
  https://developer.zendesk.com/api-reference/ticketing/ticket-management/csat_survey_responses/
  `GET /api/v2/guide/survey_responses` with `filter[subject_zrns]` (comma-separated
  "zen:ticket:<id>"), `filter[responder_ids]`, `filter[created_at_start]` /
  `filter[created_at_end]` (Unix epoch in milliseconds), `page[size]` / `page[after]` /
  `page[before]` and `sort` (id or -id). Answers `{"survey_responses": [...], "meta":
  {"has_more", "after_cursor", "before_cursor"}, "links": {"next", "prev"}}`. A response
  carries `answers` (a `rating_scale` answer: `rating`, `rating_category` bad / neutral /
  good, its `question` of type rating_scale_numeric / _emoji / _custom_text with sub_type
  customer_satisfaction and, optionally, its `options`; `open_ended` answers with `value`),
  `subject_zrns`, `subjects` ({id, type: "ticket", zrn}), `responder_id` and `survey`.
- [CC] Customizable CSAT: 2-, 3- or 5-point scales; the ticket's `satisfaction_rating` keeps
  a binary good/bad conversion (on 5 points 1-3 are bad, 4-5 good; on 3 points 1-2 bad, 3
  good; on 2 points 1 bad, 2 good), which is what agents and Explore show
  (https://support.zendesk.com/hc/en-us/articles/7689997846554, Sending a CSAT survey to
  your customers; https://internalnote.com/customizable-csat-api).

Inferred rather than documented: `page[size]` up to 100 (as other Help Center lists) and
the `links` object. In Zendesk a survey response is created when the survey is offered
([CSR] Create Survey Response) and answered later, so the `created_at_*` filters cannot
find recently answered surveys: a client asks by ticket (`filter[subject_zrns]`). Here a
response is created when it is answered.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from syncd.sandbox.server import Request, Response
from syncd.sandbox.zendesk_common import int_arg, iso, to_epoch

SCALES = (2, 3, 5)
PAGE_MAX = 100
SURVEY_ID = "01J58KJ9RAE0D2EK7HRVM7Z8F2"  # [CSR] example survey id
QUESTION_ID = "01J1WBE8QR0YQVE373K2JDJR0F"  # [CSR] example rating question id
LABELS = {
    2: ("Bad", "Good"),
    3: ("Unsatisfied", "Neutral", "Satisfied"),
    5: ("Very unsatisfied", "Unsatisfied", "Neutral", "Satisfied", "Very satisfied"),
}


def binary(rating: int, scale: int) -> str:
    """The good/bad a ticket's satisfaction_rating shows for a rating on this scale [CC]."""
    return "good" if rating > {2: 1, 3: 2, 5: 3}[scale] else "bad"


def category(rating: int, scale: int) -> str:
    """The rating_category of a rating [CSR]: bad, neutral or good."""
    if rating == scale:
        return "good"
    if scale == 5 and rating == 4:
        return "good"
    middle = {2: None, 3: 2, 5: 3}[scale]
    return "neutral" if rating == middle else "bad"


class Surveys:
    """State and endpoint of the survey responses; mixed into ZendeskApp."""

    csat_scale: int | None  # the account's updated CSAT scale; None: legacy good/bad only
    _survey_responses: list[dict[str, Any]]
    _base_url: str
    clock: Callable[[], float]

    def _init_surveys(self) -> None:
        self.csat_scale = None
        self._survey_responses = []

    def use_updated_csat(self, scale: int = 5) -> None:
        """Switch the account to updated CSAT with a 2-, 3- or 5-point scale."""
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}")
        self.csat_scale = scale

    def answer_survey(
        self,
        ticket_id: int,
        rating: int,
        comment: str | None = None,
        at: float | str | datetime | None = None,
    ) -> dict[str, Any]:
        """The requester answers the ticket's CSAT survey: a survey response holds the rating
        on the account's scale, and the ticket's satisfaction_rating its good/bad [CC]."""
        scale = self.csat_scale
        if scale is None:
            raise ValueError("the account has no updated CSAT: call use_updated_csat first")
        if not 1 <= rating <= scale:
            raise ValueError(f"rating must be 1..{scale}")
        rated = self.rate(ticket_id, binary(rating, scale), comment, at)  # type: ignore[attr-defined]
        when = to_epoch(rated["updated_at"])
        ticket = self._tickets[ticket_id]  # type: ignore[attr-defined]
        response = _response(len(self._survey_responses) + 1, ticket, rating, scale, comment, when)
        self._survey_responses.append(response)
        return dict(response)

    def survey_responses(self) -> list[dict[str, Any]]:
        """Every survey response, oldest first."""
        return [dict(r) for r in self._survey_responses]

    def _survey_routes(self) -> list[tuple[str, str, Callable[[Request, float], Response], bool]]:
        return [("GET", r"/api/v2/guide/survey_responses(?:\.json)?", self._list_surveys, False)]

    def _list_surveys(self, req: Request, _now: float) -> Response:
        found = [r for r in self._survey_responses if _matches(r, req)]
        if (req.arg("sort") or "id") == "-id":
            found.reverse()
        size = int_arg(req.arg("page[size]"), PAGE_MAX)
        if size is None or size < 1:
            error: Response = self.error(400, "page[size] must be a positive integer")  # type: ignore[attr-defined]
            return error
        size = min(size, PAGE_MAX)
        after = _decode(req.arg("page[after]"))
        first = after + 1 if after is not None else 0
        chunk = found[first : first + size]
        more = first + size < len(found)
        after_cursor = _encode(first + len(chunk) - 1) if chunk else None
        before_cursor = _encode(first) if chunk else None
        body = {
            "survey_responses": [_public(r) for r in chunk],
            "meta": {
                "has_more": more,
                "after_cursor": after_cursor,
                "before_cursor": before_cursor,
            },
            "links": {
                "next": self._survey_url(req, after_cursor) if more else None,
                "prev": None,
            },
        }
        return Response(200, body)

    def _survey_url(self, req: Request, cursor: str | None) -> str:
        params = [(k, v) for k, vs in req.query.items() if k != "page[after]" for v in vs]
        params.append(("page[after]", cursor or ""))
        return f"{self._base_url}{req.path}?{urlencode(params, safe=',:[]')}"


def _response(
    number: int,
    ticket: dict[str, Any],
    rating: int,
    scale: int,
    comment: str | None,
    when: float,
) -> dict[str, Any]:
    stamp = iso(when)
    question = {
        "id": QUESTION_ID,
        "sub_type": "customer_satisfaction",
        "type": "rating_scale_numeric",
        "options": [
            {"rating": n, "label": {"type": "static", "value": label}}
            for n, label in enumerate(LABELS[scale], start=1)
        ],
    }
    answers: list[dict[str, Any]] = [
        {
            "type": "rating_scale",
            "rating": rating,
            "rating_category": category(rating, scale),
            "question": question,
            "created_at": stamp,
            "updated_at": stamp,
        }
    ]
    if comment:
        answers.append(
            {
                "type": "open_ended",
                "value": comment,
                "question": {"id": "01J1WBNS76ZC4TTFWP9RCNQ1S8", "type": "open_ended"},
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
    zrn = f"zen:ticket:{ticket['id']}"
    return {
        "id": f"01JSANDBOX{number:016d}",  # sorts like Zendesk's ULIDs: by creation
        "answers": answers,
        "expires_at": iso(when + 28 * 86400),
        "responder_id": ticket["requester_id"],
        "subject_zrns": [zrn],
        "subjects": [{"id": str(ticket["id"]), "type": "ticket", "zrn": zrn}],
        "survey": {"id": SURVEY_ID, "state": "enabled", "version": 3},
        "_created": when,
    }


def _public(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if not k.startswith("_")}


def _matches(response: dict[str, Any], req: Request) -> bool:
    zrns = _listed(req.arg("filter[subject_zrns]"))
    if zrns and not zrns & set(response["subject_zrns"]):
        return False
    responders = _listed(req.arg("filter[responder_ids]"))
    if responders and str(response["responder_id"]) not in responders:
        return False
    created_ms = response["_created"] * 1000
    start = int_arg(req.arg("filter[created_at_start]"), None)
    end = int_arg(req.arg("filter[created_at_end]"), None)
    return (start is None or created_ms >= start) and (end is None or created_ms <= end)


def _listed(value: str | None) -> set[str]:
    return {part.strip() for part in (value or "").split(",") if part.strip()}


def _encode(position: int) -> str:
    return base64.urlsafe_b64encode(str(position).encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except ValueError:
        return None
