"""What the PostgreSQL benchmarks share: a throw-away database, migrated, and bench organisations."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from service.db import make_engine
from service.migrate import upgrade

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def scratch_database(pg_url: str) -> Iterator[tuple[str, Engine]]:
    """A new database beside ``pg_url``'s, migrated; (its URL, an engine). Dropped afterwards."""
    name = f"carebridge_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = pg_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        engine = make_engine(url)
        try:
            yield url, engine
        finally:
            engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def bulk_load(engine: Engine) -> Iterator[Any]:
    """A psycopg cursor for COPY; committed and ANALYZEd afterwards, so plans see the new sizes."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        yield cursor
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def add_organizations(engine: Engine, kinds: Sequence[str]) -> list[str]:
    """One organisation per kind (e.g. "hospital", "payer", "snf"); their ids, in order."""
    ids = [str(uuid.uuid4()) for _ in kinds]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO organizations (id, name, kind, identifiers, created_at) "
                "VALUES (:id, :name, :kind, '[]', now())"
            ),
            [{"id": i, "name": f"Bench {kind}", "kind": kind} for i, kind in zip(ids, kinds, strict=True)],
        )
    return ids
