"""HubSpot contacts and companies for the tickets syncd writes, and the associations between them.

Each ticket's requester becomes a contact and its organization a company, and the ticket is
associated with both:

- Contacts: `POST /crm/v3/objects/contacts/batch/upsert` with idProperty `email` (a unique
  contact property). `firstname`/`lastname` come from the requester's name (first word, the
  rest); an empty name sends neither, so a name typed in HubSpot is not cleared.
- Companies: an upsert needs an idProperty with unique values, and HubSpot's `domain` has none
  (HubSpot answers "Unable to perform update/upsert by non-unique ... property domain"). So
  companies are keyed by syncd's own unique property `syncd_company_domain` (created by
  `syncd setup`), with `domain` and `name` set beside it. An organization without a domain is
  keyed by its helpdesk id in a second unique property, `helpdesk_organization_id`, so its
  tickets still get a company rather than silently none. When such an organization later gets
  a domain, its tickets move to a company keyed by that domain; the old company stays in
  HubSpot (merge the two there).
- Companies HubSpot already holds: a portal creates a company by itself from a new contact's
  business email domain and associates the two ("Create and associate companies with
  contacts", on by default, also for contacts created through the API:
  knowledge.hubspot.com/crm-setup/automatically-create-and-associate-companies-with-contacts);
  companies also come by hand or by import. So companies are upserted before contacts (a new
  contact then joins syncd's company of its domain instead of getting one made for it), and
  before a domain's first upsert in this process syncd searches for companies with that
  `domain` (`POST /crm/v3/objects/companies/search`, an IN filter of up to 100 domains, at
  most 4 searches a second): when none carries syncd's key, the oldest is adopted by
  stamping `syncd_company_domain` on it (one batch update), so the upsert updates it rather
  than creating a second. Domains that already have duplicates are left as they are (merge
  them in HubSpot); HubSpot associates new contacts with one of them, of its choosing.
- Associations (v4): `POST /crm/v4/associations/tickets/{contacts|companies}/batch/create`
  with HubSpot-defined type 16 (ticket to contact) and 26 (ticket to primary company; HubSpot
  adds the unlabelled 339 itself). When the requester or organization changed, the association
  syncd made before is removed (`.../batch/archive`) and the new one created, so it moves with
  the helpdesk; associations added by hand are left alone. A ticket whose requester has no
  email, or that has no organization, keeps what it has.
- Memory (`CrmMemory`, syncd.ports; the state store in production, so it survives restarts):
  each contact and company key's HubSpot id and a fingerprint of what syncd last wrote to it,
  and the contact and company each ticket is associated with. A contact or company whose
  fingerprint did not change is not upserted again, a domain whose company syncd knows is not
  searched, and a ticket already associated with its requester's contact and organization's
  company costs no association request. Only what HubSpot confirmed is remembered. A ticket
  HubSpot held before but the memory does not know (a state from before this memory, or after
  a failure) has its associations read once (`.../batch/read`, up to 1,000 tickets a
  request): nothing is created that exists, and other contacts (companies) it has are removed.

Failures are per ticket: a contact or company HubSpot refuses (an invalid email, ...) never
fails the batch. Contact upserts keyed by email are all-or-nothing in HubSpot, so a refused
batch is split in halves until the bad contact stands alone (addresses that are plainly not
email addresses are never sent). Companies carry an `objectWriteTraceId`, so HubSpot reports
a refused one by itself (multi-status). The ticket is still written; the association is
skipped and the ticket is reported with the reason (see `HubSpotSink.write`).

Requests per call of `link` (object batches 100 inputs, association creates and removals
2,000, reads 1,000; see the constants), for c requester emails and kd + ko companies (keyed by
domain, by organization id) that are new or changed since syncd last wrote them (kn of the kd
domains never seen), t tickets whose association is new or moved (m of them moved), and u
tickets HubSpot held that the memory does not know:
    ceil(c/100) + ceil(kd/100) + ceil(ko/100)            upserts
  + ceil(kn/100), + as many when any is adopted          company searches, adoptions
  + 2*ceil(u/1000)                                       association reads
  + at most 2*ceil(t/2000)                               association creates
  + at most 2*ceil(m/2000)                               removals of the previous association.
Tickets whose requester and organization are unchanged cost nothing here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import hubspot.crm.companies as companies_api
import hubspot.crm.contacts as contacts_api
import structlog
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    AssociationSpec,
    BatchInputPublicAssociationMultiArchive,
    BatchInputPublicAssociationMultiPost,
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicAssociationMultiArchive,
    PublicAssociationMultiPost,
    PublicFetchAssociationsBatchRequest,
    PublicObjectId,
)

from connectors.hubspot_api import HubSpotApi
from syncd.errors import TerminalError, UserError
from syncd.model import Organization, Person
from syncd.ports import CrmMemory
from syncd.ratelimit import RateLimiter

log = structlog.get_logger("syncd.hubspot")

# Payload keys of a ticket record (a colon never occurs in a HubSpot property name, so these
# never collide with the ticket's properties). Being in the payload, they are fingerprinted:
# a new requester or organization makes the ticket differ, so the pipeline sends it again.
CONTACT = "syncd:contact"
COMPANY = "syncd:company"

COMPANY_DOMAIN_PROPERTY = "syncd_company_domain"
ORGANIZATION_PROPERTY = "helpdesk_organization_id"
# Company properties syncd creates (`syncd setup`): name -> (label, type, field type); both
# have unique values, which is what lets them key an upsert.
COMPANY_PROPERTIES: dict[str, tuple[str, str, str]] = {
    COMPANY_DOMAIN_PROPERTY: ("Company domain (syncd key)", "string", "text"),
    ORGANIZATION_PROPERTY: ("Helpdesk organization id", "string", "text"),
}

# HubSpot-defined association type ids (associations v4 guide, "association type ID values").
TICKET_TO_CONTACT = 16
TICKET_TO_PRIMARY_COMPANY = 26
# Inputs per association request, the largest HubSpot documents for each v4 endpoint:
# - batch create and batch archive (`/crm/v4/associations/{from}/{to}/batch/create|archive`):
#   2,000 inputs, the v4 associations guide's batch limit (developers.hubspot.com/docs/
#   api-reference/latest/crm/associations/associate-records/guide), which the sandbox enforces
#   (syncd/sandbox/hubspot_routes.py); HubSpot's batch association action in Workato documents
#   the same maximum (docs.workato.com/connectors/hubspot/actions/associate-records-batch).
# - batch read: 1,000 ids since 10 February 2025 (developer changelog, "Bug Fix: Batch Read
#   Limit for HubSpot Associations API").
# Object upserts stay at 100 (`hubspot.batch_size`; the objects guides' batch limit).
ASSOCIATION_BATCH = 2000
ASSOCIATION_READ_BATCH = 1000
NO_ASSOCIATIONS = "crm.associations.NO_ASSOCIATIONS_FOUND"
# Domains per company search (one IN filter) and results per search page (search guide: limit
# at most 200).
SEARCH_DOMAINS = 100
SEARCH_PAGE = 200
# The search endpoints' own limit, besides the 10-second one: four requests per second per
# token (developer changelog, "CRM Search API Rate Limit Increase").
SEARCHES_PER_SECOND = 4
# The memory kinds (CrmMemory) are HubSpot's object type names.
CONTACTS, COMPANIES = "contacts", "companies"
# Entries the in-process memory keeps (used when the sink has no state store: tests, tools);
# past this the oldest are forgotten, which costs a read or an upsert, never a wrong link.
PROCESS_MEMORY = 200_000

# Plainly not an address: HubSpot would refuse it and, contacts being all-or-nothing, take its
# batch down with it. HubSpot stays the judge of everything that passes.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def contact_spec(person: Person | None) -> dict[str, str] | None:
    """The contact properties for a requester (None without an email): `email` lower-cased,
    as HubSpot stores it, and the name split into first word and the rest."""
    email = person.email.strip().lower() if person else ""
    if not person or not email:
        return None
    spec = {"email": email}
    first, _, last = person.name.strip().partition(" ")
    if first:
        spec["firstname"] = first
    if last.strip():
        spec["lastname"] = last.strip()
    return spec


def company_spec(organization: Organization | None) -> dict[str, str] | None:
    """The company properties for an organization, keyed by domain, else by helpdesk id
    (None for neither)."""
    if organization is None:
        return None
    domain = _domain(organization.domain)
    if domain:
        spec = {COMPANY_DOMAIN_PROPERTY: domain, "domain": domain}
    elif organization.id:
        spec = {ORGANIZATION_PROPERTY: str(organization.id)}
    else:
        return None
    if organization.name.strip():
        spec["name"] = organization.name.strip()
    return spec


def company_key(spec: Mapping[str, str]) -> tuple[str, str]:
    """(unique property, value) that identifies a company spec."""
    prop = COMPANY_DOMAIN_PROPERTY if COMPANY_DOMAIN_PROPERTY in spec else ORGANIZATION_PROPERTY
    return prop, spec[prop]


def spec_fingerprint(spec: Mapping[str, str]) -> str:
    """A stable hash of the properties syncd writes to a contact or company."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _memory_key(prop: str, value: str) -> str:
    # A company's key in the memory: "syncd_company_domain:acme.com".
    return f"{prop}:{value}"


