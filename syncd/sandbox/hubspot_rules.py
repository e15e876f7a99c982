"""HubSpot's error shape and its rules for property values and property definitions.

Bodies follow the error-handling guide (developers.hubspot.com/docs/api-reference/
error-handling): ``status``, ``message``, ``correlationId``, ``category`` and, for CRM
objects, ``errors`` with ``message``/``code``/``context``. An invalid property value is a
400 ``VALIDATION_ERROR`` whose message embeds the per-property results as JSON
(``Property values were not valid: [{"isValid":false,...,"error":"PROPERTY_DOESNT_EXIST"}]``),
the form HubSpot answers with and clients parse.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from syncd.sandbox.hubspot_schema import (
    TICKET_PIPELINE_ID,
    TICKET_STAGES,
    ObjectType,
    PropertyDef,
)

MAX_CUSTOM_UNIQUE = 10  # hasUniqueValue properties per object (properties guide)
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_FIELD_TYPES = {  # valid fieldType values per property type (properties guide)
    "string": {"text", "textarea", "phonenumber", "html", "file"},
    "number": {"number", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox", "calculation_equation"},
    "bool": {"booleancheckbox"},
}
_PIPELINE_PROPS = ("hs_pipeline", "hs_pipeline_stage")  # checked against the pipeline instead
Problem = tuple[str, str, str]  # (property name, error code, message)


class HubSpotError(Exception):
    """A failure in HubSpot's error shape; the app adds ``correlationId`` when it answers."""

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        *,
        context: dict[str, list[str]] | None = None,
        errors: list[dict[str, Any]] | None = None,
        sub_category: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.context = context
        self.errors = errors
        self.sub_category = sub_category

    def body(self) -> dict[str, Any]:
        """The error as HubSpot serialises it; optional fields only when set."""
        out: dict[str, Any] = {
            "status": "error",
            "message": self.message,
            "category": self.category,
        }
        if self.sub_category:
            out["subCategory"] = self.sub_category
        if self.context:
            out["context"] = self.context
        if self.errors:
            out["errors"] = self.errors
        return out

    def batch_item(self, trace_id: str | None = None) -> dict[str, Any]:
        """The error as one entry of a 207 ``errors`` array (every StandardError field set)."""
        context = dict(self.context or {})
        if trace_id is not None:
            context["objectWriteTraceId"] = [trace_id]
        return {**self.body(), "context": context, "errors": self.errors or [], "links": {}}


def validation(message: str, **kwargs: Any) -> HubSpotError:
    """A 400 VALIDATION_ERROR."""
    return HubSpotError(400, "VALIDATION_ERROR", message, **kwargs)


def not_found(ident: str) -> HubSpotError:
    """The 404 for a record that does not exist (or is archived)."""
    message = "Object not found.  objectId are usually numeric."
    return HubSpotError(404, "OBJECT_NOT_FOUND", message, context={"id": [ident]})


def iso(moment: datetime) -> str:
    """HubSpot's timestamp format: UTC with milliseconds, e.g. 2019-10-30T03:30:17.883Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_datetime(value: str) -> datetime | None:
    """A date/datetime value: epoch milliseconds or ISO 8601 (the docs accept both)."""
    text = value.strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def as_string(value: Any) -> str:
    """A property value as HubSpot stores it; JSON numbers and booleans are accepted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def invalid_properties(problems: list[Problem], portal_id: int) -> HubSpotError:
    """The 400 for invalid property values, in the shape HubSpot sends."""
    items = [
        {
            "isValid": False,
            "message": msg,
            "error": code,
            "name": name,
            "localizedErrorMessage": msg,
            "portalId": portal_id,
        }
        for name, code, msg in problems
    ]
    return validation(
        "Property values were not valid: " + json.dumps(items, separators=(",", ":")),
        errors=[
            {"message": msg, "code": code, "context": {"propertyName": [name]}}
            for name, code, msg in problems
        ],
    )


