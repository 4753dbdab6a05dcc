"""`$process-message`: Da Vinci admit/transfer/discharge notifications applied to the stay, all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models import ChangeEvent, Handoff, PatientIdentifier, Stay
from service.usecases import discharge, parties, patients, stays
from service.usecases.adt_messages import EVENT_SYSTEM
from tests.factories import Case
from tests.service.fhir_api.support import World, bearer

# An admit may create the patient and its stay, so a hospital's feed needs the create scopes too.
HOSPITAL_SCOPES = "system/Encounter.cru system/Patient.crs"
EHR = "https://ehr.example.org/fhir"


def message(event: str, *, mrn: str = "MRN-1001", encounter_id: str = "enc-1", **encounter: Any) -> dict[str, Any]:
    """A Da Vinci notification Bundle: MessageHeader -> Encounter -> Patient, referenced by urn:uuid."""
    resource = {
        "resourceType": "Encounter",
        "id": encounter_id,
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": "urn:uuid:patient-1"},
    } | encounter
    return {
        "resourceType": "Bundle",
        "id": "message-1",
        "type": "message",
        "timestamp": "2026-03-10T09:00:00Z",
        "entry": [
            {
                "fullUrl": "urn:uuid:header-1",
                "resource": {
                    "resourceType": "MessageHeader",
                    "id": "header-1",
                    "eventCoding": {"system": EVENT_SYSTEM, "code": f"notification-{event}"},
                    "source": {"endpoint": EHR},
                    "focus": [{"reference": "urn:uuid:encounter-1"}],
                },
            },
            {"fullUrl": "urn:uuid:encounter-1", "resource": resource},
            {
                "fullUrl": "urn:uuid:patient-1",
                "resource": {
                    "resourceType": "Patient",
                    "id": "p-1",
                    "identifier": [{"system": "urn:example:mrn", "value": mrn}],
                },
            },
        ],
    }


def instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def discharged(now: datetime, code: str = "snf", **extra: Any) -> dict[str, Any]:
    return {
        "status": "finished",
        "period": {"start": instant(now - timedelta(days=1)), "end": instant(now)},
        "hospitalization": {
            "dischargeDisposition": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": code}]
            }
        },
    } | extra


@pytest.fixture
def hospital_token(case: Case, make_partner: Callable[..., Any], get_token: Callable[..., str]) -> str:
    return get_token(make_partner(case.hospital.id, HOSPITAL_SCOPES), HOSPITAL_SCOPES)


def post(client: Any, token: str, body: dict[str, Any]) -> Any:
    return client.post("/fhir/R4/$process-message", json=body, headers={"Authorization": f"Bearer {token}"})


def follow_ups(session: Session, stay_id: str) -> list[str]:
    return sorted(session.scalars(select(Handoff.kind).where(Handoff.stay_id == stay_id)))


def test_discharge_records_it_and_starts_the_follow_ups_once(
    client: Any, session: Session, case: Case, now: datetime, hospital_token: str
) -> None:
    answer = post(client, hospital_token, message("discharge", **discharged(now)))
    assert answer.status_code == 200, answer.get_json()
    header = answer.get_json()["entry"][0]["resource"]
    assert header["response"] == {"identifier": "header-1", "code": "ok"}
    assert header["focus"] == [{"reference": f"Encounter/{case.stay.id}"}]
    session.expire_all()
    stay = session.get_one(Stay, case.stay.id)
    assert (stay.status, stay.discharge_disposition, stay.discharged_at) == ("finished", "snf", now)
    assert follow_ups(session, stay.id) == ["facility_admission", "post_discharge_check"]  # to an SNF
    # The hospital repeats itself: nothing new.
    assert post(client, hospital_token, message("discharge", **discharged(now))).status_code == 200
    assert follow_ups(session, stay.id) == ["facility_admission", "post_discharge_check"]  # to an SNF


def test_admit_opens_a_stay_for_the_patient_matched_by_identifier_and_transfer_moves_it(
    client: Any, session: Session, case: Case, now: datetime, make_partner: Callable[..., Any],
    get_token: Callable[..., str],
) -> None:
    # The patient has no stay at this hospital yet, so only an identifier system the hospital's
    # client is registered as assigning (its MRN system) lets the admit match the record.
    ehr = make_partner(case.hospital.id, HOSPITAL_SCOPES, identifier_systems=("urn:example:mrn",))
    hospital_token = get_token(ehr, HOSPITAL_SCOPES)
    patient = patients.register_patient(
        session, family_name="Berg", given_name="Bo", actor="test",
        identifiers=[{"kind": "mrn", "system": "urn:example:mrn", "value": "MRN-2002"}],
    )  # fmt: skip
    ward_type = {"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "wa"}
    ward = {"location": {"display": "5 East"}, "physicalType": {"coding": [ward_type]}}
    admitted = {"period": {"start": instant(now)}, "location": [ward]}
    answer = post(client, hospital_token, message("admit", mrn="MRN-2002", encounter_id="enc-2", **admitted))
    assert answer.status_code == 200, answer.get_json()
    stay = session.scalars(select(Stay).where(Stay.patient_id == patient.id)).one()
    assert (stay.source_system, stay.source_id, stay.unit, stay.hospital_id) == (
        EHR,
        "enc-2",
        "5 East",
        case.hospital.id,
    )
    moved = {"period": {"start": instant(now)}, "location": [ward | {"location": {"display": "ICU"}}]}
    assert (
        post(client, hospital_token, message("transfer", mrn="MRN-2002", encounter_id="enc-2", **moved)).status_code
        == 200
    )
    session.expire_all()
    assert session.get_one(Stay, stay.id).unit == "ICU"
    assert session.scalar(select(func.count()).select_from(Stay).where(Stay.patient_id == patient.id)) == 1


def _bad_event(body: dict[str, Any]) -> None:
    body["entry"][0]["resource"]["eventCoding"]["code"] = "notification-birthday"


def _no_header(body: dict[str, Any]) -> None:
    body["entry"].pop(0)


def _dangling_focus(body: dict[str, Any]) -> None:
    body["entry"][0]["resource"]["focus"] = [{"reference": "urn:uuid:nowhere"}]


def _not_a_message(body: dict[str, Any]) -> None:
    body["type"] = "collection"


@pytest.mark.parametrize(
    ("spoil", "mrn", "status"),
    [
        (_bad_event, "MRN-1001", 400),
        (_no_header, "MRN-1001", 400),
        (_dangling_focus, "MRN-1001", 400),
        (_not_a_message, "MRN-1001", 400),
        (None, "MRN-UNKNOWN", 422),
    ],
)
def test_bad_messages_are_refused_and_write_nothing(
    client: Any, session: Session, case: Case, now: datetime, hospital_token: str, spoil: Any, mrn: str, status: int
) -> None:
    events_before = session.scalar(select(func.count()).select_from(ChangeEvent))
    body = message("discharge", mrn=mrn, **discharged(now))
    if spoil is not None:
        spoil(body)
    answer = post(client, hospital_token, body)
    assert answer.status_code == status and answer.get_json()["resourceType"] == "OperationOutcome"
    assert session.scalar(select(func.count()).select_from(ChangeEvent)) == events_before
    session.expire_all()
    assert session.get_one(Stay, case.stay.id).status == "in-progress"


def test_discharge_before_admission_is_refused(
    client: Any, session: Session, case: Case, now: datetime, hospital_token: str
) -> None:
    early = discharged(now, period={"start": instant(now - timedelta(days=9)), "end": instant(now - timedelta(days=5))})
    answer = post(client, hospital_token, message("discharge", **early))
    assert answer.status_code == 422
    assert follow_ups(session, case.stay.id) == []


def test_only_a_hospital_can_send_them(
    client: Any, case: Case, now: datetime, make_partner: Callable[..., Any], get_token: Callable[..., str]
) -> None:
    snf_token = get_token(make_partner(case.snfs[0].id, HOSPITAL_SCOPES), HOSPITAL_SCOPES)
    assert post(client, snf_token, message("discharge", **discharged(now))).status_code == 422


def _second_inpatient(session: Session, case: Case, now: datetime) -> Stay:
    """Another patient of the same hospital, in bed 3B on 6 North."""
    other = patients.register_patient(
        session, family_name="Berg", given_name="Bo", actor="test",
        identifiers=[{"kind": "mrn", "system": "urn:example:mrn", "value": "MRN-3003"}],
    )  # fmt: skip
    return stays.admit(
        session, patient_id=other.id, hospital_id=case.hospital.id, admitted_at=now - timedelta(hours=5),
        unit="6 North", bed="3B", actor="test",
    )  # fmt: skip


def _to_icu(now: datetime) -> dict[str, Any]:
    ward_type = {"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "wa"}
    return {"period": {"start": instant(now)}, "location": [{"location": {"display": "ICU"}, "physicalType": {
        "coding": [ward_type]}}]}  # fmt: skip


def test_a_patient_context_token_cannot_move_another_patients_stay(
    client: Any, session: Session, case: Case, now: datetime, mint: Callable[..., str]
) -> None:
    # SMART patient/ scopes confine the request to the launch patient
    # (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#patient-specific-scopes).
    other_stay = _second_inpatient(session, case, now)
    token = mint(case.hospital.id, "patient/Encounter.cru patient/Patient.rs", patient_id=case.patient.id)
    for event in ("transfer", "discharge"):
        body = message(event, mrn="MRN-3003", encounter_id="enc-other", **_to_icu(now))
        if event == "discharge":
            body = message(event, mrn="MRN-3003", encounter_id="enc-other", **discharged(now))
        answer = post(client, token, body)
        assert answer.status_code == 422 and answer.get_json()["resourceType"] == "OperationOutcome"
    session.expire_all()
    moved = session.get_one(Stay, other_stay.id)
    assert (moved.unit, moved.bed, moved.status) == ("6 North", "3B", "in-progress")
    # Its own patient it may still move.
    assert post(client, token, message("transfer", **_to_icu(now))).status_code == 200
    session.expire_all()
    assert session.get_one(Stay, case.stay.id).unit == "ICU"


def test_a_client_without_a_tenant_limit_still_obeys_the_patient_context(
    client: Any, session: Session, case: Case, now: datetime, mint: Callable[..., str]
) -> None:
    other_stay = _second_inpatient(session, case, now)
    token = mint(None, "patient/Encounter.cru patient/Patient.rs", patient_id=case.patient.id)
    body = message("transfer", mrn="MRN-3003", encounter_id="enc-other", **_to_icu(now))
    body["entry"][1]["resource"]["serviceProvider"] = {"reference": f"Organization/{case.hospital.id}"}
    assert post(client, token, body).status_code == 422
    session.expire_all()
    assert session.get_one(Stay, other_stay.id).unit == "6 North"


MEMBER_SYSTEM = "urn:example:acme-member"


def _second_hospital_token(
    session: Session, make_partner: Callable[..., Any], get_token: Callable[..., str], **registration: Any
) -> tuple[str, str]:
    other = parties.add_organization(session, name="Riverside Hospital", kind="hospital", actor="test")
    scopes = HOSPITAL_SCOPES + " system/CarePlan.rs system/Goal.rs system/Task.rs system/ServiceRequest.rs"
    return other.id, get_token(make_partner(other.id, scopes, **registration), scopes)


def test_an_admit_matching_only_a_member_id_does_not_take_over_the_patient(
    client: Any, session: Session, world: World, now: datetime, make_partner: Callable[..., Any],
    get_token: Callable[..., str],
) -> None:
    patient_id = world.a.patient.id
    session.add(PatientIdentifier(patient_id=patient_id, kind="member_id", system=MEMBER_SYSTEM, value="M-77"))
    session.commit()
    other_id, token = _second_hospital_token(session, make_partner, get_token)
    body = message("admit", encounter_id="riverside-1", period={"start": instant(now)})
    body["entry"][2]["resource"]["identifier"] = [{"system": MEMBER_SYSTEM, "value": "M-77"}]
    answer = post(client, token, body)
    assert answer.status_code == 200, answer.get_json()
    # A separate patient was admitted; the existing record gained no stay at the second hospital.
    stay = session.scalars(select(Stay).where(Stay.hospital_id == other_id)).one()
    assert stay.patient_id != patient_id
    assert session.scalars(select(Stay.hospital_id).where(Stay.patient_id == patient_id)).all() == [
        world.a.hospital.id
    ]
    assert patients.find_by_identifier(session, MEMBER_SYSTEM, "M-77").id == patient_id  # type: ignore[union-attr]
    # And the second hospital still sees nothing of the patient's case.
    headers = bearer(token)
    for resource_type in ("CarePlan", "Goal", "Task", "ServiceRequest"):
        assert client.get(f"/fhir/R4/{resource_type}/{world.ids_a[resource_type]}", headers=headers).status_code == 404
        found = client.get(f"/fhir/R4/{resource_type}", query_string={"patient": patient_id}, headers=headers)
        assert found.get_json()["total"] == 0
    # Its repeated admit and its transfer land on its own patient, not on a third record.
    assert post(client, token, body).status_code == 200
    moved = message("transfer", encounter_id="riverside-1", **_to_icu(now))
    moved["entry"][2]["resource"]["identifier"] = [{"system": MEMBER_SYSTEM, "value": "M-77"}]
    assert post(client, token, moved).status_code == 200
    session.expire_all()
    assert session.get_one(Stay, stay.id).unit == "ICU"
    assert session.scalar(select(func.count()).select_from(Stay).where(Stay.hospital_id == other_id)) == 1


def test_an_admit_matching_nobody_creates_a_new_patient(
    client: Any, session: Session, case: Case, now: datetime, hospital_token: str
) -> None:
    body = message("admit", mrn="MRN-NEW-1", encounter_id="enc-new", period={"start": instant(now)})
    body["entry"][2]["resource"] |= {"name": [{"family": "Nilsson", "given": ["Nora"]}], "birthDate": "1950-05-06"}
    assert post(client, hospital_token, body).status_code == 200
    created = patients.find_by_identifier(session, "urn:example:mrn", "MRN-NEW-1")
    assert created is not None and (created.family_name, created.given_name) == ("Nilsson", "Nora")
    assert session.scalars(select(Stay.hospital_id).where(Stay.patient_id == created.id)).all() == [case.hospital.id]


def test_a_trusted_identifier_system_is_the_senders_own_only(
    client: Any, session: Session, world: World, now: datetime, make_partner: Callable[..., Any],
    get_token: Callable[..., str],
) -> None:
    # Trust in one system (its own MRNs) does not extend to others (the payer's member ids).
    patient_id = world.a.patient.id
    session.add(PatientIdentifier(patient_id=patient_id, kind="member_id", system=MEMBER_SYSTEM, value="M-78"))
    session.commit()
    _, token = _second_hospital_token(
        session, make_partner, get_token, identifier_systems=("urn:riverside:mrn",)
    )
    body = message("admit", encounter_id="riverside-2", period={"start": instant(now)})
    body["entry"][2]["resource"]["identifier"] = [{"system": MEMBER_SYSTEM, "value": "M-78"}]
    assert post(client, token, body).status_code == 200
    assert session.scalars(select(Stay.hospital_id).where(Stay.patient_id == patient_id)).all() == [
        world.a.hospital.id
    ]


def test_a_patient_context_token_cannot_admit_someone_else(
    client: Any, session: Session, case: Case, now: datetime, mint: Callable[..., str]
) -> None:
    _second_inpatient(session, case, now)
    token = mint(case.hospital.id, "patient/Encounter.cru patient/Patient.rs", patient_id=case.patient.id)
    for mrn in ("MRN-3003", "MRN-NOBODY"):
        body = message("admit", mrn=mrn, encounter_id=f"enc-{mrn}", period={"start": instant(now)})
        assert post(client, token, body).status_code == 422
    assert patients.find_by_identifier(session, "urn:example:mrn", "MRN-NOBODY") is None


# --- the scope each write needs (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html) ---


def _refused_for_scope(answer: Any) -> None:
    assert answer.status_code == 403, answer.get_json()
    assert answer.get_json()["resourceType"] == "OperationOutcome"
    assert 'error="insufficient_scope"' in answer.headers["WWW-Authenticate"]


def test_an_admit_creating_a_patient_needs_patient_create(
    client: Any, session: Session, case: Case, now: datetime, make_partner: Callable[..., Any],
    get_token: Callable[..., str],
) -> None:
    scopes = "system/Encounter.cru system/Patient.rs"
    token = get_token(make_partner(case.hospital.id, scopes), scopes)
    body = message("admit", mrn="MRN-NEW-2", encounter_id="enc-new-2", period={"start": instant(now)})
    _refused_for_scope(post(client, token, body))
    assert patients.find_by_identifier(session, "urn:example:mrn", "MRN-NEW-2") is None
    assert session.scalar(select(func.count()).select_from(Stay).where(Stay.source_id == "enc-new-2")) == 0


def test_an_admit_opening_a_stay_needs_encounter_create(
    client: Any, session: Session, case: Case, now: datetime, make_partner: Callable[..., Any],
    get_token: Callable[..., str],
) -> None:
    # The patient is the hospital's own (its stay is discharged), so only the stay would be new.
    discharge.record_discharge(session, case.stay.id, discharged_at=now, disposition="home", actor="test")
    scopes = "system/Encounter.ru system/Patient.crs"
    token = get_token(make_partner(case.hospital.id, scopes), scopes)
    body = message("admit", encounter_id="enc-again", period={"start": instant(now + timedelta(hours=1))})
    _refused_for_scope(post(client, token, body))
    assert session.scalar(select(func.count()).select_from(Stay).where(Stay.patient_id == case.patient.id)) == 1


def test_a_transfer_needs_encounter_update_and_a_token_without_encounter_writes_is_refused(
    client: Any, session: Session, case: Case, now: datetime, make_partner: Callable[..., Any],
    get_token: Callable[..., str],
) -> None:
    create_only = "system/Encounter.c system/Patient.crs"
    token = get_token(make_partner(case.hospital.id, create_only), create_only)
    _refused_for_scope(post(client, token, message("transfer", **_to_icu(now))))
    read_only = "system/Encounter.rs system/Patient.rs"
    token = get_token(make_partner(case.hospital.id, read_only), read_only)
    _refused_for_scope(post(client, token, message("transfer", **_to_icu(now))))
    session.expire_all()
    assert session.get_one(Stay, case.stay.id).unit != "ICU"


def test_an_admit_naming_the_hospitals_own_patient_with_another_birth_date_is_a_separate_patient(
    client: Any, session: Session, case: Case, now: datetime, hospital_token: str
) -> None:
    # The MRN names a patient the hospital sees, but the person disagrees (the rule of
    # service.usecases.patient_matching): the admit opens a separate patient, sharing no identifier.
    body = message("admit", encounter_id="enc-other-person", period={"start": instant(now)})
    body["entry"][2]["resource"] |= {"name": [{"family": "Anders", "given": ["Agnes"]}], "birthDate": "1971-09-09"}
    assert post(client, hospital_token, body).status_code == 200
    stay = session.scalars(select(Stay).where(Stay.source_id == "enc-other-person")).one()
    assert stay.patient_id != case.patient.id
    assert [(i.system, i.value) for i in stay.patient.identifiers] == []


def test_an_admit_refused_after_registering_the_patient_leaves_no_patient_behind(
    client: Any, session: Session, case: Case, now: datetime, hospital_token: str
) -> None:
    # The stay cannot open (a ward name longer than any ward carebridge keeps), so the patient
    # the admit had registered for it must not stay behind either.
    body = message("admit", mrn="MRN-NEW-2", encounter_id="enc-new-2", period={"start": instant(now)})
    ward = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "wa"}]}
    body["entry"][1]["resource"]["location"] = [{"location": {"display": "W" * 41}, "physicalType": ward}]
    answer = post(client, hospital_token, body)
    assert answer.status_code == 422, answer.get_json()
    session.expire_all()
    assert patients.find_by_identifier(session, "urn:example:mrn", "MRN-NEW-2") is None
