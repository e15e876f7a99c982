"""The static part of the emulated HubSpot portal: object types, default properties,
the default ticket pipeline and the HubSpot-defined association types.

Everything here is data from HubSpot's public docs, kept apart from the mutable store so
the two can be read separately:

- object type ids 0-1/0-2/0-5/0-27/0-46 and which properties a read returns by default
  (developers.hubspot.com/docs/guides/crm/understanding-the-crm, the per-object guides);
- the default "Support Pipeline" (id "0", stages 1-4 with ``ticketState``)
  (developers.hubspot.com/docs/api-reference/legacy/crm/pipelines/guide);
- association type ids per direction (the "Association type ID values" table of
  developers.hubspot.com/docs/api-reference/legacy/crm/associations/associate-records/guide).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ObjectType:
    """A CRM object type as the API names it."""

    name: str  # plural path name, e.g. "tickets"
    type_id: str  # e.g. "0-5"
    singular: str  # e.g. "ticket"; also accepted in paths
    upper: str  # e.g. "TICKET", as HubSpot spells it in messages
    group: str  # default property group
    created_prop: str  # property mirroring createdAt
    modified_prop: str  # property mirroring updatedAt
    default_read: tuple[str, ...]  # properties a read returns when none are asked for
    required: tuple[str, ...] = ()  # properties a create must carry


OBJECT_TYPES: dict[str, ObjectType] = {
    t.name: t
    for t in (
        ObjectType(
            "contacts",
            "0-1",
            "contact",
            "CONTACT",
            "contactinformation",
            "createdate",
            "lastmodifieddate",
            ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
        ),
        ObjectType(
            "companies",
            "0-2",
            "company",
            "COMPANY",
            "companyinformation",
            "createdate",
            "hs_lastmodifieddate",
            ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
        ),
        ObjectType(
            "tickets",
            "0-5",
            "ticket",
            "TICKET",
            "ticketinformation",
            "createdate",
            "hs_lastmodifieddate",
            (
                "content",
                "createdate",
                "hs_lastmodifieddate",
                "hs_object_id",
                "hs_pipeline",
                "hs_pipeline_stage",
                "hs_ticket_category",
                "hs_ticket_priority",
                "subject",
            ),
            required=("hs_pipeline_stage",),
        ),
        ObjectType(
            "tasks",
            "0-27",
            "task",
            "TASK",
            "taskinformation",
            "hs_createdate",
            "hs_lastmodifieddate",
            ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
            required=("hs_timestamp",),
        ),
        ObjectType(
            "notes",
            "0-46",
            "note",
            "NOTE",
            "noteinformation",
            "hs_createdate",
            "hs_lastmodifieddate",
            ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
            required=("hs_timestamp",),
        ),
    )
}

_ALIASES = {alias: t for t in OBJECT_TYPES.values() for alias in (t.name, t.singular, t.type_id)}


def resolve_type(name: str) -> ObjectType | None:
    """The object type a path segment names (plural, singular or type id), if any."""
    return _ALIASES.get(name.lower())


@dataclass(frozen=True)
class PropertyDef:
    """One property definition (default or created through the properties API)."""

    name: str
    label: str
    type: str  # string | number | date | datetime | enumeration | bool
    field_type: str
    group: str
    options: tuple[tuple[str, str], ...] = ()  # (value, label)
    unique: bool = False
    read_only: bool = False
    # Owner ids and the like: options live outside the definition, so values are not checked.
    external_options: bool = False
    hubspot_defined: bool = True
    description: str = ""
    display_order: int = -1
    created_at: str = "1970-01-01T00:00:00Z"  # HubSpot's default properties predate any portal

    def json(self) -> dict[str, object]:
        """The definition as ``GET /crm/v3/properties/{objectType}`` returns it."""
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group,
            "options": [
                {"label": label, "value": value, "displayOrder": i, "hidden": False}
                for i, (value, label) in enumerate(self.options)
            ],
            "displayOrder": self.display_order,
            "calculated": False,
            "externalOptions": self.external_options,
            "hasUniqueValue": self.unique,
            "hidden": False,
            "hubspotDefined": self.hubspot_defined,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only,
            },
            "formField": not self.read_only,
            "createdAt": self.created_at,
            "updatedAt": self.created_at,
            "archived": False,
        }


def _enum(*values: str) -> tuple[tuple[str, str], ...]:
    return tuple((v, v.replace("_", " ").title()) for v in values)


# The default ticket pipeline every portal starts with.
TICKET_PIPELINE_ID = "0"
TICKET_PIPELINE_LABEL = "Support Pipeline"
TICKET_STAGES: tuple[tuple[str, str, str], ...] = (
    ("1", "New", "OPEN"),
    ("2", "Waiting on contact", "OPEN"),
    ("3", "Waiting on us", "OPEN"),
    ("4", "Closed", "CLOSED"),
)


def _props(group: str, *specs: tuple[Any, ...]) -> dict[str, PropertyDef]:
    """Build definitions from (name, label, type, fieldType, **flags) tuples."""
    out: dict[str, PropertyDef] = {}
    for order, (name, label, ptype, ftype, *rest) in enumerate(specs):
        flags: dict[str, Any] = rest[0] if rest else {}
        out[name] = PropertyDef(name, label, ptype, ftype, group, display_order=order, **flags)
    return out


_RO = {"read_only": True}
_OWNER = ("hubspot_owner_id", "Owner", "enumeration", "select", {"external_options": True})
_ID = ("hs_object_id", "Record ID", "number", "number", {"read_only": True, "unique": True})


def default_properties() -> dict[str, dict[str, PropertyDef]]:
    """A fresh copy of every object type's default property definitions."""
    stage_options = tuple((sid, label) for sid, label, _ in TICKET_STAGES)
    return {
        "contacts": _props(
            "contactinformation",
            ("email", "Email", "string", "text", {"unique": True}),
            ("firstname", "First Name", "string", "text"),
            ("lastname", "Last Name", "string", "text"),
            ("phone", "Phone Number", "string", "phonenumber"),
            ("mobilephone", "Mobile Phone Number", "string", "phonenumber"),
            ("company", "Company Name", "string", "text"),
            ("website", "Website URL", "string", "text"),
            ("jobtitle", "Job Title", "string", "text"),
            ("city", "City", "string", "text"),
            ("country", "Country/Region", "string", "text"),
            (
                "lifecyclestage",
                "Lifecycle Stage",
                "enumeration",
                "radio",
                {
                    "options": tuple(
                        (v, v)
                        for v in (
                            "subscriber",
                            "lead",
                            "marketingqualifiedlead",
                            "salesqualifiedlead",
                            "opportunity",
                            "customer",
                            "evangelist",
                            "other",
                        )
                    )
                },
            ),
            _OWNER,
            ("createdate", "Create Date", "datetime", "date"),
            ("lastmodifieddate", "Last Modified Date", "datetime", "date", _RO),
            _ID,
        ),
        "companies": _props(
            "companyinformation",
            ("name", "Company name", "string", "text"),
            # Not unique: the docs and live reports agree domain cannot key an upsert.
            ("domain", "Company Domain Name", "string", "text"),
            ("website", "Website URL", "string", "text"),
            ("phone", "Phone Number", "string", "phonenumber"),
            ("city", "City", "string", "text"),
            ("state", "State/Region", "string", "text"),
            ("country", "Country/Region", "string", "text"),
            ("industry", "Industry", "string", "text"),
            ("description", "Description", "string", "textarea"),
            ("numberofemployees", "Number of Employees", "number", "number"),
            ("annualrevenue", "Annual Revenue", "number", "number"),
            _OWNER,
            ("createdate", "Create Date", "datetime", "date"),
            ("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", _RO),
            _ID,
        ),
        "tickets": _props(
            "ticketinformation",
            ("subject", "Ticket name", "string", "text"),
            ("content", "Ticket description", "string", "textarea"),
            (
                "hs_pipeline",
                "Pipeline",
                "enumeration",
                "select",
                {"options": ((TICKET_PIPELINE_ID, TICKET_PIPELINE_LABEL),)},
            ),
            (
                "hs_pipeline_stage",
                "Ticket status",
                "enumeration",
                "select",
                {"options": stage_options},
            ),
            (
                "hs_ticket_priority",
                "Priority",
                "enumeration",
                "select",
                {"options": _enum("LOW", "MEDIUM", "HIGH", "URGENT")},
            ),
            (
                "hs_ticket_category",
                "Category",
                "enumeration",
                "checkbox",
                {
                    "options": _enum(
                        "PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY"
                    )
                },
            ),
            (
                "source_type",
                "Source",
                "enumeration",
                "select",
                {"options": _enum("CHAT", "EMAIL", "FORM", "PHONE")},
            ),
            _OWNER,
            ("createdate", "Create date", "datetime", "date"),
            ("closed_date", "Close date", "datetime", "date"),
            ("hs_lastmodifieddate", "Last modified date", "datetime", "date", _RO),
            _ID,
        ),
        "tasks": _props(
            "taskinformation",
            ("hs_task_subject", "Task Title", "string", "text"),
            ("hs_task_body", "Task notes", "string", "html"),
            (
                "hs_task_status",
                "Task Status",
                "enumeration",
                "select",
                {
                    "options": _enum(
                        "NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"
                    )
                },
            ),
            (
                "hs_task_priority",
                "Priority",
                "enumeration",
                "select",
                {"options": _enum("NONE", "LOW", "MEDIUM", "HIGH")},
            ),
            (
                "hs_task_type",
                "Task Type",
                "enumeration",
                "select",
                {"options": _enum("CALL", "EMAIL", "TODO")},
            ),
            ("hs_timestamp", "Due date", "datetime", "date"),
            _OWNER,
            ("hs_createdate", "Create date", "datetime", "date", _RO),
            ("hs_lastmodifieddate", "Last modified date", "datetime", "date", _RO),
            _ID,
        ),
        "notes": _props(
            "noteinformation",
            ("hs_note_body", "Note body", "string", "html"),
            ("hs_timestamp", "Activity date", "datetime", "date"),
            ("hs_attachment_ids", "Attached file IDs", "string", "text"),
            _OWNER,
            ("hs_createdate", "Create date", "datetime", "date", _RO),
            ("hs_lastmodifieddate", "Last modified date", "datetime", "date", _RO),
            _ID,
        ),
    }


