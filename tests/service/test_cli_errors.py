"""`carebridge` answers an expected failure with one line saying what to do and exit status 1; the
traceback only with `--debug` (issue #11)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.exc import OperationalError

from service.cli import main


class _RefusingTokenEndpoint(BaseHTTPRequestHandler):
    """A partner's token endpoint that does not know carebridge's client id (RFC 6749 section 5.2)."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"error": "invalid_client", "error_description": "unknown client"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def refusing_partner() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _RefusingTokenEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _one_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in output, output
    return lines[0]


def test_a_database_that_is_not_migrated_says_to_upgrade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = CliRunner().invoke(main, ["partners", "list"])
    assert result.exit_code == 1
    line = _one_line(result.output)
    assert line == "Error: the database is not migrated (a table is missing): run `carebridge db upgrade`"


def test_debug_shows_the_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = CliRunner().invoke(main, ["--debug", "partners", "list"])
    assert result.exit_code == 1
    assert isinstance(result.exception, OperationalError)


def test_an_unknown_partner_is_named(cli_db: str) -> None:
    result = CliRunner().invoke(main, ["sync", "push", "--partner", "nobody"])
    assert result.exit_code == 1
    assert "nobody" in _one_line(result.output)


def test_sync_pull_with_a_client_id_the_partner_does_not_know(cli_db: str, refusing_partner: str) -> None:
    runner = CliRunner()
    kid = runner.invoke(main, ["keys", "generate"]).output.strip()
    added = runner.invoke(
        main,
        ["partners", "add", "general-ehr", "--kind", "ehr", "--organization", cli_db,
         "--fhir-base", f"{refusing_partner}/fhir/R4", "--token-endpoint", f"{refusing_partner}/token",
         "--client-id", "wrong-id", "--key-kid", kid, "--scopes", "system/Patient.rs", "--pull", "Patient"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output

    result = runner.invoke(main, ["sync", "pull", "--partner", "general-ehr"])

    assert result.exit_code == 1
    line = _one_line(result.output.splitlines()[-1])
    assert line.startswith("Error: the partner refused carebridge's credentials")
    assert "partners update NAME --client-id" in line


def test_empty_listings_say_how_to_fill_them(cli_db: str) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["partners", "list"]).output == (
        "no partners registered; add one with `carebridge partners add NAME --kind ehr|payer ...`\n"
    )
    assert "no partners registered" in runner.invoke(main, ["sync", "status"]).output
    assert runner.invoke(main, ["clients", "list"]).output == (
        "no clients registered; add one with `carebridge clients add --name ... --scopes ...`\n"
    )
    assert runner.invoke(main, ["keys", "list"]).output == (
        "no signing keys yet; create one with `carebridge keys generate`\n"
    )


def test_a_malformed_key_file_is_named_not_traced(cli_db: str, tmp_path: Path) -> None:
    bad = tmp_path / "key.json"
    bad.write_text("{not json")
    result = CliRunner().invoke(
        main,
        ["web", "register-ehr", "http://127.0.0.1:9/fhir", "--hospital-id", cli_db, "--redirect-uri",
         "http://127.0.0.1:5000/app/launch/callback", "--client-id", "c1", "--private-jwk-file", str(bad)],
    )  # fmt: skip
    assert result.exit_code == 1
    assert _one_line(result.output).startswith("Error: a file is not valid JSON")


def test_the_pull_progress_bar_shows_the_partners_total(cli_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from service import cli_sync
    from service.sync.pull import PullReport

    runner = CliRunner()
    kid = runner.invoke(main, ["keys", "generate"]).output.strip()
    runner.invoke(
        main,
        ["partners", "add", "payer", "--kind", "payer", "--organization", cli_db, "--fhir-base",
         "http://127.0.0.1:9/fhir/R4", "--client-id", "c", "--key-kid", kid, "--scopes", "system/Patient.rs"],
    )  # fmt: skip

    def two_pages(*_args: object, progress: cli_sync.engine.Progress, **_kw: object) -> PullReport:
        progress("Patient", 20, 35)  # a partner that sends Bundle.total
        progress("Patient", 15, 35)
        progress("Encounter", 4, None)  # one that does not
        return PullReport()

    monkeypatch.setattr(cli_sync.engine, "pull", two_pages)
    result = runner.invoke(main, ["sync", "pull", "--partner", "payer"])
    assert result.exit_code == 0, result.output
    assert "pull payer Patient: 100%" in result.output and "35/35" in result.output
    assert "pull payer Encounter: 4res" in result.output
