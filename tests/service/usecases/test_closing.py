"""Closing the loop (issue #15): a recipient's final answer decides the ServiceRequest's status and
the served goal's achievementStatus, in the same transaction, told to partners through the outbox.
Expected states are written out from the Gravity SDOH referral workflow and R4's value sets."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import clock
from service.models import ChangeEvent, Goal, Handoff, Referral
from service.usecases import closing, discharge, handoffs, referrals
from service.usecases.errors import ConflictError, Invalid
from tests.factories import Case, case_goal, community_org, community_referral, send_snf_referral


def _events(session: Session, after: datetime) -> set[tuple[str, str]]:
    """(entity type, id) of the outbox events written at or after `after`."""
    rows = session.execute(select(ChangeEvent.entity_type, ChangeEvent.entity_id).where(ChangeEvent.at >= after))
    return {(kind, entity_id) for kind, entity_id in rows}


def _reload(session: Session, *records: object) -> None:
    for record in records:
        session.refresh(record)


def test_a_recipient_completing_with_an_outcome_completes_the_referral_and_achieves_the_goal(
    session: Session, case: Case, now: datetime
) -> None:
    pantry, second = community_org(session, "Riverside Food Bank"), community_org(session, "Westside Pantry")
    goal = case_goal(session, case, "Has enough food at home")
    assert goal.achievement_status is None
    referral = community_referral(session, case, "food_assistance", [pantry, second], goal)
    _reload(session, goal)
    assert goal.achievement_status == "in-progress"  # a referral for it is open
    done, other = sorted(referral.handoffs, key=lambda h: h.owner_org_id != pantry.id)
    handoffs.transition_handoff(session, done.id, "accepted", actor="pantry", acting_org_id=pantry.id)

    later = now + timedelta(hours=2)
    with clock.frozen_at(later):
        handoffs.transition_handoff(
            session, done.id, "completed", actor="pantry", acting_org_id=pantry.id,
            outcome="Enrolled in weekly grocery delivery",
        )  # fmt: skip
    _reload(session, done, other, referral, goal)
    assert (done.status, done.outcome) == ("completed", "Enrolled in weekly grocery delivery")
    assert referral.status == "completed"
    assert (other.status, other.status_reason) == ("cancelled", "Completed by Riverside Food Bank")
    assert goal.achievement_status == "achieved"
    assert _events(session, later) == {
        ("Handoff", done.id), ("Handoff", other.id), ("Referral", referral.id), ("Goal", goal.id),
    }  # fmt: skip
    loop = closing.loop_of(session, referral, later)
    assert (loop.state, loop.outcome) == ("closed", "Enrolled in weekly grocery delivery (Riverside Food Bank)")


def test_completing_a_referral_needs_an_outcome_and_only_completion_takes_one(session: Session, case: Case) -> None:
    pantry = community_org(session, "Riverside Food Bank")
    referral = community_referral(session, case, "food_assistance", [pantry], case_goal(session, case, "Food"))
    (task,) = referral.handoffs
    with pytest.raises(Invalid) as refused:
        handoffs.transition_handoff(session, task.id, "accepted", actor="p", acting_org_id=pantry.id, outcome="x")
    assert refused.value.details["fields"] == {"outcome": ["only with status completed"]}
    handoffs.transition_handoff(session, task.id, "accepted", actor="p", acting_org_id=pantry.id)
    for blank in (None, "  "):
        with pytest.raises(Invalid) as refused:
            handoffs.transition_handoff(
                session, task.id, "completed", actor="p", acting_org_id=pantry.id, outcome=blank
            )
        assert refused.value.details["fields"] == {"outcome": ["Say what was done for the patient."]}
    _reload(session, task, referral)
    assert (task.status, referral.status) == ("accepted", "active")


def test_every_recipient_declining_revokes_the_referral_and_the_goal_is_not_achieved(
    session: Session, case: Case
) -> None:
    rides, vans = community_org(session, "County Ride Connect"), community_org(session, "Metro Vans")
    goal = case_goal(session, case, "Gets to follow-up appointments")
    first = community_referral(session, case, "transport", [rides, vans], goal)
    by_owner = {h.owner_org_id: h for h in first.handoffs}
    handoffs.transition_handoff(
        session, by_owner[rides.id].id, "rejected", actor="r", reason="Outside our area", acting_org_id=rides.id
    )
    _reload(session, first, goal)
    assert (first.status, goal.achievement_status) == ("active", "in-progress")  # Metro Vans may still answer
    handoffs.transition_handoff(
        session, by_owner[vans.id].id, "rejected", actor="v", reason="No wheelchair van", acting_org_id=vans.id
    )
    _reload(session, first, goal)
    assert (first.status, goal.achievement_status) == ("revoked", "not-achieved")

    # A second referral for the same goal: open again while it waits; its completion achieves the goal.
    second = community_referral(session, case, "transport", [vans], goal)
    _reload(session, goal)
    assert goal.achievement_status == "in-progress"
    (task,) = second.handoffs
    handoffs.transition_handoff(session, task.id, "accepted", actor="v", acting_org_id=vans.id)
    handoffs.transition_handoff(session, task.id, "completed", actor="v", acting_org_id=vans.id, outcome="Rides booked")
    _reload(session, goal, second)
    assert (second.status, goal.achievement_status) == ("completed", "achieved")


def test_the_requester_cancelling_the_only_recipient_revokes_and_a_manual_status_change_is_followed(
    session: Session, case: Case
) -> None:
    lights = community_org(session, "Keep the Lights On")
    goal = case_goal(session, case, "Power stays on")
    referral = community_referral(session, case, "community_services", [lights], goal)
    handoffs.transition_handoff(
        session, referral.handoffs[0].id, "cancelled", actor="planner", reason="Family paid the bill",
        acting_org_id=case.hospital.id,
    )  # fmt: skip
    _reload(session, referral, goal)
    assert (referral.status, goal.achievement_status) == ("revoked", "not-achieved")
    referrals.update_referral_status(session, referral.id, "completed", actor="planner")
    _reload(session, goal)
    assert goal.achievement_status == "achieved"


def test_discharge_to_the_confirmed_facility_completes_the_placement_and_achieves_its_goal(
    session: Session, case: Case, now: datetime
) -> None:
    goal = case_goal(session, case, "Rehab in a skilled nursing facility")
    referral = send_snf_referral(session, case, goal_id=goal.id)
    chosen = next(h for h in referral.handoffs if h.owner_org_id == case.snfs[2].id)
    handoffs.transition_handoff(session, chosen.id, "accepted", actor="snf3", acting_org_id=case.snfs[2].id)
    referrals.confirm_placement(session, referral.id, chosen.id, actor="planner", reason="placed at Oak SNF 3")
    _reload(session, goal)
    assert goal.achievement_status == "in-progress"

    discharge.record_discharge(session, case.stay.id, discharged_at=now, disposition="snf", actor="planner")
    _reload(session, referral, goal, chosen)
    assert (referral.status, goal.achievement_status, chosen.status) == ("completed", "achieved", "accepted")
    loop = closing.loop_of(session, referral, now)
    assert (loop.state, loop.outcome) == ("closed", "Placed with Oak SNF 3")


def test_an_unanswered_referral_past_its_due_time_shows_no_response_and_can_be_closed_with_a_reason(
    session: Session, case: Case, now: datetime
) -> None:
    rides = community_org(session, "County Ride Connect")
    goal = case_goal(session, case, "Gets to follow-up appointments")
    referral = community_referral(session, case, "transport", [rides], goal, answer_due_at=now + timedelta(hours=4))
    (task,) = referral.handoffs
    assert closing.loop_of(session, referral, now + timedelta(hours=3)).state == "open"
    with pytest.raises(ConflictError):
        closing.close_unanswered(session, referral.id, reason="no answer", actor="planner", now=now)
    past_due = now + timedelta(hours=5)
    assert closing.loop_of(session, referral, past_due).state == "no response"
    with pytest.raises(Invalid):
        closing.close_unanswered(session, referral.id, reason=" ", actor="planner", now=past_due)

    closing.close_unanswered(session, referral.id, reason="No answer in 5 hours", actor="planner", now=past_due)
    _reload(session, referral, task, goal)
    assert (task.status, task.status_reason) == ("cancelled", "No answer in 5 hours")
    assert referral.status == "revoked" and referral.notes[-1] == "Closed without an answer: No answer in 5 hours"
    assert goal.achievement_status == "not-achieved"
    assert closing.loop_of(session, referral, past_due).state == "unmet"


def test_a_recipient_that_took_the_referral_up_is_not_no_response_however_late(
    session: Session, case: Case, now: datetime
) -> None:
    rides, vans = community_org(session, "County Ride Connect"), community_org(session, "Metro Vans")
    goal, due = case_goal(session, case, "Rides"), now + timedelta(hours=1)
    referral = community_referral(session, case, "transport", [rides, vans], goal, answer_due_at=due)
    handoffs.transition_handoff(session, referral.handoffs[0].id, "accepted", actor="r", acting_org_id=rides.id)
    assert closing.loop_of(session, referral, now + timedelta(days=2)).state == "open"


def test_referrals_without_a_goal_leave_goals_alone(session: Session, case: Case) -> None:
    pantry = community_org(session, "Riverside Food Bank")
    goal = case_goal(session, case, "Walk 50 ft")
    referral = referrals.send_referral(
        session, patient_id=case.patient.id, service="food_assistance", recipient_org_ids=[pantry.id],
        requester_org_id=case.hospital.id, actor="planner",
    )  # fmt: skip
    (task,) = referral.handoffs
    handoffs.transition_handoff(session, task.id, "accepted", actor="p", acting_org_id=pantry.id)
    handoffs.transition_handoff(session, task.id, "completed", actor="p", acting_org_id=pantry.id, outcome="Box")
    assert session.get_one(Referral, referral.id).status == "completed"
    assert session.get_one(Goal, goal.id).achievement_status is None
    assert session.scalar(select(Handoff.outcome).where(Handoff.id == task.id)) == "Box"
