"""Alembic environment: one migration history for SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

import service.models  # noqa: F401  (registers every table on Base.metadata)
from service.db import Base, make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_with(connection)
        return
    engine = make_engine(url)
    with engine.connect() as conn:
        _run_with(conn)
    engine.dispose()


def _run_with(connection: Connection) -> None:
    # Batch mode lets ALTER TABLE work on SQLite, which cannot alter most constraints in place.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run()
