"""Which type a reference points at."""

from __future__ import annotations

import pytest

from fhir_mappings.validation.references import BadReference, target_type

CONTAINED = {"sig": "Provenance"}


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ({"reference": "Patient/1"}, "Patient"),
        ({"reference": "Patient/1/_history/3"}, "Patient"),
        ({"reference": "https://ehr.example/fhir/R4/Organization/o-1"}, "Organization"),
        ({"reference": "https://ehr.example/not-fhir"}, None),
        ({"reference": "#sig"}, "Provenance"),
        ({"reference": "#"}, None),
        ({"reference": "urn:uuid:1", "type": "Patient"}, "Patient"),
        ({"identifier": {"value": "x"}, "type": "Organization"}, "Organization"),
        ({"display": "Daughter"}, None),
    ],
)
def test_target_type(reference: dict[str, object], expected: str | None) -> None:
    assert target_type(reference, CONTAINED) == expected


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ({"reference": "#nope"}, "points at no contained resource"),
        ({"reference": "Pateint/1"}, "names no FHIR resource type"),
        ({"reference": "Patient"}, r"not a \[type\]/\[id\] reference"),
        ({"reference": "Patient/1", "type": "Group"}, "contradicts its type"),
    ],
)
def test_bad_references(reference: dict[str, object], message: str) -> None:
    with pytest.raises(BadReference, match=message):
        target_type(reference, CONTAINED)
