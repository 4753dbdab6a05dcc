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
    handoffs.ask_for_information(
        session, referral.handoffs[1].id, "Is she weight-bearing?", actor="pine.intake", acting_org_id=case.snfs[1].id
    )
    handoffs.add_note(session, referral.handoffs[1].id, "Yes, as tolerated.", actor=planner)
    referrals.confirm_placement(session, referral.id, accepted.id, actor=planner, reason="Oak SNF 1 took her")
    barrier = stays.open_barrier(session, case.stay.id, category="transport", note="Van needed", actor=planner)
    stays.resolve_barrier(session, barrier.id, actor=planner)
    discharge.record_discharge(
        session, case.stay.id, discharged_at=now - timedelta(hours=1), disposition="snf", actor=planner
    )

    timeline = {entry.what: entry.actor for entry in load_case(session, case.stay.id).timeline}
    snf = "skilled nursing facility placement referral"
    assert timeline["Expected discharge date: Fri 13 Mar → Mon 16 Mar"] == "Pat Planner"
    assert timeline["Readiness item done: Transport arranged"] == "Pat Planner"
    assert timeline[f"Sent to Oak SNF 2 ({snf}): requested"] == "Pat Planner"
    assert timeline[f"Oak SNF 1 ({snf}): Requested → Accepted"] == "oak.intake"  # not a user here
    assert timeline[f"Oak SNF 2 ({snf}): Requested → Received (“information requested”)"] == "pine.intake"
    assert timeline[f"Note on Oak SNF 2 ({snf}): Is she weight-bearing?"] == "pine.intake"
    assert timeline[f"Note on Oak SNF 2 ({snf}): Yes, as tolerated."] == "Pat Planner"
    assert timeline[f"Oak SNF 2 ({snf}): Received → Cancelled — Oak SNF 1 took her"] == "Pat Planner"
    assert timeline["Placement confirmed with Oak SNF 1"] == "Pat Planner"
    assert timeline["Barrier opened: Transport"] == timeline["Barrier resolved: Transport"] == "Pat Planner"
    assert timeline["Discharged: Skilled nursing facility"] == "Pat Planner"  # no longer "system"
    # the follow-ups an SNF discharge creates (handed to the confirmed facility's intake)
    assert timeline["Created for Oak SNF 1 (facility admission after discharge): requested"] == "Pat Planner"
