"""The REST API's door: who may call it, with what, and the audit of each access and refusal.

Expected answers come from issue #10: no credentials is 401 in the error envelope with a Bearer
challenge; the web session works for same-origin calls with its CSRF token on writes; identity
never comes from a header the caller writes; a payer cannot make a stranger its member.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Patient, User
from service.models.audit_events import AccessEvent
from tests.factories import Case, build_case, send_snf_referral
from tests.service.api.conftest import bearer


def _events(session: Session, **where: Any) -> list[AccessEvent]:
    query = select(AccessEvent).filter_by(**where).order_by(AccessEvent.recorded)
    return list(session.scalars(query))


def test_no_credentials_is_401_in_the_envelope_and_audited(client: Any, session: Session, case: Case) -> None:
    response = client.get(f"/api/patients/{case.patient.id}?name=Anders")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="carebridge"')
    assert response.json["code"] == 401 and response.json["status"] == "Unauthorized"
    (event,) = _events(session, query=f"GET /api/patients/{case.patient.id}")
    assert (event.outcome, event.client_id, event.action) == ("4", "anonymous", "R")
    assert "authentication required" in (event.description or "") and "Anders" not in (event.query or "")


def test_a_forged_token_is_401_invalid_token(client: Any, session: Session, case: Case) -> None:
    response = client.get("/api/worklist", headers=bearer("e30.e30.c2ln"))
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert _events(session, query="GET /api/worklist")[0].outcome == "4"


def test_actor_and_organisation_headers_are_ignored(client: Any, case: Case, as_org: Any) -> None:
    # An SNF client naming itself the hospital in the old headers is still the SNF.
    snf = as_org(case.snfs[0].id, "system/Patient.rus")
    forged = {**snf, "X-Carebridge-Organization": case.hospital.id, "X-Carebridge-Actor": "dana.planner"}
    response = client.patch(f"/api/patients/{case.patient.id}", json={"given_name": "Eve"}, headers=forged)
    assert response.status_code == 404  # an SNF with no referral for the patient does not know them


def test_the_anonymous_payer_id_attack_is_refused(client: Any, session: Session, case: Case, as_org: Any) -> None:
    stranger_payer = as_org(case.payer.id, "system/Patient.cruds")
    other = Patient(family_name="Zeller", given_name="Zed")
    session.add(other)
    session.commit()
    # No credentials: 401. A payer setting itself as a non-member's payer: that patient is unknown to it.
    assert client.patch(f"/api/patients/{other.id}", json={"payer_id": case.payer.id}).status_code == 401
    attack = client.patch(f"/api/patients/{other.id}", json={"payer_id": case.payer.id}, headers=stranger_payer)
    assert attack.status_code == 404
    # Even its own member: the payer reads the patient but only the hospital running the case changes them.
    own = client.patch(f"/api/patients/{case.patient.id}", json={"payer_id": None}, headers=stranger_payer)
    assert own.status_code == 403
    session.expire_all()
    assert session.get(Patient, other.id).payer_id is None  # type: ignore[union-attr]
    assert session.get(Patient, case.patient.id).payer_id == case.payer.id  # type: ignore[union-attr]
    hospital = as_org(case.hospital.id)
    changed = client.patch(f"/api/patients/{case.patient.id}", json={"given_name": "Agatha"}, headers=hospital)
    assert changed.status_code == 200 and changed.json["given_name"] == "Agatha"


def test_the_web_session_works_for_same_origin_calls_with_csrf_on_writes(
    client: Any, session: Session, case: Case, cookie_session: Any
) -> None:
    csrf = cookie_session(case.planner)
    assert client.get(f"/api/stays/{case.stay.id}").status_code == 200
    body = {"category": "transport", "note": "Wheelchair van"}
    refused = client.post(f"/api/stays/{case.stay.id}/barriers", json=body)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json["message"]
    made = client.post(f"/api/stays/{case.stay.id}/barriers", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    # People are audited like partners: who (username), what, which patient, and the outcome.
    reads = _events(session, subject=case.planner.username, action="R")
    assert [(e.resource_type, e.patient_id, e.outcome) for e in reads] == [("Encounter", case.patient.id, "0")]
    (csrf_refusal,) = _events(session, subject=case.planner.username, action="C")
    assert csrf_refusal.outcome == "4" and csrf_refusal.query == f"POST /api/stays/{case.stay.id}/barriers"
    assert [e.outcome for e in _events(session, subject=case.planner.username, action="U")] == ["0"]


def test_a_disabled_persons_session_is_401(client: Any, session: Session, case: Case, cookie_session: Any) -> None:
    cookie_session(case.planner)
    user = session.get(User, case.planner.id)
    assert user is not None
    user.active = False
    session.commit()
    assert client.get(f"/api/stays/{case.stay.id}").status_code == 401


def test_a_facility_reads_its_referral_but_not_the_hospital_case(
    client: Any, session: Session, case: Case, as_org: Any
) -> None:
    referral = send_snf_referral(session, case)
    snf = as_org(case.snfs[0].id, "system/*.rs system/Task.u")
    assert client.get(f"/api/referrals/{referral.id}", headers=snf).status_code == 200
    assert client.get(f"/api/stays/{case.stay.id}", headers=snf).status_code == 404
    assert [p["id"] for p in client.get("/api/patients", headers=snf).json] == [case.patient.id]
    # Missing scope is 403 with the RFC 6750 challenge.
    no_scope = client.get(f"/api/referrals/{referral.id}", headers=as_org(case.snfs[0].id, "system/Task.rs"))
    assert no_scope.status_code == 403 and 'error="insufficient_scope"' in no_scope.headers["WWW-Authenticate"]


def test_patient_scopes_confine_the_rest_api_too(client: Any, session: Session, case: Case, mint: Any) -> None:
    other = build_case(session, case.stay.admitted_at, mrn="MRN-OTHER")
    mine, theirs = send_snf_referral(session, case), send_snf_referral(session, other)
    token = mint(None, "patient/Task.rs user/Patient.rs", patient_id=case.patient.id)
    assert client.get(f"/api/handoffs/{mine.handoffs[0].id}", headers=bearer(token)).status_code == 200
    assert client.get(f"/api/handoffs/{theirs.handoffs[0].id}", headers=bearer(token)).status_code == 404
    assert [p["id"] for p in client.get("/api/patients", headers=bearer(token)).json] == [case.patient.id]
