"""Issue #15's scenario: a screening finds food insecurity and a transportation need; both
concerns are confirmed; a goal and a community referral serve each; the food bank completes
through carebridge's FHIR API with what it did (Task.output), the transport service declines; the
goals and ServiceRequests follow; the payer's bulk export holds the QuestionnaireResponse,
Observations, Conditions, Goals, ServiceRequests and Tasks, and every resource passes Medplum's
validator (the peers' Node packages)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Goal, HealthConcern, Referral
from service.usecases import plans, questionnaires, screenings
from tests.factories import Case, community_org, community_referral
from tests.service.fhir_api.fixtures import export_app, export_dir, make_partner, mint, rsa_key, settings  # noqa: F401, F811
from tests.service.fhir_api.support import SCREENING, bearer
from tests.service.fhir_api.test_demo_conformance import exported, medplum_errors

PAYER_TYPES = (
    "Patient", "Encounter", "CarePlan", "Goal", "ServiceRequest", "Task", "QuestionnaireResponse", "Observation",
    "Condition",
)  # fmt: skip
# SNOMED CT findings the Gravity SDOH IG suggests for those answers.
FOOD_INSECURITY, NO_TRANSPORT = "733423003", "713458007"
RESULTING_ACTIVITY = {
    "coding": [
        {
            "system": "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes",
            "code": "resulting-activity",
            "display": "Resulting Activity",
        }
    ]
}


def _answer(client: Any, token: str, task_id: str, **changes: Any) -> dict[str, Any]:
    """The recipient PUTs its Task back with `changes`, as a partner's system does."""
    read = client.get(f"/fhir/R4/Task/{task_id}", headers=bearer(token))
    headers = bearer(token) | {"Content-Type": "application/fhir+json", "If-Match": read.headers["ETag"]}
    answer = client.put(f"/fhir/R4/Task/{task_id}", json=read.get_json() | changes, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    task: dict[str, Any] = answer.get_json()
    return task


@pytest.mark.integration
def test_two_needs_two_referrals_one_met_one_declined(
    client: Any, session: Session, case: Case, mint: Callable[..., str]  # noqa: F811
) -> None:
    pantry, rides = community_org(session, "Riverside Food Bank"), community_org(session, "County Ride Connect")
    questionnaires.load_shipped(session)
    screening = screenings.record_screening(session, SCREENING, patient_id=case.patient.id, actor="planner")
    found = session.scalars(select(HealthConcern).where(HealthConcern.screening_id == screening.id))
    suggested = {concern.code: concern for concern in found}
    assert sorted(suggested) == [NO_TRANSPORT, FOOD_INSECURITY]
    for concern in suggested.values():
        screenings.decide_concern(session, concern.id, "confirmed", actor="planner")
    plan = plans.create_case_plan(
        session, patient_id=case.patient.id, stay_id=case.stay.id, title="Discharge plan", actor="planner"
    )
    food_need, transport_need = suggested[FOOD_INSECURITY].id, suggested[NO_TRANSPORT].id
    start = case.stay.admitted_at.date()
    food = plans.add_goal(session, plan.id, description="Has enough food at home", lifecycle_status="active",
                          start_date=start, concern_id=food_need, actor="planner")  # fmt: skip
    transport = plans.add_goal(session, plan.id, description="Gets to follow-up visits", lifecycle_status="active",
                               start_date=start, concern_id=transport_need, actor="planner")  # fmt: skip
    to_pantry = community_referral(
        session, case, "food_assistance", [pantry], food, case_plan_id=plan.id, concern_id=food_need
    )
    to_rides = community_referral(
        session, case, "transport", [rides], transport, case_plan_id=plan.id, concern_id=transport_need
    )
    assert {g.achievement_status for g in (food, transport)} == {"in-progress"}

    # The food bank accepts, then completes saying what it did; the transport service declines.
    pantry_token, rides_token = mint(pantry.id, "system/Task.rus"), mint(rides.id, "system/Task.rus")
    (pantry_task,), (rides_task,) = to_pantry.handoffs, to_rides.handoffs
    _answer(client, pantry_token, pantry_task.id, status="accepted")
    outcome = {"type": RESULTING_ACTIVITY, "valueCodeableConcept": {"text": "Enrolled in weekly grocery delivery"}}
    done = _answer(client, pantry_token, pantry_task.id, status="completed", output=[outcome])
    assert done["output"] == [outcome]
    _answer(client, rides_token, rides_task.id, status="rejected", statusReason={"text": "Outside our service area"})

    session.expire_all()
    assert session.get_one(Referral, to_pantry.id).status == "completed"
    assert session.get_one(Referral, to_rides.id).status == "revoked"
    assert session.get_one(Goal, food.id).achievement_status == "achieved"
    assert session.get_one(Goal, transport.id).achievement_status == "not-achieved"

    # The payer reads it all in bulk, and every resource is valid R4.
    payer = mint(case.payer.id, " ".join(f"system/{t}.rs" for t in PAYER_TYPES) + " system/Group.r")
    resources = exported(client, payer, f"/fhir/R4/Group/{case.payer.id}/$export")
    by_id = {(r["resourceType"], r["id"]): r for r in resources}
    assert by_id["ServiceRequest", to_pantry.id]["status"] == "completed"
    assert by_id["ServiceRequest", to_rides.id]["status"] == "revoked"
    pertains = "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal"
    assert by_id["ServiceRequest", to_pantry.id]["extension"] == [
        {"url": pertains, "valueReference": {"reference": f"Goal/{food.id}"}}
    ]
    assert by_id["Goal", food.id]["achievementStatus"]["coding"][0]["code"] == "achieved"
    assert by_id["Goal", transport.id]["achievementStatus"]["coding"][0]["code"] == "not-achieved"
    assert by_id["Task", pantry_task.id]["output"] == [outcome]
    assert by_id["Task", rides_task.id]["statusReason"]["text"] == "Outside our service area"
    exported_types = {r["resourceType"] for r in resources}
    assert {"QuestionnaireResponse", "Observation", "Condition", "Goal", "ServiceRequest", "Task"} <= exported_types
    conditions = {r["id"] for r in resources if r["resourceType"] == "Condition"}
    assert {food_need, transport_need} <= conditions
    assert medplum_errors(resources) == []
