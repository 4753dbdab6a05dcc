from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from service.usecases import discharge, handoffs, referrals, stays
from service.usecases.case_view import load_case
from tests.factories import Case


def test_the_timeline_credits_people_by_name_for_every_change(session: Session, case: Case, now: datetime) -> None:
    planner = case.planner.username
    stays.update_stay(session, case.stay.id, {"expected_discharge_date": date(2026, 3, 16)}, actor=planner)
    stays.set_readiness(session, case.stay.id, "transport", met=True, actor=planner)
    referral = referrals.send_referral(
        session, patient_id=case.patient.id, stay_id=case.stay.id, service="snf_placement",
        recipient_org_ids=[case.snfs[0].id, case.snfs[1].id], requester_org_id=case.hospital.id, actor=planner,
    )  # fmt: skip
    accepted = referral.handoffs[0]
    handoffs.transition_handoff(
        session, accepted.id, "accepted", actor="oak.intake", acting_org_id=case.snfs[0].id
    )
    referrals.confirm_placement(session, referral.id, accepted.id, actor=planner, reason="Oak SNF 1 took her")
    discharge.record_discharge(
        session, case.stay.id, discharged_at=now - timedelta(hours=1), disposition="snf", actor=planner
    )

    timeline = {entry.what: entry.actor for entry in load_case(session, case.stay.id).timeline}
    assert timeline["Expected discharge date: 2026-03-13 → 2026-03-16"] == "Pat Planner"
    assert timeline["Readiness: transport done"] == "Pat Planner"
    assert timeline["Placement confirmed with Oak SNF 1"] == "Pat Planner"
    assert timeline["Discharged (snf)"] == "Pat Planner"  # no longer "system"
    assert timeline["referral decision (Oak SNF 1): requested → accepted"] == "oak.intake"  # not a user here
