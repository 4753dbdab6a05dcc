"""The sync engine against real partner servers (../shared/peers): pull, push, acceptance, conflict, read-only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connectors.fhir_client import FhirClient
from service.models import ChangeEvent, Delivery, Handoff, Partner, Patient, Stay, SyncError
from service.sync import engine
from service.sync.capability import PARTNER_READS
from service.sync.connection import Connections
from service.sync.resource_types import identifier_token
from service.sync.status import partner_status
from service.usecases import documents, handoffs, plans, referrals
from tests.factories import Case
from tests.peers import PeerSite

pytestmark = pytest.mark.integration

READ_ONLY = "CarePlan,Goal,ServiceRequest,Task"
CASE_TYPES = ("CarePlan", "Goal", "ServiceRequest", "Task")


def _patient(mrn: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:example:ehr-mrn", "value": mrn}],
        "name": [{"family": "Brown", "given": ["Bert"]}],
        "gender": "male",
        "birthDate": "1959-04-02",
    }


def _encounter(
    patient_id: str, *, start: str, end: str | None = None, disposition: str | None = None
) -> dict[str, Any]:
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "status": "finished" if end else "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "period": {"start": start, **({"end": end} if end else {})},
        "location": [
            {
                "location": {"display": "5 East"},
                "physicalType": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "wa"}]
                },
            }
        ],
    }
    if disposition:
        encounter["hospitalization"] = {
            "dischargeDisposition": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": disposition}
                ]
            }
        }
    return encounter


def _events(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ChangeEvent)) or 0)


def _send_case(session: Session, case: Case) -> str:
    """A plan with a goal and a three-facility SNF referral sent with an H&P (partners get its
    supportingInfo as a logical reference: they read the document from carebridge); the referral id."""
    plan = plans.create_case_plan(session, patient_id=case.patient.id, title="Safe discharge to SNF", actor="planner")
    plans.add_goal(session, plan.id, description="Walk 50 ft with a walker", actor="planner")
    referral = referrals.send_referral(
        session,
        patient_id=case.patient.id,
        service="snf_placement",
        recipient_org_ids=[snf.id for snf in case.snfs],
        requester_org_id=case.hospital.id,
        case_plan_id=plan.id,
        stay_id=case.stay.id,
        actor="planner",
    )
    new = documents.NewDocument("34117-2", b"History and physical\n", "text/plain", "H&P")
    documents.add_document(session, referral.id, new, max_bytes=1024, actor="planner", author_org_id=case.hospital.id)
    return referral.id


def _count(fhir: FhirClient, resource_type: str, token: str) -> int:
    return sum(1 for _ in fhir.search(resource_type, {"identifier": token}))


def test_pull_patients_encounters_and_tasks_is_idempotent(
    session: Session,
    case: Case,
    ehr_site: PeerSite,
    register_partner: Callable[..., Partner],
    connections: Connections,
    now: datetime,
) -> None:
    ehr_site.reset()
    partner = register_partner(ehr_site, "general-ehr", case.hospital.id, pull_types=["Patient", "Encounter", "Task"])
    with connections.client(partner) as fhir:
        admitted = fhir.create(_patient("E-1")).resource
        discharged = fhir.create(_patient("E-2")).resource
        assert admitted and discharged
        start = (now - timedelta(days=2)).isoformat()
        fhir.create(_encounter(admitted["id"], start=start))
        fhir.create(_encounter(discharged["id"], start=start, end=now.isoformat(), disposition="home"))

    report = engine.pull(session, partner, connections)

    assert report.counts["Patient"]["created"] == 2
    assert report.counts["Encounter"]["created"] == 2
    stays = list(session.scalars(select(Stay).where(Stay.source_system == partner.fhir_base)))
    assert sorted(s.status for s in stays) == ["finished", "in-progress"]
    finished = next(s for s in stays if s.status == "finished")
    assert finished.discharge_disposition == "home"
    follow_ups = session.scalars(select(Handoff).where(Handoff.stay_id == finished.id)).all()
    assert {h.kind for h in follow_ups} == {"followup_call_48h", "pcp_visit_7d"}
    events = _events(session)

    again = engine.pull(session, partner, connections, since=start[:10])

    assert again.counts["Patient"] == {"unchanged": 2}
    assert again.counts["Encounter"] == {"unchanged": 2}
    assert _events(session) == events  # no new versions, no new events
    assert session.scalar(select(func.count()).select_from(Patient)) == 3  # the case's patient + 2 pulled


def test_full_case_is_pushed_to_both_sites_exactly_once(
    session: Session,
    case: Case,
    ehr_site: PeerSite,
    payer_site: PeerSite,
    register_partner: Callable[..., Partner],
    connections: Connections,
) -> None:
    partners = [
        register_partner(ehr_site, "ehr", case.hospital.id),
        register_partner(payer_site, "payer", case.payer.id, kind="payer"),
    ]
    referral_id = _send_case(session, case)

    for partner in partners:
        tally = engine.push(session, partner, connections)
        assert tally["done:created"] == 6, tally  # plan, goal, service request, three tasks
        again = engine.push(session, partner, connections)
        assert not again  # nothing left to send

    tasks = session.scalars(select(Handoff).where(Handoff.referral_id == referral_id)).all()
    for partner in partners:
        with connections.client(partner) as fhir:
            assert _count(fhir, "ServiceRequest", identifier_token("ServiceRequest", referral_id)) == 1
            for task in tasks:
                assert _count(fhir, "Task", identifier_token("Task", task.id)) == 1
        rows = session.scalars(select(Delivery).where(Delivery.partner_id == partner.id)).all()
        assert {row.state for row in rows} == {"done"}


def test_partner_side_task_acceptance_flows_back(
    session: Session,
    case: Case,
    ehr_site: PeerSite,
    register_partner: Callable[..., Partner],
    connections: Connections,
) -> None:
    snf = case.snfs[2]
    partner = register_partner(ehr_site, "oak-snf-3", snf.id, pull_types=["Task"], push_types=["Task"])
    referral_id = _send_case(session, case)
    transport = handoffs.create_handoff(
        session, actor="planner", patient_id=case.patient.id, kind="transport", owner_org_id=snf.id,
        requester_org_id=case.hospital.id,
    )  # fmt: skip
    engine.push(session, partner, connections)
    by_owner = {h.owner_org_id: h for h in session.scalars(select(Handoff).where(Handoff.referral_id == referral_id))}
    mine, other = by_owner[snf.id], transport

    with connections.client(partner) as fhir:
        # The facility's system gets only the Tasks addressed to it, not the other facilities'.
        assert _count(fhir, "Task", identifier_token("Task", by_owner[case.snfs[0].id].id)) == 0
        for handoff, status in ((mine, "accepted"), (other, "completed")):
            task = next(fhir.search("Task", {"identifier": identifier_token("Task", handoff.id)}))
            task["status"] = status
            task["businessStatus"] = {"text": "bed offered"}
            fhir.update(task)

    report = engine.pull(session, partner, connections)

    session.refresh(mine)
    assert mine.status == "accepted" and mine.business_status == "bed offered"
    assert mine.events[-1].actor == "partner:oak-snf-3"
    session.refresh(other)
    assert other.status == "requested"  # requested -> completed is refused by the state machine
    errors = session.scalars(select(SyncError).where(SyncError.partner_id == partner.id)).all()
    assert len(errors) == 1 and "cannot move to 'completed'" in errors[0].message
    assert report.counts["Task"]["error"] == 1
    # The acceptance came from the partner: nothing to echo back to it.
    assert engine.push(session, partner, connections)["done:updated"] == 0


def test_conflicting_edit_is_reported_and_disjoint_edits_merge(
    session: Session,
    case: Case,
    ehr_site: PeerSite,
    register_partner: Callable[..., Partner],
    connections: Connections,
) -> None:
    partner = register_partner(ehr_site, "ehr-edits", case.hospital.id, push_types=["CarePlan"])
    plan = plans.create_case_plan(session, patient_id=case.patient.id, title="Home with support", actor="planner")
    engine.push(session, partner, connections)
    with connections.client(partner) as fhir:
        theirs = next(fhir.search("CarePlan", {"identifier": identifier_token("CarePlan", plan.id)}))
        theirs["description"] = "EHR: add PT twice weekly"
        fhir.update(theirs)

    plans.update_case_plan(session, plan.id, {"title": "Home with home health"}, actor="planner")
    merged = engine.push(session, partner, connections)
    assert merged["done:merged"] == 1

    with connections.client(partner) as fhir:
        now_theirs = fhir.read("CarePlan", theirs["id"])
        assert now_theirs["title"] == "Home with home health"
        assert now_theirs["description"] == "EHR: add PT twice weekly"
        now_theirs["title"] = "EHR title"
        fhir.update(now_theirs)
    plans.update_case_plan(session, plan.id, {"title": "carebridge title"}, actor="planner")

    tally = engine.push(session, partner, connections)

    assert tally["conflict"] == 1
    row = session.scalars(select(Delivery).where(Delivery.state == "conflict")).one()
    assert row.ours is not None and row.ours["title"] == "carebridge title"
    assert row.theirs is not None and row.theirs["title"] == "EHR title"
    assert "title" in (row.error or "")


def test_read_only_partner_reads_from_carebridge(
    session: Session,
    case: Case,
    peer_sites: Callable[..., PeerSite],
    register_partner: Callable[..., Partner],
    connections: Connections,
) -> None:
    site = peer_sites("sync-readonly", args=["--", "--read-only-types", READ_ONLY])
    partner = register_partner(site, "epic-like", case.hospital.id)
    _send_case(session, case)

    tally = engine.push(session, partner, connections)

    assert tally == {f"done:{PARTNER_READS}": 6}
    status = partner_status(session, partner)
    modes = {t.resource_type: t.push for t in status.types}
    assert all(modes[rtype] == PARTNER_READS for rtype in CASE_TYPES)
    assert status.types[-1].deliveries[PARTNER_READS] == 3
