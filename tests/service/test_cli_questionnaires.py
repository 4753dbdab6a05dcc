"""`carebridge questionnaires load/list/show`, and `db upgrade` loading the shipped instruments (issue #15)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main

# A one-question instrument an operator might add (its own url; LOINC 93030-5 transportation).
TRANSPORT = {
    "resourceType": "Questionnaire",
    "id": "transport-only",
    "url": "https://hospital.example/fhir/Questionnaire/transport-only",
    "version": "1",
    "name": "TransportOnly",
    "title": "Transportation need",
    "status": "active",
    "item": [
        {
            "linkId": "93030-5",
            "code": [{"system": "http://loinc.org", "code": "93030-5"}],
            "text": "In the past 12 months, has lack of reliable transportation kept you from medical appointments?",
            "type": "choice",
        }
    ],
}


def test_upgrade_loads_the_shipped_instruments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    for _ in range(2):  # loading again replaces, never duplicates
        assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0
    listed = CliRunner().invoke(main, ["questionnaires", "list"]).output.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["ahc-hrsn-core", "hunger-vital-sign", "lace-index"]


def test_load_show_and_refuse(cli_db: str, tmp_path: Path) -> None:
    good = tmp_path / "transport.json"
    good.write_text(json.dumps(TRANSPORT))
    loaded = CliRunner().invoke(main, ["questionnaires", "load", str(good)])
    assert loaded.exit_code == 0, loaded.output
    assert loaded.output.strip() == (
        "loaded Questionnaire/transport-only (https://hospital.example/fhir/Questionnaire/transport-only|1)"
    )
    shown = json.loads(CliRunner().invoke(main, ["questionnaires", "show", "transport-only"]).output)
    assert shown["title"] == "Transportation need" and shown["item"][0]["linkId"] == "93030-5"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**TRANSPORT, "status": "published"}))  # not a publication-status code
    refused = CliRunner().invoke(main, ["questionnaires", "load", str(bad)])
    assert refused.exit_code == 1 and "status" in refused.output
    nourl = tmp_path / "nourl.json"
    nourl.write_text(json.dumps({k: v for k, v in TRANSPORT.items() if k != "url"}))
    assert "url" in CliRunner().invoke(main, ["questionnaires", "load", str(nourl)]).output
