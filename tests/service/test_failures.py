"""Failing requests that carry PHI leave none of it in the logs (issue #11, part 4; DESIGN.md "Logs").

In process: every logger at DEBUG through caplog. Through a real `carebridge serve`: gunicorn's
access log and error output.
"""

from __future__ import annotations

import http.client
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from service.fhir_api import routes
from tests.service.fhir_api.fixtures import make_partner, mint, rsa_key, settings, world  # noqa: F401
from tests.service.fhir_api.support import bearer

FAMILY, GIVEN, BIRTH, MRN = "Zyxwvutsrq", "Qponmlkj", "1931-02-03", "MRN-PHI-447188"
PHI = (FAMILY, GIVEN, BIRTH, MRN, "Zyxwvu", "PHI-447188")


def _patient_body(payer_id: str) -> dict[str, Any]:
    return {
        "family_name": FAMILY,
        "given_name": GIVEN,
        "birth_date": BIRTH,
        "identifiers": [{"kind": "mrn", "system": "urn:example:mrn", "value": MRN}],
        "payer_id": payer_id,
    }


def _assert_no_phi(log: str) -> None:
    found = [value for value in PHI if value in log]
    assert found == [], f"PHI in the logs: {found}"


def test_failing_rest_and_fhir_requests_log_no_phi(
    client: Any, mint: Callable[..., str], world: Any, caplog: pytest.LogCaptureFixture, monkeypatch: Any  # noqa: F811 (fixtures imported above)
) -> None:
    caplog.set_level(logging.DEBUG)
    token = mint(world.a.hospital.id, "system/*.rs")

    # A patient whose payer does not exist: the insert carrying the name, birth date and MRN fails.
    refused = client.post("/api/patients", json=_patient_body("no-such-payer"))
    # Every value in the query string of a search.
    search = client.get(f"/fhir/R4/Patient?identifier={MRN}&family={FAMILY}&birthdate={BIRTH}", headers=bearer(token))

    # A database failure while searching with the values as statement parameters; PostgreSQL also quotes
    # the value in its message ('invalid input syntax for type date: "..."').
    def failing_search(session: Any, *_args: Any, **_kwargs: Any) -> Any:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT CAST(:f AS DATE), CAST(:m AS INTEGER)"), {"f": FAMILY, "m": MRN})
        session.execute(text("SELECT * FROM no_such_table WHERE family = :f AND mrn = :m"), {"f": FAMILY, "m": MRN})

    monkeypatch.setattr(routes, "execute", failing_search)
    broken = client.get(f"/fhir/R4/Task?patient={world.ids_a['Patient']}", headers=bearer(token))

    assert refused.status_code >= 400
    assert search.status_code in (200, 400)
    assert broken.status_code == 500
    assert "unhandled error in GET /fhir/R4/Task" in caplog.text  # the failure itself is logged
    assert "[SQL: SELECT" in caplog.text  # the statement, with placeholders
    _assert_no_phi(caplog.text)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _request(port: int, method: str, path: str, body: bytes | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers={"Content-Type": "application/json", "Referer": f"/x?mrn={MRN}"})
    status = conn.getresponse().status
    conn.close()
    return status


def test_the_servers_access_and_error_logs_hold_no_phi(committed_url: str, tmp_path: Path) -> None:
    import orjson

    port = _free_port()
    env = {**os.environ, "DATABASE_URL": committed_url, "CAREBRIDGE_INSTANCE": str(tmp_path)}
    log = tmp_path / "serve.log"
    carebridge = str(Path(sys.executable).with_name("carebridge"))
    with log.open("wb") as out:
        server = subprocess.Popen([carebridge, "serve", "--port", str(port)], env=env, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if _request(port, "GET", "/fhir/R4/metadata") == 200:
                        break
                except OSError:
                    time.sleep(0.2)
            statuses = [
                _request(port, "GET", f"/fhir/R4/Patient?identifier={MRN}&family={FAMILY}"),
                _request(port, "GET", f"/api/worklist?unit={FAMILY}&edd_from={BIRTH}"),
                _request(port, "POST", f"/api/patients?mrn={MRN}", orjson.dumps(_patient_body("no-such-payer"))),
            ]
        finally:
            server.terminate()
            server.wait(timeout=30)
    output = log.read_text()
    assert all(status >= 400 for status in statuses[::2]), statuses
    assert '"GET /fhir/R4/Patient" 401' in output  # the access log names the path and the status
    assert '"POST /api/patients"' in output
    _assert_no_phi(output)


def test_a_failing_task_is_logged_by_name_and_id_without_values(
    app: Any, caplog: pytest.LogCaptureFixture, monkeypatch: Any
) -> None:
    from service.tasks import export
    from service.usecases import bulk_export

    def failing_export(session: Any, *_args: Any) -> str:
        # Python's own messages quote the value: "Invalid isoformat string: '...'".
        return str(date.fromisoformat(f"{BIRTH} {FAMILY} {MRN}"))

    monkeypatch.setattr(bulk_export, "run_export", failing_export)
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        result = export.run_export.apply(args=("job-1",), throw=False)

    assert result.failed()
    assert "service.tasks.export.run_export" in caplog.text and "raised unexpected" in caplog.text
    assert "builtins.ValueError" in caplog.text
    _assert_no_phi(caplog.text)


def test_a_task_retried_after_a_failure_is_logged_by_name_and_id_without_values(
    app: Any, caplog: pytest.LogCaptureFixture, monkeypatch: Any
) -> None:
    from celery.exceptions import Retry
    from sqlalchemy.exc import OperationalError

    from service.tasks import relay

    def failing_relay(*_args: Any) -> int:
        # A database error whose text quotes the statement's values and the database's detail.
        raise OperationalError(
            "SELECT 1 WHERE family = :f", {"f": FAMILY}, Exception(f"DETAIL: Key (mrn)=({MRN})"), hide_parameters=False
        )

    monkeypatch.setattr(relay, "dispatch_pending", failing_relay)
    caplog.set_level(logging.DEBUG)
    # Run eagerly, the first attempt logs its retry and runs the next at once, which raises it unlogged.
    with app.app_context(), pytest.raises(Retry):
        relay.relay_changes.apply(task_id="task-7", throw=False)

    [retry] = [r.getMessage() for r in caplog.records if r.name == "celery.app.trace"]
    assert retry.startswith("Task service.tasks.relay.relay_changes[task-7] retry: Retry in ")
    assert "sqlalchemy.exc.OperationalError" in retry and "[SQL: SELECT 1 WHERE family = :f]" in retry
    _assert_no_phi(caplog.text)
