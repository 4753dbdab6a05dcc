"""Hostile files given to `carebridge fhir validate` and `fhir roundtrip` (issue #11): each exits
non-zero with the problem and its path, never a traceback; a valid file still round-trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from service.cli import main


def nested_extensions(depth: int) -> dict[str, Any]:
    extension: dict[str, Any] = {"url": "https://example.org/leaf", "valueString": "v"}
    for _ in range(depth):
        extension = {"url": "https://example.org/branch", "extension": [extension]}
    return {"resourceType": "Patient", "extension": [extension]}


def run(tmp_path: Path, command: str, body: Any) -> Any:
    file = tmp_path / "input.json"
    # json, not orjson: orjson refuses to write more than 255 levels.
    file.write_bytes(body if isinstance(body, bytes) else json.dumps(body).encode())
    return CliRunner().invoke(main, ["fhir", command, str(file)])


@pytest.mark.parametrize("command", ["validate", "roundtrip"])
def test_extensions_nested_200_deep_are_refused_with_the_bound(tmp_path: Path, command: str) -> None:
    result = run(tmp_path, command, nested_extensions(200))
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, RecursionError)
    assert "JSON nested deeper than 64 levels" in result.output
    assert "Patient.extension[0].extension[0]" in result.output


@pytest.mark.parametrize("command", ["validate", "roundtrip"])
def test_json_deeper_than_the_parser_allows_is_refused(tmp_path: Path, command: str) -> None:
    result = run(tmp_path, command, b'{"resourceType":"Patient","extension":' + b"[" * 5000 + b"]" * 5000 + b"}")
    assert result.exit_code == 1, result.output
    assert "input.json" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("bundle", "path"),
    [
        ({"resourceType": "Bundle", "type": "collection", "entry": [1, "x"]}, "Bundle.entry[0]"),
        ({"resourceType": "Bundle", "type": "collection", "entry": {"resource": 1}}, "Bundle.entry"),
        (
            {"resourceType": "Bundle", "type": "collection",
             "entry": [{"resource": {"resourceType": "Task", "status": "open", "intent": "order"}}]},
            "Bundle.entry[0].resource.status",
        ),
    ],
    ids=["entries-not-objects", "entry-not-a-list", "task-status-open"],
)  # fmt: skip
def test_roundtrip_refuses_malformed_bundles(tmp_path: Path, bundle: dict[str, Any], path: str) -> None:
    result = run(tmp_path, "roundtrip", bundle)
    assert result.exit_code == 1, result.output
    assert path in result.output and '"status": "open"' not in result.output


def test_a_nul_in_a_string_is_an_error(tmp_path: Path) -> None:
    result = run(tmp_path, "validate", {"resourceType": "Patient", "name": [{"family": "Be\u0000rg"}]})
    assert result.exit_code == 1
    assert "Patient.name[0].family" in result.output and "U+0000" in result.output


def test_a_valid_task_still_round_trips(tmp_path: Path) -> None:
    task = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "for": {"reference": "Patient/p1"},
        "owner": {"reference": "Organization/o1"},
    }
    result = run(tmp_path, "roundtrip", task)
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output)["status"] == "requested"
