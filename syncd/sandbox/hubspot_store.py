"""In-memory state of the emulated HubSpot portal: records, property definitions and
associations, and the write rules the docs describe.

The store knows nothing of HTTP: operations return plain data or raise `HubSpotError`.
Batch writes are planned in full before anything is written, because HubSpot rejects the
whole batch when one input is invalid, unless every input carries an ``objectWriteTraceId``
(multi-status mode: developers.hubspot.com/docs/api-reference/error-handling#multi-status-errors).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from syncd.sandbox.hubspot_rules import (
    HubSpotError,
    check_properties,
    iso,
    new_property,
    not_found,
    validation,
)
from syncd.sandbox.hubspot_schema import (
    ASSOCIATION_TYPES,
    OBJECT_TYPES,
    PRIMARY_REVERSE,
    TICKET_PIPELINE_ID,
    ObjectType,
    PropertyDef,
    default_properties,
    resolve_type,
)

BATCH_LIMIT = 100  # inputs per object batch request (object guides)
# Free email providers: HubSpot creates no company for a contact at one of these ("If the
# contact has a freemail value in the Email property (e.g., gmail.com, yahoo.com) ...",
# knowledge.hubspot.com/crm-setup/automatically-create-and-associate-companies-with-contacts).
# HubSpot keeps its own, longer list; these are the common ones.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mail.com",
        "gmx.com",
        "gmx.de",
        "web.de",
        "proton.me",
        "protonmail.com",
        "yandex.ru",
        "qq.com",
        "163.com",
    }
)


@dataclass
class Record:
    """One CRM record; every property value is a string, as in HubSpot."""

    id: str
    type: str
    properties: dict[str, str]
    created_at: datetime
    updated_at: datetime
    archived: bool = False
    archived_at: datetime | None = None


@dataclass
class Plan:
    """A validated write waiting to be applied."""

    record: Record | None  # None: a create
    properties: dict[str, str]
    trace_id: str | None = None
    links: list[tuple[str, str, list[int]]] = field(default_factory=list)  # (type, id, type ids)


class HubSpotStore:
    """Records, property definitions and associations of one portal."""

    def __init__(self, portal_id: int, now: Callable[[], datetime] | None = None) -> None:
        self.portal_id = portal_id
        self.now = now or (lambda: datetime.now(UTC))
        self._next_id = 1001  # one sequence for all types, so a wrong-type id is a clean 404
        self.records: dict[str, dict[str, Record]] = {name: {} for name in OBJECT_TYPES}
        self.props: dict[str, dict[str, PropertyDef]] = default_properties()
        self.groups: dict[str, dict[str, dict[str, Any]]] = {
            t.name: {
                t.group: _group(t.group, t.group.replace("information", " information").title())
            }
            for t in OBJECT_TYPES.values()
        }
        # (from type, from id, to type) -> {to id: association type ids}; both directions kept.
        self.links: dict[tuple[str, str, str], dict[str, set[int]]] = {}
        # (type, property) -> {folded value: record id}, built on first lookup and kept up to
        # date by apply(), so an upsert batch does not scan every record per input.
        self._indexes: dict[tuple[str, str], dict[str, str]] = {}
        # The portal's "Create and associate companies with contacts" setting, on by default
        # (see `_auto_company`); tests switch it off with HubSpotApp.set_auto_companies.
        self.auto_companies = True
        self.free_mail: frozenset[str] = FREE_MAIL_DOMAINS
        # Whether a v4 batch create echoes each pair it created in `results` (see
        # hubspot_routes); tests turn it off to check that 2xx + COMPLETE is read as success.
        self.association_echo = True

    # -- lookups ---------------------------------------------------------------------------

    def object_type(self, name: str) -> ObjectType:
        """The object type a path names, or the 400 HubSpot gives for an unknown one."""
        otype = resolve_type(name)
        if otype is None:
            raise validation(f"Unable to infer object type from: {name}")
        return otype

    def find(self, otype: ObjectType, prop: str, value: str) -> Record | None:
        """The live record whose ``prop`` equals ``value`` (emails compare case-insensitively)."""
        if prop == "hs_object_id":
            rec = self.records[otype.name].get(value)
            return rec if rec and not rec.archived else None
        index = self._index(otype.name, prop)
        rec = self.records[otype.name].get(index.get(_fold(prop, value), ""))
        if rec is None or rec.archived:
            return None
        return rec if _fold(prop, rec.properties.get(prop, "")) == _fold(prop, value) else None

    def _index(self, type_name: str, prop: str) -> dict[str, str]:
        index = self._indexes.get((type_name, prop))
        if index is None:
            index = {}
            for rec in self.records[type_name].values():
                have = rec.properties.get(prop)
                if have is not None and not rec.archived:
                    index.setdefault(_fold(prop, have), rec.id)
            self._indexes[(type_name, prop)] = index
        return index

    def _reindex(self, rec: Record, name: str, old: str | None, new: str | None) -> None:
        index = self._indexes.get((rec.type, name))
        if index is None:
            return
        if old is not None and index.get(_fold(name, old)) == rec.id:
            del index[_fold(name, old)]
        if new is not None:
            index[_fold(name, new)] = rec.id

    def get(self, otype: ObjectType, ident: str, id_property: str | None = None) -> Record:
        """A live record by id, or by the value of a unique property."""
        if id_property and id_property != "hs_object_id":
            self.unique_property(otype, id_property)
            rec = self.find(otype, id_property, ident)
        else:
            rec = self.records[otype.name].get(ident)
        if rec is None or rec.archived:
            raise not_found(ident)
        return rec

    def unique_property(self, otype: ObjectType, name: str) -> PropertyDef:
        """A property that may key a lookup or upsert, or the 400 HubSpot gives."""
        definition = self.props[otype.name].get(name)
        if definition is None:
            raise validation(f"Property {name} does not exist for object type {otype.type_id}")
        if not definition.unique:
            # The message HubSpot answers with, e.g. for companies keyed by domain.
            raise validation(
                f"Unable to perform update/upsert by non-unique {otype.type_id} property {name}"
            )
        return definition

    def record_json(self, rec: Record, names: Iterable[str] | None = None) -> dict[str, Any]:
        """A record as the objects API returns it.

        ``names`` None gives every stored value (write responses); otherwise the named
        properties that are defined, unset ones as null (the documented read projection).
        """
        defs = self.props[rec.type]
        props: dict[str, str | None] = (
            dict(rec.properties)
            if names is None
            else {n: rec.properties.get(n) for n in names if n in defs}
        )
        out: dict[str, Any] = {
            "id": rec.id,
            "properties": props,
            "createdAt": iso(rec.created_at),
            "updatedAt": iso(rec.updated_at),
            "archived": rec.archived,
        }
        if rec.archived_at:
            out["archivedAt"] = iso(rec.archived_at)
        return out

    # -- writes ----------------------------------------------------------------------------

    def plan(
        self, otype: ObjectType, op: str, item: dict[str, Any], claimed: dict[tuple[str, str], str]
    ) -> Plan:
        """Validate one create/update/upsert input without writing anything."""
        record: Record | None = None
        key: dict[str, str] = {}
        if op in ("update", "upsert"):
            ident, id_prop = input_id(otype, item)
            if op == "update":
                record = self.get(otype, ident, id_prop)
            else:
                record = self.find(otype, id_prop, ident)
                if record is None and id_prop == "hs_object_id":
                    raise not_found(ident)  # a record id cannot be invented
                if record is None:
                    key = {id_prop: ident}  # a created record carries its upsert key
        given = item.get("properties") or {}
        if not isinstance(given, dict) or not isinstance(item.get("associations") or [], list):
            raise validation("Invalid input JSON: properties must be an object")
        pipeline = record.properties.get("hs_pipeline") if record else None
        raw = {**given, **key}
        props = check_properties(otype, self.props[otype.name], raw, pipeline, self.portal_id)
        if record is None:
            if otype.name == "tickets":
                props.setdefault("hs_pipeline", TICKET_PIPELINE_ID)
            missing = [name for name in otype.required if not props.get(name)]
            if missing:
                raise validation(
                    f"Cannot create object with type: {otype.upper}. "
                    f"The following required properties were missing: [{', '.join(missing)}]"
                )
        self._check_unique(otype, props, record, claimed)
        links = [self._link_input(otype, a) for a in item.get("associations") or []]
        return Plan(record, props, item.get("objectWriteTraceId"), links if record is None else [])

    def _check_unique(
        self,
        otype: ObjectType,
        props: dict[str, str],
        owner: Record | None,
        claimed: dict[tuple[str, str], str],
    ) -> None:
        # ``claimed`` holds unique values taken earlier in the same batch ("" = not yet created).
        for name, value in props.items():
            if not value or not self.props[otype.name][name].unique:
                continue
            holder = self.find(otype, name, value)
            taken_by = holder.id if holder and holder is not owner else None
            slot = (name, value.lower() if name == "email" else value)
            if taken_by is None:
                taken_by = claimed.get(slot)
            if taken_by is not None and (owner is None or taken_by != owner.id):
                existing = f" Existing ID: {taken_by}" if taken_by else ""
                if otype.name == "contacts" and name == "email":
                    message = f"Contact already exists.{existing}"
                else:
                    message = f"A {otype.singular} with {name} {value} already exists.{existing}"
                raise HubSpotError(409, "CONFLICT", message)
            claimed[slot] = owner.id if owner else ""

    def apply(self, otype: ObjectType, plan: Plan) -> tuple[Record, bool]:
        """Write a plan; returns the record and whether it was created."""
        stamp = self.now()
        if plan.record is None:
            rec_id = str(self._next_id)
            self._next_id += 1
            props = {k: v for k, v in plan.properties.items() if v != ""}
            props.setdefault(otype.created_prop, iso(stamp))
            props.update({otype.modified_prop: iso(stamp), "hs_object_id": rec_id})
            rec = Record(rec_id, otype.name, props, stamp, stamp)
            self.records[otype.name][rec_id] = rec
            for name, value in props.items():
                self._reindex(rec, name, None, value)
            for to_type, to_id, types in plan.links:
                self.associate(otype.name, rec_id, to_type, to_id, types)
            if otype.name == "contacts":
                self._auto_company(rec)
            return rec, True
        rec = plan.record
        changed = False
        for name, value in plan.properties.items():
            if value == "" and name in rec.properties:
                self._reindex(rec, name, rec.properties.pop(name), None)
                changed = True
            elif value != "" and rec.properties.get(name) != value:
                self._reindex(rec, name, rec.properties.get(name), value)
                rec.properties[name] = value
                changed = True
        if changed:  # an identical write leaves the record, and its updatedAt, alone
            rec.updated_at = stamp
            self._reindex(
                rec, otype.modified_prop, rec.properties.get(otype.modified_prop), iso(stamp)
            )
            rec.properties[otype.modified_prop] = iso(stamp)
        return rec, False

    def write(self, otype: ObjectType, op: str, item: dict[str, Any]) -> tuple[Record, bool]:
        """One create/update/upsert, all or nothing."""
        return self.apply(otype, self.plan(otype, op, item, {}))

    def batch_write(
        self, otype: ObjectType, op: str, inputs: list[dict[str, Any]]
    ) -> tuple[list[tuple[Record, bool, str | None]], list[tuple[HubSpotError, str | None]]]:
        """A batch create/update/upsert: (written records, per-input failures).

        Raises when the batch is rejected whole: more than 100 inputs, duplicate ids, a
        non-unique ``idProperty``, or an invalid input outside multi-status mode.
        """
        if len(inputs) > BATCH_LIMIT:
            raise validation(
                f"Too many inputs: {len(inputs)}. The maximum batch size is {BATCH_LIMIT}."
            )
        if op in ("update", "upsert"):
            _reject_duplicates(otype, inputs)
        if op == "upsert":
            for id_prop in {item.get("idProperty") for item in inputs} - {None, "hs_object_id"}:
                self.unique_property(otype, str(id_prop))
        multi = bool(inputs) and all(item.get("objectWriteTraceId") for item in inputs)
        if op == "upsert" and any(item.get("idProperty") == "email" for item in inputs):
            multi = False  # contacts guide: partial upserts are not supported with email
        plans: list[Plan] = []
        failures: list[tuple[HubSpotError, str | None]] = []
        claimed: dict[tuple[str, str], str] = {}
        for item in inputs:
            try:
                plans.append(self.plan(otype, op, item, claimed))
            except HubSpotError as err:
                if not multi:
                    raise  # nothing in the batch has been written
                failures.append((err, item.get("objectWriteTraceId")))
        return [(*self.apply(otype, p), p.trace_id) for p in plans], failures

    def _auto_company(self, contact: Record) -> None:
        """What a portal does for a new contact with "Create and associate companies with
        contacts" on, the default, also for contacts created through the API
        (knowledge.hubspot.com/crm-setup/automatically-create-and-associate-companies-with-
        contacts): the contact's email domain is matched against the companies' Company
        domain name (`domain`); a match is associated with the contact (only one company when
        several share the domain: HubSpot picks it, the user cannot), else HubSpot creates a
        company for that domain (one per domain, subdomains included) and associates it.
        Free-mail domains get no company."""
        domain = contact.properties.get("email", "").rpartition("@")[2].strip().lower()
        if not self.auto_companies or not domain or domain in self.free_mail:
            return
        companies = OBJECT_TYPES["companies"]
        company = self.find(companies, "domain", domain)
        if company is None:
            # HubSpot fills the name from its company database; the domain stands in here.
            company, _ = self.apply(companies, Plan(None, {"domain": domain, "name": domain}))
        _, primary = self.association_types("contacts", "companies")
        self.associate("contacts", contact.id, "companies", company.id, [primary or 1])

    def archive(self, otype: ObjectType, ident: str) -> bool:
        """Archive a record; False when there is no live record with that id."""
        rec = self.records[otype.name].get(ident)
        if rec is None or rec.archived:
            return False
        rec.archived, rec.archived_at = True, self.now()
        return True

    # -- associations ----------------------------------------------------------------------

    def association_types(self, from_type: str, to_type: str) -> tuple[int, int | None]:
        """(unlabeled, primary) type ids between two object types, or a 400."""
        pair = ASSOCIATION_TYPES.get((from_type, to_type))
        if pair is None:
            raise validation(f"No association types are defined from {from_type} to {to_type}")
        return pair

    def check_types(self, from_type: str, to_type: str, types: list[dict[str, Any]]) -> list[int]:
        """Type ids from a request's ``types``; only HubSpot-defined ones exist here."""
        valid = {t for t in self.association_types(from_type, to_type) if t is not None}
        ids: list[int] = []
        for spec in types:
            if not isinstance(spec, dict):
                raise validation("Invalid input JSON: association types must be objects")
            category, type_id = spec.get("associationCategory"), _type_id(spec)
            if category != "HUBSPOT_DEFINED" or type_id not in valid:
                raise validation(
                    f"{category} {type_id} is not a valid association type "
                    f"from {from_type} to {to_type}"
                )
            ids.append(type_id)
        if not ids:
            raise validation("At least one association type is required")
        return ids

    def associate(
        self, from_type: str, from_id: str, to_type: str, to_id: str, types: Iterable[int]
    ) -> set[int]:
        """Add association types, plus the implied unlabeled one, in both directions."""
        unlabeled, _ = self.association_types(from_type, to_type)
        reverse, _ = self.association_types(to_type, from_type)
        forward = {unlabeled, *types}
        backward = {reverse} | {PRIMARY_REVERSE[t] for t in forward if t in PRIMARY_REVERSE}
        self.links.setdefault((from_type, from_id, to_type), {}).setdefault(to_id, set()).update(
            forward
        )
        self.links.setdefault((to_type, to_id, from_type), {}).setdefault(from_id, set()).update(
            backward
        )
        return forward

    def unlink(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Remove every association between two records, both directions."""
        self.links.get((from_type, from_id, to_type), {}).pop(to_id, None)
        self.links.get((to_type, to_id, from_type), {}).pop(from_id, None)

    def associated(self, from_type: str, from_id: str, to_type: str) -> dict[str, set[int]]:
        """Live records associated with one record, with their association type ids."""
        targets = self.records[to_type]
        links = self.links.get((from_type, from_id, to_type), {})
        return {
            to_id: set(links[to_id])
            for to_id in sorted(links, key=int)
            if to_id in targets and not targets[to_id].archived
        }

    def _link_input(self, otype: ObjectType, spec: dict[str, Any]) -> tuple[str, str, list[int]]:
        # A v3 create names no target type: it follows from the association type ids.
        if not isinstance(spec, dict) or not isinstance(spec.get("to") or {}, dict):
            raise validation("Invalid input JSON: malformed association")
        to_id = str((spec.get("to") or {}).get("id", ""))
        types = spec.get("types") or []
        wanted = {_type_id(t) for t in types}
        for (frm, to), pair in ASSOCIATION_TYPES.items():
            if frm == otype.name and wanted and wanted <= {t for t in pair if t is not None}:
                type_ids = self.check_types(frm, to, types)
                target = self.records[to].get(to_id)
                if target is None or target.archived:
                    raise validation(f"Association target {to} {to_id} does not exist")
                return to, to_id, type_ids
        raise validation(f"Invalid association types {sorted(wanted)} for {otype.name}")

    # -- properties API --------------------------------------------------------------------

    def create_property(self, otype: ObjectType, body: dict[str, Any]) -> PropertyDef:
        """Define a custom property from a PropertyCreate body."""
        defs = self.props[otype.name]
        definition = new_property(body, defs, self.groups[otype.name], iso(self.now()))
        defs[definition.name] = definition
        return definition

    def create_group(self, otype: ObjectType, body: dict[str, Any]) -> dict[str, Any]:
        """Define a property group; 409 if the name is taken."""
        name, label = str(body.get("name") or ""), str(body.get("label") or "")
        if not name or not label:
            raise validation("Property groups need a name and a label")
        if name in self.groups[otype.name]:
            raise HubSpotError(
                409, "OBJECT_ALREADY_EXISTS", f"Property group named '{name}' already exists."
            )
        group = _group(name, label, int(body.get("displayOrder", -1)))
        self.groups[otype.name][name] = group
        return group


def input_id(otype: ObjectType, item: dict[str, Any]) -> tuple[str, str]:
    """(id, idProperty) of a batch input; contact emails compare lowercased."""
    ident = str(item.get("id") or "")
    if not ident:
        raise validation(f"Each {otype.singular} input needs an id")
    id_prop = str(item.get("idProperty") or "hs_object_id")
    return (ident.lower() if id_prop == "email" else ident), id_prop


def _reject_duplicates(otype: ObjectType, inputs: list[dict[str, Any]]) -> None:
    # Rejected whole, with or without trace ids (observed live), in HubSpot's own words.
    seen: set[tuple[str, str]] = set()
    dupes: list[str] = []
    for key in (input_id(otype, item) for item in inputs):
        if key in seen and key[0] not in dupes:
            dupes.append(key[0])
        seen.add(key)
    if dupes:
        raise validation(
            f"Duplicate IDs found in batch input: [{', '.join(dupes)}]. IDs must be unique",
            context={"ids": dupes},
        )


def _type_id(spec: dict[str, Any]) -> int:
    # Type ids are JSON numbers; digit strings are tolerated, anything else matches nothing.
    raw = spec.get("associationTypeId")
    try:
        return int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return -1


def _group(name: str, label: str, order: int = -1) -> dict[str, Any]:
    return {"name": name, "label": label, "displayOrder": order, "archived": False}


def _fold(prop: str, value: str) -> str:
    # HubSpot stores contact emails lower-cased, and domains match whatever their case; other
    # values compare exactly.
    return value.lower() if prop in ("email", "domain") else value
