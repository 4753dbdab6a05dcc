"""`carebridge db upgrade` leaves a fresh install with a signing key, so the JWKS an operator
registers with partners before any token is issued is never empty (issue #13)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from service.app import create_app
from service.cli import main
from service.config import Settings


def test_upgrade_creates_one_signing_key_and_keeps_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0
    client = create_app(Settings(database_url=url)).test_client()
    (key,) = client.get("/.well-known/jwks.json").get_json()["keys"]
    assert key["use"] == "sig" and "d" not in key

    # A second upgrade neither rotates nor adds a key: partners keep the one they registered.
    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0
    assert client.get("/.well-known/jwks.json").get_json()["keys"] == [key]
