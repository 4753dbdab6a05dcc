"""The three-way merge against a real partner server (issue #12): nothing either side wrote is erased."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.fhir_client import FhirClient
from service.models import CasePlan, Delivery, Handoff, Partner, PartnerLink, Referral
from service.sync import engine
from service.sync.connection import Connections
from service.sync.push import resolve_conflict
from service.usecases import handoffs, parties, plans
from tests.factories import Case
from tests.peers import PeerSite
from tests.service.web.conftest import WebCase, sign_in, web_case  # noqa: F401

pytestmark = pytest.mark.integration

EHR_ACTIVITY = {"detail": {"status": "scheduled", "description": "PT twice weekly"}}
EHR_NOTE = {"authorString": "Dr. Lee", "time": "2026-03-10T10:00:00Z", "text": "Family prefers home."}


def _plan_with_goal(session: Session, case: Case) -> CasePlan:
    plan = plans.create_case_plan(session, patient_id=case.patient.id, title="Home with support", actor="planner")
    plans.add_goal(session, plan.id, description="Walk 50 ft", actor="planner")
    return plan


def _theirs(session: Session, fhir: FhirClient, partner: Partner, plan_id: str) -> dict[str, Any]:
    link = session.scalars(
        select(PartnerLink).where(PartnerLink.partner_id == partner.id, PartnerLink.entity_id == plan_id)
    ).one()
    return fhir.read("CarePlan", link.remote_id)


def _ehr_edit(fhir: FhirClient, resource: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The EHR's own PUT with If-Match on the version it read."""
    updated = fhir.update({**resource, **changes}, if_match=f'W/"{resource["meta"]["versionId"]}"').resource
    assert updated is not None
    return updated


def test_after_a_merge_a_carebridge_only_edit_keeps_the_ehr_activity_and_note(
    session: Session,
    case: Case,
    ehr_site: PeerSite,
    register_partner: Callable[..., Partner],
    connections: Connections,
) -> None:
    partner = register_partner(ehr_site, "ehr-merge", case.hospital.id, push_types=["CarePlan", "Goal"])
    plan = _plan_with_goal(session, case)
    assert engine.push(session, partner, connections)["done:created"] == 2
    with connections.client(partner) as fhir:
        v2 = _ehr_edit(fhir, _theirs(session, fhir, partner, plan.id), activity=[EHR_ACTIVITY], note=[EHR_NOTE])

    plans.update_case_plan(session, plan.id, {"title": "Home with home health"}, actor="case manager")
    assert engine.push(session, partner, connections)["done:merged"] == 1
    plans.update_case_plan(session, plan.id, {"period_end": date(2026, 4, 30)}, actor="case manager")
    assert engine.push(session, partner, connections)["done:updated"] == 1

    with connections.client(partner) as fhir:
        v4 = _theirs(session, fhir, partner, plan.id)
    assert int(v4["meta"]["versionId"]) > int(v2["meta"]["versionId"])
    assert v4["title"] == "Home with home health"
    assert v4["period"]["end"] == "2026-04-30"
    assert EHR_ACTIVITY in v4["activity"]
    assert v4["note"] == [EHR_NOTE]
    session.refresh(plan)
    assert plan.notes == ["Family prefers home."]
    assert plan.source is not None and EHR_ACTIVITY in plan.source["activity"]  # type: ignore[operator]