class ProcessMemory:
    """A `CrmMemory` held in this process (bounded), for a sink without a state store."""

    def __init__(self, limit: int = PROCESS_MEMORY) -> None:
        self.limit = limit
        self._objects: OrderedDict[tuple[str, str], tuple[str, str]] = OrderedDict()
        self._links: OrderedDict[tuple[str, str], str] = OrderedDict()

    def crm_objects(self, kind: str, keys: Iterable[str]) -> dict[str, tuple[str, str]]:
        """key -> (object id, fingerprint), for those remembered."""
        return {k: self._objects[(kind, k)] for k in keys if (kind, k) in self._objects}

    def save_crm_objects(self, kind: str, objects: Mapping[str, tuple[str, str]]) -> None:
        """Remember objects."""
        for key, value in objects.items():
            self._objects[(kind, key)] = value
            self._objects.move_to_end((kind, key))
        _trim(self._objects, self.limit)

    def crm_links(self, kind: str, ticket_keys: Iterable[str]) -> dict[str, str]:
        """ticket key -> object id of `kind`, for those remembered."""
        return {k: self._links[(kind, k)] for k in ticket_keys if (kind, k) in self._links}

    def save_crm_links(self, kind: str, links: Mapping[str, str]) -> None:
        """Remember associations."""
        for key, target in links.items():
            self._links[(kind, key)] = target
            self._links.move_to_end((kind, key))
        _trim(self._links, self.limit)

    def forget_crm_links(self, kind: str | None, ticket_keys: Iterable[str]) -> None:
        """Forget associations (of `kind`, or both)."""
        for key in ticket_keys:
            for each in (kind,) if kind else (CONTACTS, COMPANIES):
                self._links.pop((each, key), None)


