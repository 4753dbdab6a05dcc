"""The REST API end to end through Flask: thin views, the use cases' rules, one error envelope."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from openapi_spec_validator import validate as validate_openapi
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import clock
from service.models import Handoff, Referral
from service.usecases import plans
from tests.factories import Case, case_goal, snf_referral_fields


def _referral(client: Any, case: Case, headers: dict[str, str], **kw: Any) -> Any:
    return client.post("/api/referrals", json=snf_referral_fields(case, **kw), headers=headers)


def test_openapi_document_is_valid_openapi_3(client: Any) -> None:
    spec = client.get("/openapi.json").json
    validate_openapi(spec)
    assert "/api/worklist" in spec["paths"] and spec["openapi"].startswith("3.")
    assert client.get("/docs").status_code == 200
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_referral_to_three_facilities_then_accept_and_confirm(
    client: Any, case: Case, hospital: dict[str, str], as_org: Any
) -> None:
    r = _referral(client, case, hospital)
    assert r.status_code == 201
    referral = r.json
    assert len(referral["handoffs"]) == 3 and referral["requester_ref"] == f"Organization/{case.hospital.id}"
    by_owner = {h["owner_org_id"]: h for h in referral["handoffs"]}
    snf3 = by_owner[case.snfs[2].id]
    accepted = client.post(
        f"/api/handoffs/{snf3['id']}/transition",
        json={"status": "accepted", "business_status": "bed offered"},
        headers=as_org(case.snfs[2].id, "system/Task.rus", **{"If-Match": f'"{snf3["version"]}"'}),
    )
    assert accepted.status_code == 200 and accepted.json["business_status"] == "bed offered"
    assert accepted.json["events"][-1]["actor"].startswith("client:")  # the principal, not a header
    confirm = client.post(
        f"/api/referrals/{referral['id']}/confirm-placement",
        json={"handoff_id": snf3["id"], "reason": "placed at Oak SNF 3"},
        headers=hospital,
    )
    assert confirm.status_code == 200 and {h["status"] for h in confirm.json} == {"cancelled"}
    assert len(confirm.json) == 2


def test_illegal_transition_is_409_and_names_the_allowed_states(client: Any, case: Case, as_org: Any) -> None:
    handoff = _referral(client, case, as_org(case.hospital.id)).json["handoffs"][0]
    snf = as_org(handoff["owner_org_id"])
    r = client.post(f"/api/handoffs/{handoff['id']}/transition", json={"status": "completed"}, headers=snf)
    assert r.status_code == 409
    assert r.json["errors"]["allowed"] == ["accepted", "cancelled", "received", "rejected"]
    assert "Allowed next states: accepted, cancelled, received, rejected" in r.json["message"]


def test_stale_if_match_is_409(client: Any, case: Case, hospital: dict[str, str]) -> None:
    handoff = _referral(client, case, hospital).json["handoffs"][0]
    r = client.post(
        f"/api/handoffs/{handoff['id']}/transition",
        json={"status": "cancelled"},
        headers={**hospital, "If-Match": 'W/"99"'},
    )
    assert r.status_code == 409 and r.json["status"] == "Conflict"


@pytest.mark.parametrize(
    "body",
    [
        {"service": "spa_day"},
        {"recipient_org_ids": []},
        {"priority": "whenever"},
        {"wanted_by": "next tuesday"},
        {"answer_due_at": "2026-03-11T09:00:00"},  # naive time: refused, carebridge stores instants only
        {"unexpected": "field"},
    ],
)
def test_bad_referral_is_422_and_writes_nothing(
    client: Any, case: Case, session: Session, body: dict, hospital: dict[str, str]
) -> None:
    r = _referral(client, case, hospital, **body)
    assert r.status_code == 422 and r.json["code"] == 422 and r.json["errors"]
    assert session.scalar(select(func.count()).select_from(Referral)) == 0
    assert session.scalar(select(func.count()).select_from(Handoff)) == 0


def test_unknown_recipient_is_404_and_writes_nothing(
    client: Any, case: Case, session: Session, hospital: dict[str, str]
) -> None:
    r = _referral(client, case, hospital, recipient_org_ids=[case.snfs[0].id, "no-such-org"])
    assert r.status_code == 404 and "no-such-org" in r.json["message"]
    assert session.scalar(select(func.count()).select_from(Referral)) == 0


def test_malformed_json_is_400_not_500(client: Any, hospital: dict[str, str]) -> None:
    r = client.post("/api/referrals", data="{bad", content_type="application/json", headers=hospital)
    assert r.status_code == 400 and r.json["code"] == 400


def test_stay_plan_goal_barrier_readiness_and_discharge(
    client: Any, case: Case, now: datetime, hospital: dict[str, str]
) -> None:
    client.environ_base["HTTP_AUTHORIZATION"] = hospital["Authorization"]
    stay_id = case.stay.id
    r = client.patch(f"/api/stays/{stay_id}", json={"expected_discharge_date": "2026-03-13"})
    assert r.status_code == 200 and r.json["expected_discharge_date"] == "2026-03-13"
    assert client.patch(f"/api/stays/{stay_id}", json={"expected_discharge_date": "2020-01-01"}).status_code == 422

    plan = client.post("/api/plans", json={"patient_id": case.patient.id, "stay_id": stay_id, "title": "Hip"}).json
    goal = client.post(
        f"/api/plans/{plan['id']}/goals",
        json={"description": "Walk 50 ft with a walker before discharge", "target_due_date": "2026-03-13"},
    )
    assert goal.status_code == 201
    assert client.get(f"/api/plans/{plan['id']}").json["goals"][0]["description"].startswith("Walk 50 ft")
    patched = client.patch(
        f"/api/plans/goals/{goal.json['id']}", json={"achievement_status": "improving"}, headers={"If-Match": '"1"'}
    )
    assert patched.status_code == 200 and patched.json["version"] == 2

    barrier = client.post(f"/api/stays/{stay_id}/barriers", json={"category": "post_acute_bed", "note": "needs bed"})
    assert barrier.status_code == 201
    resolved = client.post(f"/api/stays/barriers/{barrier.json['id']}/resolve", json={})
    assert resolved.status_code == 200 and resolved.json["resolved_at"]
    assert client.post(f"/api/stays/barriers/{barrier.json['id']}/resolve", json={}).status_code == 409

    ready = client.put(f"/api/stays/{stay_id}/readiness/transport", json={"met": True})
    assert ready.status_code == 200 and ready.json["met"] is True
    assert client.put(f"/api/stays/{stay_id}/readiness/vibes", json={"met": True}).status_code == 422

    ahead = (now + timedelta(days=1)).isoformat()
    refused = client.post(f"/api/stays/{stay_id}/discharge", json={"discharged_at": ahead, "disposition": "home"})
    assert refused.status_code == 422 and "discharged_at" in refused.json["errors"]["fields"]
    at = (now - timedelta(hours=1)).isoformat()
    followups = client.post(f"/api/stays/{stay_id}/discharge", json={"discharged_at": at, "disposition": "home"})
    assert followups.status_code == 201
    assert {h["kind"] for h in followups.json} == {"followup_call_48h", "pcp_visit_7d"}
    assert client.get(f"/api/stays/{stay_id}").json["status"] == "finished"


def test_worklist_and_owner_queue(client: Any, case: Case, hospital: dict[str, str], as_org: Any) -> None:
    _referral(client, case, hospital)
    client.environ_base["HTTP_AUTHORIZATION"] = hospital["Authorization"]
    page = client.get("/api/worklist?tz=America/New_York").json
    (row,) = page["items"]
    assert row["patient"]["display_name"] == "Anders, Agnes" and row["open_handoffs"] == 3
    assert page["time_zone"] == "America/New_York" and page["next_cursor"] is None
    assert client.get("/api/worklist?tz=Mars/Base").status_code == 422
    assert client.get("/api/worklist?limit=0").status_code == 422
    assert client.get("/api/worklist?cursor=***").status_code == 422
    snf = as_org(case.snfs[0].id, "system/Task.rs")
    queue = client.get(f"/api/handoffs/queue/{case.snfs[0].id}", headers=snf).json
    assert [h["kind"] for h in queue] == ["referral_decision"] and queue[0]["overdue"] is False
    assert client.get(f"/api/handoffs/queue/{case.snfs[1].id}", headers=snf).status_code == 403
    assert client.get("/api/handoffs/queue/nobody", headers=as_org(None, "system/Task.rs")).status_code == 404


def test_patients_and_organizations(client: Any, as_org: Any) -> None:
    client.environ_base["HTTP_AUTHORIZATION"] = as_org(None)["Authorization"]  # carebridge-operated: no tenant
    org = client.post("/api/organizations", json={"name": "Payer", "kind": "payer"})
    assert org.status_code == 201
    assert client.post("/api/organizations", json={"name": "X", "kind": "spaceport"}).status_code == 422
    body = {
        "family_name": "Baker",
        "given_name": "Bernard",
        "payer_id": org.json["id"],
        "identifiers": [{"kind": "mrn", "system": "urn:mrn", "value": "42"}],
    }
    assert client.post("/api/patients", json=body).status_code == 201
    dup = client.post("/api/patients", json=body)
    assert dup.status_code == 409 and "already belongs" in dup.json["message"]
    assert [p["family_name"] for p in client.get("/api/patients").json] == ["Baker"]


def test_a_referral_names_the_goal_it_serves(
    client: Any, session: Session, case: Case, hospital: dict[str, str]
) -> None:
    plan = plans.create_case_plan(session, patient_id=case.patient.id, stay_id=case.stay.id, title="p", actor="t")
    goal = plans.add_goal(session, plan.id, description="Has enough food at home", actor="t")
    r = _referral(
        client, case, hospital, service="food_assistance", recipient_org_ids=[case.snfs[0].id], goal_id=goal.id
    )
    assert r.status_code == 201 and r.json["goal_id"] == goal.id
    assert client.get(f"/api/referrals/{r.json['id']}", headers=hospital).json["goal_id"] == goal.id


def test_a_recipient_completes_with_an_outcome_and_an_unanswered_referral_is_closed(
    client: Any, session: Session, case: Case, hospital: dict[str, str], as_org: Any, now: datetime
) -> None:
    goal = case_goal(session, case, "Has enough food at home")
    sent = _referral(client, case, hospital, service="food_assistance", recipient_org_ids=[case.snfs[0].id],
                     goal_id=goal.id).json  # fmt: skip
    (task,) = sent["handoffs"]
    owner = as_org(case.snfs[0].id, "system/Task.rus")
    accepted = client.post(f"/api/handoffs/{task['id']}/transition", json={"status": "accepted"}, headers=owner)
    assert accepted.status_code == 200
    done = client.post(
        f"/api/handoffs/{task['id']}/transition", json={"status": "completed", "outcome": "Enrolled"}, headers=owner
    )
    assert done.status_code == 200 and done.json["outcome"] == "Enrolled"
    closed = client.get(f"/api/referrals/{sent['id']}", headers=hospital).json
    assert (closed["status"], closed["loop"]) == ("completed", "closed")

    late = _referral(client, case, hospital, service="transport", recipient_org_ids=[case.snfs[1].id],
                     answer_due_at=(now + timedelta(hours=1)).isoformat()).json  # fmt: skip
    assert late["loop"] == "open"
    clock.set_clock(lambda: now + timedelta(hours=2))  # an hour past the answer's due time (`now` resets it)
    hospital = as_org(case.hospital.id)  # a token of the new time
    assert client.get(f"/api/referrals/{late['id']}", headers=hospital).json["loop"] == "no response"
    r = client.post(f"/api/referrals/{late['id']}/close", json={"reason": "No answer"}, headers=hospital)
    assert r.status_code == 200 and (r.json["status"], r.json["loop"]) == ("revoked", "unmet")
    assert r.json["handoffs"][0]["status_reason"] == "No answer"
    again = client.post(f"/api/referrals/{late['id']}/close", json={"reason": "No answer"}, headers=hospital)
    assert again.status_code == 409


def test_a_referral_carries_its_coded_diagnoses_and_refuses_a_code_without_its_system(
    client: Any, case: Case, hospital: dict[str, str]
) -> None:
    fracture = {
        "system": "http://hl7.org/fhir/sid/icd-10-cm",
        "code": "S72.001A",
        "display": "Fracture of unspecified part of neck of right femur, initial encounter",
    }
    sent = _referral(client, case, hospital, diagnoses=[fracture, {"display": "Deconditioning"}])
    assert sent.status_code == 201
    assert sent.json["diagnoses"] == [fracture, {"display": "Deconditioning"}]
    assert client.get(f"/api/referrals/{sent.json['id']}", headers=hospital).json["diagnoses"] == sent.json["diagnoses"]
    refused = _referral(client, case, hospital, diagnoses=[{"code": "S72.001A"}])
    assert refused.status_code == 422
    assert refused.json["errors"]["fields"] == {
        "diagnoses": ["Give each diagnosis a code with its code system, or a description."]
    }
