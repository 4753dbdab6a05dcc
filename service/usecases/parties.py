"""Organisations and users."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Organization, User
from service.models.parties import ORGANIZATION_KINDS
from service.usecases.changes import create
from service.usecases.errors import Invalid
from service.usecases.unit_of_work import unit_of_work


def add_organization(
    session: Session,
    *,
    name: str,
    kind: str,
    actor: str,
    identifiers: list[dict[str, str]] | None = None,
    **contact: str | None,
) -> Organization:
    """`contact`: any of address_line, address_city, address_state, address_postal_code, phone."""
    if kind not in ORGANIZATION_KINDS:
        raise Invalid("unknown organisation kind", fields={"kind": [f"must be one of {', '.join(ORGANIZATION_KINDS)}"]})
    unknown = set(contact) - set(CONTACT_FIELDS)
    if unknown:
        raise Invalid("unknown organisation fields", fields={key: ["is not an organisation field"] for key in unknown})
    with unit_of_work(session):
        row = Organization(name=name, kind=kind, identifiers=identifiers or [], **contact)
        return create(session, row, actor=actor)


CONTACT_FIELDS = ("address_line", "address_city", "address_state", "address_postal_code", "phone")


def list_organizations(session: Session, kind: str | None = None) -> list[Organization]:
    query = select(Organization).order_by(Organization.name)
    if kind:
        query = query.where(Organization.kind == kind)
    return list(session.scalars(query))


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))
