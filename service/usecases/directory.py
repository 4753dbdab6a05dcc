"""The organisations and practitioners a principal deals with (FHIR Organization and
Practitioner): read by id and searched by name or identifier, within
`service.auth.policy.visible_organizations` / `visible_practitioners`; and who wrote each
change of a record (FHIR Provenance, from the audit trail), for a principal that may read the record.

The directory is small (the organisations of one carebridge deployment and their staff), so an
identifier search filters the visible rows' identifier lists here rather than in SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from fhir_mappings.practitioner import US_NPI
from service.auth.context import AccessContext
from service.auth.policy import MODELS, visible_organizations, visible_practitioners, visible_rows
from service.models import AuditRecord, Organization, Practitioner, User
from service.models.clients import PartnerClient
from service.models.partners import Partner
from service.sync.resource_types import RESOURCE_TYPE
from service.usecases.errors import NotFound

DIRECTORY: dict[str, tuple[type[Any], Callable[[AccessContext], ColumnElement[bool]]]] = {
    "Organization": (Organization, visible_organizations),
    "Practitioner": (Practitioner, visible_practitioners),
}


def identifiers_of(row: Organization | Practitioner) -> list[tuple[str, str]]:
    """(system, value) of each identifier the row carries."""
    if isinstance(row, Organization):
        return [(i.get("system", ""), i.get("value", "")) for i in row.identifiers]
    return [(US_NPI, row.npi)] if row.npi else []


def read(session: Session, ctx: AccessContext, resource_type: str, ident: str) -> Any:
    model, visible = DIRECTORY[resource_type]
    row = session.scalar(select(model).where(model.id == ident, visible(ctx)))
    if row is None:
        raise NotFound(resource_type, ident)
    return row


def search(
    session: Session,
    ctx: AccessContext,
    resource_type: str,
    *,
    name: ColumnElement[bool] | None,
    identifier: str | None,
) -> Sequence[Any]:
    """The visible rows matching `name` (a filter on the name column) and `identifier`
    (`system|value`, `|value` or `value`: https://hl7.org/fhir/R4/search.html#token), by name."""
    model, visible = DIRECTORY[resource_type]
    query = select(model).where(visible(ctx))
    if name is not None:
        query = query.where(name)
    rows = session.scalars(query.order_by(model.name, model.id)).all()
    if identifier is None:
        return rows
    system, bar, value = identifier.rpartition("|")
    return [
        row
        for row in rows
        if any(v == value and (not bar or s == system) for s, v in identifiers_of(row))
    ]



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
