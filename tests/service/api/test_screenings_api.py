"""Screenings and concerns through the REST API: who may record and decide, and the chain to a
goal and a referral (issue #15)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from service.usecases import questionnaires
from tests.factories import Case
from tests.service.usecases.test_screenings import food_and_transport


@pytest.fixture(autouse=True)
def loaded(session: Session) -> None:
    questionnaires.load_shipped(session)


def _screen(client: Any, case: Case, headers: dict[str, str], response: dict[str, Any] | None = None) -> Any:
    body = {"patient_id": case.patient.id, "response": response or food_and_transport()}
    return client.post("/api/screenings", json=body, headers=headers)


def test_hospital_screens_confirms_and_serves_the_concern(client: Any, case: Case, hospital: dict[str, str]) -> None:
    made = _screen(client, case, hospital)
    assert made.status_code == 201, made.json
    screening = made.json
    assert screening["stay_id"] == case.stay.id and screening["status"] == "completed"
    assert [(c["code"], c["verification_status"]) for c in screening["concerns"]] == [
        ("733423003", "unconfirmed"),
        ("713458007", "unconfirmed"),
    ]
    food = screening["concerns"][0]["id"]
    plan = client.post("/api/plans", json={"patient_id": case.patient.id, "stay_id": case.stay.id, "title": "Home"},
                       headers=hospital).json  # fmt: skip
    decided = client.put(
        f"/api/concerns/{food}/verification-status", json={"verification_status": "confirmed"}, headers=hospital
    )
    assert decided.status_code == 200 and decided.json["verification_status"] == "confirmed"
    assert decided.json["decided_by"].startswith("client:")
    assert client.get(f"/api/plans/{plan['id']}", headers=hospital).json["concern_ids"] == [food]
    goal = client.post(
        f"/api/plans/{plan['id']}/goals", json={"description": "Food at home", "concern_id": food}, headers=hospital
    )
    assert goal.status_code == 201 and goal.json["concern_id"] == food
    referral = client.post(
        "/api/referrals",
        json={
            "patient_id": case.patient.id,
            "service": "meals",
            "requester_org_id": case.hospital.id,
            "recipient_org_ids": [case.snfs[0].id],
            "concern_id": food,
        },
        headers=hospital,
    )
    assert referral.status_code == 201 and referral.json["concern_id"] == food


def test_payer_records_its_members_screening_but_does_not_decide(
    client: Any, case: Case, hospital: dict[str, str], as_org: Any
) -> None:
    payer = as_org(case.payer.id, "system/QuestionnaireResponse.crs system/Condition.rus")
    made = _screen(client, case, payer)
    assert made.status_code == 201, made.json
    food = made.json["concerns"][0]["id"]
    assert client.get(f"/api/concerns/{food}", headers=payer).status_code == 200
    refused = client.put(
        f"/api/concerns/{food}/verification-status", json={"verification_status": "confirmed"}, headers=payer
    )
    assert refused.status_code == 403  # the hospital running the case decides


def test_a_facility_neither_screens_nor_sees_unreferred_concerns(
    client: Any, case: Case, hospital: dict[str, str], as_org: Any
) -> None:
    food = _screen(client, case, hospital).json["concerns"][0]["id"]
    facility = as_org(case.snfs[0].id)
    assert _screen(client, case, facility).status_code == 404  # it has no referral for the patient yet
    assert client.get(f"/api/concerns/{food}", headers=facility).status_code == 404


def test_an_invalid_response_is_422_naming_the_field(client: Any, case: Case, hospital: dict[str, str]) -> None:
    bad = _screen(client, case, hospital, {**food_and_transport(), "status": "done"})
    assert bad.status_code == 422 and "status" in str(bad.json["errors"])
