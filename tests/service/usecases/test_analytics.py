from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from service import clock
from service.usecases import discharge, handoffs, referrals, stays
from service.usecases.analytics import placement_analytics
from tests.factories import Case


def _answer(session: Session, handoff_id: str, status: str, at: datetime, org_id: str) -> None:
    with clock.frozen_at(at):
        handoffs.transition_handoff(session, handoff_id, status, actor="intake", acting_org_id=org_id, reason="r")


def test_response_times_acceptance_avoidable_days_and_overdue_owners(
    session: Session, case: Case, now: datetime
) -> None:
    sent_at = now - timedelta(hours=10)
    with clock.frozen_at(sent_at):
        referral = referrals.send_referral(
            session,
            patient_id=case.patient.id,
            stay_id=case.stay.id,
            service="snf_placement",
            recipient_org_ids=[s.id for s in case.snfs],
            requester_org_id=case.hospital.id,
            actor="planner",
        )
    first, second, third = referral.handoffs
    _answer(session, first.id, "rejected", sent_at + timedelta(hours=2), first.owner_org_id)
    _answer(session, second.id, "accepted", sent_at + timedelta(hours=6), second.owner_org_id)
    # The third never answers and its 24-hour answer window has not closed; make it overdue instead.
    third.due_at = now - timedelta(hours=1)
    session.commit()
    case.stay.admitted_at = now - timedelta(days=6)
    session.commit()
    stays.update_stay(session, case.stay.id, {"medically_ready_date": (now - timedelta(days=3)).date()}, actor="t")

    report = placement_analytics(session, case.hospital.id, now=now)

    assert report.referrals == 1
    assert report.hours_to_first_answer == pytest.approx(2.0)
    assert report.hours_to_acceptance == pytest.approx(6.0)
    by_name = {f.name: f for f in report.facilities}
    assert (by_name[first_name := case.snfs[0].name].accepted, by_name[first_name].declined) == (0, 1)
    assert by_name[case.snfs[1].name].rate_of_answered == 1.0
    assert by_name[case.snfs[2].name].rate_of_answered is None  # no answer yet: no rate, not 0 %
    # Of sent: the third facility's silence counts against it; the second accepted its one referral.
    assert by_name[case.snfs[1].name].rate_of_sent == 1.0
    assert by_name[case.snfs[2].name].rate_of_sent == 0.0
    # One referral to three facilities: 1 referral, 3 requests; the per-facility column sums to 3.
    assert report.requests == 3
    # Weeks start on Monday: 30 days before Tue 10 Mar reach into the week of Mon 2 Feb.
    assert [w.week_start.isoformat() for w in report.weeks] == [
        "2026-02-02", "2026-02-09", "2026-02-16", "2026-02-23", "2026-03-02", "2026-03-09"
    ]
    this_week = report.weeks[-1]
    assert (this_week.referrals, this_week.hours_to_first_answer, this_week.hours_to_acceptance) == (1, 2.0, 6.0)
    assert all(w.referrals == 0 and w.hours_to_first_answer is None for w in report.weeks[:-1])
    assert report.avoidable_days_by_unit == [("4 West", 2)]  # ready 3 days ago: 2 whole days lost
    assert report.overdue_by_owner == [(case.snfs[2].name, 1)]


def test_discharged_stays_count_until_discharge_and_old_referrals_drop_out(
    session: Session, case: Case, now: datetime
) -> None:
    with clock.frozen_at(now - timedelta(days=40)):
        referrals.send_referral(
            session,
            patient_id=case.patient.id,
            service="home_health",
            recipient_org_ids=[case.snfs[0].id],
            requester_org_id=case.hospital.id,
            actor="planner",
        )
    case.stay.medically_ready_date = (now - timedelta(days=1)).date()
    case.stay.admitted_at = now - timedelta(days=3)
    session.commit()
    discharge.record_discharge(session, case.stay.id, discharged_at=now, disposition="home", actor="planner")

    report = placement_analytics(session, case.hospital.id, now=now + timedelta(days=5), days=30)

    assert report.referrals == 0 and report.facilities == []
    assert report.avoidable_days_by_unit == [("4 West", 0)]  # ready yesterday, out today: none lost
    discharge_week = [w for w in report.weeks if w.discharges]
    assert [(w.week_start.isoformat(), w.discharges, w.avoidable_days) for w in discharge_week] == [
        ("2026-03-09", 1, 0)
    ]