def test_twenty_rounds_of_alternating_edits_end_equal_without_conflicts(
    session: Session,
    case: Case,
    ehr_site: PeerSite,
    register_partner: Callable[..., Partner],
    connections: Connections,
) -> None:
    partner = register_partner(
        ehr_site, "ehr-rounds", case.hospital.id, push_types=["CarePlan", "Goal"], pull_types=["CarePlan"]
    )
    plan = _plan_with_goal(session, case)
    engine.push(session, partner, connections)

    for round_ in range(20):
        with connections.client(partner) as fhir:
            theirs = _theirs(session, fhir, partner, plan.id)
            if round_ % 2 == 0:  # the EHR edits its notes: a new note each time, an old one dropped
                notes = [*theirs.get("note", [])[-1:], {"text": f"EHR note {round_}"}]
                _ehr_edit(fhir, theirs, note=notes)
            else:
                _ehr_edit(fhir, theirs, description=f"EHR description {round_}")
        title = f"carebridge title {round_}"
        plans.update_case_plan(session, plan.id, {"title": title}, actor="case manager")
        if round_ % 3 == 0:  # sometimes the pull sees the EHR's edit before the push does
            pulled = engine.pull(session, partner, connections).counts["CarePlan"]
            assert pulled["updated"] == 1, pulled  # carebridge's plan took the EHR's edit
            session.expire_all()  # the pull wrote through its own session
        engine.push(session, partner, connections)

    conflicts = session.scalars(select(Delivery).where(Delivery.state.in_(("conflict", "dead")))).all()
    assert conflicts == []
    with connections.client(partner) as fhir:
        theirs = _theirs(session, fhir, partner, plan.id)
    session.refresh(plan)
    assert theirs["title"] == plan.title == "carebridge title 19"
    assert theirs["description"] == plan.description == "EHR description 19"
    assert [n["text"] for n in theirs["note"]] == plan.notes == ["EHR note 16", "EHR note 18"]


def test_a_conflict_shows_base_ours_theirs_and_each_resolution_reaches_both_sides(
    session: Session,
    case: Case,
    ehr_site: PeerSite,
    register_partner: Callable[..., Partner],
    connections: Connections,
) -> None:
    partner = register_partner(ehr_site, "ehr-conflict", case.hospital.id, push_types=["CarePlan"])
    plan = plans.create_case_plan(
        session, patient_id=case.patient.id, title="Home", actor="planner", description="Discharge home"
    )
    engine.push(session, partner, connections)
    with connections.client(partner) as fhir:
        _ehr_edit(
            fhir, _theirs(session, fhir, partner, plan.id),
            title="EHR title", description="EHR description", note=[EHR_NOTE],
        )  # fmt: skip
    plans.update_case_plan(
        session, plan.id, {"title": "cb title", "description": "cb description", "period_end": date(2026, 5, 1)},
        actor="case manager",
    )  # fmt: skip

    assert engine.push(session, partner, connections)["conflict"] == 1
    row = session.scalars(select(Delivery).where(Delivery.state == "conflict")).one()
    assert row.base is not None and row.ours is not None and row.theirs is not None
    assert (row.base["title"], row.ours["title"], row.theirs["title"]) == ("Home", "cb title", "EHR title")
    assert (row.base["description"], row.ours["description"], row.theirs["description"]) == (
        "Discharge home", "cb description", "EHR description",
    )  # fmt: skip
    assert row.error == "both sides changed description, title"

    # One element at a time: theirs for the title, an edited value for the description.
    assert resolve_conflict(session, row.id, element="title", take="theirs").state == "conflict"
    resolved = resolve_conflict(session, row.id, element="description", value="Home with PT (agreed)")
    assert resolved.state == "pending"
    session.refresh(plan)
    assert (plan.title, plan.description) == ("EHR title", "Home with PT (agreed)")
    assert plan.period_end == date(2026, 5, 1) and plan.notes == ["Family prefers home."]

    assert engine.push(session, partner, connections)["done:updated"] == 1
    with connections.client(partner) as fhir:
        theirs = _theirs(session, fhir, partner, plan.id)
    assert (theirs["title"], theirs["description"]) == ("EHR title", "Home with PT (agreed)")
    assert theirs["period"]["end"] == "2026-05-01"  # carebridge's other change
    assert theirs["note"] == [EHR_NOTE]  # the partner's other change


