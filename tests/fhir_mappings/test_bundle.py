"""Bundles and round trips of whole files."""

from __future__ import annotations

import pytest

from fhir_mappings import MappingError, bundle_collection, bundle_collection_json, resources_in, roundtrip_json
from tests.fhir_mappings.examples import load


def test_collection_with_full_urls() -> None:
    task, plan = load("task-example3.json"), load("careplan-example-f201-renal.json")

    bundle = bundle_collection_json([task, plan], base_url="https://carebridge.example/fhir/")

    assert [e["fullUrl"] for e in bundle["entry"]] == [
        "https://carebridge.example/fhir/Task/example3",
        "https://carebridge.example/fhir/CarePlan/f201",
    ]
    assert list(resources_in(bundle)) == [task, plan]
    assert bundle_collection([task]).type == "collection"


def test_bundle_round_trip_and_unmapped_types() -> None:
    bundle = bundle_collection_json([load("task-example1.json"), load("servicerequest-example2.json")])

    assert roundtrip_json(bundle) == bundle
    with pytest.raises(MappingError, match="Observation"):
        roundtrip_json({"resourceType": "Observation", "status": "final"})
