"""Transactions belong to use cases: commit when the use case finishes, roll back on any error.

So a refused request never leaves a half-written record behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from service.usecases.errors import NotFound

T = TypeVar("T")


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def get_or_404(session: Session, model: type[T], ident: Any) -> T:
    obj = session.get(model, ident)
    if obj is None:
        raise NotFound(model.__name__, str(ident))
    return obj
