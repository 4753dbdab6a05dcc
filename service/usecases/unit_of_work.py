"""Transactions belong to use cases: commit when the use case finishes, roll back on any error.

So a refused request never leaves a half-written record behind. A use case made of other use
cases (an admit message that registers the patient and then opens the stay) is one unit of work:
only the outermost commits, so a refusal in a later step also undoes the earlier ones.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import event, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapper, Session

from service.db import text_lengths
from service.usecases.errors import Invalid, NotFound

T = TypeVar("T")


_DEPTH = "carebridge.unit_of_work_depth"


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    depth = session.info.get(_DEPTH, 0)
    if depth:  # inside another use case: its unit of work commits or rolls back the whole
        session.info[_DEPTH] = depth + 1
        try:
            yield session
        finally:
            session.info[_DEPTH] = depth
        return
    session.info[_DEPTH] = 1
    try:
        yield session
        session.commit()
    except IntegrityError:
        references = session.info.pop(_FLUSHED_REFERENCES, [])
        session.rollback()
        _refuse_unknown_reference(session, references)
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info[_DEPTH] = 0


def get_or_404(session: Session, model: type[T], ident: Any) -> T:
    obj = session.get(model, ident)
    if obj is None:
        raise NotFound(model.__name__, str(ident))
    return obj


_Reference = tuple[str, Any, Any]  # attribute name, referenced column, value
_FLUSHED_REFERENCES = "carebridge.flushed_references"


@event.listens_for(Session, "before_flush")
def _remember_references(session: Session, _context: Any, _instances: Any) -> None:
    """The foreign-key values this flush writes, kept so that a foreign-key violation can name its
    field: once the flush fails, SQLAlchemy has already expunged the new records."""
    found: list[_Reference] = []
    for obj in [*session.new, *session.dirty]:
        state = inspect(obj)
        values = state.dict
        found += [(key, ref, v) for key, ref in _foreign_keys(state.mapper) if (v := values.get(key)) is not None]
    session.info[_FLUSHED_REFERENCES] = found


@event.listens_for(Session, "before_flush")
def _refuse_overlong_text(session: Session, _context: Any, _instances: Any) -> None:
    """422 naming the field, from any door, for a value longer than its column: PostgreSQL would
    fail the INSERT (a 500), and SQLite would keep megabytes in a 40-character ward. The REST
    schemas state the same limits; this holds for FHIR messages, imports and the CLI as well."""
    for obj in [*session.new, *session.dirty]:
        state = inspect(obj)
        values = state.dict
        for key, length in text_lengths(state.class_).items():
            value = values.get(key)
            if isinstance(value, str) and len(value) > length:
                raise Invalid(
                    f"{key} is longer than {length} characters",
                    fields={key: [f"at most {length} characters, got {len(value)}"]},
                )


@functools.cache
def _foreign_keys(mapper: Mapper[Any]) -> tuple[tuple[str, Any], ...]:
    """(attribute, referenced column) of each foreign key of a model, worked out once per model:
    walking every column of every flushed record cost each push row more than its own SQL."""
    return tuple(
        (attr.key, fk.column) for attr in mapper.column_attrs for column in attr.columns for fk in column.foreign_keys
    )


def _refuse_unknown_reference(session: Session, references: list[_Reference]) -> None:
    """422 naming the first field whose id names no record: a caller's mistake, not a server fault."""
    for name, column, value in references:
        if session.scalar(select(column).where(column == value).limit(1)) is None:
            raise Invalid(f"{name} names no known record", fields={name: [f"unknown id '{value}'"]}) from None
