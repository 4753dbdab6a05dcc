"""SQLAlchemy engine, session factory and declarative base shared by every model."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import JSON, DateTime, MetaData, String, Table, TypeDecorator, create_engine, event, inspect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, sessionmaker

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def table_of(model: type[Any]) -> Table:
    """A model's Table, for Core statements that skip the ORM (bulk inserts of a pulled page)."""
    return Base.metadata.tables[model.__tablename__]


@functools.cache
def text_lengths(model: type[Any]) -> Mapping[str, int]:
    """Attribute -> length of each length-limited text column of a model, worked out once per model:
    the flush-time check and the pull's bounds check ask for every record they see."""
    return {
        attr.key: column.type.length
        for attr in inspect(model).column_attrs
        for column in attr.columns
        if isinstance(column.type, String) and column.type.length
    }


# The RFC 9562 variant digit (10xx) for each hex digit the random bytes gave.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_id() -> str:
    """A random UUID (version 4, https://www.rfc-editor.org/rfc/rfc9562#name-uuid-version-4) as text,
    formatted from the random bytes directly: a pulled page of Patients makes four ids a patient,
    and building `uuid.uuid4()`'s UUID object cost twice as much as the random bytes (#12)."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware instants everywhere: SQLite drops the zone, so store UTC and restore it."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; carebridge stores timezone-aware instants only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")
IdType = String(36)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # orjson reads and writes JSON columns (partners' resources, audit snapshots) several times faster than json.
    # hide_parameters: an error's message never carries the values of the statement (names, birth dates, MRNs).
    # pre-ping (a round trip per checkout) finds a server connection lost meanwhile; an SQLite file has none.
    # PostgreSQL's JIT off: it compiled for 0.4-0.7 s before a whole-set count ran (Task?_summary=count at
    # 100,000 Tasks: 731 of 865 ms), and carebridge's statements are short ones, which JIT only slows
    # (https://www.postgresql.org/docs/current/jit-decision.html).
    connect_args = {"options": "-c jit=off"} if url.startswith("postgresql") else {}
    engine = create_engine(
        url,
        future=True,
        pool_pre_ping=not url.startswith("sqlite"),
        hide_parameters=True,
        json_serializer=_json_text,
        json_deserializer=orjson.loads,
        connect_args=connect_args,
    )
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


# Execution options of a session that will write (``factory(execution_options=WRITES)``, see
# service.app.request_session): on SQLite its transactions begin IMMEDIATE. Others begin DEFERRED, so a session
# that only reads (or reads while it waits on a partner) never holds the write lock. PostgreSQL ignores it.
_WRITES = "carebridge_writes"
WRITES = {_WRITES: True}


def _sqlite_begin(conn: Any) -> None:
    # A deferred SQLite transaction that has read and then writes fails at once with SQLITE_BUSY if another
    # connection wrote meanwhile: busy_timeout is not consulted for that upgrade
    # (https://www.sqlite.org/lang_transaction.html#deferred_immediate_and_exclusive_transactions). So a writer
    # takes the write lock up front, waiting busy_timeout for it; readers stay deferred, and in WAL never wait.
    # A transaction whose first statement writes (the access audit) waits busy_timeout even when deferred.
    # Sent on the driver's connection: through SQLAlchemy's statement execution it cost every read as much as
    # one of its SELECTs.
    begin = "BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITES) else "BEGIN"
    conn.connection.driver_connection.execute(begin)


def _json_text(value: Any) -> str:
    # Non-string keys as json.dumps writes them (orjson refuses them by default).
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINTs; let SQLAlchemy emit BEGIN itself
    # (https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl).
    dbapi_connection.isolation_level = None
    # Foreign keys are off by default in SQLite; WAL lets the web server and a worker share the file.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL never corrupts the file; a power cut may lose the last commits, not a crash of the
    # process. It spares an fsync per commit, and every FHIR read commits an access event
    # (https://www.sqlite.org/pragma.html#pragma_synchronous).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(bind=engine, expire_on_commit=False, future=True)


def utcnow() -> datetime:
    return datetime.now(UTC)
