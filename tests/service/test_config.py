"""Where the embedded files live: one configured instance folder, never the current directory (issue #11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service import config

CHECKOUT = Path(__file__).resolve().parents[2]


def test_the_default_is_the_checkouts_instance_folder_wherever_the_command_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CAREBRIDGE_INSTANCE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert config._instance_dir() == CHECKOUT / "instance"


def test_carebridge_instance_names_the_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CAREBRIDGE_INSTANCE", str(tmp_path / "data"))
    assert config._instance_dir() == tmp_path / "data"


def test_every_default_store_is_in_the_instance_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path / "inst")
    monkeypatch.chdir(tmp_path)
    settings = config.Settings()
    assert settings.database_url == f"sqlite:///{tmp_path}/inst/carebridge.db"
    assert settings.celery_broker_url == f"sqla+sqlite:///{tmp_path}/inst/celery-broker.db"
    assert settings.celery_result_backend == f"db+sqlite:///{tmp_path}/inst/celery-results.db"
    # Kombu and Celery's result store open their files but would not create the folder.
    assert (tmp_path / "inst").is_dir()