# HubSpot-defined association types: (from, to) -> (unlabeled id, primary id or None).
# Every labelled association also carries the unlabeled type, per the v4 guide.
ASSOCIATION_TYPES: dict[tuple[str, str], tuple[int, int | None]] = {
    ("contacts", "contacts"): (449, None),
    ("contacts", "companies"): (279, 1),
    ("contacts", "tickets"): (15, None),
    ("contacts", "tasks"): (203, None),
    ("contacts", "notes"): (201, None),
    ("companies", "companies"): (450, None),
    ("companies", "contacts"): (280, 2),
    ("companies", "tickets"): (340, 25),
    ("companies", "tasks"): (191, None),
    ("companies", "notes"): (189, None),
    ("tickets", "tickets"): (452, None),
    ("tickets", "contacts"): (16, None),
    ("tickets", "companies"): (339, 26),
    ("tickets", "tasks"): (229, None),
    ("tickets", "notes"): (227, None),
    ("tasks", "contacts"): (204, None),
    ("tasks", "companies"): (192, None),
    ("tasks", "tickets"): (230, None),
    ("notes", "contacts"): (202, None),
    ("notes", "companies"): (190, None),
    ("notes", "tickets"): (228, None),
}

# Reverse direction of a primary type: ticket->primary company (26) pairs with primary
# company->ticket (25). Contact<->company primaries are not a pair (2 means "primary
# contact" of a company), so their reverse is the unlabeled type only.
PRIMARY_REVERSE: dict[int, int] = {26: 25, 25: 26}


def association_label(type_id: int) -> str | None:
    """The label HubSpot reports for a HubSpot-defined type (``null`` when unlabeled)."""
    primaries = {p for _, p in ASSOCIATION_TYPES.values() if p is not None}
    return "Primary" if type_id in primaries else None
