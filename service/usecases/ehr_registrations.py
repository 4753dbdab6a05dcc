"""The EHRs whose users may launch carebridge: one row per FHIR base (``iss``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from connectors.keys import signing_key
from service import clock
from service.models import Organization
from service.models.web import EhrRegistration
from service.usecases.errors import Invalid
from service.usecases.unit_of_work import get_or_404, unit_of_work

# What the case page needs from the EHR: who the user is, and the launched patient and encounter.
# https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
DEFAULT_SCOPE = "launch openid fhirUser user/Patient.rs user/Encounter.rs"


def register_ehr(
    session: Session,
    *,
    iss: str,
    client_id: str,
    redirect_uri: str,
    private_jwk: Mapping[str, Any],
    hospital_id: str,
    scope: str = DEFAULT_SCOPE,
) -> EhrRegistration:
    """Add or replace the registration for ``iss`` (re-registering rotates the key)."""
    try:
        signing_key(private_jwk)
    except ValueError as exc:
        raise Invalid("the client key cannot sign", fields={"private_jwk": [str(exc)]}) from exc
    with unit_of_work(session):
        hospital = get_or_404(session, Organization, hospital_id)
        if hospital.kind != "hospital":
            raise Invalid("an EHR launches for a hospital", fields={"hospital_id": [f"is a {hospital.kind}"]})
        registration = session.merge(
            EhrRegistration(
                iss=iss.rstrip("/"),
                client_id=client_id,
                redirect_uri=redirect_uri,
                private_jwk=dict(private_jwk),
                scope=scope,
                hospital_id=hospital_id,
                created_at=clock.now(),
            )
        )
    return registration
