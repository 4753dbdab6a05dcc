"""A patient's case as one FHIR collection Bundle (`carebridge fhir export --patient ID`).

The Bundle holds the Patient and its CarePlans, Goals, ServiceRequests, Tasks and DocumentReferences,
rendered exactly as carebridge's FHIR API serves them (`service.fhir_bridge.render`), with absolute `fullUrl`s on
carebridge's FHIR base so that every reference in it resolves inside the Bundle
(https://hl7.org/fhir/R4/bundle.html#references).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fhir_mappings import bundle_collection_json
from service.auth.policy import MODELS
from service.fhir_bridge import render
from service.models import Patient
from service.usecases.unit_of_work import get_or_404

CASE_TYPES = ("CarePlan", "Goal", "ServiceRequest", "Task", "DocumentReference")


def patient_case_bundle(session: Session, patient_id: str, *, fhir_base: str) -> dict[str, Any]:
    """The collection Bundle of patient `patient_id`'s case; NotFound when there is no such patient."""
    patient = get_or_404(session, Patient, patient_id)
    resources = render(session, "Patient", [patient], None)
    for resource_type in CASE_TYPES:
        model, patient_column = MODELS[resource_type]
        rows = session.scalars(select(model).where(patient_column == patient.id).order_by(model.id)).all()
        resources += render(session, resource_type, rows, None)
    return bundle_collection_json(resources, base_url=fhir_base)
