from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from service.usecases.ehr_import import ehr_patient_system, import_stay
from tests.factories import Case

ISS = "http://127.0.0.1:1/fhir/R4"
PATIENT = {
    "resourceType": "Patient",
    "id": "p-1",
    "identifier": [{"system": "urn:example:mrn", "value": "MRN-1001"}],
    "name": [{"family": "Anders", "given": ["Agnes"]}],
}
ENCOUNTER = {
    "resourceType": "Encounter",
    "id": "e-1",
    "status": "in-progress",
    "class": {"code": "IMP"},
    "subject": {"reference": "Patient/p-1"},
    "period": {"start": "2026-03-08T10:00:00Z"},
}


def test_a_known_mrn_links_to_the_existing_patient_and_the_stay_is_made_once(session: Session, case: Case) -> None:
    stay = import_stay(session, ISS, PATIENT, ENCOUNTER, hospital_id=case.hospital.id, actor="ehr")
    assert stay.patient_id == case.patient.id  # same MRN: no second patient
    assert (stay.source_system, stay.source_id) == (ISS, "e-1")
    assert stay.admitted_at == datetime(2026, 3, 8, 10, tzinfo=UTC)
    assert len(stay.readiness_items) == 6
    assert import_stay(session, ISS, PATIENT, ENCOUNTER, hospital_id=case.hospital.id, actor="ehr").id == stay.id


def test_an_unknown_patient_is_registered_with_the_ehrs_id(session: Session, case: Case) -> None:
    patient = {**PATIENT, "id": "p-2", "identifier": [], "name": [{"family": "New", "given": ["Nora", "N"]}]}
    stay = import_stay(session, ISS, patient, {**ENCOUNTER, "id": "e-2"}, hospital_id=case.hospital.id, actor="ehr")
    assert stay.patient.display_name == "New, Nora N"
    assert [(i.system, i.value) for i in stay.patient.identifiers] == [(ehr_patient_system(ISS), "p-2")]
