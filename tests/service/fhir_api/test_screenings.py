"""The screening chain on the FHIR API: a payer POSTs its own screening and it becomes
suggestions; Questionnaire read/search; the Condition says what a person decided (issue #15)."""

from __future__ import annotations

from typing import Any

from service.usecases import screenings
from tests.service.fhir_api.support import SCREENING, World, bearer

FHIR_JSON = "application/fhir+json"


def _post(client: Any, token: str, body: dict[str, Any]) -> Any:
    headers = {**bearer(token), "Content-Type": FHIR_JSON}
    return client.post("/fhir/R4/QuestionnaireResponse", json=body, headers=headers)


def test_a_payers_screening_flows_into_suggestions(client: Any, world: World, mint: Any) -> None:
    payer = mint(world.a.payer.id, "system/QuestionnaireResponse.crs system/Condition.rs system/Observation.rs")
    sent = {**SCREENING, "id": "payer-own-7", "subject": {"reference": f"Patient/{world.a.patient.id}"}}
    created = _post(client, payer, sent)
    assert created.status_code == 201, created.get_json()
    resource = created.get_json()
    assert resource["id"] != "payer-own-7" and resource["subject"] == {"reference": f"Patient/{world.a.patient.id}"}
    assert created.headers["Location"].endswith(f"/QuestionnaireResponse/{resource['id']}/_history/1")
    found = client.get(
        "/fhir/R4/Condition",
        query_string={"patient": world.a.patient.id, "verification-status": "unconfirmed"},
        headers=bearer(payer),
    ).get_json()
    codes = sorted(e["resource"]["code"]["coding"][0]["code"] for e in found["entry"])
    # The world's own screening's transport concern is still unconfirmed, and the payer's two are new.
    assert codes == ["713458007", "713458007", "733423003"]
    observations = client.get(
        "/fhir/R4/Observation",
        query_string={"patient": world.a.patient.id, "code": "http://loinc.org|88124-3"},
        headers=bearer(payer),
    ).get_json()
    assert {e["resource"]["valueCodeableConcept"]["coding"][0]["code"] for e in observations["entry"]} == {"LA19952-3"}


def test_a_screening_of_someone_else_is_refused(client: Any, world: World, mint: Any) -> None:
    payer = mint(world.a.payer.id, "system/QuestionnaireResponse.crs")
    other = {**SCREENING, "subject": {"reference": f"Patient/{world.b.patient.id}"}}
    assert _post(client, payer, other).status_code == 404
    facility = mint(world.a.snfs[0].id, "system/QuestionnaireResponse.crs")
    mine = {**SCREENING, "subject": {"reference": f"Patient/{world.a.patient.id}"}}
    assert _post(client, facility, mine).status_code == 403  # it sees the patient, but screens nobody
    assert _post(client, payer, {**SCREENING}).status_code == 400  # no subject


def test_an_unknown_instrument_is_422(client: Any, world: World, mint: Any) -> None:
    payer = mint(world.a.payer.id, "system/QuestionnaireResponse.crs")
    body = {
        **SCREENING,
        "questionnaire": "https://example.org/Questionnaire/other",
        "subject": {"reference": f"Patient/{world.a.patient.id}"},
    }
    refused = _post(client, payer, body)
    assert refused.status_code == 422 and refused.get_json()["resourceType"] == "OperationOutcome"


def test_the_condition_says_what_was_decided(client: Any, world: World, mint: Any, session: Any) -> None:
    token = mint(world.a.hospital.id, "system/*.rs")
    food = client.get(f"/fhir/R4/Condition/{world.ids_a['Condition']}", headers=bearer(token)).get_json()
    assert food["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert food["meta"]["versionId"] == "2"  # suggested, then confirmed
    transport_id = world.ids_a["Condition"].removesuffix("-c1") + "-c2"
    screenings.decide_concern(session, transport_id, "refuted", actor="test")
    transport = client.get(f"/fhir/R4/Condition/{transport_id}", headers=bearer(token)).get_json()
    assert transport["verificationStatus"]["coding"][0]["code"] == "refuted"
    plan = client.get(f"/fhir/R4/CarePlan/{world.ids_a['CarePlan']}", headers=bearer(token)).get_json()
    assert {"reference": f"Condition/{food['id']}"} in plan["addresses"]
    referral = client.get(f"/fhir/R4/ServiceRequest/{world.ids_a['ServiceRequest']}", headers=bearer(token)).get_json()
    assert referral["reasonReference"] == [{"reference": f"Condition/{food['id']}"}]


def test_questionnaires_are_read_and_searched(client: Any, world: World, mint: Any) -> None:
    token = mint(world.a.payer.id, "system/Questionnaire.rs")
    found = client.get(
        "/fhir/R4/Questionnaire", query_string={"url": SCREENING["questionnaire"]}, headers=bearer(token)
    ).get_json()
    assert [e["resource"]["name"] for e in found["entry"]] == ["AHCHRSNCore"]
    ident = found["entry"][0]["resource"]["id"]
    read = client.get(f"/fhir/R4/Questionnaire/{ident}", headers=bearer(token)).get_json()
    assert read["url"] == SCREENING["questionnaire"]
    assert (
        client.get("/fhir/R4/Questionnaire", query_string={"status": "retired"}, headers=bearer(token)).get_json()[
            "total"
        ]
        == 0
    )
    by_name = client.get("/fhir/R4/Questionnaire", query_string={"name": "AHCHRSNCore"}, headers=bearer(token))
    assert [e["resource"]["url"] for e in by_name.get_json()["entry"]] == [SCREENING["questionnaire"]]
    assert client.get("/fhir/R4/Questionnaire", query_string={"title": "x"}, headers=bearer(token)).status_code == 400
