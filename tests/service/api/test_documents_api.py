"""Documents on referrals through the REST API and the FHIR API: multipart upload, the limits, the
download headers, DocumentReference + Binary, and ServiceRequest.supportingInfo."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from flask import Flask

from service.app import runtime
from tests.factories import Case, send_snf_referral

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
FHIR_JSON = "application/fhir+json"


@pytest.fixture
def referral_id(session: Any, case: Case) -> str:
    return send_snf_referral(session, case, recipient_org_ids=[case.snfs[0].id, case.snfs[1].id]).id


def _upload(client: Any, headers: dict[str, str], referral_id: str, data: bytes, mimetype: str, **form: str) -> Any:
    body = {"referral_id": referral_id, "type": "34117-2", **form, "file": (io.BytesIO(data), "hp.pdf", mimetype)}
    return client.post("/api/documents", data=body, headers=headers, content_type="multipart/form-data")


def test_the_hospital_attaches_and_a_recipient_downloads(
    client: Any, case: Case, hospital: dict[str, str], as_org: Any, referral_id: str
) -> None:
    created = _upload(client, hospital, referral_id, PDF, "application/pdf", title="Admission H&P")
    assert created.status_code == 201, created.json
    document = created.json
    assert {k: document[k] for k in ("referral_id", "patient_id", "type", "type_display", "title", "size")} == {
        "referral_id": referral_id,
        "patient_id": case.patient.id,
        "type": "34117-2",
        "type_display": "History and physical note",
        "title": "Admission H&P",
        "size": len(PDF),
    }
    recipient = as_org(case.snfs[1].id, "system/ServiceRequest.rs system/DocumentReference.rs")
    listed = client.get(f"/api/documents?referral_id={referral_id}", headers=recipient)
    assert [d["id"] for d in listed.json] == [document["id"]]
    download = client.get(document["content_url"], headers=recipient)
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == 'attachment; filename="Admission H_P.pdf"'
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in download.headers["Cache-Control"]


def test_non_recipients_get_404_like_a_missing_document(
    client: Any, case: Case, hospital: dict[str, str], as_org: Any, referral_id: str
) -> None:
    document = _upload(client, hospital, referral_id, PDF, "application/pdf").json
    outsider = as_org(case.snfs[2].id, "system/*.rs")
    for url in (
        f"/api/documents/{document['id']}",
        document["content_url"],
        f"/api/documents?referral_id={referral_id}",
    ):
        assert client.get(url, headers=outsider).status_code == 404, url
    assert client.get(f"/fhir/R4/Binary/{document['id']}", headers=outsider).status_code == 404
    assert client.get(f"/fhir/R4/DocumentReference/{document['id']}", headers=outsider).status_code == 404


def test_refusals(client: Any, app: Flask, hospital: dict[str, str], as_org: Any, case: Case, referral_id: str) -> None:
    limit = runtime(app).settings.max_document_bytes
    too_big = _upload(client, hospital, referral_id, b"x" * (limit + 1), "text/plain")
    assert too_big.status_code == 413
    assert _upload(client, hospital, referral_id, b"GIF89a\x01\x00", "image/gif").status_code == 415
    not_pdf = _upload(client, hospital, referral_id, b"hello", "application/pdf")
    assert not_pdf.status_code == 422 and "file" in not_pdf.json["errors"]["fields"]
    assert _upload(client, hospital, referral_id, PDF, "application/pdf", type="0000-0").status_code == 422
    snf = as_org(case.snfs[0].id)
    assert _upload(client, snf, referral_id, PDF, "application/pdf").status_code == 403  # a recipient reads only


def test_fhir_document_reference_binary_and_supporting_info(
    client: Any, case: Case, hospital: dict[str, str], as_org: Any, referral_id: str
) -> None:
    text = b"Medication list\napixaban 5 mg BID\n"
    document = _upload(client, hospital, referral_id, text, "text/plain", type="10160-0", title="Medications").json
    fhir = {**as_org(case.snfs[0].id, "system/*.rs"), "Accept": FHIR_JSON}
    reference = client.get(f"/fhir/R4/DocumentReference/{document['id']}", headers=fhir).json
    assert reference["type"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "10160-0",
        "display": "History of Medication use Narrative",
    }
    assert reference["content"][0]["attachment"]["url"] == f"Binary/{document['id']}"
    assert reference["context"]["related"] == [{"reference": f"ServiceRequest/{referral_id}"}]
    service_request = client.get(f"/fhir/R4/ServiceRequest/{referral_id}", headers=fhir).json
    assert service_request["supportingInfo"] == [{"reference": f"DocumentReference/{document['id']}"}]

    binary = client.get(f"/fhir/R4/Binary/{document['id']}", headers=fhir)
    assert binary.mimetype == FHIR_JSON
    assert (binary.json["contentType"], base64.b64decode(binary.json["data"])) == ("text/plain", text)
    raw = client.get(f"/fhir/R4/Binary/{document['id']}", headers={**fhir, "Accept": "text/plain, */*"})
    assert (raw.data, raw.mimetype, raw.headers["Content-Disposition"][:10]) == (text, "text/plain", "attachment")

    patient = case.patient.id
    for query, found in (
        (f"patient={patient}", True),
        (f"patient={patient}&category=clinical-note", True),
        (f"patient={patient}&type=http://loinc.org|10160-0", True),
        (f"patient={patient}&type=http://loinc.org|34117-2", False),
        (f"_id={document['id']}", True),
    ):
        bundle = client.get(f"/fhir/R4/DocumentReference?{query}", headers=fhir).json
        assert [e["resource"]["id"] for e in bundle.get("entry", ())] == ([document["id"]] if found else []), query
