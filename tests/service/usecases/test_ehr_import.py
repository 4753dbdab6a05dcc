from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth.context import AccessContext
from service.auth.policy import can_see, principal_for_user
from service.models import PatientIdentifier, Stay
from service.usecases import parties, partners, patients
from service.usecases import signin as accounts
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


def launched_by(session: Session, hospital_id: str) -> AccessContext:
    """The EHR user a launch from `hospital_id`'s EHR signs in as."""
    user = accounts.ehr_user(session, hospital_id=hospital_id, iss=ISS, fhir_user="Practitioner/dr-1")
    return principal_for_user(user)


def test_a_known_mrn_links_to_the_existing_patient_and_the_stay_is_made_once(session: Session, case: Case) -> None:
    user = launched_by(session, case.hospital.id)
    stay = import_stay(session, ISS, PATIENT, ENCOUNTER, hospital_id=case.hospital.id, launched_by=user)
    assert stay.patient_id == case.patient.id  # same MRN: no second patient
    assert (stay.source_system, stay.source_id) == (ISS, "e-1")
    assert stay.admitted_at == datetime(2026, 3, 8, 10, tzinfo=UTC)
    assert len(stay.readiness_items) == 6
    assert import_stay(session, ISS, PATIENT, ENCOUNTER, hospital_id=case.hospital.id, launched_by=user).id == stay.id


def test_an_unknown_patient_is_registered_with_the_ehrs_id(session: Session, case: Case) -> None:
    patient = {**PATIENT, "id": "p-2", "identifier": [], "name": [{"family": "New", "given": ["Nora", "N"]}]}
    stay = import_stay(
        session, ISS, patient, {**ENCOUNTER, "id": "e-2"}, hospital_id=case.hospital.id,
        launched_by=launched_by(session, case.hospital.id),
    )  # fmt: skip
    assert stay.patient.display_name == "New, Nora N"
    assert [(i.system, i.value) for i in stay.patient.identifiers] == [(ehr_patient_system(ISS), "p-2")]


MEMBER_SYSTEM = "urn:example:acme-member"
OTHER_EHR = "http://127.0.0.1:2/fhir/R4"


def test_another_hospitals_launch_with_a_member_id_does_not_join_or_expose_the_patient(
    session: Session, case: Case
) -> None:
    # Hospital B's EHR launches carebridge for its patient, whose Patient carries hospital A's
    # patient's payer member id (and the same name and birth date). B is no authority for member
    # ids and cannot see A's patient, so the launch registers a separate patient.
    session.add(PatientIdentifier(patient_id=case.patient.id, kind="member_id", system=MEMBER_SYSTEM, value="M-77"))
    session.commit()
    riverside = parties.add_organization(session, name="Riverside Hospital", kind="hospital", actor="test")
    user = accounts.ehr_user(session, hospital_id=riverside.id, iss=OTHER_EHR, fhir_user="Practitioner/dr-2")
    sender = principal_for_user(user)
    launched = {
        **PATIENT, "id": "rv-1", "birthDate": "1944-02-01",
        "identifier": [{"system": MEMBER_SYSTEM, "value": "M-77"}],
    }  # fmt: skip
    stay = import_stay(
        session, OTHER_EHR, launched, {**ENCOUNTER, "id": "rv-e-1"}, hospital_id=riverside.id, launched_by=sender
    )
    assert stay.patient_id != case.patient.id
    assert session.scalars(select(Stay.hospital_id).where(Stay.patient_id == case.patient.id)).all() == [
        case.hospital.id
    ]
    assert not can_see(sender, "Patient", case.patient)
    # The member id stays with A's patient; B's patient carries only the EHR's own id.
    assert patients.find_by_identifier(session, MEMBER_SYSTEM, "M-77").id == case.patient.id  # type: ignore[union-attr]
    assert [(i.system, i.value) for i in stay.patient.identifiers] == [(ehr_patient_system(OTHER_EHR), "rv-1")]


def test_a_known_mrn_with_another_person_is_a_separate_patient(session: Session, case: Case) -> None:
    # The patient's own hospital may see it, but the launched person disagrees (another birth date).
    launched = {**PATIENT, "id": "p-3", "birthDate": "1950-07-07"}
    stay = import_stay(
        session, ISS, launched, {**ENCOUNTER, "id": "e-3"}, hospital_id=case.hospital.id,
        launched_by=launched_by(session, case.hospital.id),
    )  # fmt: skip
    assert stay.patient_id != case.patient.id
    assert [(i.system, i.value) for i in stay.patient.identifiers] == [(ehr_patient_system(ISS), "p-3")]


def test_an_ehr_that_is_a_sync_partner_is_trusted_for_that_partners_systems(session: Session, case: Case) -> None:
    # Riverside cannot see the patient, but it is the authority for its own MRN system (it is
    # configured as a sync partner trusted for it), so its launch is that patient.
    riverside = parties.add_organization(session, name="Riverside Hospital", kind="hospital", actor="test")
    partners.add_partner(
        session, name="riverside-ehr", kind="ehr", organization_id=riverside.id, fhir_base=OTHER_EHR,
        client_id="carebridge", key_kid="k1", scopes="system/Patient.rs",
        trusted_identifier_systems=["urn:riverside:mrn"],
    )  # fmt: skip
    known = patients.register_patient(
        session, family_name="Anders", given_name="Agnes", actor="test",
        identifiers=[{"kind": "mrn", "system": "urn:riverside:mrn", "value": "R-5"}],
    )  # fmt: skip
    user = accounts.ehr_user(session, hospital_id=riverside.id, iss=OTHER_EHR, fhir_user="Practitioner/dr-3")
    launched = {**PATIENT, "id": "rv-5", "identifier": [{"system": "urn:riverside:mrn", "value": "R-5"}]}
    stay = import_stay(
        session, OTHER_EHR, launched, {**ENCOUNTER, "id": "rv-e-5"}, hospital_id=riverside.id,
        launched_by=principal_for_user(user),
    )  # fmt: skip
    assert stay.patient_id == known.id
