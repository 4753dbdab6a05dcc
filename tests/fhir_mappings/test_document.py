"""Clinical document <-> DocumentReference (US Core), its content as Binary, and the referral's supportingInfo."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from fhir.resources.R4B.binary import Binary

from fhir_mappings import (
    DocumentData,
    MappingError,
    ReferralData,
    from_fhir_document_reference,
    from_fhir_service_request,
    to_fhir_binary_json,
    to_fhir_document_reference,
    to_fhir_document_reference_json,
    to_fhir_service_request_json,
    validate,
)

DOCUMENT = DocumentData(
    id="doc-1",
    patient_id="mrs-a",
    status="current",
    type_code="34117-2",
    content_type="application/pdf",
    content_url="Binary/doc-1",
    title="Admission H&P",
    size=48213,
    sha1="2jmj7l5rSw0yVb/vlWAYkK/YBwk=",
    created=dt.datetime(2026, 3, 9, 14, 30, tzinfo=dt.UTC),
    author_ref="Organization/st-example",
    referral_ids=("snf-referral",),
    stay_id="stay-1",
)

# Written out from the US Core 6.1 DocumentReference profile: status, type (LOINC), category
# clinical-note, subject, date, author, content.attachment (contentType, url), content.format,
# context.encounter and context.related.
EXPECTED = {
    "resourceType": "DocumentReference",
    "id": "doc-1",
    "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-documentreference"]},
    "status": "current",
    "type": {"coding": [{"system": "http://loinc.org", "code": "34117-2", "display": "History and physical note"}]},
    "category": [
        {
            "coding": [
                {
                    "system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
                    "code": "clinical-note",
                    "display": "Clinical Note",
                }
            ]
        }
    ],
    "subject": {"reference": "Patient/mrs-a"},
    "date": "2026-03-09T14:30:00+00:00",
    "author": [{"reference": "Organization/st-example"}],
    "content": [
        {
            "attachment": {
                "contentType": "application/pdf",
                "url": "Binary/doc-1",
                "size": 48213,
                "hash": "2jmj7l5rSw0yVb/vlWAYkK/YBwk=",
                "title": "Admission H&P",
                "creation": "2026-03-09T14:30:00+00:00",
            },
            "format": {
                "system": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode",
                "code": "urn:ihe:iti:xds:2017:mimeTypeSufficient",
                "display": "mimeType Sufficient",
            },
        }
    ],
    "context": {
        "encounter": [{"reference": "Encounter/stay-1"}],
        "related": [{"reference": "ServiceRequest/snf-referral"}],
    },
}


def test_a_document_is_a_us_core_document_reference() -> None:
    resource = to_fhir_document_reference_json(DOCUMENT)
    assert resource == EXPECTED
    assert validate(resource, profile="us-core") == []
    assert to_fhir_document_reference(DOCUMENT).type.coding[0].code == "34117-2"  # fhir.resources accepts it


def test_it_reads_back() -> None:
    assert from_fhir_document_reference(EXPECTED) == DOCUMENT


def test_a_document_type_carebridge_does_not_keep_cannot_be_mapped() -> None:
    laboratory_report = {**EXPECTED, "type": {"coding": [{"system": "http://loinc.org", "code": "11502-2"}]}}
    with pytest.raises(MappingError, match="DocumentReference.type"):
        from_fhir_document_reference(laboratory_report)


def test_binary_carries_the_content_in_base64_under_the_document_s_access() -> None:
    binary = to_fhir_binary_json("doc-1", "text/plain", b"Apixaban 5 mg\n")
    assert binary == {
        "resourceType": "Binary",
        "id": "doc-1",
        "contentType": "text/plain",
        "securityContext": {"reference": "DocumentReference/doc-1"},
        "data": "QXBpeGFiYW4gNSBtZwo=",
    }
    Binary.model_validate(binary)


def test_a_referral_names_its_documents_in_supporting_info() -> None:
    referral = ReferralData(
        id="snf-referral", patient_id="mrs-a", service_code="snf_placement", status="active", intent="order",
        document_ids=("doc-1", "doc-2"),
    )  # fmt: skip
    request = to_fhir_service_request_json(referral)
    assert request["supportingInfo"] == [
        {"reference": "DocumentReference/doc-1"},
        {"reference": "DocumentReference/doc-2"},
    ]
    assert from_fhir_service_request(request).document_ids == ("doc-1", "doc-2")
    # A partner's supportingInfo that is not one of carebridge's documents stays where it was.
    theirs = {**request, "supportingInfo": [{"reference": "Observation/o1"}, {"reference": "DocumentReference/doc-1"}]}
    imported = from_fhir_service_request(theirs)
    again = to_fhir_service_request_json(dataclasses.replace(imported, document_ids=("doc-1", "doc-3")))
    assert again["supportingInfo"] == [
        {"reference": "Observation/o1"},
        {"reference": "DocumentReference/doc-1"},
        {"reference": "DocumentReference/doc-3"},
    ]
