"""`carebridge fhir validate|roundtrip` (service/cli_fhir.py; tested here, next to what it runs)."""

from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner

from service.cli_fhir import fhir
from tests.fhir_mappings.examples import load


def _write(tmp_path: Path, name: str, resource: object) -> str:
    path = tmp_path / name
    path.write_bytes(orjson.dumps(resource))
    return str(path)


def test_validate_exits_0_when_every_file_is_valid(tmp_path: Path) -> None:
    files = [_write(tmp_path, n, load(n)) for n in ("task-example1.json", "encounter-example-f001-heart.json")]

    result = CliRunner().invoke(fhir, ["validate", *files])

    assert (result.exit_code, result.output) == (0, "2 file(s) valid\n")


def test_validate_prints_each_issue_with_its_path_and_exits_1(tmp_path: Path) -> None:
    task = load("task-example3.json")
    task["status"] = "bogus"
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": task}]}
    files = [_write(tmp_path, "ok.json", load("task-example1.json")), _write(tmp_path, "bad.json", bundle)]

    result = CliRunner().invoke(fhir, ["validate", *files])

    assert result.exit_code == 1
    assert result.output == (
        f"{files[1]}: error Bundle.entry[0].resource.status: "
        "'bogus' is not in http://hl7.org/fhir/ValueSet/task-status (required binding)\n"
    )


def test_validate_against_us_core(tmp_path: Path) -> None:
    plan = _write(tmp_path, "plan.json", load("careplan-example-f201-renal.json"))

    assert CliRunner().invoke(fhir, ["validate", plan]).exit_code == 0
    result = CliRunner().invoke(fhir, ["validate", "--profile", "us-core", plan])
    assert result.exit_code == 1
    assert "CarePlan.category" in result.output
    assert CliRunner().invoke(fhir, ["validate", "--profile", "nope", plan]).exit_code == 2


def test_roundtrip_prints_the_partner_resource_back(tmp_path: Path) -> None:
    example = load("servicerequest-example2.json")

    result = CliRunner().invoke(fhir, ["roundtrip", _write(tmp_path, "sr.json", example)])

    assert result.exit_code == 0
    assert orjson.loads(result.output) == example


OBSERVATION = {"resourceType": "Observation", "status": "final", "code": {"text": "pulse"}}  # valid, not mapped


def test_roundtrip_refuses_what_carebridge_does_not_map(tmp_path: Path) -> None:
    result = CliRunner().invoke(fhir, ["roundtrip", _write(tmp_path, "obs.json", OBSERVATION)])

    assert result.exit_code == 1
    assert "carebridge maps no 'Observation' resources" in result.output
