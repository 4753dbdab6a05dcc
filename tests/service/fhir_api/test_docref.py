"""US Core `$docref` (https://hl7.org/fhir/us/core/STU6.1/OperationDefinition-docref.html): the
documents of a patient by care date and type, as far as the caller may see them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from service.models.audit_events import AccessEvent
from service.models.documents import Document
from service.usecases import documents
from tests.service.fhir_api.support import FHIR_JSON, World, bearer

DOCREF = "/fhir/R4/DocumentReference/$docref"


@pytest.fixture
def two_documents(world: World, session: Any) -> dict[str, str]:
    """Patient A's H&P attached on 1 March 2026 and a medication list on 10 March 2026."""
    history = session.get(Document, world.ids_a["DocumentReference"])
    history.created_at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    meds = documents.NewDocument("10160-0", b"Aspirin 81 mg\n", "text/plain", "Medication list")
    medications = documents.add_document(
        session, world.ids_a["ServiceRequest"], meds, max_bytes=1024, actor="test", author_org_id=world.a.hospital.id
    )
    medications.created_at = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    session.commit()
    return {"H&P": history.id, "meds": medications.id}


@pytest.fixture
def hospital_token(world: World, mint: Any) -> str:
    token: str = mint(world.a.hospital.id, "system/DocumentReference.rs")
    return token


def _ids(bundle: dict[str, Any]) -> set[str]:
    return {entry["resource"]["id"] for entry in bundle.get("entry", [])}


def _get(client: Any, token: str, **params: str) -> Any:
    return client.get(DOCREF, query_string=params, headers=bearer(token))


def test_all_of_a_patients_documents_in_a_searchset(
    client: Any, world: World, two_documents: dict[str, str], hospital_token: str
) -> None:
    answer = _get(client, hospital_token, patient=world.a.patient.id)
    assert answer.status_code == 200
    bundle = answer.get_json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    assert _ids(bundle) == {two_documents["H&P"], two_documents["meds"]}
    assert {entry["resource"]["resourceType"] for entry in bundle["entry"]} == {"DocumentReference"}


def test_start_and_end_bound_the_care_dates(
    client: Any, world: World, two_documents: dict[str, str], hospital_token: str
) -> None:
    patient = world.a.patient.id
    assert _ids(_get(client, hospital_token, patient=patient, start="2026-03-05").get_json()) == {two_documents["meds"]}
    assert _ids(_get(client, hospital_token, patient=patient, end="2026-03-05").get_json()) == {two_documents["H&P"]}
    # A day as the end covers the whole day: the medication list at 14:00 on the 10th is in.
    both = _get(client, hospital_token, patient=patient, start="2026-03-01", end="2026-03-10").get_json()
    assert _ids(both) == {two_documents["H&P"], two_documents["meds"]}
    early = _get(client, hospital_token, patient=patient, start="2026-03-01T00:00:00Z", end="2026-03-01T09:00:00Z")
    assert _ids(early.get_json()) == set()


def test_type_picks_the_kind_of_document(
    client: Any, world: World, two_documents: dict[str, str], hospital_token: str
) -> None:
    patient = world.a.patient.id
    found = _get(client, hospital_token, patient=patient, type="http://loinc.org|34117-2").get_json()
    assert _ids(found) == {two_documents["H&P"]}
    assert _ids(_get(client, hospital_token, patient=patient, type="http://loinc.org|18842-5").get_json()) == set()


def test_post_takes_a_parameters_resource(
    client: Any, world: World, two_documents: dict[str, str], hospital_token: str
) -> None:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "patient", "valueId": world.a.patient.id},
            {"name": "start", "valueDateTime": "2026-03-05"},
            {"name": "type", "valueCoding": {"system": "http://loinc.org", "code": "10160-0"}},
            {"name": "on-demand", "valueBoolean": False},
        ],
    }
    answer = client.post(DOCREF, json=body, headers={**bearer(hospital_token), "Content-Type": FHIR_JSON})
    assert answer.status_code == 200
    assert _ids(answer.get_json()) == {two_documents["meds"]}


def test_another_organisations_patient_gives_an_empty_bundle(
    client: Any, world: World, two_documents: dict[str, str], hospital_token: str
) -> None:
    answer = _get(client, hospital_token, patient=world.b.patient.id)
    assert answer.status_code == 200
    assert answer.get_json()["total"] == 0 and _ids(answer.get_json()) == set()


def test_the_access_is_audited_like_a_search(
    client: Any, world: World, two_documents: dict[str, str], hospital_token: str, session: Any
) -> None:
    _get(client, hospital_token, patient=world.a.patient.id, type="http://loinc.org|34117-2")
    [event] = session.scalars(select(AccessEvent).where(AccessEvent.interaction == "operation")).all()
    assert (event.resource_type, event.patient_id, event.action) == ("DocumentReference", world.a.patient.id, "E")
    assert event.query == "patient&type"  # parameter names only, no values


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"patient": "Patient/x y"},
        {"patient": "p1", "start": "March 2026"},
        {"patient": "p1", "end": "2026-13-01"},
        {"patient": "p1", "on-demand": "yes"},
        {"patient": "p1", "profile": "http://example.org/other"},
        {"patient": "p1", "category": "clinical-note"},
    ],
)
def test_a_bad_or_missing_parameter_is_a_400_outcome(
    client: Any, world: World, hospital_token: str, params: dict[str, str]
) -> None:
    answer = _get(client, hospital_token, **params)
    assert answer.status_code == 400
    assert answer.get_json()["resourceType"] == "OperationOutcome"


def test_without_a_token_it_is_refused(client: Any, world: World) -> None:
    answer = client.get(DOCREF, query_string={"patient": world.a.patient.id})
    assert answer.status_code == 401
    assert answer.get_json()["resourceType"] == "OperationOutcome"