def _trim(entries: OrderedDict[Any, Any], limit: int) -> None:
    while len(entries) > limit:
        entries.popitem(last=False)


def _domain(text: str) -> str:
    # "https://www.Acme.com/" and "acme.com" are one company.
    domain = text.strip().lower().removeprefix("https://").removeprefix("http://")
    return domain.split("/", 1)[0].removeprefix("www.").strip(".")


@dataclass(frozen=True, slots=True)
class TicketLink:
    """One ticket HubSpot holds, and the contact and company it should be associated with."""

    key: str  # helpdesk ticket id
    object_id: str  # HubSpot's ticket id
    new: bool  # created by this write: it has no associations yet
    contact: Mapping[str, str] | None
    company: Mapping[str, str] | None


class CrmLinks:
    """Upserts contacts and companies and associates tickets with them (see the module doc)."""

    def __init__(
        self,
        client: HubSpot,
        api: HubSpotApi,
        batch_size: int = 100,
        memory: CrmMemory | None = None,
    ) -> None:
        self.api = api
        self.size = batch_size
        self.memory: CrmMemory = memory or ProcessMemory()
        # Each access to a client attribute builds a new API object (and pool): keep them.
        self._contacts = client.crm.contacts.batch_api
        self._companies = client.crm.companies.batch_api
        self._company_search = client.crm.companies.search_api
        self._associations = client.crm.associations.v4.batch_api
        # Given to every association model: a model built without one makes a Configuration of
        # its own (a dozen logger calls), which for a backfill's association inputs cost more
        # CPU than everything else syncd does with a ticket (issue 17's profile).
        self._models = self._associations.api_client.configuration
        # A tenth of a second of margin: HubSpot counts a search when it arrives, later than
        # syncd's clock saw it leave.
        self._search_pacing = RateLimiter(SEARCHES_PER_SECOND, 1.1)

    def plan(self, links: Sequence[TicketLink]) -> tuple[int, int, int]:
        """(contacts and companies to upsert, upper bound of requests) for --dry-run: what
        the memory does not hold as it is."""
        contacts = {link.contact["email"]: link.contact for link in links if link.contact}
        companies = {company_key(link.company): link.company for link in links if link.company}
        known_contacts = self.memory.crm_objects(CONTACTS, contacts)
        keys = {_memory_key(*key): spec for key, spec in companies.items()}
        known_companies = self.memory.crm_objects(COMPANIES, keys)
        contacts_due = [e for e, s in contacts.items() if not _same(known_contacts, e, s)]
        companies_due = [k for k, s in keys.items() if not _same(known_companies, k, s)]
        by_domain = sum(1 for k in companies_due if k.startswith(COMPANY_DOMAIN_PROPERTY + ":"))
        unseen = sum(
            1
            for k in companies_due
            if k.startswith(COMPANY_DOMAIN_PROPERTY + ":") and k not in known_companies
        )
        tickets = [link.key for link in links]
        linked = {kind: self.memory.crm_links(kind, tickets) for kind in (CONTACTS, COMPANIES)}

        def due(kind: str, ticket: str, known: Mapping[str, tuple[str, str]], key: str) -> bool:
            have = linked[kind].get(ticket)
            return have is None or have != known.get(key, ("", ""))[0]

        moving = [
            link
            for link in links
            if (link.contact and due(CONTACTS, link.key, known_contacts, link.contact["email"]))
            or (
                link.company
                and due(
                    COMPANIES, link.key, known_companies, _memory_key(*company_key(link.company))
                )
            )
        ]
        held = sum(1 for link in moving if not link.new)
        requests = (
            _chunks(len(contacts_due), self.size)
            + _chunks(unseen, SEARCH_DOMAINS)  # searches for companies to adopt
            + _chunks(by_domain, self.size)
            + _chunks(len(companies_due) - by_domain, self.size)
            + 2 * _chunks(held, ASSOCIATION_READ_BATCH)
            + 4 * _chunks(len(moving), ASSOCIATION_BATCH)
        )
        return len(contacts_due), len(companies_due), requests

    def link(self, links: Sequence[TicketLink]) -> dict[str, str]:
        """Upsert the tickets' contacts and companies and associate each ticket with its own,
        sending only what the memory does not hold as it is; returns helpdesk ticket id ->
        what went wrong, for tickets not fully linked. Transient failures (after retries) and
        user errors are raised."""
        problems: dict[str, list[str]] = defaultdict(list)
        # Companies first: a portal associates a new contact with the company of its email
        # domain and creates one when there is none (see the module doc), so syncd's company
        # must exist before its contacts do.
        company_ids, company_errors = self._upsert_companies(links)
        contact_ids, contact_errors = self._upsert_contacts(links)
        contacts: dict[str, str] = {}  # ticket object id -> contact id
        companies: dict[str, str] = {}  # ticket object id -> company id
        for link in links:
            if link.contact:
                email = link.contact["email"]
                if email in contact_ids:
                    contacts[link.object_id] = contact_ids[email]
                else:
                    reason = contact_errors.get(email, "HubSpot did not return it")
                    problems[link.key].append(f"its requester's contact {email}: {reason}")
            if link.company:
                key = company_key(link.company)
                if key in company_ids:
                    companies[link.object_id] = company_ids[key]
                else:
                    reason = company_errors.get(key, "HubSpot did not return it")
                    problems[link.key].append(f"its company {key[1]}: {reason}")
        key_of = {link.object_id: link.key for link in links}
        new = {link.object_id for link in links if link.new}
        self._associate(CONTACTS, TICKET_TO_CONTACT, contacts, new, key_of, problems)
        self._associate(COMPANIES, TICKET_TO_PRIMARY_COMPANY, companies, new, key_of, problems)
        return {key: "; ".join(reasons) for key, reasons in problems.items()}

    # -- contacts and companies --------------------------------------------------------------

    def _upsert_contacts(
        self, links: Sequence[TicketLink]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """(email -> contact id, email -> reason refused). One input per email: many
        tickets of one requester cost one input, not one each; none for a contact the
        memory holds as it is."""
        specs: dict[str, dict[str, str]] = {}
        refused: dict[str, str] = {}
        for link in links:
            if not link.contact:
                continue
            email = link.contact["email"]
            if not _EMAIL.match(email):
                refused[email] = f"{email!r} is not an email address; fix it in the helpdesk"
                continue
            specs.setdefault(email, dict(link.contact))
        known = self.memory.crm_objects(CONTACTS, specs)
        ids = {email: known[email][0] for email, spec in specs.items() if _same(known, email, spec)}
        due = {email: spec for email, spec in specs.items() if email not in ids}
        # No trace ids: HubSpot does not do partial upserts keyed by email (contacts guide).
        found, errors = self._upsert(self._contacts.upsert, contacts_api, "email", due, False)
        self.memory.save_crm_objects(
            CONTACTS, {email: (oid, spec_fingerprint(due[email])) for email, oid in found.items()}
        )
        return {**ids, **found}, {**refused, **errors}

    def _upsert_companies(
        self, links: Sequence[TicketLink]
    ) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]:
        """((key property, value) -> company id, same -> reason refused); none sent for a
        company the memory holds as it is."""
        by_property: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)
        for link in links:
            if link.company:
                prop, value = company_key(link.company)
                by_property[prop].setdefault(value, dict(link.company))
        ids: dict[tuple[str, str], str] = {}
        errors: dict[tuple[str, str], str] = {}
        # One idProperty per request: the two keys never share a batch.
        for prop, specs in by_property.items():
            known = self.memory.crm_objects(COMPANIES, [_memory_key(prop, v) for v in specs])
            due: dict[str, dict[str, str]] = {}
            for value, spec in specs.items():
                if _same(known, _memory_key(prop, value), spec):
                    ids[(prop, value)] = known[_memory_key(prop, value)][0]
                else:
                    due[value] = spec
            if prop == COMPANY_DOMAIN_PROPERTY:
                # A domain the memory knows has syncd's company (it upserted it): no search.
                self._adopt([d for d in due if _memory_key(prop, d) not in known])
            found, refused = self._upsert(self._companies.upsert, companies_api, prop, due, True)
            ids.update({(prop, value): oid for value, oid in found.items()})
            errors.update({(prop, value): reason for value, reason in refused.items()})
            self.memory.save_crm_objects(
                COMPANIES,
                {
                    _memory_key(prop, value): (oid, spec_fingerprint(due[value]))
                    for value, oid in found.items()
                },
            )
        return ids, errors

    # -- companies HubSpot already holds -----------------------------------------------------

    def _adopt(self, domains: Sequence[str]) -> None:
        """Stamp syncd's key on a company HubSpot holds for each domain that has none with
        the key yet (created by hand, by an import, or by HubSpot from a contact's email), so
        the upsert that follows updates it instead of creating a second company. Costs one
        search per 100 domains, and one batch update when any company is adopted."""
        for start in range(0, len(domains), SEARCH_DOMAINS):
            chunk = domains[start : start + SEARCH_DOMAINS]
            stamps: dict[str, str] = {}  # company id -> domain
            for domain, held in self._holders(chunk).items():
                if any(key == domain for _, key in held):
                    continue  # syncd's own company exists: the upsert finds it
                spare = sorted((oid for oid, key in held if not key), key=_numeric)
                if spare:
                    stamps[spare[0]] = domain  # the oldest, as HubSpot matches contacts to one
                if len(held) > 1:
                    log.warning("companies share a domain", domain=domain, companies=len(held))
            if stamps:
                self._stamp(stamps)

    def _holders(self, domains: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """domain -> (company id, its syncd key or "") of every company whose `domain` is one
        of `domains`, through the CRM search (`POST /crm/v3/objects/companies/search`, one IN
        filter; search reads may lag writes by a few seconds, so a company created moments
        ago by someone else can be missed)."""
        held: dict[str, list[tuple[str, str]]] = defaultdict(list)
        wanted = set(domains)
        after: str | None = None
        while True:
            body = companies_api.PublicObjectSearchRequest(
                filter_groups=[
                    companies_api.FilterGroup(
                        filters=[
                            companies_api.Filter(
                                property_name="domain", operator="IN", values=list(domains)
                            )
                        ]
                    )
                ],
                properties=["domain", COMPANY_DOMAIN_PROPERTY],
                limit=SEARCH_PAGE,
                after=after,
            )
            self._search_pacing.acquire()  # before the shared 10-second pacing in `call`
            try:
                response = self.api.call(self._company_search.do_search, body)
            except TerminalError as exc:
                # Not fatal: without the search syncd creates its own company, as before.
                log.warning("company search refused", error=str(exc))
                return held
            for row in response.get("results") or []:
                props = row.get("properties") or {}
                domain = _domain(str(props.get("domain") or ""))
                if domain in wanted and row.get("id"):
                    key = str(props.get(COMPANY_DOMAIN_PROPERTY) or "")
                    held[domain].append((str(row["id"]), key))
            after = ((response.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return held

    def _stamp(self, stamps: Mapping[str, str]) -> None:
        """Set `syncd_company_domain` on companies (id -> domain) in one batch update."""
        inputs = [
            companies_api.SimplePublicObjectBatchInput(
                id=oid, properties={COMPANY_DOMAIN_PROPERTY: domain}, object_write_trace_id=domain
            )
            for oid, domain in stamps.items()
        ]
        body = companies_api.BatchInputSimplePublicObjectBatchInput(inputs=inputs)
        try:
            response = self.api.call(self._companies.update, body)
        except TerminalError as exc:
            log.warning("adopting companies refused", error=str(exc), companies=len(inputs))
            return
        for error in response.get("errors") or []:
            log.warning("adopting a company refused", error=str(error.get("message", error)))
        log.info("companies adopted", companies=len(inputs) - len(response.get("errors") or []))

    def _upsert(
        self,
        method: Callable[..., Any],
        models: ModuleType,
        id_property: str,
        specs: Mapping[str, Mapping[str, str]],
        traced: bool,
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Upsert `specs` (key value -> properties) in batches: (key -> object id,
        key -> reason refused)."""
        ids: dict[str, str] = {}
        errors: dict[str, str] = {}
        keys = list(specs)
        for start in range(0, len(keys), self.size):
            batch = keys[start : start + self.size]
            self._upsert_batch(method, models, id_property, batch, specs, traced, ids, errors)
        return ids, errors

    def _upsert_batch(
        self,
        method: Callable[..., Any],
        models: ModuleType,
        id_property: str,
        keys: Sequence[str],
        specs: Mapping[str, Mapping[str, str]],
        traced: bool,
        ids: dict[str, str],
        errors: dict[str, str],
    ) -> None:
        conf = models.Configuration()  # one a batch, not one an input: see self._models
        inputs = [
            models.SimplePublicObjectBatchInputUpsert(
                id=key,
                id_property=id_property,
                properties=dict(specs[key]),
                object_write_trace_id=key if traced else None,
                local_vars_configuration=conf,
            )
            for key in keys
        ]
        body = models.BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=inputs, local_vars_configuration=conf
        )
        try:
            response = self.api.call(method, body)
        except TerminalError as exc:
            if f"Property {id_property} does not exist" in str(exc):
                # The key property is missing (syncd was upgraded, setup not run again): every
                # input would fail alike, so stop here rather than split the batch to pieces.
                raise UserError(
                    f"HubSpot has no property {id_property}, which keys the upserts",
                    where="hubspot",
                    hint="Run `syncd setup --config ...` once to create it",
                ) from None
            if len(keys) == 1:
                errors[keys[0]] = str(exc)
                return
            # Refused as a whole: split until the bad input stands alone.
            middle = len(keys) // 2
            for half in (keys[:middle], keys[middle:]):
                self._upsert_batch(method, models, id_property, half, specs, traced, ids, errors)
            return
        wanted = set(keys)
        for obj in response.get("results") or []:
            value = (obj.get("properties") or {}).get(id_property) or obj.get("objectWriteTraceId")
            value = str(value or "")
            if id_property == "email":
                value = value.lower()
            if value in wanted and obj.get("id"):
                ids[value] = str(obj["id"])
        for error in response.get("errors") or []:
            for trace in (error.get("context") or {}).get("objectWriteTraceId") or []:
                errors[str(trace)] = str(error.get("message", error))
        for key in keys:
            if key not in ids and key not in errors:
                errors[key] = "HubSpot did not return it"

    # -- associations ------------------------------------------------------------------------

    def _associate(
        self,
        to_type: str,
        type_id: int,
        wanted: Mapping[str, str],
        new: set[str],
        key_of: Mapping[str, str],
        problems: dict[str, list[str]],
    ) -> None:
        """Make each ticket (object id) in `wanted` associated with its target. What the
        memory says a ticket is associated with decides: nothing to do when it is the target;
        else the remembered association is removed and the target's created. A ticket
        HubSpot held that the memory does not know has its associations read first. What
        HubSpot confirmed is remembered; a ticket that failed is forgotten (read next time)."""
        remembered = self.memory.crm_links(
            to_type, [key_of[oid] for oid in wanted if oid not in new]
        )
        creates: list[tuple[str, str]] = []
        removals: dict[str, list[str]] = {}
        unknown: list[str] = []
        confirmed: dict[str, str] = {}  # ticket key -> target
        for oid, target in wanted.items():
            before = remembered.get(key_of[oid])
            if oid in new:
                creates.append((oid, target))  # created by this write: it has nothing yet
            elif before is None:
                unknown.append(oid)
            elif before == target:
                confirmed[key_of[oid]] = target
            else:
                creates.append((oid, target))
                removals[oid] = [before]  # syncd's own association only
        current = self._read(to_type, unknown)
        for oid in unknown:
            target = wanted[oid]
            have, complete = current.get(oid, (set(), True))
            if target in have:
                confirmed[key_of[oid]] = target
                continue
            creates.append((oid, target))
            stale = sorted(have - {target})
            # An incomplete read (more pages than one) never removes: what was not seen
            # might be the one to keep.
            if stale and complete:
                removals[oid] = stale
        if removals:
            log.info("associations moved", to=to_type, tickets=len(removals))
        failed = self._archive(to_type, removals, key_of, problems)
        failed |= self._create(to_type, type_id, creates, key_of, problems)
        confirmed.update({key_of[oid]: target for oid, target in creates})
        self.memory.save_crm_links(
            to_type, {key: target for key, target in confirmed.items() if key not in failed}
        )
        self.memory.forget_crm_links(to_type, sorted(failed))

    def _read(self, to_type: str, object_ids: Sequence[str]) -> dict[str, tuple[set[str], bool]]:
        """ticket object id -> (associated ids, whether that is all of them)."""
        out: dict[str, tuple[set[str], bool]] = {}
        conf = self._models
        for start in range(0, len(object_ids), ASSOCIATION_READ_BATCH):
            chunk = object_ids[start : start + ASSOCIATION_READ_BATCH]
            body = BatchInputPublicFetchAssociationsBatchRequest(
                inputs=[
                    PublicFetchAssociationsBatchRequest(id=oid, local_vars_configuration=conf)
                    for oid in chunk
                ],
                local_vars_configuration=conf,
            )
            try:
                response = self.api.call(self._associations.get_page, "tickets", to_type, body)
            except TerminalError as exc:
                # Unknown, not empty: the associations are still created (that is
                # idempotent), but nothing is removed.
                log.warning("association read refused", to=to_type, error=str(exc))
                out.update({oid: (set(), False) for oid in chunk})
                continue
            for row in response.get("results") or []:
                oid = str((row.get("from") or {}).get("id", ""))
                ids = {str(t.get("toObjectId")) for t in row.get("to") or []}
                out[oid] = (ids, not row.get("paging"))
            for error in response.get("errors") or []:
                unlinked = (error.get("context") or {}).get("fromObjectId") or []
                none = error.get("subCategory") == NO_ASSOCIATIONS
                for oid in unlinked:
                    out[str(oid)] = (set(), none)
        return out

    def _object_id(self, object_id: str) -> PublicObjectId:
        return PublicObjectId(id=object_id, local_vars_configuration=self._models)

    def _archive(
        self,
        to_type: str,
        removals: Mapping[str, Sequence[str]],
        key_of: Mapping[str, str],
        problems: dict[str, list[str]],
    ) -> set[str]:
        """Remove associations (ticket object id -> targets); the ticket keys that failed."""
        failed: set[str] = set()
        items = list(removals.items())
        for start in range(0, len(items), ASSOCIATION_BATCH):
            chunk = items[start : start + ASSOCIATION_BATCH]
            body = BatchInputPublicAssociationMultiArchive(
                inputs=[
                    PublicAssociationMultiArchive(
                        _from=self._object_id(oid),
                        to=[self._object_id(t) for t in targets],
                        local_vars_configuration=self._models,
                    )
                    for oid, targets in chunk
                ],
                local_vars_configuration=self._models,
            )
            try:
                self.api.call(self._associations.archive, "tickets", to_type, body)
            except TerminalError as exc:
                for oid, _ in chunk:
                    problems[key_of[oid]].append(f"removing its previous {to_type}: {exc}")
                    failed.add(key_of[oid])
        return failed

    def _create(
        self,
        to_type: str,
        type_id: int,
        pairs: Sequence[tuple[str, str]],
        key_of: Mapping[str, str],
        problems: dict[str, list[str]],
    ) -> set[str]:
        """Create associations (ticket object id, target); the ticket keys that failed."""
        failed: set[str] = set()
        spec = AssociationSpec(
            association_category="HUBSPOT_DEFINED",
            association_type_id=type_id,
            local_vars_configuration=self._models,
        )
        for start in range(0, len(pairs), ASSOCIATION_BATCH):
            chunk = pairs[start : start + ASSOCIATION_BATCH]
            body = BatchInputPublicAssociationMultiPost(
                inputs=[
                    PublicAssociationMultiPost(
                        _from=self._object_id(oid),
                        to=self._object_id(target),
                        types=[spec],
                        local_vars_configuration=self._models,
                    )
                    for oid, target in chunk
                ],
                local_vars_configuration=self._models,
            )
            try:
                response = self.api.call(self._associations.create, "tickets", to_type, body)
            except TerminalError as exc:
                for oid, _ in chunk:
                    problems[key_of[oid]].append(f"associating it with its {to_type}: {exc}")
                    failed.add(key_of[oid])
                continue
            errors = response.get("errors") or []
            if not errors and response.get("status", "COMPLETE") == "COMPLETE":
                # A 2xx COMPLETE without errors created every pair; `results` only echoes
                # them and may hold fewer (issue 12), so it is not counted.
                continue
            done = {
                (str(r.get("fromObjectId")), str(r.get("toObjectId")))
                for r in response.get("results") or []
            }
            reasons = "; ".join(str(e.get("message", e)) for e in errors)
            for oid, target in chunk:
                if (oid, target) not in done:
                    problems[key_of[oid]].append(
                        f"associating it with its {to_type}: {reasons or 'HubSpot did not say'}"
                    )
                    failed.add(key_of[oid])
        return failed


def _same(known: Mapping[str, tuple[str, str]], key: str, spec: Mapping[str, str]) -> bool:
    """Whether the memory holds `key` as `spec` (its fingerprint matches)."""
    held = known.get(key)
    return held is not None and held[1] == spec_fingerprint(spec)


def _chunks(count: int, size: int) -> int:
    return -(-count // size)


def _numeric(object_id: str) -> tuple[int, str]:
    # HubSpot ids grow with creation: the smallest is the oldest record.
    return (int(object_id), "") if object_id.isdigit() else (2**63, object_id)
