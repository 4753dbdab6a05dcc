"""Input bounds on the REST API (issue #11): each refusal is a 4xx in the one error envelope."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models import Patient
from tests.factories import Case

JSON = {"Content-Type": "application/json"}


@pytest.fixture(autouse=True)
def _authenticated(client: Any, as_org: Any) -> None:
    """These tests are about input, not access: every request carries a carebridge-operated client's token."""
    client.environ_base["HTTP_AUTHORIZATION"] = as_org(None)["Authorization"]


def envelope(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body: dict[str, Any] = response.get_json()
    assert body["code"] == status and body["message"]
    return body


def patients_stored(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Patient)) or 0


def new_patient(**changes: Any) -> dict[str, Any]:
    return {"family_name": "Berg", "given_name": "Bo"} | changes


def test_body_over_the_limit_is_413(client: Any, session: Session) -> None:
    before = patients_stored(session)
    body = orjson.dumps(new_patient(family_name="x" * 2_000_000))
    envelope(client.post("/api/patients", data=body, headers=JSON), 413)
    assert patients_stored(session) == before


def test_text_plain_is_415(client: Any) -> None:
    sent = client.post("/api/patients", data=orjson.dumps(new_patient()), headers={"Content-Type": "text/plain"})
    envelope(sent, 415)


def test_json_nested_a_thousand_levels_is_400(client: Any) -> None:
    deep = b'{"family_name":' + b"[" * 1000 + b"]" * 1000 + b"}"
    envelope(client.post("/api/patients", data=deep, headers=JSON), 400)


@pytest.mark.parametrize("text", ["Be\u0000rg", "Be\u001brg"])
def test_control_characters_are_422_naming_the_field(client: Any, session: Session, text: str) -> None:
    before = patients_stored(session)
    body = envelope(client.post("/api/patients", json=new_patient(family_name=text)), 422)
    assert list(body["errors"]["json"]) == ["family_name"]
    assert patients_stored(session) == before


def test_tabs_and_line_breaks_are_text(client: Any, case: Case) -> None:
    response = client.post(f"/api/handoffs/{case_handoff(client, case)}/notes", json={"text": "line 1\r\n\tline 2"})
    assert response.status_code == 201, response.get_json()


def case_handoff(client: Any, case: Case) -> str:
    body = {
        "patient_id": case.patient.id,
        "kind": "followup_call_48h",
        "owner_org_id": case.hospital.id,
        "requester_org_id": case.hospital.id,
    }
    response = client.post("/api/handoffs", json=body)
    assert response.status_code == 201, response.get_json()
    handoff_id: str = response.get_json()["id"]
    return handoff_id


@pytest.mark.parametrize("body", [None, b"{}"])
def test_an_empty_patch_is_refused(client: Any, case: Case, body: bytes | None) -> None:
    headers = JSON if body is not None else {}
    envelope(client.patch(f"/api/patients/{case.patient.id}", data=body, headers=headers), 422)


def test_405_names_the_allowed_methods(client: Any) -> None:
    body = envelope(client.delete("/api/patients"), 405)
    assert body["message"]
    assert set(client.delete("/api/patients").headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_an_offset_beyond_any_list_is_422(client: Any) -> None:
    body = envelope(client.get("/api/patients?offset=99999999999999999999"), 422)
    assert "offset" in body["errors"]["query"]


@pytest.mark.parametrize("tag", ['"\u00b2"', 'W/"\u00b2"', '"1e3"'])
def test_if_match_must_be_ascii_digits(client: Any, case: Case, tag: str) -> None:
    handoff_id = case_handoff(client, case)
    response = client.put(
        f"/api/handoffs/{handoff_id}/business-status", json={"business_status": "called"}, headers={"If-Match": tag}
    )
    envelope(response, 409)


@pytest.mark.parametrize("field", ["payer_id", "primary_care_id"])
def test_unknown_organisation_of_a_new_patient_is_422_naming_it(client: Any, session: Session, field: str) -> None:
    before = patients_stored(session)
    body = envelope(client.post("/api/patients", json=new_patient(**{field: "no-such-org"})), 422)
    assert list(body["errors"]["fields"]) == [field]
    assert patients_stored(session) == before


def test_unknown_payer_is_422_naming_the_field(client: Any, case: Case, session: Session) -> None:
    body = envelope(client.patch(f"/api/patients/{case.patient.id}", json={"payer_id": "no-such-payer"}), 422)
    assert list(body["errors"]["fields"]) == ["payer_id"]
    session.expire_all()
    assert session.get_one(Patient, case.patient.id).payer_id == case.payer.id


def test_unknown_owner_user_is_422_naming_the_field(client: Any, case: Case) -> None:
    body = {
        "patient_id": case.patient.id,
        "kind": "followup_call_48h",
        "owner_org_id": case.hospital.id,
        "owner_user_id": "no-such-user",
        "requester_org_id": case.hospital.id,
    }
    answer = envelope(client.post("/api/handoffs", json=body), 422)
    assert list(answer["errors"]["fields"]) == ["owner_user_id"]


@pytest.mark.parametrize(
    ("url", "location", "name"),
    [
        ("/api/patients/a%00b", "path", "path"),
        ("/api/handoffs/queue/a%00b", "path", "path"),
        ("/api/worklist?unit=a%00b", "query", "unit"),
        ("/api/organizations?kind=%1b", "query", "kind"),
    ],
)
def test_control_characters_in_the_url_are_422(client: Any, url: str, location: str, name: str) -> None:
    body = envelope(client.get(url), 422)
    assert list(body["errors"][location]) == [name]
