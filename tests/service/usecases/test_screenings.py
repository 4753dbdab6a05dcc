"""Recording a screening and deciding on the concerns it suggests (issue #15).

Expected codes by hand from LOINC (88122-7 Hunger Vital Sign question 1, 93030-5 transportation,
88124-3 food insecurity risk) and the Gravity SDOH IG's SNOMED CT findings (733423003 food
insecurity, 713458007 lack of access to transportation).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import AuditRecord, ChangeEvent, HealthConcern, ScreeningObservation
from service.usecases import plans, questionnaires, referrals, screenings
from service.usecases.errors import ConflictError, Invalid
from tests.factories import Case

HRSN = "https://carebridge.dev/fhir/Questionnaire/ahc-hrsn-core"
LOINC = "http://loinc.org"


def answer(link_id: str, code: str) -> dict[str, Any]:
    return {"linkId": link_id, "answer": [{"valueCoding": {"system": LOINC, "code": code}}]}


def food_and_transport(status: str = "completed") -> dict[str, Any]:
    """Worried food would run out: often true; lack of transportation kept you from appointments: yes."""
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": HRSN,
        "status": status,
        "authored": "2026-03-10T08:30:00Z",
        "item": [answer("88122-7", "LA28397-0"), answer("93030-5", "LA33-6")],
    }


@pytest.fixture
def loaded(session: Session) -> None:
    questionnaires.load_shipped(session)


def record(session: Session, case: Case, response: dict[str, Any] | None = None) -> Any:
    return screenings.record_screening(
        session, response or food_and_transport(), patient_id=case.patient.id, actor="planner"
    )


def test_a_screening_derives_observations_and_suggests_concerns(session: Session, case: Case, loaded: None) -> None:
    row = record(session, case)
    assert row.stay_id == case.stay.id  # the stay in progress
    observations = session.scalars(
        select(ScreeningObservation)
        .where(ScreeningObservation.screening_id == row.id)
        .order_by(ScreeningObservation.id)
    ).all()
    assert [(o.id, o.code) for o in observations] == [
        (f"{row.id}-o1", "88122-7"),
        (f"{row.id}-o2", "93030-5"),
        (f"{row.id}-o3", "88124-3"),
    ]
    assert observations[0].categories == ["survey", "sdoh", "food-insecurity"]
    concerns = session.scalars(select(HealthConcern).where(HealthConcern.screening_id == row.id)).all()
    assert sorted((c.code, c.verification_status, c.stay_id) for c in concerns) == [
        ("713458007", "unconfirmed", case.stay.id),
        ("733423003", "unconfirmed", case.stay.id),
    ]
    audited = session.scalars(select(AuditRecord.entity_type).where(AuditRecord.actor == "planner")).all()
    assert sorted(set(audited)) == ["HealthConcern", "Screening", "ScreeningObservation"]
    assert len(audited) == 1 + 3 + 2
    events = session.scalars(select(ChangeEvent.entity_type).where(ChangeEvent.patient_id == case.patient.id)).all()
    assert {"Screening", "ScreeningObservation", "HealthConcern"} <= set(events)


def test_a_screening_in_progress_suggests_nothing(session: Session, case: Case, loaded: None) -> None:
    row = record(session, case, food_and_transport("in-progress"))
    assert session.scalars(select(HealthConcern).where(HealthConcern.screening_id == row.id)).all() == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"questionnaire": "https://example.org/Questionnaire/unknown"}, "questionnaire"),
        ({"status": "done"}, "status"),
        ({"subject": {"reference": "Patient/someone-else"}}, "subject"),
        ({"item": [answer("not-asked", "LA33-6")]}, "item"),
    ],
)
def test_what_cannot_be_recorded_is_refused_naming_the_field(
    session: Session, case: Case, loaded: None, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        record(session, case, {**food_and_transport(), **change})
    assert field in refused.value.details["fields"]


def test_confirming_a_concern_makes_the_open_plan_address_it(session: Session, case: Case, loaded: None) -> None:
    plan = plans.create_case_plan(session, patient_id=case.patient.id, stay_id=case.stay.id, title="Home", actor="rn")
    row = record(session, case)
    food, transport = (f"{row.id}-c1", f"{row.id}-c2")
    concern = screenings.decide_concern(session, food, "confirmed", actor="rn")
    assert (concern.verification_status, concern.decided_by) == ("confirmed", "rn")
    assert concern.decided_at is not None
    screenings.decide_concern(session, transport, "refuted", actor="rn")
    session.refresh(plan)
    assert plan.concern_ids == [food] and plan.version == 2
    # A plan started afterwards addresses the confirmed concern from the start.
    later = plans.create_case_plan(session, patient_id=case.patient.id, stay_id=case.stay.id, title="B", actor="rn")
    assert later.concern_ids == [food]
    # Dismissing it after all takes it off the plans.
    screenings.decide_concern(session, food, "refuted", actor="rn")
    session.refresh(plan)
    assert plan.concern_ids == []
    with pytest.raises(ConflictError):
        screenings.decide_concern(session, food, "refuted", actor="rn")
    with pytest.raises(Invalid):
        screenings.decide_concern(session, food, "maybe", actor="rn")


def test_goals_and_referrals_serve_only_a_confirmed_concern(session: Session, case: Case, loaded: None) -> None:
    plan = plans.create_case_plan(session, patient_id=case.patient.id, stay_id=case.stay.id, title="Home", actor="rn")
    row = record(session, case)
    food = f"{row.id}-c1"
    with pytest.raises(Invalid) as refused:
        plans.add_goal(session, plan.id, description="Food at home", concern_id=food, actor="rn")
    assert refused.value.details["fields"] == {"concern_id": ["unconfirmed"]}
    screenings.decide_concern(session, food, "confirmed", actor="rn")
    goal = plans.add_goal(session, plan.id, description="Food at home", concern_id=food, actor="rn")
    assert goal.concern_id == food
    referral = referrals.send_referral(
        session,
        patient_id=case.patient.id,
        service="meals",
        recipient_org_ids=[case.snfs[0].id],
        requester_org_id=case.hospital.id,
        concern_id=food,
        actor="rn",
    )
    assert referral.concern_id == food
    with pytest.raises(Invalid):
        plans.add_goal(session, plan.id, description="x", concern_id="nobody-c1", actor="rn")


def test_the_worklist_marks_unscreened_stays_and_concerns_to_address(
    session: Session, case: Case, loaded: None
) -> None:
    assert screenings.worklist_marks(session, [case.stay.id]) == (set(), {})
    row = record(session, case)
    assert screenings.worklist_marks(session, [case.stay.id]) == ({case.stay.id}, {case.stay.id: 2})
    plan = plans.create_case_plan(session, patient_id=case.patient.id, stay_id=case.stay.id, title="Home", actor="rn")
    screenings.decide_concern(session, f"{row.id}-c1", "confirmed", actor="rn")
    screenings.decide_concern(session, f"{row.id}-c2", "refuted", actor="rn")
    # Confirmed but served by nothing yet: still to address.
    assert screenings.worklist_marks(session, [case.stay.id]) == ({case.stay.id}, {case.stay.id: 1})
    plans.add_goal(session, plan.id, description="Food at home", concern_id=f"{row.id}-c1", actor="rn")
    assert screenings.worklist_marks(session, [case.stay.id]) == ({case.stay.id}, {})