def test_take_ours_keeps_the_partners_other_changes(
    session: Session,
    case: Case,
    ehr_site: PeerSite,
    register_partner: Callable[..., Partner],
    connections: Connections,
) -> None:
    partner = register_partner(ehr_site, "ehr-ours", case.hospital.id, push_types=["CarePlan"])
    plan = plans.create_case_plan(session, patient_id=case.patient.id, title="Home", actor="planner")
    engine.push(session, partner, connections)
    with connections.client(partner) as fhir:
        _ehr_edit(fhir, _theirs(session, fhir, partner, plan.id), title="EHR title", activity=[EHR_ACTIVITY])
    plans.update_case_plan(session, plan.id, {"title": "cb title"}, actor="case manager")
    engine.push(session, partner, connections)
    row = session.scalars(select(Delivery).where(Delivery.state == "conflict")).one()

    assert resolve_conflict(session, row.id, take="ours").state == "pending"
    engine.push(session, partner, connections)

    with connections.client(partner) as fhir:
        theirs = _theirs(session, fhir, partner, plan.id)
    assert theirs["title"] == "cb title"
    assert EHR_ACTIVITY in theirs["activity"]
    session.refresh(plan)
    assert plan.title == "cb title"


def test_an_ehr_care_plan_is_imported_shown_on_the_case_and_merged_both_ways(
    session: Session,
    case: Case,
    client: Any,
    web_case: WebCase,  # noqa: F811
    ehr_site: PeerSite,
    register_partner: Callable[..., Partner],
    connections: Connections,
) -> None:
    ehr_site.reset()  # only this test's resources on the shared site
    partner = register_partner(
        ehr_site, "ehr-owns-plans", case.hospital.id,
        pull_types=["Patient", "Goal", "CarePlan"], push_types=["CarePlan", "Goal"],
        trusted_identifier_systems=["urn:example:mrn"],
    )  # fmt: skip
    with connections.client(partner) as fhir:
        patient = fhir.create(
            {
                "resourceType": "Patient",
                "identifier": [{"system": "urn:example:mrn", "value": "MRN-1001"}],
                "name": [{"family": "Anders", "given": ["Agnes"]}],
                "gender": "female",
                "birthDate": "1944-02-01",
            }
        ).resource
        assert patient is not None
        subject = {"reference": f"Patient/{patient['id']}"}
        goal = fhir.create(
            {"resourceType": "Goal", "lifecycleStatus": "active", "description": {"text": "Manage insulin"},
             "subject": subject},
        ).resource  # fmt: skip
        assert goal is not None
        ehr_plan = fhir.create(
            {"resourceType": "CarePlan", "status": "active", "intent": "plan", "title": "Diabetes plan",
             "subject": subject, "goal": [{"reference": f"Goal/{goal['id']}"}], "activity": [EHR_ACTIVITY],
             "note": [EHR_NOTE]},
        ).resource  # fmt: skip
        assert ehr_plan is not None

    report = engine.pull(session, partner, connections)

    assert report.counts["CarePlan"] == {"created": 1} and report.counts["Goal"] == {"created": 1}
    session.expire_all()
    plan = session.scalars(select(CasePlan).where(CasePlan.origin_partner_id == partner.id)).one()
    assert (plan.patient_id, plan.stay_id, plan.title) == (case.patient.id, case.stay.id, "Diabetes plan")
    assert [g.description for g in plan.goals] == ["Manage insulin"]
    assert plan.notes == ["Family prefers home."]
    sign_in(client, web_case.planner.username)
    page = client.get(f"/app/stays/{case.stay.id}").text
    assert "From the EHR: ehr-owns-plans" in page and "Diabetes plan" in page
    assert "<li>PT twice weekly (scheduled)</li>" in page and "Family prefers home." in page
    # Imported from the partner: nothing goes back to it as new.
    pushed = engine.push(session, partner, connections)
    assert pushed["done:created"] == 0, pushed

    plans.update_case_plan(session, plan.id, {"description": "Check glucose daily"}, actor="case manager")
    assert engine.push(session, partner, connections)["done:updated"] == 1
    with connections.client(partner) as fhir:
        theirs = fhir.read("CarePlan", ehr_plan["id"])
        assert theirs["description"] == "Check glucose daily"
        assert theirs["activity"] == [EHR_ACTIVITY] and theirs["note"] == [EHR_NOTE]
        assert theirs["goal"] == [{"reference": f"Goal/{goal['id']}"}]
        _ehr_edit(fhir, theirs, status="on-hold")
    assert engine.pull(session, partner, connections).counts["CarePlan"] == {"updated": 1}
    session.expire_all()
    assert (plan.status, plan.description) == ("on-hold", "Check glucose daily")
    with connections.client(partner) as fhir:
        assert _count(fhir, "CarePlan") == 1 and _count(fhir, "Goal") == 1


