"""An EHR's own ServiceRequest and Tasks become a referral and its handoffs (issue #12, build item 3)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.fhir_bridge import render
from service.models import Goal, Handoff, PartnerLink, Referral
from service.sync.incoming import Incoming, apply
from service.usecases import parties
from service.usecases.partners import add_partner
from tests.factories import Case

BASE = "http://127.0.0.1:9/fhir/R4"
NPI = "http://hl7.org/fhir/sid/us-npi"
KNOWN = {"identifier": {"system": NPI, "value": "1234567893"}, "display": "Riverside"}
UNKNOWN = {"reference": "Organization/o-77", "display": "Sunrise Home Care"}


def _ehr(session: Session, case: Case, resources: dict[tuple[str, str], dict[str, Any]]) -> Incoming:
    partner = add_partner(
        session, name="ehr", kind="ehr", organization_id=case.hospital.id, fhir_base=BASE, client_id="cb",
        key_kid="k1", scopes="system/*.rs", pull_types=["Patient", "ServiceRequest", "Task"], push_types=[],
        trusted_identifier_systems=["urn:example:mrn"],
    )  # fmt: skip
    return Incoming(partner, lambda kind, remote_id: resources[kind, remote_id])


def _patient() -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "p1", "meta": {"versionId": "1"},
            "identifier": [{"system": "urn:example:mrn", "value": "MRN-1001"}],
            "name": [{"family": "Anders", "given": ["Agnes"]}], "gender": "female",
            "birthDate": "1944-02-01"}  # fmt: skip


# A coded reason (ICD-10-CM) is a diagnosis, kept as the EHR sent it.
ULCER = {
    "system": "http://hl7.org/fhir/sid/icd-10-cm",
    "code": "L89.154",
    "display": "Pressure ulcer of sacral region, stage 4",
}
WOUND = {"coding": [ULCER], "text": "Sacral pressure ulcer"}


def _request() -> dict[str, Any]:
    return {"resourceType": "ServiceRequest", "id": "sr1", "meta": {"versionId": "1"}, "status": "active",
            "intent": "order", "code": {"text": "Wound care"}, "subject": {"reference": "Patient/p1"},
            "performer": [KNOWN, UNKNOWN], "reasonCode": [WOUND]}  # fmt: skip


def _task(task_id: str, owner: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"resourceType": "Task", "id": task_id, "meta": {"versionId": "1"}, "status": "requested",
            "intent": "order", "for": {"reference": "Patient/p1"}, "owner": owner, **more}  # fmt: skip


def test_a_task_on_a_new_service_request_imports_both_and_maps_owners_by_identifier(
    session: Session, case: Case
) -> None:
    clinic = parties.add_organization(
        session, name="Riverside Wound Clinic", kind="primary_care", actor="test",
        identifiers=[{"system": NPI, "value": "1234567893"}],
    )  # fmt: skip
    ctx = _ehr(session, case, {("Patient", "p1"): _patient(), ("ServiceRequest", "sr1"): _request()})
    focus = {"reference": "ServiceRequest/sr1"}

    assert apply(session, ctx, _task("t1", KNOWN, focus=focus)) == "created"
    assert apply(session, ctx, _task("t2", UNKNOWN, focus=focus)) == "created"
    assert apply(session, ctx, _task("t3", UNKNOWN)) == "ignored"  # no focus: not work on a referral
    assert apply(session, ctx, _request()) == "unchanged"  # imported on the way, same version

    referral = session.query(Referral).one()
    assert (referral.origin_partner_id, referral.patient_id) == (ctx.partner.id, case.patient.id)
    assert referral.service == "other"  # "Wound care" has no carebridge code
    assert (referral.reason, referral.diagnoses) == (None, [ULCER | {"text": "Sacral pressure ulcer"}])
    by_task = {link.remote_id: session.get_one(Handoff, link.entity_id)
               for link in session.query(PartnerLink).filter(PartnerLink.resource_type == "Task")}  # fmt: skip
    assert sorted(by_task) == ["t1", "t2"]
    assert by_task["t1"].owner_org_id == clinic.id and by_task["t1"].referral_id == referral.id
    assert by_task["t2"].owner_org_id == case.hospital.id  # the EHR holds it: its owner is unknown here

    # The FHIR API (and so the push) names the mapped owner as carebridge's and keeps the other as sent.
    known, unknown = render(session, "Task", [by_task["t1"], by_task["t2"]], None)
    assert known["owner"] == {**KNOWN, "reference": f"Organization/{clinic.id}"}
    assert unknown["owner"] == {"reference": f"{BASE}/Organization/o-77", "display": "Sunrise Home Care"}
    [request] = render(session, "ServiceRequest", [referral], None)
    assert request["reasonCode"] == [WOUND]
    assert request["performer"] == [
        {**KNOWN, "reference": f"Organization/{clinic.id}"},
        {"reference": f"{BASE}/Organization/o-77", "display": "Sunrise Home Care"},
    ]


def test_a_service_request_keeps_the_goal_it_pertains_to_when_carebridge_holds_that_goal(
    session: Session, case: Case
) -> None:
    goal = {"resourceType": "Goal", "id": "g1", "meta": {"versionId": "1"}, "lifecycleStatus": "active",
            "description": {"text": "Has enough food at home"}, "subject": {"reference": "Patient/p1"}}  # fmt: skip
    pertains = "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal"
    served = {**_request(), "extension": [{"url": pertains, "valueReference": {"reference": "Goal/g1"}}]}
    unknown = {**_request(), "id": "sr2",
               "extension": [{"url": pertains, "valueReference": {"reference": "Goal/not-pulled"}}]}  # fmt: skip
    ctx = _ehr(session, case, {("Patient", "p1"): _patient()})

    assert apply(session, ctx, goal) == "created"
    assert apply(session, ctx, served) == "created"
    assert apply(session, ctx, unknown) == "created"

    ours = session.query(Goal).one()
    links = session.query(PartnerLink).filter(PartnerLink.resource_type == "ServiceRequest")
    by_remote = {link.remote_id: session.get_one(Referral, link.entity_id) for link in links}
    assert by_remote["sr1"].goal_id == ours.id
    assert by_remote["sr2"].goal_id is None  # a goal only the EHR has: kept as it sent it
    rendered_served, rendered_unknown = render(session, "ServiceRequest", [by_remote["sr1"], by_remote["sr2"]], None)
    assert rendered_served["extension"] == [{"url": pertains, "valueReference": {"reference": f"Goal/{ours.id}"}}]
    assert rendered_unknown["extension"] == [
        {"url": pertains, "valueReference": {"reference": f"{BASE}/Goal/not-pulled"}}
    ]
