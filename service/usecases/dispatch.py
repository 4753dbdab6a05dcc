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
    """Relay every pending event, ``batch`` at a time (one transaction each); how many were dispatched.

    The whole backlog goes each time, not just its oldest batch: after a large pull (thousands of
    Patient events), an edit made behind them must not wait for several more rounds.
    """
    total = 0
    while relayed := _dispatch_batch(session, consumers, batch):
        total += relayed
    return total


def _dispatch_batch(session: Session, consumers: Sequence[FanOut], batch: int) -> int:
    with unit_of_work(session):
        query = select(ChangeEvent).where(ChangeEvent.dispatched_at.is_(None)).order_by(ChangeEvent.id).limit(batch)
        events = list(session.scalars(query.with_for_update(skip_locked=True)))
        now = clock.now()
        for event in events:
            for consume in consumers:
                consume(session, event)
            event.dispatched_at = now
        return len(events)
