"""SCENARIOS.md stories 1 and 2, told through the use cases on a controllable clock.

(The partner-facing halves — the SNF answering through carebridge's FHIR API, the payer's view —
are covered by the FHIR API and sync tests against the real peers.)
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from service import clock
from service.domain.timing import avoidable_days, is_overdue
from service.usecases import discharge, handoffs, plans, referrals, stays
from service.usecases.worklist import worklist
from tests.factories import Case, build_case, send_snf_referral

MONDAY = datetime(2026, 3, 9, 8, tzinfo=UTC)


class Week:
    """A clock the story moves forward by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def at(self, moment: datetime) -> datetime:
        self.now = moment
        return moment


@pytest.fixture
def week() -> Iterator[Week]:
    w = Week(MONDAY)
    clock.set_clock(lambda: w.now)
    yield w
    clock.set_clock(None)


def test_story_1_snf_placement_with_parallel_referrals(session: Session, week: Week) -> None:
    case: Case = build_case(session, MONDAY, mrn="MRN-A")  # admitted Sunday, hip fracture
    tuesday = week.at(MONDAY + timedelta(days=1))
    friday, thursday = date(2026, 3, 13), date(2026, 3, 12)
    stays.update_stay(
        session, case.stay.id, {"expected_discharge_date": friday, "medically_ready_date": thursday}, actor="planner"
    )
    stays.open_barrier(session, case.stay.id, category="post_acute_bed", note="needs SNF bed", actor="planner")
    plan = plans.create_case_plan(
        session, patient_id=case.patient.id, stay_id=case.stay.id, title="Hip fracture discharge plan", actor="planner"
    )
    plans.add_goal(
        session,
        plan.id,
        description="walk 50 ft with a walker before discharge",
        target_due_date=friday,
        actor="planner",
    )
    referral = send_snf_referral(session, case, case_plan_id=plan.id)
    by_owner = {h.owner_org_id: h for h in referral.handoffs}
    f1, f2, f3 = (by_owner[s.id] for s in case.snfs)
    auth = handoffs.create_handoff(
        session,
        actor="planner",
        patient_id=case.patient.id,
        stay_id=case.stay.id,
        kind="payer_authorization",
        owner_org_id=case.payer.id,
        requester_org_id=case.hospital.id,
        due_at=tuesday + timedelta(hours=48),
    )

    week.at(tuesday + timedelta(hours=4))
    handoffs.transition_handoff(
        session, f1.id, "rejected", reason="no bed", actor="snf1", acting_org_id=f1.owner_org_id
    )
    week.at(tuesday + timedelta(hours=10))
    handoffs.transition_handoff(
        session, f3.id, "accepted", business_status="bed offered", actor="snf3", acting_org_id=f3.owner_org_id
    )

    # Wednesday: facility 2 never answered; 24 h later it is overdue on the worklist.
    wednesday = week.at(tuesday + timedelta(hours=25))
    (row,) = [r for r in worklist(session, now=wednesday, tz=UTC).rows if r.stay.id == case.stay.id]
    assert row.overdue_handoffs == 1 and [b.note for b in row.open_barriers] == ["needs SNF bed"]

    cancelled = referrals.confirm_placement(
        session, referral.id, f3.id, actor="planner", reason="placed with facility 3"
    )
    assert [h.id for h in cancelled] == [f2.id]
    for status in ("accepted", "completed"):
        handoffs.transition_handoff(session, auth.id, status, actor="payer", acting_org_id=case.payer.id)

    # Thursday she is medically ready; discharge happens Saturday: one avoidable day (Friday).
    saturday = week.at(datetime(2026, 3, 14, 11, tzinfo=UTC))
    follow_ups = discharge.record_discharge(
        session, case.stay.id, discharged_at=saturday, disposition="snf", actor="planner"
    )
    # she goes to the facility: its intake admits her and the case manager checks in (issue #14)
    assert {h.kind: h.owner_org_id for h in follow_ups} == {
        "facility_admission": f3.owner_org_id,
        "post_discharge_check": case.hospital.id,
    }
    assert avoidable_days(thursday, saturday.date(), saturday.date()) == 1
    session.refresh(f2)
    assert f2.status == "cancelled" and f2.status_reason == "placed with facility 3"
    assert [e.to_status for e in f3.events] == ["requested", "accepted"]


def test_story_2_home_with_home_health_and_equipment(session: Session, week: Week) -> None:
    case = build_case(session, MONDAY, mrn="MRN-B")
    edd = case.stay.expected_discharge_date
    referrals.send_referral(
        session,
        patient_id=case.patient.id,
        stay_id=case.stay.id,
        service="home_health",
        recipient_org_ids=[case.snfs[0].id],
        requester_org_id=case.hospital.id,
        actor="rn",
    )
    dme = handoffs.create_handoff(
        session,
        actor="rn",
        patient_id=case.patient.id,
        stay_id=case.stay.id,
        kind="dme_delivery",
        owner_org_id=case.snfs[1].id,
        requester_org_id=case.hospital.id,
        due_at=datetime.combine(edd, datetime.min.time(), UTC),
    )
    item = next(i for i in case.stay.readiness_items if i.code == "dme_ordered")
    item.handoff_id = dme.id
    session.commit()

    on_edd = week.at(datetime.combine(edd, datetime.min.time(), UTC) + timedelta(hours=9))
    (row,) = worklist(session, now=on_edd, tz=UTC).rows
    assert "dme_ordered" in row.unmet_readiness and row.overdue_handoffs >= 1

    handoffs.transition_handoff(session, dme.id, "accepted", actor="dme")
    handoffs.transition_handoff(session, dme.id, "completed", actor="dme")
    (row,) = worklist(session, now=on_edd, tz=UTC).rows
    assert "dme_ordered" not in row.unmet_readiness

    follow_ups = discharge.record_discharge(
        session, case.stay.id, discharged_at=on_edd, disposition="home_health", actor="rn"
    )
    call = next(h for h in follow_ups if h.kind == "followup_call_48h")
    week.at(on_edd + timedelta(hours=60))
    assert call.id in {h.id for h in handoffs.owner_queue(session, case.hospital.id)}
    assert is_overdue(call.kind, call.status, call.due_at, clock.now())  # the call is done late
    for status in ("in-progress", "completed"):  # the hospital's own call: ready, nobody accepts it
        handoffs.transition_handoff(session, call.id, status, actor="rn")
    assert not is_overdue(call.kind, call.status, call.due_at, clock.now())
