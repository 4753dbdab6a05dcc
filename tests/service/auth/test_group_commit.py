"""Group commit of access events keeps the audit's guarantees (issue #11, part 1; a hospital's security review):

- the event of a read is committed before its response is sent;
- a read whose audit commit fails answers 500, not the record without an audit;
- requests auditing at the same time share one INSERT, and one request's bad event fails only that request.

Against a server-like app (its own engine, not the tests' rolled-back connection), on the run's database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from service.app import create_app, runtime
from service.auth.group_commit import writer_for
from service.config import Settings
from service.db import make_engine, make_session_factory
from service.models.audit_events import AccessEvent
from tests.factories import build_case
from tests.service.fhir_api.support import bearer, committed_token, populate


@pytest.fixture
def server(committed_url: str, now: datetime) -> Iterator[tuple[Any, dict[str, str], str, Engine]]:
    """(app, bearer headers, a Task's path, an engine of the test's own to look at what is committed)."""
    settings = Settings(database_url=committed_url, celery_eager=True)
    observer = make_engine(committed_url)
    with make_session_factory(observer)() as session:
        case = build_case(session, now, mrn="MRN-GC")
        task = populate(session, case)["Task"]
        headers = bearer(committed_token(session, settings, case.hospital.id, "system/*.rs"))
    yield create_app(settings), headers, f"/fhir/R4/Task/{task}", observer
    observer.dispose()


def _committed_events(observer: Engine) -> int:
    with observer.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(AccessEvent)) or 0)


def _engine_of(app: Any) -> Engine:
    bind = runtime(app).session_factory.kw["bind"]
    assert isinstance(bind, Engine)
    return bind


@contextmanager
def _listening(engine: Engine, **handlers: Callable[..., Any]) -> Iterator[None]:
    """`engine`'s events (by name) go to `handlers` while the block runs."""
    for name, handler in handlers.items():
        event.listen(engine, name, handler)
    try:
        yield
    finally:
        for name, handler in handlers.items():
            event.remove(engine, name, handler)


def test_the_access_event_of_a_read_is_committed_before_the_response_is_sent(server: Any) -> None:
    app, headers, path, observer = server
    seen_when_answering: list[int] = []
    inner = app.wsgi_app

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def start(status: str, response_headers: Any, exc_info: Any = None) -> Any:
            seen_when_answering.append(_committed_events(observer))  # on another connection: only what is committed
            return start_response(status, response_headers, exc_info)

        return inner(environ, start)

    app.wsgi_app = wsgi
    before = _committed_events(observer)
    response = app.test_client().get(path, headers=headers)

    assert response.status_code == 200
    assert seen_when_answering == [before + 1]


def test_a_read_whose_audit_commit_fails_answers_500_without_the_record(server: Any) -> None:
    app, headers, path, observer = server
    engine = _engine_of(app)

    def note_audit(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("INSERT INTO access_events"):
            conn.info["audits"] = True

    def fail_audit_commit(conn: Any) -> None:
        if conn.info.pop("audits", False):
            raise OperationalError("COMMIT", None, Exception("disk I/O error"))

    before = _committed_events(observer)
    with _listening(engine, before_cursor_execute=note_audit, commit=fail_audit_commit):
        response = app.test_client().get(path, headers=headers)

    assert response.status_code == 500
    assert response.get_json(force=True)["resourceType"] == "OperationOutcome"
    assert _committed_events(observer) == before
    assert app.test_client().get(path, headers=headers).status_code == 200  # and the next read is served again


def test_a_read_checks_out_one_connection_and_audits_on_it(server: Any) -> None:
    app, headers, path, _observer = server
    engine = _engine_of(app)
    checkouts: list[int] = []
    audited_on: list[int] = []

    def checked_out(dbapi_connection: Any, *_args: Any) -> None:
        checkouts.append(id(dbapi_connection))

    def note_audit(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("INSERT INTO access_events"):
            audited_on.append(id(conn.connection.dbapi_connection))

    with _listening(engine, checkout=checked_out, before_cursor_execute=note_audit):
        response = app.test_client().get(path, headers=headers)

    assert response.status_code == 200
    assert len(checkouts) == 1  # the token check, the read and the audit share the request's connection
    assert audited_on == checkouts


def test_on_postgresql_a_reads_statements_run_without_a_transaction_and_its_audit_in_one(server: Any) -> None:
    app, headers, path, _observer = server
    engine = _engine_of(app)
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps a read's transaction: it is what gives the read's statements one snapshot")
    seen: list[tuple[str, bool]] = []

    def note(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append((statement.split()[0], conn.connection.dbapi_connection.autocommit))

    assert app.test_client().get(path, headers=headers).status_code == 200  # the token verified once
    with _listening(engine, before_cursor_execute=note):
        response = app.test_client().get(path, headers=headers)

    assert response.status_code == 200
    # The token's client check and the row, each on its own; the access event in a transaction.
    assert seen == [("SELECT", True), ("SELECT", True), ("INSERT", False)]


def _event(n: int, *, client_id: str | None = "gc-test") -> dict[str, Any]:
    return {
        "id": f"00000000-0000-0000-0000-{n:012d}", "recorded": datetime.now().astimezone(), "action": "R",
        "interaction": "read", "outcome": "0", "client_id": client_id, "subject": "gc-test", "organization_id": None,
        "patient_id": None, "resource_type": "Task", "resource_id": str(n), "query": None, "description": None,
    }  # fmt: skip


def test_events_waiting_during_a_commit_share_the_next_one_and_a_bad_event_fails_only_its_request(
    committed_url: str,
) -> None:
    engine = make_engine(committed_url)
    writer = writer_for(engine)
    inserts: list[int] = []
    first_in_flight, release = threading.Event(), threading.Event()

    def hold_the_first(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if statement.startswith("INSERT INTO access_events"):
            inserts.append(len(parameters) if isinstance(parameters, list) else 1)
            if len(inserts) == 1:
                first_in_flight.set()
                release.wait(60)

    event.listen(engine, "before_cursor_execute", hold_the_first)
    outcomes: dict[str, BaseException | None] = {}

    def write(name: str, rows: list[dict[str, Any]]) -> None:
        try:
            writer.write(rows)
            outcomes[name] = None
        except BaseException as failed:
            outcomes[name] = failed

    first = threading.Thread(target=write, args=("first", [_event(1)]))
    first.start()
    assert first_in_flight.wait(60)
    # While the first commit is in flight, two more requests arrive; one event lacks its client (NOT NULL).
    later = [threading.Thread(target=write, args=("good", [_event(2), _event(3)])),
             threading.Thread(target=write, args=("bad", [_event(4, client_id=None)]))]  # fmt: skip
    for thread in later:
        thread.start()
    deadline = time.monotonic() + 60
    while len(writer._waiting) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    for thread in [first, *later]:
        thread.join(60)
    event.remove(engine, "before_cursor_execute", hold_the_first)

    with engine.connect() as conn:
        stored = set(conn.scalars(select(AccessEvent.resource_id)))
    engine.dispose()
    assert inserts[:2] == [1, 3]  # the first alone, then both waiting requests' three events in one INSERT
    assert outcomes["first"] is None and outcomes["good"] is None
    assert isinstance(outcomes["bad"], IntegrityError)
    assert stored == {"1", "2", "3"}
