"""An auditor finds people's REST and web accesses and every door's refusals as FHIR AuditEvents,
by patient, agent, date and outcome (issue #10, items 3 and 4)."""

from __future__ import annotations

from typing import Any

from service import clock
from service.models import User
from tests.service.fhir_api.support import World


def _found(client: Any, token: str, **params: str) -> list[dict[str, Any]]:
    response = client.get("/fhir/R4/AuditEvent", query_string=params, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    return [e["resource"] for e in response.get_json().get("entry", [])]


def test_an_auditor_searches_peoples_accesses_and_refusals(
    client: Any, world: World, mint: Any, person_token: Any
) -> None:
    hospital = world.a.hospital.id
    planner = User(username="pat.planner", display_name="Pat", organization_id=hospital, role="discharge_planner")
    auditor = User(username="ria.auditor", display_name="Ria", organization_id=hospital, role="auditor")
    planner_token = person_token(planner)
    auditor_token = person_token(auditor)
    patient_a = world.a.patient.id
    as_planner = {"Authorization": f"Bearer {planner_token}"}
    assert client.get(f"/api/stays/{world.a.stay.id}", headers=as_planner).status_code == 200
    # The hospital's own client asks for what its scopes do not grant: refused and audited.
    narrow = mint(hospital, "system/Task.rs")
    assert client.get(f"/api/patients/{patient_a}", headers={"Authorization": f"Bearer {narrow}"}).status_code == 403
    today = clock.now().date().isoformat()

    by_person = _found(client, auditor_token, agent="pat.planner", patient=patient_a, date=f"ge{today}")
    assert [(e["agent"][0]["altId"], e["outcome"], [x["what"] for x in e["entity"]]) for e in by_person] == [
        ("pat.planner", "0", [{"reference": f"Patient/{patient_a}"}, {"reference": f"Encounter/{world.a.stay.id}"}])
    ]
    (refused,) = _found(client, auditor_token, outcome="4")
    assert refused["entity"] == [{"what": {"display": "Patient"}, "description": f"GET /api/patients/{patient_a}"}]
    assert refused["outcomeDesc"].startswith("403: not permitted to read Patient records")
    # The planner is not an auditor.
    assert client.get("/fhir/R4/AuditEvent", headers={"Authorization": f"Bearer {planner_token}"}).status_code == 403
