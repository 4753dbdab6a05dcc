from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from service.models.stays import READINESS_ITEMS
from service.usecases import discharge, handoffs, stays
from service.usecases.errors import ConflictError, Invalid
from tests.factories import Case


def test_admission_opens_the_full_checklist(case: Case) -> None:
    assert [i.code for i in case.stay.readiness_items] == list(READINESS_ITEMS)
    assert not any(i.met for i in case.stay.readiness_items)


def test_admit_refuses_non_hospital_and_bad_dates(session: Session, case: Case, now: datetime) -> None:
    with pytest.raises(Invalid):
        stays.admit(session, patient_id=case.patient.id, hospital_id=case.snfs[0].id, admitted_at=now, actor="p")
    with pytest.raises(Invalid) as err:
        stays.admit(
            session,
            patient_id=case.patient.id,
            hospital_id=case.hospital.id,
            admitted_at=now,
            expected_discharge_date=(now - timedelta(days=2)).date(),
            actor="p",
        )
    assert "expected_discharge_date" in err.value.details["fields"]


def test_replanning_dates(session: Session, case: Case, now: datetime) -> None:
    friday = (now + timedelta(days=3)).date()
    stay = stays.update_stay(session, case.stay.id, {"expected_discharge_date": friday, "unit": "5 East"}, actor="p")
    assert stay.expected_discharge_date == friday and stay.unit == "5 East"
    with pytest.raises(Invalid):
        stays.update_stay(session, case.stay.id, {"status": "finished"}, actor="p")
    discharge.record_discharge(session, case.stay.id, discharged_at=now, disposition="home", actor="p")
    with pytest.raises(ConflictError):
        stays.update_stay(session, case.stay.id, {"unit": "6"}, actor="p")


def test_an_active_stay_keeps_its_unit_and_expected_discharge_date(
    session: Session, case: Case, now: datetime
) -> None:
    friday = (now + timedelta(days=3)).date()
    stays.update_stay(session, case.stay.id, {"expected_discharge_date": friday, "unit": "5 East"}, actor="p")
    with pytest.raises(Invalid) as err:
        stays.update_stay(
            session, case.stay.id, {"expected_discharge_date": None, "unit": None, "bed": None}, actor="p"
        )
    assert sorted(err.value.details["fields"]) == ["expected_discharge_date", "unit"]
    session.refresh(case.stay)
    assert case.stay.unit == "5 East" and case.stay.expected_discharge_date == friday
    assert stays.update_stay(session, case.stay.id, {"bed": None}, actor="p").bed is None  # a bed may be cleared


def test_readiness_manual_and_linked_to_handoff(session: Session, case: Case, now: datetime) -> None:
    item = stays.set_readiness(session, case.stay.id, "medication_reconciliation", met=True, actor="rn")
    assert item.met and item.met_at == now and item.met_by == "rn"
    with pytest.raises(Invalid):
        stays.set_readiness(session, case.stay.id, "vibes", met=True, actor="rn")
    dme = handoffs.create_handoff(
        session,
        actor="p",
        patient_id=case.patient.id,
        stay_id=case.stay.id,
        kind="dme_delivery",
        owner_org_id=case.snfs[0].id,
        requester_org_id=case.hospital.id,
    )
    linked = next(i for i in case.stay.readiness_items if i.code == "dme_ordered")
    linked.handoff_id = dme.id
    session.commit()
    with pytest.raises(ConflictError):
        stays.set_readiness(session, case.stay.id, "dme_ordered", met=True, actor="rn")
    handoffs.transition_handoff(session, dme.id, "accepted", actor="dme")
    handoffs.transition_handoff(session, dme.id, "completed", actor="dme")
    session.refresh(linked)
    assert linked.met


def test_barriers_open_and_resolve(session: Session, case: Case, now: datetime) -> None:
    b = stays.open_barrier(session, case.stay.id, category="post_acute_bed", note="needs SNF bed", actor="p")
    assert b.opened_at == now and b.resolved_at is None
    with pytest.raises(Invalid):
        stays.open_barrier(session, case.stay.id, category="weather", note="", actor="p")
    resolved = stays.resolve_barrier(session, b.id, actor="p", note="bed at Oak 3")
    assert resolved.resolved_at == now and "bed at Oak 3" in resolved.note
    with pytest.raises(ConflictError):
        stays.resolve_barrier(session, b.id, actor="p")
