"""Care-team member <-> Practitioner (US Core Practitioner)."""

from __future__ import annotations

from fhir_mappings import Identifier, PractitionerData, from_fhir_practitioner, to_fhir_practitioner_json, validate


def test_a_practitioner_with_npi_and_name_is_us_core() -> None:
    data = PractitionerData(
        id="pr-1",
        identifiers=(Identifier("http://hl7.org/fhir/sid/us-npi", "1234567893"),),
        family="Planner",
        given=("Pat",),
    )
    resource = to_fhir_practitioner_json(data)
    assert resource == {
        "resourceType": "Practitioner",
        "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-practitioner"]},
        "id": "pr-1",
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}],
        "name": [{"family": "Planner", "given": ["Pat"]}],
    }
    assert validate(resource, profile="us-core") == []
    assert from_fhir_practitioner(resource).family == "Planner"


def test_us_core_needs_an_identifier_and_a_family_name() -> None:
    resource = to_fhir_practitioner_json(PractitionerData(id="pr-2", given=("Sam",)))
    paths = {issue.expression for issue in validate(resource, profile="us-core")}
    assert paths == {"Practitioner.identifier", "Practitioner.name[0].family"}
