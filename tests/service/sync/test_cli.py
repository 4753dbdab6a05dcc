"""`carebridge partners` and `carebridge sync` on their own SQLite database (the CLI commits)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main
from service.db import make_engine, make_session_factory
from service.migrate import upgrade
from service.usecases import parties


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        hospital = parties.add_organization(session, name="St. Example General", kind="hospital", actor="test")
    engine.dispose()
    return hospital.id


def test_partners_add_list_show_and_sync_status(cli_db: str) -> None:
    runner = CliRunner()
    add = [
        "partners", "add", "general-ehr", "--kind", "ehr", "--organization", cli_db,
        "--fhir-base", "http://127.0.0.1:8081/fhir/R4", "--client-id", "carebridge", "--key-kid", "k1",
        "--scopes", "system/*.cruds", "--pull", "Patient,Encounter,Task",
    ]  # fmt: skip
    assert runner.invoke(main, add).exit_code == 0

    duplicate = runner.invoke(main, add)
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    listed = runner.invoke(main, ["partners", "list"])
    assert "general-ehr\tehr\thttp://127.0.0.1:8081/fhir/R4" in listed.output
    shown = runner.invoke(main, ["partners", "show", "general-ehr"])
    assert "Encounter" in shown.output and "push: unknown" in shown.output  # capabilities not read yet
    status = runner.invoke(main, ["sync", "status"])
    assert status.exit_code == 0 and "general-ehr (ehr" in status.output
    assert "0 deliveries queued again" in runner.invoke(main, ["sync", "retry-dead"]).output


def test_unknown_types_are_refused_with_the_choices(cli_db: str) -> None:
    result = CliRunner().invoke(
        main,
        ["partners", "add", "x", "--kind", "payer", "--organization", cli_db, "--fhir-base", "http://127.0.0.1:1/fhir",
         "--client-id", "c", "--key-kid", "k", "--scopes", "s", "--push", "Encounter"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "push_types" in result.output and "ServiceRequest" in result.output
