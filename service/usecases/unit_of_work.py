"""Transactions belong to use cases: commit when the use case finishes, roll back on any error.

So a refused request never leaves a half-written record behind.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import event, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapper, Session

from service.usecases.errors import Invalid, NotFound

T = TypeVar("T")


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
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
