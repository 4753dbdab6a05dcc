"""Shared fixtures: a migrated database (PostgreSQL when reachable, else SQLite), rollback per test.

Backend choice: ``CAREBRIDGE_TEST_DB=postgres|sqlite``. Default: PostgreSQL on 127.0.0.1:5432 when
it answers, otherwise SQLite. Under CI (``CI=true``) an unreachable PostgreSQL is a failure, not
a silent fallback. Each run creates its own throw-away database, so parallel runs never collide.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from service import clock
from service.db import make_engine
from service.migrate import upgrade

pytest_plugins = ["tests.peers", "tests.factories"]

PG_ADMIN_URL = os.environ.get("CAREBRIDGE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _postgres_reachable() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


def _backend() -> str:
    wanted = os.environ.get("CAREBRIDGE_TEST_DB", "auto")
    if wanted == "sqlite":
        return "sqlite"
    if _postgres_reachable():
        return "postgres"
    if wanted == "postgres" or IN_CI:
        pytest.exit(f"PostgreSQL is required but not reachable at {PG_ADMIN_URL}", returncode=3)
    return "sqlite"


@contextmanager
def scratch_postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server; its URL. Dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    if _backend() == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'carebridge-test.db'}"
        return
    with scratch_postgres_database("carebridge_test") as url:
        yield url


@pytest.fixture
def committed_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A migrated database of its own, on the run's backend, for tests whose other processes (a
    Celery worker) must see committed data: the rollback-per-test session cannot serve them."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'committed.db'}"
        upgrade(url)
        yield url
        return
    with scratch_postgres_database("carebridge_committed") as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """One outer transaction per test, rolled back at the end whatever the use cases committed."""
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        if outer.is_active:
            outer.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Any]:
    # Use-case commits become SAVEPOINT releases inside the test's outer transaction.
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def session(session_factory: sessionmaker[Any]) -> Iterator[Session]:
    with session_factory() as s:
        yield s


@pytest.fixture
def now() -> Iterator[datetime]:
    """A fixed clock: Tuesday 2026-03-10 09:00 UTC."""
    fixed = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    clock.set_clock(lambda: fixed)
    yield fixed
    clock.set_clock(None)


@pytest.fixture
def app(session_factory: sessionmaker[Any], database_url: str) -> Any:
    from service.app import create_app
    from service.config import Settings

    return create_app(Settings(database_url=database_url, celery_eager=True), session_factory=session_factory)


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()
