"""Organisation and patient identity."""

from __future__ import annotations

import datetime as dt

import pytest

from fhir_mappings import (
    Identifier,
    OrganizationData,
    PatientData,
    from_fhir_organization,
    from_fhir_patient,
    to_fhir_organization_json,
    to_fhir_patient_json,
    validate,
)


@pytest.mark.parametrize(("code", "kind"), [("pay", "payer"), ("cg", "community"), ("prov", None)])
def test_kind_is_read_from_hl7_type_only_when_it_names_one(code: str, kind: str | None) -> None:
    partner = {
        "resourceType": "Organization",
        "name": "Partner",
        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": code}]}],
    }

    assert from_fhir_organization(partner).kind == kind


def test_organization_and_patient_are_us_core() -> None:
    organization = to_fhir_organization_json(OrganizationData(id="snf-3", name="Maple SNF", kind="snf"))
    patient = to_fhir_patient_json(
        PatientData(
            id="mrs-a",
            identifiers=(Identifier("urn:oid:2.16.840.1.113883.3.1", "MRN-1"),),
            family="Adams",
            given=("Anna", "Marie"),
            birth_date=dt.date(1942, 5, 1),
            gender="female",
        )
    )

    assert patient["name"] == [{"family": "Adams", "given": ["Anna", "Marie"]}]
    assert validate(organization, profile="us-core") == []
    assert validate(patient, profile="us-core") == []
    assert from_fhir_patient(patient).given == ("Anna", "Marie")
