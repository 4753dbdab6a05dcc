"""The outbox relay as a Celery task, and the trigger that runs it right after a commit.

Latency comes from the trigger (`install_relay_trigger`: a commit that wrote ChangeEvents sends
`relay_changes`; one that wrote notifications sends their delivery); the beat entry running
`relay_changes` every few seconds is the safety net for a lost message or a crashed worker.
Tasks are sent only after commit, so a worker never looks for rows that are not there yet.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from flask import current_app
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service.app import runtime
from service.models import ChangeEvent
from service.models.subscriptions import NotificationDelivery
from service.tasks.sending import send_after_commit
from service.usecases.changes import EVENTS_WRITTEN
from service.usecases.consumers import CONSUMERS
from service.usecases.dispatch import dispatch_pending

# A lost race for the database (SQLite's single writer, a PostgreSQL deadlock) is temporary: retry soon.
DB_RETRY: dict[str, Any] = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": 1,
    "retry_jitter": True,
    "max_retries": 5,
}
_NOTIFY = "carebridge.notify_subscriptions"


@shared_task(name="service.tasks.relay.relay_changes", **DB_RETRY)
def relay_changes() -> int:
    """Relay pending change events to every consumer, until the outbox is drained."""
    with runtime(current_app).session_factory() as session:
        return dispatch_pending(session, CONSUMERS)


def install_relay_trigger(session_factory: sessionmaker[Any]) -> None:
    """Send the relay (and notification deliveries) after each commit of `session_factory`'s sessions."""
    event.listen(session_factory, "after_flush", _note_writes)
    event.listen(session_factory, "after_commit", _send_after_commit)
    event.listen(session_factory, "after_rollback", _forget)


def _note_writes(session: Session, _flush_context: Any) -> None:
    for obj in session.new:
        if isinstance(obj, ChangeEvent):
            session.info[EVENTS_WRITTEN] = True
        elif isinstance(obj, NotificationDelivery):
            session.info.setdefault(_NOTIFY, set()).add(obj.subscription_id)


def _send_after_commit(session: Session) -> None:
    from service.tasks.notifications import deliver_notifications

    relay = session.info.pop(EVENTS_WRITTEN, False)
    for subscription_id in sorted(session.info.pop(_NOTIFY, set())):
        send_after_commit(deliver_notifications, subscription_id)
    if relay:
        send_after_commit(relay_changes)


def _forget(session: Session) -> None:
    session.info.pop(EVENTS_WRITTEN, None)
    session.info.pop(_NOTIFY, None)
