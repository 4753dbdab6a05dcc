"""Bring a launched patient and encounter into carebridge, once.

The EHR's ids are kept as a partner identifier (patient) and as ``source_system``/``source_id``
(stay), so a second launch for the same patient finds the records instead of copying them.

Which existing patient a launched Patient is follows carebridge's one matching rule
(service.usecases.patient_matching). The launch is trusted for the EHR's own Patient ids and, when
the EHR is also a sync partner (the same FHIR base), for the systems that partner is trusted for;
any other identifier matches only a patient the launching user may already see, and the person
must agree. Otherwise the launch registers a separate patient, leaving off the identifiers another
patient holds: a clinician waits in the browser for the case, so it cannot wait in a review queue,
and an EHR of another hospital carrying a payer member id must not open that member's case to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fhir_mappings import from_fhir_encounter, from_fhir_patient
from service import clock
from service.auth.context import AccessContext
from service.auth.policy import can_see
from service.models import Partner, Patient, Stay
from service.usecases import patient_matching, patients, stays
from service.usecases.unit_of_work import get_or_404, unit_of_work


def ehr_patient_system(iss: str) -> str:
    """The identifier system for an EHR's own Patient ids: its FHIR base plus ``/Patient``."""
    return iss.rstrip("/") + "/Patient"


def find_stay(session: Session, iss: str, encounter_id: str) -> Stay | None:
    return session.scalar(select(Stay).where(Stay.source_system == iss, Stay.source_id == encounter_id))


def trusted_systems(session: Session, iss: str) -> set[str]:
    """The identifier systems a launch from `iss` is an authority for (see the module's rule)."""
    base = iss.rstrip("/")
    partner = session.scalar(select(Partner).where(Partner.fhir_base.in_((base, base + "/"))).limit(1))
    return {ehr_patient_system(iss), *(partner.trusted_identifier_systems if partner is not None else ())}


def import_patient(session: Session, iss: str, resource: Mapping[str, Any], *, launched_by: AccessContext) -> Patient:
    """The carebridge patient for an EHR Patient: matched by the rule above, else registered."""
    data = from_fhir_patient(resource)
    own = {"kind": "partner", "system": ehr_patient_system(iss), "value": str(resource["id"])}
    known = [own, *({"kind": "mrn", "system": i.system, "value": i.value} for i in data.identifiers)]
    person = {"family_name": data.family, "given_name": " ".join(data.given), "birth_date": data.birth_date}
    match = patient_matching.match_patient(
        session, known, person, trusted_systems=trusted_systems(session, iss),
        sees=lambda patient: can_see(launched_by, "Patient", patient),
    )  # fmt: skip
    if match.patient is not None:
        return match.patient
    return patients.register_patient(
        session,
        family_name=data.family or "(no family name)",
        given_name=" ".join(data.given) or "(no given name)",
        birth_date=data.birth_date,
        gender=data.gender,
        identifiers=patient_matching.without_held(known, match),
        actor=launched_by.actor,
    )


def import_stay(
    session: Session,
    iss: str,
    patient_resource: Mapping[str, Any],
    encounter_resource: Mapping[str, Any],
    *,
    hospital_id: str,
    launched_by: AccessContext,
) -> Stay:
    """The stay for an EHR Encounter, creating the patient and the stay when carebridge lacks them,
    in one unit of work (a refused stay leaves no new patient behind)."""
    existing = find_stay(session, iss, str(encounter_resource["id"]))
    if existing is not None:
        return existing
    with unit_of_work(session):
        patient = import_patient(session, iss, patient_resource, launched_by=launched_by)
        encounter = from_fhir_encounter(encounter_resource)
        stay = stays.admit(
            session,
            patient_id=patient.id,
            hospital_id=hospital_id,
            admitted_at=encounter.admitted_at or clock.now(),
            unit=encounter.unit,
            bed=encounter.bed,
            source_system=iss,
            source_id=str(encounter_resource["id"]),
            actor=launched_by.actor,
        )
    return get_or_404(session, Stay, stay.id)
