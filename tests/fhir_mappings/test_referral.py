"""Referral <-> ServiceRequest."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from fhir_mappings import (
    CodeableConceptData,
    ReferralData,
    from_fhir_service_request,
    to_fhir_service_request_json,
    validate,
)
from tests.fhir_mappings.examples import load

REFERRAL = ReferralData(
    id="hh-referral",
    patient_id="mr-b",
    service_code="home_health",
    status="active",
    intent="order",
    stay_id="stay-2",
    reason="Heart failure, needs skilled nursing at home",
    requester_ref="Practitioner/planner",
    performer_refs=("Organization/hh-1", "Organization/hh-2"),
    wanted_by=dt.date(2024, 3, 11),
    authored_on=dt.datetime(2024, 3, 8, 15, 0, tzinfo=dt.UTC),
)


def test_us_core_referral_with_snomed_equivalent() -> None:
    request = to_fhir_service_request_json(REFERRAL)

    assert [c["code"] for c in request["code"]["coding"]] == ["home_health", "417511005"]
    assert request["category"][0]["coding"][0]["code"] == "3457005"
    assert request["performer"] == [{"reference": "Organization/hh-1"}, {"reference": "Organization/hh-2"}]
    assert request["occurrenceDateTime"] == "2024-03-11"
    assert request["priority"] == "routine"
    assert request["reasonCode"] == [{"text": "Heart failure, needs skilled nursing at home"}]
    assert validate(request, profile="us-core") == []


@pytest.mark.parametrize(
    ("service", "snomed"),
    [
        ("snf_placement", "449411000124106"),
        ("home_health", "417511005"),
        ("dme", "425399007"),
        ("outpatient_followup", "390906007"),
    ],
)
def test_post_acute_services_carry_a_snomed_coding(service: str, snomed: str) -> None:
    request = to_fhir_service_request_json(dataclasses.replace(REFERRAL, service_code=service))
    codings = request["code"]["coding"]
    assert [(c["system"], c["code"]) for c in codings] == [
        ("https://carebridge.dev/fhir/CodeSystem/referral-service", service),
        ("http://snomed.info/sct", snomed),
    ]
    assert from_fhir_service_request({**request, "code": {"coding": [codings[1]]}}).service_code == service
    assert validate(request, profile="us-core") == []


def test_partner_request_with_an_unknown_code_and_no_priority() -> None:
    source = load("servicerequest-example-di.json")

    imported = from_fhir_service_request(source)

    assert (imported.service_code, imported.priority) == ("other", "routine")
    assert to_fhir_service_request_json(imported) == source  # no priority or code added
    recoded = to_fhir_service_request_json(dataclasses.replace(imported, service_code="dme", priority="urgent"))
    assert recoded["code"]["coding"][0]["code"] == "dme"
    assert recoded["priority"] == "urgent"


def test_removing_a_recipient_keeps_the_others_as_sent() -> None:
    source = to_fhir_service_request_json(REFERRAL)
    source["performer"][1]["display"] = "Home Health Two"

    exported = to_fhir_service_request_json(
        dataclasses.replace(from_fhir_service_request(source), performer_refs=("Organization/hh-2",))
    )

    assert exported["performer"] == [{"reference": "Organization/hh-2", "display": "Home Health Two"}]


def test_the_goal_served_is_the_pertains_to_goal_extension_and_a_partners_extensions_stay() -> None:
    # Gravity SDOH ServiceRequest: extension pertainsToGoal, valueReference(Goal).
    request = to_fhir_service_request_json(dataclasses.replace(REFERRAL, goal_id="food-security"))
    assert request["extension"] == [
        {
            "url": "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal",
            "valueReference": {"reference": "Goal/food-security"},
        }
    ]
    assert "reasonReference" not in request  # R4 reasonReference names no Goal
    other = {"url": "urn:example:ext", "valueString": "kept"}
    source = {**request, "extension": [other, *request["extension"]]}
    imported = from_fhir_service_request(source)
    assert imported.goal_id == "food-security"
    moved = to_fhir_service_request_json(dataclasses.replace(imported, goal_id="housing"))
    assert moved["extension"] == [
        other,
        {
            "url": "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal",
            "valueReference": {"reference": "Goal/housing"},
        },
    ]
    assert to_fhir_service_request_json(dataclasses.replace(imported, goal_id=None))["extension"] == [other]


def test_diagnoses_follow_the_reason_in_reason_code_and_a_partners_coded_reason_is_a_diagnosis() -> None:
    # https://hl7.org/fhir/R4/servicerequest-definitions.html#ServiceRequest.reasonCode (0..*, CodeableConcept)
    fracture = CodeableConceptData(
        "http://hl7.org/fhir/sid/icd-10-cm",
        "S72.001A",
        "Fracture of unspecified part of neck of right femur, initial encounter",
    )
    referral = dataclasses.replace(
        REFERRAL, diagnoses=(fracture, CodeableConceptData(text="Deconditioning")), concern_ids=("sdoh-1",)
    )

    request = to_fhir_service_request_json(referral)

    assert request["reasonCode"] == [
        {"text": "Heart failure, needs skilled nursing at home"},
        {
            "coding": [
                {
                    "system": "http://hl7.org/fhir/sid/icd-10-cm",
                    "code": "S72.001A",
                    "display": "Fracture of unspecified part of neck of right femur, initial encounter",
                }
            ]
        },
        {"text": "Deconditioning"},
    ]
    assert request["reasonReference"] == [{"reference": "Condition/sdoh-1"}]
    assert validate(request, profile="us-core") == []
    back = from_fhir_service_request(request)
    assert (back.reason, back.diagnoses, back.concern_ids) == (referral.reason, referral.diagnoses, ("sdoh-1",))

    partners = from_fhir_service_request(
        {**request, "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I50.9"}]}]}
    )
    assert partners.reason is None
    assert partners.diagnoses == (CodeableConceptData("http://hl7.org/fhir/sid/icd-10-cm", "I50.9"),)
