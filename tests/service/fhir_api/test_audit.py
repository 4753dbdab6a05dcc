"""Every access to patient data leaves an AuditEvent: who, which client, which patient, what,
when, outcome; searchable by an auditor scope and free of clinical data."""

from __future__ import annotations

import logging
from typing import Any

from fhir.resources.R4B.auditevent import AuditEvent

from service.models.audit_events import AccessEvent
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
