"""Partners carebridge syncs with: register, change, remove, list, show, and record what their server accepts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connectors.capabilities import Capabilities
from service import clock
from service.models import Delivery, Organization, Partner
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
    trusted_identifier_systems: Sequence[str] = (),
) -> Partner:
    errors = {
        "kind": [] if kind in PARTNER_KINDS else [f"must be one of {', '.join(PARTNER_KINDS)}"],
        "fhir_base": [] if fhir_base.startswith(("http://", "https://")) else ["must be an http(s) URL"],
        "pull_types": _check_types(pull_types, SYNC_TYPES),
        "push_types": _check_types(push_types, PUSHABLE),
        "trusted_identifier_systems": _check_systems(trusted_identifier_systems),
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
            trusted_identifier_systems=list(trusted_identifier_systems),
            created_at=clock.now(),
        )
        session.add(partner)
        return partner


def _check_systems(systems: Sequence[str]) -> list[str]:
    # https://hl7.org/fhir/R4/datatypes.html#uri: an identifier system is an absolute URI (URL or urn:).
    bad = [s for s in systems if ":" not in s or len(s) > 255]
    return [f"not an absolute URI: {', '.join(bad)}"] if bad else []


# What `partners update` may change. A new FHIR base is a new server whose ids and history
# differ, so it is a new partner (add it under another name); the organisation is the tenant
# boundary of everything already pulled, so it stays too.
UPDATABLE = (
    "client_id", "key_kid", "scopes", "token_endpoint", "pull_types", "push_types", "trusted_identifier_systems",
)  # fmt: skip


def update_partner(session: Session, name: str, changes: Mapping[str, Any]) -> Partner:
    unknown = sorted(set(changes) - set(UPDATABLE))
    errors = {key: ["cannot be changed; register a new partner instead"] for key in unknown}
    checks = {
        "pull_types": lambda v: _check_types(v, SYNC_TYPES),
        "push_types": lambda v: _check_types(v, PUSHABLE),
        "trusted_identifier_systems": _check_systems,
    }
    for key, check in checks.items():
        if key in changes and check(changes[key]):
            errors[key] = check(changes[key])
    if errors:
        raise Invalid(f"partner {name!r} cannot be changed so", fields=errors)
    with unit_of_work(session):
        partner = get_partner(session, name)
        for key, value in changes.items():
            setattr(partner, key, list(value) if isinstance(value, list | tuple) else value)
        return partner


# Deliveries still owed to the partner: removing it would silently drop them.
QUEUED = ("pending", "in-flight", "conflict")


def remove_partner(session: Session, name: str, *, drop_queued: bool = False) -> dict[str, int]:
    """Remove the partner with its links, watermarks, deliveries and sync errors (carebridge's own
    records stay). Refused while deliveries are queued unless ``drop_queued``; returns the queued
    deliveries dropped, per state."""
    with unit_of_work(session):
        partner = get_partner(session, name)
        queued = dict(
            session.execute(
                select(Delivery.state, func.count())
                .where(Delivery.partner_id == partner.id, Delivery.state.in_(QUEUED))
                .group_by(Delivery.state)
            ).all()
        )
        if queued and not drop_queued:
            counts = ", ".join(f"{n} {state}" for state, n in sorted(queued.items()))
            raise ConflictError(
                f"partner {name!r} still has queued deliveries ({counts}); push them first, "
                "or remove with --drop-queued to drop them"
            )
        session.delete(partner)  # its rows in the sync tables go with it (ON DELETE CASCADE)
        return {str(state): int(n) for state, n in queued.items()}


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
