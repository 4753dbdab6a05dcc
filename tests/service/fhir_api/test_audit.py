"""Every access to patient data leaves an AuditEvent: who, which client, which patient, what,
when, outcome; searchable by an auditor scope and free of clinical data."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fhir.resources.R4B.auditevent import AuditEvent

from service.models.audit_events import AccessEvent
from service.usecases import patients, stays
from tests.service.fhir_api.support import World, bearer


def _events(session: Any) -> list[AccessEvent]:
    return list(session.query(AccessEvent).order_by(AccessEvent.recorded, AccessEvent.interaction))


def test_read_search_update_and_refusals_are_audited(client: Any, world: World, mint: Any, session: Any) -> None:
    token = mint(world.a.snfs[0].id, "system/Task.rus system/Patient.rs")
    task_id = world.ids_a["Task"]
    read = client.get(f"/fhir/R4/Task/{task_id}", headers=bearer(token))
    client.get("/fhir/R4/Task", query_string={"status": "requested"}, headers=bearer(token))
    task = read.get_json()
    task["status"] = "accepted"
    client.put(f"/fhir/R4/Task/{task_id}", json=task, headers={**bearer(token), "If-Match": read.headers["ETag"]})
    client.get(f"/fhir/R4/Task/{world.ids_b['Task']}", headers=bearer(token))  # not visible: 404
    events = {(e.interaction, e.outcome): e for e in _events(session)}
    assert set(events) == {("read", "0"), ("search-type", "0"), ("update", "0"), ("read", "4")}
    for event in events.values():
        assert event.organization_id == world.a.snfs[0].id and event.client_id and event.subject
    assert events[("read", "0")].patient_id == world.a.patient.id
    assert events[("search-type", "0")].patient_id == world.a.patient.id
    assert events[("search-type", "0")].query == "status"  # parameter names, never values
    assert events[("update", "0")].action == "U"
    assert events[("read", "4")].patient_id is None  # nothing about the hidden record is disclosed


def test_auditor_searches_audit_events(client: Any, world: World, mint: Any) -> None:
    reader = mint(world.a.hospital.id, "system/Patient.rs")
    client.get(f"/fhir/R4/Patient/{world.a.patient.id}", headers=bearer(reader))
    auditor = mint(None, "system/AuditEvent.rs")
    bundle = client.get(
        "/fhir/R4/AuditEvent", query_string={"patient": world.a.patient.id}, headers=bearer(auditor)
    ).get_json()
    assert bundle["total"] == 1
    event = bundle["entry"][0]["resource"]
    AuditEvent.model_validate(event)
    assert event["action"] == "R" and event["outcome"] == "0"
    assert event["entity"][0]["what"]["reference"] == f"Patient/{world.a.patient.id}"
    # No clinical data: the patient's name, birth date and MRN appear nowhere in the event.
    text = str(event)
    assert "Anders" not in text and "1944" not in text and "MRN-A" not in text
    # Only an auditor scope may read the audit trail.
    assert client.get("/fhir/R4/AuditEvent", headers=bearer(reader)).status_code == 403


def test_organisation_auditor_sees_only_its_own_accesses(client: Any, world: World, mint: Any) -> None:
    client.get(f"/fhir/R4/Patient/{world.a.patient.id}", headers=bearer(mint(world.a.hospital.id, "system/Patient.rs")))
    client.get(f"/fhir/R4/Patient/{world.b.patient.id}", headers=bearer(mint(world.b.hospital.id, "system/Patient.rs")))
    auditor = mint(world.a.hospital.id, "system/AuditEvent.rs")
    bundle = client.get("/fhir/R4/AuditEvent", query_string={"action": "R"}, headers=bearer(auditor)).get_json()
    assert [e["resource"]["entity"][0]["what"]["reference"] for e in bundle["entry"]] == [
        f"Patient/{world.a.patient.id}"
    ]


def test_no_patient_data_in_application_logs(client: Any, world: World, mint: Any, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    token = mint(world.a.hospital.id, "system/*.rs")
    for resource_type, ident in world.ids_a.items():
        client.get(f"/fhir/R4/{resource_type}/{ident}", headers=bearer(token))
    client.get("/fhir/R4/Patient", query_string={"identifier": "urn:example:mrn|MRN-A"}, headers=bearer(token))
    logged = caplog.text
    assert "Anders" not in logged and "MRN-A" not in logged and "1944-02-01" not in logged


def _audited_patients(client: Any, token: str) -> list[str | None]:
    """The patient each visible AuditEvent names (None for an event about no patient)."""
    answer = client.get("/fhir/R4/AuditEvent", query_string={"_count": "1000"}, headers=bearer(token))
    assert answer.status_code == 200, answer.get_json()
    return [
        # The patient is the entity in the patient role (object-role 1); another may name the resource read.
        next((e["what"]["reference"] for e in entry["resource"]["entity"] if "role" in e), None)
        for entry in answer.get_json().get("entry", [])
    ]  # fmt: skip


def _another_inpatient(session: Any, world: World) -> str:
    other = patients.register_patient(session, family_name="Berg", given_name="Bo", actor="test")
    stays.admit(session, patient_id=other.id, hospital_id=world.a.hospital.id, admitted_at=world.a.stay.admitted_at,
                actor="test")  # fmt: skip
    return other.id


def _accesses(client: Any, world: World, mint: Any, second_patient: str) -> None:
    hospital = mint(world.a.hospital.id, "system/*.rs")
    for ident in (world.a.patient.id, second_patient, "no-such-patient"):
        client.get(f"/fhir/R4/Patient/{ident}", headers=bearer(hospital))
    client.get(f"/fhir/R4/Patient/{world.b.patient.id}", headers=bearer(mint(world.b.hospital.id, "system/*.rs")))
    client.get(f"/fhir/R4/CarePlan/{world.ids_a['CarePlan']}", headers=bearer(mint(world.a.payer.id, "system/*.rs")))


@pytest.mark.parametrize("organisation", ["hospital", "none"])
def test_a_patient_context_token_sees_only_its_patients_audit_events(
    client: Any, world: World, mint: Any, session: Any, organisation: str
) -> None:
    # SMART patient/ scopes confine every type to the launch patient's data, AuditEvent too.
    second = _another_inpatient(session, world)
    _accesses(client, world, mint, second)
    org = world.a.hospital.id if organisation == "hospital" else None
    token = mint(org, "patient/*.rs", patient_id=world.a.patient.id)
    seen = _audited_patients(client, token)
    patient = f"Patient/{world.a.patient.id}"
    # Hospital A read the patient, the payer read the patient's CarePlan.
    assert seen == [patient, patient]


def test_an_organisations_auditor_sees_its_patients_events_and_its_own_clients(
    client: Any, world: World, mint: Any, session: Any
) -> None:
    second = _another_inpatient(session, world)
    _accesses(client, world, mint, second)
    auditor = mint(world.a.hospital.id, "system/AuditEvent.rs")
    seen = _audited_patients(client, auditor)
    # Its own reads (two patients and a refused one), and the payer's read of its patient's CarePlan;
    # not hospital B's read of patient B.
    assert sorted(seen, key=str) == sorted(
        [f"Patient/{world.a.patient.id}", f"Patient/{second}", None, f"Patient/{world.a.patient.id}"], key=str
    )
    assert f"Patient/{world.b.patient.id}" not in seen


def test_audit_events_are_read_under_the_same_rules(client: Any, world: World, mint: Any, session: Any) -> None:
    _accesses(client, world, mint, _another_inpatient(session, world))
    events = {e.patient_id: e.id for e in _events(session) if e.patient_id}
    token = mint(world.a.hospital.id, "patient/*.rs", patient_id=world.a.patient.id)
    own = client.get(f"/fhir/R4/AuditEvent/{events[world.a.patient.id]}", headers=bearer(token))
    assert own.status_code == 200 and own.get_json()["id"] == events[world.a.patient.id]
    other = client.get(f"/fhir/R4/AuditEvent/{events[world.b.patient.id]}", headers=bearer(token))
    assert other.status_code == 404 and other.get_json()["resourceType"] == "OperationOutcome"
