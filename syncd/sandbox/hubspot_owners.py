"""HubSpot's owners API (read-only), as the owners guide describes it
(developers.hubspot.com/docs/api-reference/latest/crm/owners/guide).

- ``GET /crm/v3/owners`` lists owners: ``email`` filters on the exact address (case does not
  matter), ``limit`` (default 100, at most 500) and ``after`` page, ``archived=true`` lists
  deactivated owners instead of active ones; ``paging.next.after`` when there is more.
- ``GET /crm/v3/owners/{ownerId}`` reads one, by ``id`` or, with ``idProperty=userId``, by
  the user's id; 404 when there is none.

An owner has two ids: ``id`` assigns records and activities (``hubspot_owner_id``), ``userId``
names the user in the settings API and is rejected as an owner. Owners are not created through
the API (HubSpot creates one per user); tests seed them with `OwnerDirectory.add`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from syncd.sandbox.hubspot_rules import HubSpotError, iso, validation
from syncd.sandbox.server import Handler, Request, Response

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


@dataclass
class Owner:
    """One HubSpot user as an owner."""

    id: str
    user_id: int
    email: str
    first_name: str = ""
    last_name: str = ""
    archived: bool = False
    teams: list[dict[str, Any]] = field(default_factory=list)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def json(self) -> dict[str, Any]:
        """The owner as the owners API returns it."""
        return {
            "id": self.id,
            "email": self.email,
            "type": "PERSON",
            "firstName": self.first_name,
            "lastName": self.last_name,
            "userId": self.user_id,
            "userIdIncludingInactive": self.user_id,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.created_at),
            "archived": self.archived,
            "teams": list(self.teams),
        }


class OwnerDirectory:
    """The portal's owners, oldest first."""

    def __init__(self) -> None:
        self.owners: list[Owner] = []

    def add(
        self, email: str, first_name: str = "", last_name: str = "", *, archived: bool = False
    ) -> dict[str, Any]:
        """Seed an owner (as adding a user to the portal would); returns its JSON."""
        number = len(self.owners)
        owner = Owner(
            id=str(41_629_779 + number),
            user_id=9_586_504 + number,
            email=email,
            first_name=first_name,
            last_name=last_name,
            archived=archived,
        )
        self.owners.append(owner)
        return owner.json()

    def routes(self) -> list[tuple[str, str, Handler]]:
        """The owners endpoints (auth and rate limits are the app's)."""
        return [
            ("GET", r"/crm/v3/owners/?", self._list),
            ("GET", r"/crm/v3/owners/(?P<owner_id>[^/]+)", self._get),
        ]

    def _list(self, req: Request) -> Response:
        archived = (req.arg("archived") or "false").lower() == "true"
        email = (req.arg("email") or "").strip().lower()
        rows = [
            o
            for o in self.owners
            if o.archived == archived and (not email or o.email.lower() == email)
        ]
        limit = _int(req.arg("limit"), DEFAULT_LIMIT, "limit")
        if not 1 <= limit <= MAX_LIMIT:
            raise validation(f"limit must be between 1 and {MAX_LIMIT} (got {limit})")
        start = _int(req.arg("after"), 0, "after")
        page = rows[start : start + limit]
        body: dict[str, Any] = {"results": [o.json() for o in page]}
        if start + limit < len(rows):
            after = str(start + limit)
            body["paging"] = {
                "next": {"after": after, "link": f"{req.base_url}{req.path}?after={after}"}
            }
        return Response(200, body)

    def _get(self, req: Request) -> Response:
        wanted = unquote(req.params["owner_id"])
        by = req.arg("idProperty") or "id"
        if by not in ("id", "userId"):
            raise validation(f"idProperty must be id or userId (got {by})")
        archived = (req.arg("archived") or "false").lower() == "true"
        for owner in self.owners:
            key = owner.id if by == "id" else str(owner.user_id)
            if key == wanted and owner.archived == archived:
                return Response(200, owner.json())
        raise HubSpotError(404, "OBJECT_NOT_FOUND", f"Unable to find owner {wanted}")


def _int(raw: str | None, default: int, name: str) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise validation(f"{name} must be an integer (got {raw})") from None
