"""Every official R4 example validates, and importing then exporting it gives it back."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from fhir_mappings import roundtrip_json, validate
from fhir_mappings.roundtrip import map_for
from tests.fhir_mappings.examples import example_params, load


@pytest.mark.parametrize("path", example_params())
def test_example_is_valid(path: Path | None) -> None:
    issues = validate(load(path))

    assert [str(i) for i in issues] == []


@pytest.mark.parametrize("path", example_params())
def test_json_round_trip_gives_the_example_back(path: Path | None) -> None:
    example = load(path)

    exported = roundtrip_json(example)

    # Byte for byte: the JSON path keeps the partner's key order too.
    assert orjson.dumps(exported) == orjson.dumps(example)


@pytest.mark.parametrize("path", example_params())
def test_model_round_trip_gives_the_example_back(path: Path | None) -> None:
    example = load(path)
    mapping = map_for(example["resourceType"])

    exported = mapping.to_model(mapping.from_fhir(mapping.model.model_validate(example)))

    # Equal as JSON values; fhir.resources serialises in FHIR element order (documented).
    assert orjson.loads(exported.model_dump_json()) == example
