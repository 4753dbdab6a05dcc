"""`carebridge fhir export --patient ID` on its own SQLite database (the CLI reads committed data)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from fhir_mappings import has_errors, validate
from service.cli import main
from service.db import make_engine, make_session_factory
from service.migrate import upgrade
from tests.factories import build_case


@pytest.fixture
def patient_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CAREBRIDGE_PUBLIC_URL", "https://carebridge.example")
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        case = build_case(session, datetime.now(UTC))
    engine.dispose()
    return case.patient.id


def test_export_prints_a_valid_collection_bundle_on_the_public_base(patient_id: str) -> None:
    result = CliRunner().invoke(main, ["fhir", "export", "--patient", patient_id])

    assert result.exit_code == 0, result.output
    bundle = orjson.loads(result.output)
    assert bundle["type"] == "collection" and not has_errors(validate(bundle))
    assert bundle["entry"][0]["fullUrl"] == f"https://carebridge.example/fhir/R4/Patient/{patient_id}"


def test_an_unknown_patient_is_one_line_and_exit_1(patient_id: str) -> None:
    result = CliRunner().invoke(main, ["fhir", "export", "--patient", "nobody"])

    assert result.exit_code == 1
    assert result.output == "Error: Patient nobody does not exist\n"
