"""Celery tasks delivering Subscription notifications (ids in, a use case call, re-scheduling out)."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from service.app import runtime
from service.tasks.relay import DB_RETRY
from service.usecases import subscriptions
from service.usecases.outbound_endpoints import EndpointPolicy
from service.usecases.subscriptions import RetryPolicy


def fhir_base() -> str:
    return runtime(current_app).settings.public_url.rstrip("/") + "/fhir/R4"


@shared_task(name="service.tasks.notifications.deliver_notifications", **DB_RETRY)
def deliver_notifications(subscription_id: str) -> int:
    """Deliver what is due for one subscription; re-sends itself for the next batch or retry."""
    rt = runtime(current_app)
    endpoints = EndpointPolicy.from_setting(rt.settings.subscription_allow_private)
    with rt.session_factory() as session:
        outcome = subscriptions.deliver_pending(
            session, subscription_id, base_url=fhir_base(), policy=RetryPolicy.from_env(), endpoints=endpoints
        )
    if outcome.more:
        deliver_notifications.delay(subscription_id)
    elif outcome.retry_in is not None and not deliver_notifications.app.conf.task_always_eager:
        # Backoff through the broker; `deliver_due` on the beat re-sends it should this message be lost.
        deliver_notifications.apply_async((subscription_id,), countdown=outcome.retry_in.total_seconds())
    return outcome.delivered


@shared_task(name="service.tasks.notifications.deliver_due")
def deliver_due() -> int:
    """Beat: send delivery for every subscription with a notification due (retries included)."""
    with runtime(current_app).session_factory() as session:
        due = subscriptions.due_subscriptions(session)
    for subscription_id in due:
        deliver_notifications.delay(subscription_id)
    return len(due)


@shared_task(name="service.tasks.notifications.send_heartbeats")
def send_heartbeats() -> int:
    """Beat: queue heartbeats for subscriptions silent for their heartbeat period, and send them."""
    with runtime(current_app).session_factory() as session:
        due = subscriptions.queue_heartbeats(session)
    for subscription_id in due:
        deliver_notifications.delay(subscription_id)
    return len(due)