def check_properties(
    otype: ObjectType,
    defs: dict[str, PropertyDef],
    raw: dict[str, Any],
    current_pipeline: str | None,
    portal_id: int,
) -> dict[str, str]:
    """Checked, normalised values (``""`` clears a value); raises the documented 400."""
    problems: list[Problem] = []
    out: dict[str, str] = {}
    for name, raw_value in raw.items():
        definition = defs.get(name)
        if definition is None:
            problems.append((name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
            continue
        if definition.read_only:  # "Read-only and non-existent properties will result in an error"
            msg = f'"{name}" is a read only property; its value cannot be set.'
            problems.append((name, "READ_ONLY_VALUE", msg))
            continue
        value = as_string(raw_value)
        if value == "":
            out[name] = ""
            continue
        normalised, problem = _check_value(otype, definition, value)
        if problem:
            problems.append((name, *problem))
        else:
            out[name] = normalised
    if otype.name == "tickets":
        problems.extend(_check_pipeline(out, current_pipeline))
    if problems:
        raise invalid_properties(problems, portal_id)
    return out


def _check_value(
    otype: ObjectType, d: PropertyDef, value: str
) -> tuple[str, tuple[str, str] | None]:
    if d.type == "number":
        try:
            float(value)
        except ValueError:
            return value, ("INVALID_FLOAT", f"{value} was not a valid number.")
    elif d.type in ("datetime", "date"):
        moment = parse_datetime(value)
        if moment is None:
            return value, ("INVALID_DATE", f"{value} was not a valid date.")
        # Reads return datetimes as ISO 8601 however they were written.
        return (iso(moment) if d.type == "datetime" else moment.date().isoformat()), None
    elif d.type == "bool":
        if value.lower() not in ("true", "false"):
            return value, ("INVALID_BOOLEAN", f"{value} was not a valid boolean.")
        return value.lower(), None
    elif d.type == "enumeration" and not d.external_options and d.name not in _PIPELINE_PROPS:
        allowed = [v for v, _ in d.options]
        chosen = value.split(";") if d.field_type == "checkbox" else [value]
        for item in chosen:
            if item not in allowed:
                msg = f"{item} was not one of the allowed options: [{', '.join(allowed)}]"
                return value, ("INVALID_OPTION", msg)
    elif d.name == "email" and otype.name == "contacts":
        if not _EMAIL_RE.match(value):
            return value, ("INVALID_EMAIL", f"Email address {value} is invalid")
        return value.lower(), None  # HubSpot stores contact emails lowercased
    return value, None


def _check_pipeline(out: dict[str, str], current: str | None) -> list[Problem]:
    # hs_pipeline defaults to the default pipeline; a stage must belong to the pipeline.
    pipeline = out.get("hs_pipeline") or current or TICKET_PIPELINE_ID
    if pipeline != TICKET_PIPELINE_ID:
        msg = f"{pipeline} was not one of the allowed options: [{TICKET_PIPELINE_ID}]"
        return [("hs_pipeline", "INVALID_OPTION", msg)]
    stage = out.get("hs_pipeline_stage")
    stages = [sid for sid, _, _ in TICKET_STAGES]
    if stage and stage not in stages:
        msg = (
            f"{stage} is not a valid pipeline stage ID. Valid options are: "
            f"pipelineId={pipeline} : [{', '.join(stages)}]"
        )
        return [("hs_pipeline_stage", "INVALID_OPTION", msg)]
    return []


def new_property(
    body: dict[str, Any],
    defs: dict[str, PropertyDef],
    groups: dict[str, Any],
    created_at: str,
) -> PropertyDef:
    """A custom property definition from a PropertyCreate body; 409 if the name is taken."""
    missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
    if missing:
        raise validation(f"Missing required fields: {', '.join(missing)}")
    name = str(body["name"])
    if name in defs:
        raise HubSpotError(409, "OBJECT_ALREADY_EXISTS", f"Property named '{name}' already exists.")
    if not _NAME_RE.match(name):
        raise validation(
            f"Property name '{name}' must start with a letter and hold only lowercase "
            "letters, digits and underscores."
        )
    ptype, ftype = body["type"], body["fieldType"]
    if ftype not in _FIELD_TYPES.get(ptype, set()):
        raise validation(f"Invalid type/fieldType combination: {ptype}/{ftype}")
    if body["groupName"] not in groups:
        raise validation(f"Property group {body['groupName']} does not exist")
    options = tuple(
        (str(o["value"]), str(o.get("label", o["value"]))) for o in body.get("options") or []
    )
    if ptype == "enumeration" and not options:
        raise validation("Enumeration properties need at least one option")
    unique = bool(body.get("hasUniqueValue"))
    custom_unique = sum(p.unique and not p.hubspot_defined for p in defs.values())
    if unique and custom_unique >= MAX_CUSTOM_UNIQUE:
        raise validation(f"An object can have at most {MAX_CUSTOM_UNIQUE} unique value properties")
    return PropertyDef(
        name=name,
        label=str(body["label"]),
        type=ptype,
        field_type=ftype,
        group=body["groupName"],
        options=options,
        unique=unique,
        hubspot_defined=False,
        description=str(body.get("description") or ""),
        display_order=int(body.get("displayOrder", -1)),
        created_at=created_at,
    )