def _count(fhir: FhirClient, resource_type: str) -> int:
    return sum(1 for _ in fhir.search(resource_type, {}))


def test_a_task_merges_the_partners_note_and_business_status_and_keeps_them(
    session: Session,
    case: Case,
    ehr_site: PeerSite,
    register_partner: Callable[..., Partner],
    connections: Connections,
) -> None:
    snf = case.snfs[0]
    partner = register_partner(ehr_site, "snf-task-merge", snf.id, push_types=["Task"], pull_types=["Task"])
    handoff = handoffs.create_handoff(
        session, actor="planner", patient_id=case.patient.id, kind="transport", owner_org_id=snf.id,
        requester_org_id=case.hospital.id,
    )  # fmt: skip
    assert engine.push(session, partner, connections)["done:created"] == 1
    link = session.scalars(select(PartnerLink).where(PartnerLink.entity_id == handoff.id)).one()
    with connections.client(partner) as fhir:
        task = fhir.read("Task", link.remote_id)
        _ehr_edit(fhir, task, note=[EHR_NOTE], businessStatus={"text": "van booked"})

    handoffs.add_note(session, handoff.id, "Needs oxygen on the way", actor="planner")
    assert engine.push(session, partner, connections)["done:merged"] == 1
    handoffs.add_note(session, handoff.id, "Pick-up at 10:00", actor="planner")
    assert engine.push(session, partner, connections)["done:updated"] == 1

    with connections.client(partner) as fhir:
        task = fhir.read("Task", link.remote_id)
    assert task["businessStatus"] == {"text": "van booked"}
    assert task["note"] == [EHR_NOTE, {"text": "Needs oxygen on the way"}, {"text": "Pick-up at 10:00"}]
    session.refresh(handoff)
    assert handoff.business_status == "van booked"
    assert [(n["author"], n["text"]) for n in handoff.notes] == [
        ("Dr. Lee", "Family prefers home."), ("planner", "Needs oxygen on the way"), ("planner", "Pick-up at 10:00"),
    ]  # fmt: skip


NPI = "http://hl7.org/fhir/sid/us-npi"


