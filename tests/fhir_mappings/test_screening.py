"""Screening instruments, QuestionnaireResponse <-> ScreeningData, and answers -> needs.

Expected codes are written out by hand from the published sources: LOINC 88121-9 (Hunger Vital
Sign) and 96777-8 (AHC HRSN), and the Gravity SDOH Clinical Care IG's Hunger Vital Sign examples
(SDOHCC-ObservationResponseHungerVitalSignQuestion3Example, SDOHCC-ConditionFoodInsecurityExample).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given

from fhir_mappings import validate
from fhir_mappings.codec import MappingError
from fhir_mappings.domain import Coding, ScreeningData, ScreeningItem
from fhir_mappings.screening import (
    from_fhir_questionnaire_response,
    instrument,
    screening_findings,
    to_fhir_questionnaire_response,
    to_fhir_questionnaire_response_json,
)

from .strategies import screenings

LOINC = "http://loinc.org"
AUTHORED = dt.datetime(2024, 3, 4, 10, 30, tzinfo=dt.UTC)
OFTEN_TRUE = Coding(LOINC, "LA28397-0", "Often true")
SOMETIMES_TRUE = Coding(LOINC, "LA6729-3", "Sometimes true")
NEVER_TRUE = Coding(LOINC, "LA28398-8", "Never true")
YES = Coding(LOINC, "LA33-6", "Yes")
NO = Coding(LOINC, "LA32-8", "No")


def screening(questionnaire: str, *answers: tuple[str, Coding]) -> ScreeningData:
    return ScreeningData(
        id="scr-1",
        questionnaire=f"https://carebridge.dev/fhir/Questionnaire/{questionnaire}",
        patient_id="mrs-a",
        status="completed",
        authored=AUTHORED,
        items=tuple(ScreeningItem(link_id=link, answers=(value,)) for link, value in answers),
    )


def codes(concept: dict) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept["coding"]}


def categories(resource: dict) -> set[tuple[str, str]]:
    return {pair for concept in resource["category"] for pair in codes(concept)}


@pytest.mark.parametrize(
    ("name", "panel", "questions"),
    [
        ("hunger-vital-sign", "88121-9", ["88122-7", "88123-5"]),
        (
            "ahc-hrsn-core",
            "96777-8",
            [
                "71802-3",
                "96778-6",
                "88122-7",
                "88123-5",
                "93030-5",
                "96779-4",
                "95618-5",
                "95617-7",
                "95616-9",
                "95615-1",
            ],
        ),
    ],
)
def test_instruments_are_loinc_coded_questionnaires_citing_their_sources(
    name: str, panel: str, questions: list[str]
) -> None:
    questionnaire = instrument(name)

    assert validate(questionnaire) == []
    assert questionnaire["code"][0]["code"] == panel
    assert [item["code"][0]["code"] for item in questionnaire["item"]] == questions
    assert all(item["code"][0]["system"] == LOINC for item in questionnaire["item"])
    assert "loinc.org/" + panel in questionnaire["description"]
    assert "LOINC is copyright" in questionnaire["copyright"]


def test_hunger_vital_sign_answer_options() -> None:
    first = instrument("hunger-vital-sign")["item"][0]

    assert [o["valueCoding"]["code"] for o in first["answerOption"]] == ["LA28397-0", "LA6729-3", "LA28398-8"]


def test_an_unknown_instrument_is_refused() -> None:
    with pytest.raises(KeyError):
        instrument("phq-9")


def test_hunger_vital_sign_positive_screen_suggests_food_insecurity() -> None:
    findings = screening_findings(
        screening("hunger-vital-sign", ("88122-7", SOMETIMES_TRUE), ("88123-5", NEVER_TRUE)),
        instrument("hunger-vital-sign"),
    )

    first, second, risk = findings.observations
    assert first["code"]["coding"][0]["code"] == "88122-7"
    assert first["valueCodeableConcept"]["coding"][0]["code"] == "LA6729-3"
    assert first["derivedFrom"] == [{"reference": "QuestionnaireResponse/scr-1"}]
    assert second["valueCodeableConcept"]["coding"][0]["code"] == "LA28398-8"
    assert risk["code"]["coding"][0]["code"] == "88124-3"
    assert risk["valueCodeableConcept"]["coding"][0]["code"] == "LA19952-3"  # At risk
    assert risk["derivedFrom"] == [{"reference": "Observation/scr-1-o1"}, {"reference": "Observation/scr-1-o2"}]
    assert categories(first) == {
        ("http://terminology.hl7.org/CodeSystem/observation-category", "survey"),
        ("http://hl7.org/fhir/us/core/CodeSystem/us-core-category", "sdoh"),
        ("http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes", "food-insecurity"),
    }
    assert first["subject"] == {"reference": "Patient/mrs-a"}
    assert first["effectiveDateTime"] == "2024-03-04T10:30:00+00:00"

    (concern,) = findings.concerns
    assert codes(concern["code"]) == {("http://snomed.info/sct", "733423003")}
    assert categories(concern) == {
        ("http://terminology.hl7.org/CodeSystem/condition-category", "health-concern"),
        ("http://hl7.org/fhir/us/core/CodeSystem/us-core-category", "sdoh"),
        ("http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes", "food-insecurity"),
    }
    assert concern["verificationStatus"]["coding"][0]["code"] == "unconfirmed"
    assert concern["evidence"] == [{"detail": [{"reference": "Observation/scr-1-o3"}]}]
    for resource in (*findings.observations, *findings.concerns):
        assert validate(resource, profile="us-core") == []


def test_hunger_vital_sign_negative_screen_suggests_nothing() -> None:
    findings = screening_findings(
        screening("hunger-vital-sign", ("88122-7", NEVER_TRUE), ("88123-5", NEVER_TRUE)),
        instrument("hunger-vital-sign"),
    )

    assert findings.observations[-1]["valueCodeableConcept"]["coding"][0]["code"] == "LA19983-8"  # No risk
    assert findings.concerns == ()


def test_ahc_hrsn_food_transportation_and_housing_needs() -> None:
    worried = Coding(LOINC, "LA31994-9", "I have a place to live today, but I am worried about losing it in the future")
    findings = screening_findings(
        screening(
            "ahc-hrsn-core",
            ("71802-3", worried),
            ("88122-7", OFTEN_TRUE),
            ("88123-5", NEVER_TRUE),
            ("93030-5", YES),
            ("96779-4", NO),
        ),
        instrument("ahc-hrsn-core"),
    )

    assert [o["code"]["coding"][0]["code"] for o in findings.observations] == [
        "71802-3",
        "88122-7",
        "88123-5",
        "93030-5",
        "96779-4",
        "88124-3",
    ]
    transport = findings.observations[3]
    assert (
        "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes",
        "transportation-insecurity",
    ) in categories(transport)
    suggested = {concern["code"]["coding"][0]["code"]: concern for concern in findings.concerns}
    assert set(suggested) == {"733423003", "1156191002", "713458007"}
    assert suggested["713458007"]["evidence"] == [{"detail": [{"reference": "Observation/scr-1-o4"}]}]
    assert suggested["1156191002"]["evidence"] == [{"detail": [{"reference": "Observation/scr-1-o1"}]}]
    for resource in (*findings.observations, *findings.concerns):
        assert validate(resource, profile="us-core") == []


def test_no_steady_place_to_live_suggests_homelessness() -> None:
    unsteady = Coding(LOINC, "LA31995-6", "I do not have a steady place to live")
    findings = screening_findings(screening("ahc-hrsn-core", ("71802-3", unsteady)), instrument("ahc-hrsn-core"))

    (concern,) = findings.concerns
    assert concern["code"]["coding"][0]["code"] == "32911000"


def test_every_selected_housing_problem_is_an_observation() -> None:
    data = ScreeningData(
        id="scr-2",
        questionnaire="https://carebridge.dev/fhir/Questionnaire/ahc-hrsn-core",
        patient_id="mrs-a",
        status="completed",
        items=(
            ScreeningItem(
                link_id="96778-6",
                answers=(Coding(LOINC, "LA28580-1", "Mold"), Coding(LOINC, "LA32001-2", "Water leaks")),
            ),
        ),
    )

    findings = screening_findings(data, instrument("ahc-hrsn-core"))

    assert [o["valueCodeableConcept"]["coding"][0]["code"] for o in findings.observations] == ["LA28580-1", "LA32001-2"]
    assert findings.concerns == ()


def test_uncoded_questions_stay_in_the_response_only() -> None:
    questionnaire = {
        "resourceType": "Questionnaire",
        "status": "active",
        "item": [{"linkId": "q1", "text": "Notes", "type": "choice"}],
    }

    findings = screening_findings(screening("local", ("q1", YES)), questionnaire)

    assert findings == type(findings)((), ())


def test_findings_need_a_patient() -> None:
    with pytest.raises(MappingError):
        screening_findings(
            ScreeningData(id="x", questionnaire="q", patient_id=None, status="completed"),
            instrument("hunger-vital-sign"),
        )


def test_questionnaire_response_claims_sdc_and_validates() -> None:
    data = screening("hunger-vital-sign", ("88122-7", OFTEN_TRUE))

    response = to_fhir_questionnaire_response_json(data)

    assert response["item"] == [
        {
            "linkId": "88122-7",
            "answer": [{"valueCoding": {"system": LOINC, "code": "LA28397-0", "display": "Often true"}}],
        }
    ]
    assert response["subject"] == {"reference": "Patient/mrs-a"}
    assert validate(response) == []
    assert to_fhir_questionnaire_response(data).status == "completed"


def test_an_unsupported_answer_kind_is_refused() -> None:
    response = to_fhir_questionnaire_response_json(screening("x"))
    response["item"] = [{"linkId": "a", "answer": [{"valueString": "free text"}]}]

    with pytest.raises(MappingError):
        from_fhir_questionnaire_response(response)


@given(screenings)
def test_questionnaire_response_round_trip(data: ScreeningData) -> None:
    response = to_fhir_questionnaire_response_json(data)

    again = from_fhir_questionnaire_response(response)

    assert again == data
    assert to_fhir_questionnaire_response_json(again) == response
    assert validate(response) == []


NEVER = Coding(LOINC, "LA6270-8", "Never")
SOMETIMES = Coding(LOINC, "LA10082-8", "Sometimes")
FAIRLY_OFTEN = Coding(LOINC, "LA16644-9", "Fairly often")
SAFETY = ("95618-5", "95617-7", "95616-9", "95615-1")


def test_a_safety_total_of_eleven_suggests_intimate_partner_abuse() -> None:
    # Never 1 + Sometimes 3 + Fairly often 4 + Sometimes 3 = 11, the AHC guide's positive screen
    answers = zip(SAFETY, (NEVER, SOMETIMES, FAIRLY_OFTEN, SOMETIMES), strict=True)

    findings = screening_findings(screening("ahc-hrsn-core", *answers), instrument("ahc-hrsn-core"))

    total = findings.observations[-1]
    assert total["code"]["coding"][0]["code"] == "95614-4"
    assert total["valueInteger"] == 11
    assert total["derivedFrom"] == [{"reference": f"Observation/scr-1-o{n}"} for n in (1, 2, 3, 4)]
    (concern,) = findings.concerns
    assert concern["code"]["coding"][0]["code"] == "706893006"
    assert concern["evidence"] == [{"detail": [{"reference": "Observation/scr-1-o5"}]}]
    sdoh = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
    assert (sdoh, "intimate-partner-violence") in categories(concern)
    for resource in (*findings.observations, *findings.concerns):
        assert validate(resource, profile="us-core") == []


def test_a_safety_total_of_ten_suggests_nothing() -> None:
    answers = zip(SAFETY, (NEVER, SOMETIMES, SOMETIMES, SOMETIMES), strict=True)

    findings = screening_findings(screening("ahc-hrsn-core", *answers), instrument("ahc-hrsn-core"))

    assert findings.observations[-1]["valueInteger"] == 10
    assert findings.concerns == ()


def test_no_safety_total_without_all_four_answers() -> None:
    answers = zip(SAFETY[:3], (FAIRLY_OFTEN, FAIRLY_OFTEN, FAIRLY_OFTEN), strict=True)

    findings = screening_findings(screening("ahc-hrsn-core", *answers), instrument("ahc-hrsn-core"))

    assert [o["code"]["coding"][0]["code"] for o in findings.observations] == list(SAFETY[:3])
    assert findings.concerns == ()


PARTNER_RESPONSE = {
    "resourceType": "QuestionnaireResponse",
    "id": "payer-42",
    "extension": [{"url": "https://payer.example/fhir/channel", "valueString": "phone"}],
    "questionnaire": "http://payer.example/Questionnaire/hvs|3",
    "status": "completed",
    "subject": {"reference": "Patient/mrs-a", "display": "A."},
    "authored": "2024-03-04",
    "item": [
        {"linkId": "88122-7", "answer": [{"valueCoding": {"system": LOINC, "code": "LA6729-3"}}]},
        {"linkId": "note", "item": [{"linkId": "note.1", "text": "Call after 5pm"}]},
    ],
}


def test_a_partners_response_is_exported_as_sent() -> None:
    data = from_fhir_questionnaire_response(PARTNER_RESPONSE)

    assert data.authored is None  # a date without a time is kept in source only
    assert data.items[1] == ScreeningItem(link_id="note", answers=())
    assert to_fhir_questionnaire_response_json(data) == PARTNER_RESPONSE


def test_a_changed_status_changes_only_the_status() -> None:
    data = from_fhir_questionnaire_response(PARTNER_RESPONSE)

    exported = to_fhir_questionnaire_response_json(dataclasses.replace(data, status="amended"))

    assert exported == {**PARTNER_RESPONSE, "status": "amended"}
