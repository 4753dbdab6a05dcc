from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from service.models import Handoff, Referral
from service.usecases import discharge, handoffs, parties, referrals
from service.usecases.errors import ConflictError, Invalid
from tests.factories import Case


def test_discharge_home_starts_call_and_pcp_visit(session: Session, case: Case, now: datetime) -> None:
    at = now - timedelta(hours=2)
    created = discharge.record_discharge(session, case.stay.id, discharged_at=at, disposition="home", actor="p")
    by_kind = {h.kind: h for h in created}
    assert set(by_kind) == {"followup_call_48h", "pcp_visit_7d"}
    assert by_kind["followup_call_48h"].due_at == at + timedelta(hours=48)
    assert by_kind["followup_call_48h"].owner_org_id == case.hospital.id
    assert by_kind["pcp_visit_7d"].due_at == at + timedelta(days=7)
    assert by_kind["pcp_visit_7d"].owner_org_id == case.pcp.id
    session.refresh(case.stay)
    assert case.stay.status == "finished" and case.stay.discharge_disposition == "home"


def test_home_health_adds_start_of_care(session: Session, case: Case, now: datetime) -> None:
    created = discharge.record_discharge(session, case.stay.id, discharged_at=now, disposition="home_health", actor="p")
    assert {h.kind for h in created} == {"followup_call_48h", "pcp_visit_7d", "home_health_start"}


def test_same_discharge_twice_is_idempotent_but_a_different_one_conflicts(
    session: Session, case: Case, now: datetime
) -> None:
    discharge.record_discharge(session, case.stay.id, discharged_at=now, disposition="snf", actor="p")
    assert discharge.record_discharge(session, case.stay.id, discharged_at=now, disposition="snf", actor="p") == []
    with pytest.raises(ConflictError):
        discharge.record_discharge(session, case.stay.id, discharged_at=now, disposition="home", actor="p")


def test_bad_discharge_input(session: Session, case: Case, now: datetime) -> None:
    with pytest.raises(Invalid):
        discharge.record_discharge(session, case.stay.id, discharged_at=now, disposition="moon", actor="p")
    with pytest.raises(Invalid):
        discharge.record_discharge(
            session, case.stay.id, discharged_at=now - timedelta(days=30), disposition="home", actor="p"
        )
    session.refresh(case.stay)
    assert case.stay.status == "in-progress"


def test_a_discharge_in_the_future_is_refused_beyond_five_minutes(session: Session, case: Case, now: datetime) -> None:
    with pytest.raises(Invalid) as err:
        discharge.record_discharge(
            session, case.stay.id, discharged_at=now + timedelta(minutes=6), disposition="home", actor="p"
        )
    assert list(err.value.details["fields"]) == ["discharged_at"]
    session.refresh(case.stay)
    assert case.stay.status == "in-progress"
    # a workstation clock a few minutes ahead of the server is tolerated
    created = discharge.record_discharge(
        session, case.stay.id, discharged_at=now + timedelta(minutes=4), disposition="home", actor="p"
    )
    assert len(created) == 2


def _confirmed_snf_referral(session: Session, case: Case) -> tuple[str, str]:
    referral = referrals.send_referral(
        session, patient_id=case.patient.id, stay_id=case.stay.id, service="snf_placement",
        recipient_org_ids=[case.snfs[0].id, case.snfs[1].id], requester_org_id=case.hospital.id, actor="p",
    )  # fmt: skip
    accepted = referral.handoffs[1]
    handoffs.transition_handoff(session, accepted.id, "accepted", actor="snf", acting_org_id=case.snfs[1].id)
    referrals.confirm_placement(session, referral.id, accepted.id, actor="p", reason="placed elsewhere")
    return referral.id, accepted.id


def test_a_confirmed_placement_is_completed_by_a_discharge_to_that_kind_of_facility(
    session: Session, case: Case, now: datetime
) -> None:
    referral_id, accepted_id = _confirmed_snf_referral(session, case)
    assert session.get_one(Handoff, accepted_id).business_status == "placement confirmed"
    discharge.record_discharge(session, case.stay.id, discharged_at=now, disposition="snf", actor="p")
    assert session.get_one(Referral, referral_id).status == "completed"


def test_a_discharge_home_leaves_the_snf_referral_as_it_was(session: Session, case: Case, now: datetime) -> None:
    referral_id, _ = _confirmed_snf_referral(session, case)
    discharge.record_discharge(session, case.stay.id, discharged_at=now, disposition="home", actor="p")
    assert session.get_one(Referral, referral_id).status == "active"


def test_a_discharge_to_the_confirmed_snf_hands_over_to_its_intake(session: Session, case: Case, now: datetime) -> None:
    _confirmed_snf_referral(session, case)  # the second SNF was confirmed
    created = discharge.record_discharge(session, case.stay.id, discharged_at=now, disposition="snf", actor="p")
    by_kind = {h.kind: h for h in created}
    assert set(by_kind) == {"facility_admission", "post_discharge_check"}  # no 48-hour call, no PCP visit
    assert by_kind["facility_admission"].owner_org_id == case.snfs[1].id
    assert by_kind["facility_admission"].status == "requested"
    assert by_kind["post_discharge_check"].owner_org_id == case.hospital.id
    assert by_kind["post_discharge_check"].status == "ready"  # the hospital's own step: nobody accepts it


def test_home_health_start_of_care_belongs_to_the_agency(session: Session, case: Case, now: datetime) -> None:
    agency = parties.add_organization(session, name="Sunrise Home Health", kind="home_health", actor="t")
    referral = referrals.send_referral(
        session, patient_id=case.patient.id, stay_id=case.stay.id, service="home_health",
        recipient_org_ids=[agency.id], requester_org_id=case.hospital.id, actor="p",
    )  # fmt: skip
    handoffs.transition_handoff(session, referral.handoffs[0].id, "accepted", actor="a", acting_org_id=agency.id)
    referrals.confirm_placement(session, referral.id, referral.handoffs[0].id, actor="p", reason="only one")
    created = discharge.record_discharge(session, case.stay.id, discharged_at=now, disposition="home_health", actor="p")
    owners = {h.kind: h.owner_org_id for h in created}
    assert owners == {
        "followup_call_48h": case.hospital.id,
        "pcp_visit_7d": case.pcp.id,
        "home_health_start": agency.id,
    }
