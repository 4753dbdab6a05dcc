"""read, vread, ETag / Last-Modified / meta, and the discovery documents."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from service.fhir_api.resources import KINDS
from service.usecases import handoffs, patients, plans
from tests.service.fhir_api.support import World, bearer


@pytest.fixture
def token(world: World, mint: Any) -> str:
    issued: str = mint(world.a.hospital.id, "system/*.rs")
    return issued


@pytest.mark.parametrize("resource_type", sorted(KINDS))
def test_etag_last_modified_and_meta_agree(resource_type: str, client: Any, world: World, token: str) -> None:
    response = client.get(f"/fhir/R4/{resource_type}/{world.ids_a[resource_type]}", headers=bearer(token))
    meta = response.get_json()["meta"]
    assert response.headers["ETag"] == f'W/"{meta["versionId"]}"'
    last_modified = parsedate_to_datetime(response.headers["Last-Modified"])
    assert abs((last_modified - _instant(meta["lastUpdated"])).total_seconds()) < 1


def _instant(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_vread_answers_every_version_of_a_task(client: Any, world: World, token: str, session: Any) -> None:
    task_id = world.ids_a["Task"]
    handoffs.transition_handoff(session, task_id, "received", actor="test")
    handoffs.transition_handoff(session, task_id, "accepted", actor="test", business_status="bed offered")
    current = client.get(f"/fhir/R4/Task/{task_id}", headers=bearer(token))
    assert current.headers["ETag"] == 'W/"3"'
    statuses = {}
    for version in (1, 2, 3):
        old = client.get(f"/fhir/R4/Task/{task_id}/_history/{version}", headers=bearer(token))
        assert old.status_code == 200
        assert old.get_json()["meta"]["versionId"] == str(version) == old.headers["ETag"][3:-1]
        statuses[version] = old.get_json()["status"]
    assert statuses == {1: "requested", 2: "received", 3: "accepted"}
    assert client.get(f"/fhir/R4/Task/{task_id}/_history/4", headers=bearer(token)).status_code == 404
    assert client.get(f"/fhir/R4/Task/{task_id}/_history/x", headers=bearer(token)).status_code == 404


def test_patient_versions_count_its_changes(client: Any, world: World, token: str, session: Any) -> None:
    patient_id = world.a.patient.id
    before = client.get(f"/fhir/R4/Patient/{patient_id}", headers=bearer(token))
    patients.update_patient(session, patient_id, {"family_name": "Andersson"}, actor="test")
    after = client.get(f"/fhir/R4/Patient/{patient_id}", headers=bearer(token))
    v_before, v_after = int(before.get_json()["meta"]["versionId"]), int(after.get_json()["meta"]["versionId"])
    assert v_after == v_before + 1
    old = client.get(f"/fhir/R4/Patient/{patient_id}/_history/{v_before}", headers=bearer(token)).get_json()
    assert old["name"][0]["family"] == "Anders" and after.get_json()["name"][0]["family"] == "Andersson"


def test_vread_of_a_care_plan(client: Any, world: World, token: str, session: Any) -> None:
    plan_id = world.ids_a["CarePlan"]
    plans.update_case_plan(session, plan_id, {"status": "completed"}, actor="test")
    old = client.get(f"/fhir/R4/CarePlan/{plan_id}/_history/1", headers=bearer(token)).get_json()
    assert old["status"] == "active"
    assert client.get(f"/fhir/R4/CarePlan/{plan_id}", headers=bearer(token)).get_json()["status"] == "completed"


def test_unknown_ids_are_404_outcomes(client: Any, token: str) -> None:
    response = client.get("/fhir/R4/Task/does-not-exist", headers=bearer(token))
    assert response.status_code == 404
    assert response.get_json()["issue"][0]["code"] == "not-found"


def test_capability_statement_is_true_r4(client: Any) -> None:
    response = client.get("/fhir/R4/metadata")
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    body = response.get_json()
    CapabilityStatement.model_validate(body)  # a valid R4(B) CapabilityStatement
    assert body["fhirVersion"] == "4.0.1"
    rest = body["rest"][0]
    served = {r["type"]: r for r in rest["resource"]}
    assert set(KINDS) | {"AuditEvent"} <= set(served)
    task = served["Task"]
    assert {i["code"] for i in task["interaction"]} == {
        "read", "vread", "search-type", "update", "history-instance", "history-type"
    }  # fmt: skip
    assert "Task:focus" in task["searchInclude"]
    assert "Task:focus" in served["ServiceRequest"]["searchRevInclude"]
    assert {p["name"] for p in task["searchParam"]} >= {"patient", "subject", "status", "owner", "requester", "focus"}
    assert rest["security"]["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"


def test_smart_configuration(client: Any, settings: Any) -> None:
    response = client.get("/fhir/R4/.well-known/smart-configuration")
    assert response.status_code == 200 and response.mimetype == "application/json"
    smart = response.get_json()
    assert smart["token_endpoint"] == settings.public_url + "/auth/token"
    assert smart["code_challenge_methods_supported"] == ["S256"]
    assert "client-confidential-asymmetric" in smart["capabilities"]
    assert {"RS384", "ES384"} <= set(smart["token_endpoint_auth_signing_alg_values_supported"])
    assert smart["grant_types_supported"] == ["authorization_code", "client_credentials"]
    assert smart["authorization_endpoint"] == settings.public_url + "/auth/authorize"
    assert {"launch-standalone", "client-public", "permission-user"} <= set(smart["capabilities"])
    assert smart["jwks_uri"].endswith("/.well-known/jwks.json")
    # Every scope a handler checks, among them the one POST /Subscription needs (issue #13).
    assert {
        "system/Subscription.crd", "user/Subscription.crd", "system/Task.rus", "system/Encounter.rus",
        "system/Group.r", "system/CareTeam.rs", "system/AuditEvent.rs", "user/*.rs", "system/*.rs",
    } <= set(smart["scopes_supported"])  # fmt: skip
