"""The organisations, practitioners, people's roles and places a principal deals with (FHIR
Organization, Practitioner, PractitionerRole and Location): read by id and searched, within
`service.auth.policy.visible_organizations` / `visible_practitioners` / `visible_practitioner_roles`
/ `visible_places`; and who wrote each change of a record (FHIR Provenance, from the audit
trail), for a principal that may read the record.

A place is not stored: carebridge knows a hospital's wards and beds from its stays (each names
its unit and bed), so `places` derives them from the stays the principal may see.

The directory is small (the organisations of one carebridge deployment and their staff), so an
identifier search filters the visible rows' identifier lists here rather than in SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, union
from sqlalchemy.orm import Session

from fhir_mappings import location_id
from fhir_mappings.practitioner import US_NPI
from service.auth.context import AccessContext
from service.auth.policy import (
    MODELS,
    visible_organizations,
    visible_places,
    visible_practitioner_roles,
    visible_practitioners,
    visible_rows,
)
from service.models import AuditRecord, CareTeamMember, Organization, Practitioner, Stay, User
from service.models.clients import PartnerClient
from service.models.partners import Partner
from service.models.stays import PLACE_SEPARATOR, place_key
from service.sync.resource_types import RESOURCE_TYPE
from service.usecases.errors import NotFound

DIRECTORY: dict[str, tuple[type[Any], Callable[[AccessContext], ColumnElement[bool]], Any]] = {
    "Organization": (Organization, visible_organizations, Organization.name),
    "Practitioner": (Practitioner, visible_practitioners, Practitioner.name),
    # A person's role at their organisation is their user account (fhir_mappings.practitioner_role).
    "PractitionerRole": (User, visible_practitioner_roles, User.display_name),
}


def identifiers_of(row: Organization | Practitioner) -> list[tuple[str, str]]:
    """(system, value) of each identifier the row carries."""
    if isinstance(row, Organization):
        return [(i.get("system", ""), i.get("value", "")) for i in row.identifiers]
    return [(US_NPI, row.npi)] if row.npi else []


def read(session: Session, ctx: AccessContext, resource_type: str, ident: str) -> Any:
    model, visible, _ = DIRECTORY[resource_type]
    row = session.scalar(select(model).where(model.id == ident, visible(ctx)))
    if row is None:
        raise NotFound(resource_type, ident)
    return row


def search(
    session: Session,
    ctx: AccessContext,
    resource_type: str,
    *,
    filters: Sequence[ColumnElement[bool]],
    identifier: str | None = None,
) -> Sequence[Any]:
    """The visible rows matching `filters` (on the type's model) and `identifier` (`system|value`,
    `|value` or `value`: https://hl7.org/fhir/R4/search.html#token), by name."""
    model, visible, name = DIRECTORY[resource_type]
    query = select(model).where(visible(ctx), *filters)
    rows = session.scalars(query.order_by(name, model.id)).all()
    if identifier is None:
        return rows
    system, bar, value = identifier.rpartition("|")
    return [row for row in rows if any(v == value and (not bar or s == system) for s, v in identifiers_of(row))]


@dataclass(frozen=True)
class Place:
    """A ward of a hospital (`bed` None) or a bed in one: a FHIR Location."""

    id: str
    hospital: Organization
    unit: str
    bed: str | None

    @property
    def name(self) -> str:
        return self.unit if self.bed is None else f"{self.unit}, bed {self.bed}"

    @property
    def ward_id(self) -> str | None:
        """The Location of the ward a bed is in (None for a ward)."""
        return None if self.bed is None else location_id(self.hospital.id, self.unit)


def places(session: Session, ctx: AccessContext) -> list[Place]:
    """The wards and beds of the stays `ctx` may see (and of its own hospital), by hospital, unit and bed."""
    rule = visible_places(ctx)
    elsewhere = select(Stay.hospital_id, place_key()).where(rule.stays, Stay.unit.is_not(None))
    rows: Sequence[Any] = session.execute(union(_places_at(rule.hospitals), elsewhere)).all()
    ids = {hospital_id for hospital_id, _ in rows}
    hospitals = {org.id: org for org in session.scalars(select(Organization).where(Organization.id.in_(ids)))}
    found: dict[str, Place] = {}
    for hospital_id, key in rows:
        unit, _, bed = key.partition(PLACE_SEPARATOR)
        for where in (None, bed) if bed else (None,):
            place = Place(location_id(hospital_id, unit, where), hospitals[hospital_id], unit, where)
            found[place.id] = place
    return sorted(found.values(), key=lambda p: (p.hospital.name, p.unit, p.bed or "", p.id))


def _places_at(hospitals: ColumnElement[bool]) -> Select[tuple[str, str]]:
    """(hospital id, place key) of every place with a stay at the `hospitals`: a walk of
    ix_stays_places that reads the smallest key after the one before, one index probe per place
    (a "loose index scan", https://wiki.postgresql.org/wiki/Loose_indexscan), where a DISTINCT
    reads every stay there."""
    key = place_key()
    first = select(func.min(key)).where(Stay.hospital_id == Organization.id).scalar_subquery()
    walk = select(Organization.id.label("hospital_id"), first.label("key")).where(hospitals).cte(recursive=True)
    after = select(func.min(key)).where(Stay.hospital_id == walk.c.hospital_id, key > walk.c.key).scalar_subquery()
    walk = walk.union_all(select(walk.c.hospital_id, after).where(walk.c.key.is_not(None)))
    return select(walk.c.hospital_id, walk.c.key).where(walk.c.key.is_not(None))


def place(session: Session, ctx: AccessContext, ident: str) -> Place:
    """The ward or bed `ident` names, when `ctx` may see it (404 otherwise)."""
    found = next((p for p in places(session, ctx) if p.id == ident), None)
    if found is None:
        raise NotFound("Location", ident)
    return found


def practitioners_of(session: Session, ctx: AccessContext, roles: Sequence[User]) -> Sequence[Practitioner]:
    """The Practitioners of `roles` that `ctx` may see (`_include=PractitionerRole:practitioner`)."""
    ids = {role.practitioner_id for role in roles} - {None}
    query = select(Practitioner).where(Practitioner.id.in_(ids), visible_practitioners(ctx))
    return session.scalars(query.order_by(Practitioner.name, Practitioner.id)).all() if ids else []


def care_team_roles(session: Session, ctx: AccessContext, patient_ids: Sequence[str]) -> Sequence[User]:
    """The people's roles on the care teams of `patient_ids` (already visible to `ctx`) that `ctx`
    may see (`_include=CareTeam:participant:PractitionerRole`)."""
    members = select(CareTeamMember.user_id).where(CareTeamMember.patient_id.in_(patient_ids))
    query = select(User).where(User.id.in_(members), visible_practitioner_roles(ctx))
    return session.scalars(query.order_by(User.display_name, User.id)).all() if patient_ids else []


@dataclass(frozen=True)
class Change:
    """One audited create or update of a record a principal may read."""

    record: AuditRecord
    resource_type: str  # FHIR type of the changed record
    author_ref: str | None  # Practitioner/x or Organization/x; None when the actor is no party
    on_behalf_of_ref: str | None  # the author's organisation, when the author is a person


def change(session: Session, ctx: AccessContext, record_id: str) -> Change:
    """The change `record_id` names, when `ctx` may read the record it changed (404 otherwise)."""
    record = session.get(AuditRecord, record_id)
    resource_type = RESOURCE_TYPE.get(record.entity_type) if record is not None else None
    if record is None or resource_type is None or record.action not in ("create", "update"):
        raise NotFound("Provenance", record_id)
    model, _ = MODELS[resource_type]
    if session.scalar(select(model.id).where(model.id == record.entity_id, visible_rows(ctx, resource_type))) is None:
        raise NotFound("Provenance", record_id)
    return Change(record, resource_type, *_author(session, record.actor))


def _author(session: Session, actor: str) -> tuple[str | None, str | None]:
    """Who an audit actor is: a signed-in person (their Practitioner on behalf of their
    organisation, or the organisation), a partner's client (`client:<id>`) or a sync partner
    (`partner:<name>`, `resolve:<name>`): their organisation. carebridge's own jobs are no party."""
    kind, _, name = actor.partition(":")
    if kind == "client":
        return _org(session.scalar(select(PartnerClient.organization_id).where(PartnerClient.client_id == name)))
    if kind in ("partner", "resolve"):
        return _org(session.scalar(select(Partner.organization_id).where(Partner.name == name)))
    user = session.scalar(select(User).where(User.username == actor))
    if user is None:
        return None, None
    if user.practitioner_id is not None:
        return f"Practitioner/{user.practitioner_id}", f"Organization/{user.organization_id}"
    return _org(user.organization_id)


def _org(org_id: str | None) -> tuple[str | None, str | None]:
    return (f"Organization/{org_id}" if org_id else None), None


# The most Provenances one page of search results brings (`_revinclude=Provenance:target`).
MAX_CHANGES = 1000


def changes_of(session: Session, resource_type: str, ids: Sequence[str]) -> list[Change]:
    """Every audited create and update of the `resource_type` records `ids`, oldest first: their
    Provenance for `_revinclude=Provenance:target`. The caller has already filtered `ids` to
    records the principal may read (they are its search results)."""
    entity_types = [entity for entity, fhir_type in RESOURCE_TYPE.items() if fhir_type == resource_type]
    if not entity_types or not ids:
        return []
    query = (
        select(AuditRecord)
        .where(
            AuditRecord.entity_type.in_(entity_types),
            AuditRecord.entity_id.in_(ids),
            AuditRecord.action.in_(("create", "update")),
        )
        .order_by(AuditRecord.at, AuditRecord.id)
        .limit(MAX_CHANGES)
    )
    authors: dict[str, tuple[str | None, str | None]] = {}
    changes = []
    for record in session.scalars(query):
        if record.actor not in authors:
            authors[record.actor] = _author(session, record.actor)
        changes.append(Change(record, resource_type, *authors[record.actor]))
    return changes
