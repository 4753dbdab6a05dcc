"""Partners carebridge syncs with: register, list, show, and record what their server accepts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.capabilities import Capabilities
from service import clock
from service.models import Organization, Partner
from service.models.partners import PARTNER_KINDS, SYNC_TYPES
from service.sync.capability import stored
from service.sync.outgoing import PUSHABLE
from service.usecases.errors import ConflictError, Invalid, NotFound
from service.usecases.unit_of_work import get_or_404, unit_of_work

DEFAULT_PULL = ("Patient", "Encounter", "Task")
DEFAULT_PUSH = ("CarePlan", "Goal", "ServiceRequest", "Task")


def _check_types(types: Sequence[str], allowed: Sequence[str] | frozenset[str]) -> list[str]:
    unknown = sorted(set(types) - set(allowed))
    return [f"unknown types {', '.join(unknown)}; choose from {', '.join(sorted(allowed))}"] if unknown else []


def add_partner(
    session: Session,
    *,
    name: str,
    kind: str,
    organization_id: str,
    fhir_base: str,
    client_id: str,
    key_kid: str,
    scopes: str,
    token_endpoint: str | None = None,
    pull_types: Sequence[str] = DEFAULT_PULL,
    push_types: Sequence[str] = DEFAULT_PUSH,
) -> Partner:
    errors = {
        "kind": [] if kind in PARTNER_KINDS else [f"must be one of {', '.join(PARTNER_KINDS)}"],
        "fhir_base": [] if fhir_base.startswith(("http://", "https://")) else ["must be an http(s) URL"],
        "pull_types": _check_types(pull_types, SYNC_TYPES),
        "push_types": _check_types(push_types, PUSHABLE),
    }
    if any(errors.values()):
        raise Invalid("the partner cannot be registered", fields={k: v for k, v in errors.items() if v})
    with unit_of_work(session):
        get_or_404(session, Organization, organization_id)
        if find_partner(session, name) is not None:
            raise ConflictError(f"a partner named {name!r} already exists")
        partner = Partner(
            name=name,
            kind=kind,
            organization_id=organization_id,
            fhir_base=fhir_base.rstrip("/"),
            client_id=client_id,
            token_endpoint=token_endpoint,
            key_kid=key_kid,
            scopes=scopes,
            pull_types=list(pull_types),
            push_types=list(push_types),
            created_at=clock.now(),
        )
        session.add(partner)
        return partner


def find_partner(session: Session, name: str) -> Partner | None:
    return session.scalar(select(Partner).where(Partner.name == name))


def get_partner(session: Session, name: str) -> Partner:
    partner = find_partner(session, name)
    if partner is None:
        raise NotFound("Partner", name)
    return partner


def list_partners(session: Session) -> list[Partner]:
    return list(session.scalars(select(Partner).order_by(Partner.name)))


def record_capabilities(session: Session, partner_id: str, capabilities: Capabilities) -> Partner:
    """Keep what the partner's CapabilityStatement says it accepts (read before each push round)."""
    with unit_of_work(session):
        partner = get_or_404(session, Partner, partner_id)
        partner.capabilities = stored(capabilities)
        partner.capabilities_read_at = clock.now()
        return partner
