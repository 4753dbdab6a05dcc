"""`carebridge serve` will not listen beyond loopback with the public development SECRET_KEY."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from service import wsgi_server
from service.cli import main


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(wsgi_server, "run", lambda **options: runs.append(options))
    return runs


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "::", "carebridge.example"])
def test_a_reachable_address_with_the_development_key_is_refused(started: list[dict[str, Any]], host: str) -> None:
    result = CliRunner().invoke(main, ["serve", "--host", host], env={"SECRET_KEY": "", "DATABASE_URL": ""})
    assert result.exit_code == 1
    assert result.output == (
        f"Error: refusing to listen on {host} with the development SECRET_KEY; set SECRET_KEY\n"
    )
    assert started == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_runs_with_the_development_key(started: list[dict[str, Any]], host: str) -> None:
    result = CliRunner().invoke(main, ["serve", "--host", host], env={"SECRET_KEY": "", "DATABASE_URL": ""})
    assert result.exit_code == 0, result.output
    assert started == [{"host": host, "port": 5000, "workers": 1, "threads": 8}]


def test_any_address_runs_with_a_real_key(started: list[dict[str, Any]]) -> None:
    env = {"SECRET_KEY": "s3cret", "DATABASE_URL": ""}
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--port", "8000"], env=env)
    assert result.exit_code == 0, result.output
    assert started == [{"host": "0.0.0.0", "port": 8000, "workers": 1, "threads": 8}]


def test_postgresql_runs_several_processes_and_the_options_override(started: list[dict[str, Any]]) -> None:
    env = {"DATABASE_URL": "postgresql+psycopg://carebridge@127.0.0.1/carebridge"}
    assert CliRunner().invoke(main, ["serve"], env=env).exit_code == 0
    assert CliRunner().invoke(main, ["serve", "--workers", "3", "--threads", "2"], env=env).exit_code == 0
    assert started == [
        {"host": "127.0.0.1", "port": 5000, "workers": 2, "threads": 4},
        {"host": "127.0.0.1", "port": 5000, "workers": 3, "threads": 2},
    ]