def test_an_ehr_service_request_and_its_tasks_are_imported_linked_and_merged_both_ways(
    session: Session,
    case: Case,
    client: Any,
    web_case: WebCase,  # noqa: F811
    ehr_site: PeerSite,
    register_partner: Callable[..., Partner],
    connections: Connections,
) -> None:
    ehr_site.reset()  # only this test's resources on the shared site
    clinic = parties.add_organization(
        session, name="Riverside Wound Clinic", kind="primary_care", actor="test",
        identifiers=[{"system": NPI, "value": "1234567893"}],
    )  # fmt: skip
    partner = register_partner(
        ehr_site, "ehr-owns-referrals", case.hospital.id,
        pull_types=["Patient", "Task", "ServiceRequest"], push_types=["ServiceRequest", "Task"],
        trusted_identifier_systems=["urn:example:mrn"],
    )  # fmt: skip
    known_owner = {"identifier": {"system": NPI, "value": "1234567893"}, "display": "Riverside (EHR name)"}
    unknown_owner = {"display": "Sunrise Home Care"}
    with connections.client(partner) as fhir:
        patient = fhir.create(
            {"resourceType": "Patient", "identifier": [{"system": "urn:example:mrn", "value": "MRN-1001"}],
             "name": [{"family": "Anders", "given": ["Agnes"]}], "gender": "female", "birthDate": "1944-02-01"},
        ).resource  # fmt: skip
        assert patient is not None
        subject = {"reference": f"Patient/{patient['id']}"}
        request = fhir.create(
            {"resourceType": "ServiceRequest", "status": "active", "intent": "order", "priority": "urgent",
             "code": {"text": "Wound care follow-up"}, "subject": subject,
             "performer": [known_owner, unknown_owner], "note": [EHR_NOTE]},
        ).resource  # fmt: skip
        assert request is not None
        focus = {"reference": f"ServiceRequest/{request['id']}"}
        tasks = [
            fhir.create(
                {"resourceType": "Task", "status": "requested", "intent": "order", "focus": focus, "for": subject,
                 "owner": owner, "description": description},
            ).resource
            for owner, description in ((known_owner, "Clinic visit"), (unknown_owner, "Home visits"))
        ]  # fmt: skip
        assert tasks[0] is not None and tasks[1] is not None

    # Tasks first: the first one naming the new ServiceRequest imports it on the way.
    assert engine.pull(session, partner, connections, types=["Patient", "Task"]).counts["Task"] == {"created": 2}
    assert engine.pull(session, partner, connections).counts["ServiceRequest"] == {"unchanged": 1}
    session.expire_all()
    referral = session.scalars(select(Referral).where(Referral.origin_partner_id == partner.id)).one()
    assert (referral.patient_id, referral.stay_id, referral.service, referral.priority) == (
        case.patient.id, case.stay.id, "other", "urgent",
    )  # fmt: skip
    assert referral.requester_ref == f"Organization/{case.hospital.id}"
    to_clinic, to_home = sorted(referral.handoffs, key=lambda h: h.description or "")
    assert (to_clinic.description, to_clinic.owner_org_id, to_clinic.status) == ("Clinic visit", clinic.id, "requested")
    # An owner carebridge does not know: the EHR's organisation holds it, the EHR's text names it.
    assert (to_home.description, to_home.owner_org_id, to_home.origin_partner_id) == (
        "Home visits", case.hospital.id, partner.id,
    )  # fmt: skip
    sign_in(client, web_case.planner.username)
    page = client.get(f"/app/stays/{case.stay.id}").text
    assert "From the EHR" in page and "Riverside Wound Clinic" in page and "Sunrise Home Care" in page
    # Imported from the partner: nothing goes back to it as new.
    assert engine.push(session, partner, connections)["done:created"] == 0

    handoffs.add_note(session, to_clinic.id, "Bring dressing supplies", actor="planner")
    assert engine.push(session, partner, connections)["done:updated"] == 1
    with connections.client(partner) as fhir:
        theirs = fhir.read("Task", tasks[0]["id"])
        assert theirs["owner"]["identifier"] == known_owner["identifier"]
        assert theirs["focus"] == focus and theirs["for"] == subject
        assert theirs["note"] == [{"text": "Bring dressing supplies"}]
        home = fhir.read("Task", tasks[1]["id"])
        assert home["owner"] == unknown_owner
        _ehr_edit(fhir, home, businessStatus={"text": "first visit booked"})
    assert engine.pull(session, partner, connections).counts["Task"] == {"updated": 1, "unchanged": 1}
    session.expire_all()
    assert session.get_one(Handoff, to_home.id).business_status == "first visit booked"
    assert engine.push(session, partner, connections)["done:created"] == 0
    with connections.client(partner) as fhir:
        assert _count(fhir, "Task") == 2 and _count(fhir, "ServiceRequest") == 1
        request_now = fhir.read("ServiceRequest", request["id"])
        assert request_now["performer"] == [known_owner, unknown_owner] and request_now["note"] == [EHR_NOTE]
