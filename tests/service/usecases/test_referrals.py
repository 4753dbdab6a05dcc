from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models import Handoff, Referral
from service.usecases import handoffs, patients, plans, referrals
from service.usecases.errors import ConflictError, Invalid, NotFound
from tests.factories import Case, send_snf_referral


def _send(session: Session, case: Case, **kw: object) -> Referral:
    return send_snf_referral(session, case, actor="user:planner", **({"reason": "hip fracture, needs rehab"} | kw))


def test_one_referral_three_facilities_three_handoffs(session: Session, case: Case, now: datetime) -> None:
    r = _send(session, case)
    assert r.status == "active" and r.requester_ref == f"Organization/{case.hospital.id}"
    assert sorted(h.owner_org_id for h in r.handoffs) == sorted(s.id for s in case.snfs)
    assert {h.due_at for h in r.handoffs} == {now + timedelta(hours=24)}
    assert {h.kind for h in r.handoffs} == {"referral_decision"}


def test_invalid_referral_writes_nothing(session: Session, case: Case) -> None:
    for bad in ({"recipient_org_ids": []}, {"service": "spa_day"}, {"priority": "whenever"}):
        with pytest.raises(Invalid):
            _send(session, case, **bad)
    with pytest.raises(NotFound):
        _send(session, case, recipient_org_ids=[case.snfs[0].id, "missing-org"])
    assert session.scalar(select(func.count()).select_from(Referral)) == 0
    assert session.scalar(select(func.count()).select_from(Handoff)) == 0


def test_confirm_placement_cancels_the_other_open_recipients(session: Session, case: Case) -> None:
    r = _send(session, case)
    h1, h2, h3 = sorted(r.handoffs, key=lambda h: [s.id for s in case.snfs].index(h.owner_org_id))
    handoffs.transition_handoff(
        session, h1.id, "rejected", actor="snf1", reason="no bed", acting_org_id=h1.owner_org_id
    )
    handoffs.transition_handoff(
        session, h3.id, "accepted", actor="snf3", business_status="bed offered", acting_org_id=h3.owner_org_id
    )
    cancelled = referrals.confirm_placement(session, r.id, h3.id, actor="planner", reason="placed at Oak SNF 3")
    assert [h.id for h in cancelled] == [h2.id]
    session.refresh(h2)
    assert h2.status == "cancelled" and h2.status_reason == "placed at Oak SNF 3"
    session.refresh(h1)
    assert h1.status == "rejected"


def test_confirm_requires_an_accepted_recipient(session: Session, case: Case) -> None:
    r = _send(session, case)
    with pytest.raises(ConflictError, match="only an accepted recipient"):
        referrals.confirm_placement(session, r.id, r.handoffs[0].id, actor="p", reason="x")
    with pytest.raises(Invalid):
        referrals.confirm_placement(session, r.id, "not-a-recipient", actor="p", reason="x")
    with pytest.raises(Invalid):
        referrals.confirm_placement(session, r.id, r.handoffs[0].id, actor="p", reason=" ")


def test_confirm_is_only_for_placements(session: Session, case: Case) -> None:
    r = _send(session, case, service="transport", recipient_org_ids=[case.snfs[0].id])
    with pytest.raises(ConflictError, match="not a placement"):
        referrals.confirm_placement(session, r.id, r.handoffs[0].id, actor="p", reason="x")


def test_referral_status(session: Session, case: Case) -> None:
    r = _send(session, case)
    assert referrals.update_referral_status(session, r.id, "completed", actor="p").status == "completed"
    with pytest.raises(Invalid):
        referrals.update_referral_status(session, r.id, "done", actor="p")


def test_a_referral_names_the_goal_it_serves_a_goal_of_its_own_patient_only(session: Session, case: Case) -> None:
    plan = plans.create_case_plan(session, patient_id=case.patient.id, stay_id=case.stay.id, title="p", actor="t")
    goal = plans.add_goal(session, plan.id, description="Has enough food at home", actor="t")
    r = _send(session, case, goal_id=goal.id)
    assert r.goal_id == goal.id

    other = patients.register_patient(session, family_name="Else", given_name="Ed", actor="t")
    their_plan = plans.create_case_plan(session, patient_id=other.id, title="theirs", actor="t")
    theirs = plans.add_goal(session, their_plan.id, description="Walk again", actor="t")
    with pytest.raises(Invalid) as refused:
        _send(session, case, goal_id=theirs.id)
    assert refused.value.details["fields"] == {"goal_id": ["must be a goal of the referral's patient"]}
    with pytest.raises(NotFound):
        _send(session, case, goal_id="no-such-goal")
    assert session.scalar(select(func.count()).select_from(Referral)) == 1
