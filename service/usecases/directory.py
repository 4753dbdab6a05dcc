"""The organisations and practitioners a principal deals with (FHIR Organization and
Practitioner): read by id and searched by name or identifier, within
`service.auth.policy.visible_organizations` / `visible_practitioners`.

The directory is small (the organisations of one carebridge deployment and their staff), so an
identifier search filters the visible rows' identifier lists here rather than in SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from fhir_mappings.practitioner import US_NPI
from service.auth.context import AccessContext
from service.auth.policy import visible_organizations, visible_practitioners
from service.models import Organization, Practitioner
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
