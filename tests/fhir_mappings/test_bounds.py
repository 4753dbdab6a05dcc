"""`check_json`: the first bound a document breaks, with its path; None for one within them."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_mappings.bounds import check_json


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"valueString": "leaf"}
    for _ in range(depth):
        node = {"extension": [node]}
    return node


def test_a_resource_within_the_bounds_passes() -> None:
    patient = {"resourceType": "Patient", "name": [{"family": "Lee", "given": ["Ann\tMarie"]}], "active": True}
    assert check_json(patient, max_string=10, max_items=3) is None


@pytest.mark.parametrize(
    ("document", "kind", "path", "message"),
    [
        ({"name": [{"family": "x" * 11}]}, "size", ("name", 0, "family"), "longer than 10 characters (11)"),
        ({"identifier": [{}] * 4}, "size", ("identifier",), "more than 3 items (4)"),
        ({"text": "a\x00b"}, "control-character", ("text",), "contains the control character U+0000"),
        (_nested(40), "depth", ("extension", 0) * 32, "JSON nested deeper than 64 levels"),
    ],
)
def test_the_first_broken_bound_is_named_with_its_path(
    document: Any, kind: str, path: tuple[Any, ...], message: str
) -> None:
    refused = check_json(document, max_string=10, max_items=3)
    assert refused is not None
    assert (refused.kind, refused.path) == (kind, path) and refused.message.startswith(message)


def test_sizes_are_unbounded_unless_asked() -> None:
    assert check_json({"text": "x" * 100_000, "items": list(range(5000))}) is None
