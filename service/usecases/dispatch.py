"""The outbox relay: fan pending change events out to their consumers, then mark them dispatched.

Consumers (partner push, subscription notifications) are functions ``fan_out(session, event)``
that only write their own delivery rows; all of it commits in one transaction with the
``dispatched_at`` mark, so an event is fanned out exactly once even with many workers
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import clock
from service.models import ChangeEvent
from service.usecases.unit_of_work import unit_of_work

FanOut = Callable[[Session, ChangeEvent], None]


def dispatch_pending(session: Session, consumers: Sequence[FanOut], *, batch: int = 500) -> int:
    """Relay up to ``batch`` events; returns how many were dispatched."""
    with unit_of_work(session):
        query = select(ChangeEvent).where(ChangeEvent.dispatched_at.is_(None)).order_by(ChangeEvent.id).limit(batch)
        events = list(session.scalars(query.with_for_update(skip_locked=True)))
        now = clock.now()
        for event in events:
            for consume in consumers:
                consume(session, event)
            event.dispatched_at = now
        return len(events)
