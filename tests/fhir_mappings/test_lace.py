"""The LACE index: scores worked out by hand from van Walraven et al., CMAJ 2010, table 3."""

from __future__ import annotations

import datetime as dt

import pytest

from fhir_mappings import validate
from fhir_mappings.codec import MappingError
from fhir_mappings.domain import AnswerValue, ScreeningData, ScreeningItem, StayData
from fhir_mappings.lace import HIGH_RISK, lace_score, length_of_stay_item
from fhir_mappings.screening import instrument, to_fhir_questionnaire_response_json

ADMITTED = dt.datetime(2024, 3, 1, 22, 0, tzinfo=dt.UTC)


def lace(days: AnswerValue, acute: AnswerValue, charlson: AnswerValue, visits: AnswerValue) -> ScreeningData:
    answers = {"length-of-stay": days, "acute-admission": acute, "charlson-index": charlson, "ed-visits-6m": visits}
    return ScreeningData(
        id="lace-1",
        questionnaire="https://carebridge.dev/fhir/Questionnaire/lace-index",
        patient_id="mrs-a",
        status="completed",
        items=tuple(ScreeningItem(link_id=link, answers=(value,)) for link, value in answers.items()),
    )


@pytest.mark.parametrize(
    ("days", "acute", "charlson", "visits", "expected"),
    [
        (0, False, 0, 0, 0),
        (3, False, 1, 1, 5),  # 3 + 0 + 1 + 1
        (5, True, 2, 0, 9),  # 4 + 3 + 2 + 0
        (10, True, 3, 2, 13),  # 5 + 3 + 3 + 2
        (14, True, 4, 4, 19),  # 7 + 3 + 5 + 4, the maximum
        (30, False, 9, 12, 16),  # 7 + 0 + 5 + 4
    ],
)
def test_lace_score(days: int, acute: bool, charlson: int, visits: int, expected: int) -> None:
    assert lace_score(lace(days, acute, charlson, visits)) == expected


def test_high_risk_starts_at_ten() -> None:
    assert HIGH_RISK == 10


def test_length_of_stay_comes_from_the_stay() -> None:
    stay = StayData(id="s", patient_id="mrs-a", status="in-progress", admitted_at=ADMITTED)

    assert length_of_stay_item(stay, ADMITTED + dt.timedelta(days=4, hours=3)).answers == (4,)
    discharged = StayData(
        id="s",
        patient_id="mrs-a",
        status="finished",
        admitted_at=ADMITTED,
        discharged_at=ADMITTED + dt.timedelta(hours=20),
    )
    assert length_of_stay_item(discharged, ADMITTED + dt.timedelta(days=9)).answers == (0,)


def test_a_stay_without_admission_time_has_no_length() -> None:
    with pytest.raises(MappingError):
        length_of_stay_item(StayData(id="s", patient_id="p", status="planned"), ADMITTED)


@pytest.mark.parametrize(
    "screening",
    [
        lace(3, "yes", 1, 1),
        lace(3, False, True, 1),
        lace(-1, False, 1, 1),
        ScreeningData(id="x", questionnaire="q", patient_id="p", status="in-progress"),
    ],
)
def test_incomplete_or_wrong_answers_are_refused(screening: ScreeningData) -> None:
    with pytest.raises(MappingError):
        lace_score(screening)


def test_the_lace_instrument_and_its_response_validate() -> None:
    questionnaire = instrument("lace-index")

    assert [item["linkId"] for item in questionnaire["item"]] == [
        "length-of-stay",
        "acute-admission",
        "charlson-index",
        "ed-visits-6m",
    ]
    assert "10.1503/cmaj.091117" in questionnaire["description"]
    assert validate(questionnaire) == []
    assert validate(to_fhir_questionnaire_response_json(lace(5, True, 2, 0))) == []
