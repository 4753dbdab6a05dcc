"""Bring a launched patient and encounter into carebridge, once.

The EHR's ids are kept as a partner identifier (patient) and as ``source_system``/``source_id``
(stay), so a second launch for the same patient finds the records instead of copying them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fhir_mappings import from_fhir_encounter, from_fhir_patient
from service import clock
from service.models import Patient, Stay
from service.usecases import patients, stays
from service.usecases.unit_of_work import get_or_404


def ehr_patient_system(iss: str) -> str:
    """The identifier system for an EHR's own Patient ids: its FHIR base plus ``/Patient``."""
    return iss.rstrip("/") + "/Patient"


def find_stay(session: Session, iss: str, encounter_id: str) -> Stay | None:
    return session.scalar(select(Stay).where(Stay.source_system == iss, Stay.source_id == encounter_id))


def import_patient(session: Session, iss: str, resource: Mapping[str, Any], *, actor: str) -> Patient:
    """The carebridge patient for an EHR Patient: found by the EHR id or an identifier, else registered."""
    data = from_fhir_patient(resource)
    own = {"kind": "partner", "system": ehr_patient_system(iss), "value": str(resource["id"])}
    known = [own, *({"kind": "mrn", "system": i.system, "value": i.value} for i in data.identifiers)]
    for ident in known:
        found = patients.find_by_identifier(session, ident["system"], ident["value"])
        if found is not None:
            return found
    return patients.register_patient(
        session,
        family_name=data.family or "(no family name)",
        given_name=" ".join(data.given) or "(no given name)",
        birth_date=data.birth_date,
        gender=data.gender,
        identifiers=known,
        actor=actor,
    )


def import_stay(
    session: Session,
    iss: str,
    patient_resource: Mapping[str, Any],
    encounter_resource: Mapping[str, Any],
    *,
    hospital_id: str,
    actor: str,
) -> Stay:
    """The stay for an EHR Encounter, creating the patient and the stay when carebridge lacks them."""
    existing = find_stay(session, iss, str(encounter_resource["id"]))
    if existing is not None:
        return existing
    patient = import_patient(session, iss, patient_resource, actor=actor)
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
        actor=actor,
    )
    return get_or_404(session, Stay, stay.id)
