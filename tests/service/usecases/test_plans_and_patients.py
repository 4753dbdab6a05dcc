from datetime import date

import pytest
from sqlalchemy.orm import Session

from service.usecases import patients, plans
from service.usecases.errors import ConflictError, Invalid, VersionMismatch
from tests.factories import Case


def test_plan_with_goal(session: Session, case: Case) -> None:
    plan = plans.create_case_plan(
        session, patient_id=case.patient.id, stay_id=case.stay.id, title="Hip fracture", actor="rn"
    )
    assert plan.categories == ["assess-plan"] and plan.status == "active" and plan.intent == "plan"
    goal = plans.add_goal(
        session,
        plan.id,
        description="Walk 50 ft with a walker before discharge",
        target_due_date=date(2026, 3, 13),
        actor="rn",
    )
    assert goal.patient_id == case.patient.id and goal.lifecycle_status == "active"
    goal = plans.update_goal(
        session, goal.id, {"achievement_status": "improving"}, actor="pt", expected_version=goal.version
    )
    assert goal.achievement_status == "improving" and goal.version == 2
    with pytest.raises(VersionMismatch):
        plans.update_goal(session, goal.id, {"achievement_status": "achieved"}, actor="pt", expected_version=1)


def test_plan_rules(session: Session, case: Case) -> None:
    with pytest.raises(Invalid):
        plans.create_case_plan(session, patient_id=case.patient.id, title="x", status="open", actor="rn")
    plan = plans.create_case_plan(session, patient_id=case.patient.id, title="x", actor="rn")
    with pytest.raises(Invalid):
        plans.update_case_plan(
            session, plan.id, {"period_start": date(2026, 3, 9), "period_end": date(2026, 3, 1)}, actor="rn"
        )
    with pytest.raises(Invalid):
        plans.update_case_plan(session, plan.id, {"patient_id": "other"}, actor="rn")
    assert plans.update_case_plan(session, plan.id, {"status": "completed"}, actor="rn").status == "completed"


def test_identifier_names_one_patient(session: Session, case: Case) -> None:
    assert patients.find_by_identifier(session, "urn:example:mrn", "MRN-1001").id == case.patient.id
    with pytest.raises(ConflictError):
        patients.register_patient(
            session,
            family_name="X",
            given_name="Y",
            actor="t",
            identifiers=[{"system": "urn:example:mrn", "value": "MRN-1001"}],
        )
    p = patients.update_patient(session, case.patient.id, {"given_name": "Aggie"}, actor="t")
    assert p.given_name == "Aggie"
    with pytest.raises(Invalid):
        patients.update_patient(session, case.patient.id, {"id": "x"}, actor="t")
