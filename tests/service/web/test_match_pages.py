"""The patient-match review page: a hospital's staff see their partners' held Patients next to the
patient each would have matched, and accept or reject them; a facility sees none."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import clock
from service.models import PartnerLink, Patient, PatientMatch
from service.usecases.partners import add_partner
from tests.service.web.conftest import WebCase, sign_in

INTRUDER = {
    "resourceType": "Patient", "id": "p-77", "name": [{"family": "Intruder", "given": ["Ivo"]}],
    "birthDate": "1999-01-01", "identifier": [{"system": "urn:example:mrn", "value": "MRN-1001"}],
}  # fmt: skip


def _hold(session: Session, web_case: WebCase, remote_id: str) -> int:
    case = web_case.case
    partner = add_partner(
        session, name=f"ehr-{remote_id}", kind="ehr", organization_id=case.hospital.id,
        fhir_base="http://127.0.0.1:9/fhir", client_id="cb", key_kid="k", scopes="system/*.rs",
        trusted_identifier_systems=["urn:example:mrn"],
    )  # fmt: skip
    row = PatientMatch(
        partner_id=partner.id, remote_id=remote_id, remote_json={**INTRUDER, "id": remote_id},
        patient_id=case.patient.id, reason="family name and given name and birth date differ", state="open",
        created_at=clock.now(),
    )  # fmt: skip
    session.add(row)
    session.commit()
    return row.id


def test_hospital_staff_review_held_patients(client: Any, session: Session, web_case: WebCase) -> None:
    rejected, accepted = _hold(session, web_case, "p-77"), _hold(session, web_case, "p-78")
    token = sign_in(client, web_case.planner.username)

    page = client.get("/app/matches").text

    assert "Held because family name and given name and birth date differ." in page
    assert "Intruder, Ivo · born 1999-01-01" in page and "Anders, Agnes · born 1944-02-01" in page
    response = client.post(f"/app/matches/{rejected}", data={"csrf_token": token, "decision": "reject"})
    assert response.status_code in (302, 303) and response.location.endswith("/app/matches")
    assert f"match-{rejected}" not in client.get("/app/matches").text

    client.post(f"/app/matches/{accepted}", data={"csrf_token": token, "decision": "accept"})

    links = {link.remote_id: link.entity_id for link in session.scalars(select(PartnerLink))}
    assert links["p-78"] == web_case.case.patient.id and links["p-77"] != web_case.case.patient.id
    assert session.get_one(Patient, links["p-77"]).family_name == "Intruder"
    assert "Nothing to review." in client.get("/app/matches").text


def test_a_facility_cannot_review_a_hospitals_matches(client: Any, session: Session, web_case: WebCase) -> None:
    held = _hold(session, web_case, "p-79")
    token = sign_in(client, web_case.intakes[0].username)
    assert client.get("/app/matches").status_code == 403
    assert client.post(f"/app/matches/{held}", data={"csrf_token": token, "decision": "accept"}).status_code == 403
