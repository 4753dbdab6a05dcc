"""Subscriptions: create/read/delete, fan-out of change events, and delivery with retries.

- `fan_out(session, event)` is an outbox consumer (`service.usecases.consumers.CONSUMERS`): for
  each subscription whose topic, filters and tenancy match the changed record it writes one
  numbered `NotificationDelivery`, in the relay's transaction.
- `deliver_pending(...)` posts a subscription's pending notifications in order. A failure stops
  the queue (later events wait behind it, so a receiver gets them in order once it is back),
  sets the subscription's status to `error`, and reschedules with backoff; only after
  `RetryPolicy.give_up_after` (>= 24 h) does a notification become `failed`, which the
  subscription's `error` and `$status` keep reporting
  (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/errors.html).
- Every delivery attempt is audited with `record_access` (interaction "notify").
- An endpoint is checked against the `EndpointPolicy` (https, no internal addresses: see
  service.usecases.outbound_endpoints) when the Subscription is created and before every attempt.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import requests
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service import clock
from service.auth import policy
from service.auth.audit import OUTCOME_MINOR, OUTCOME_SUCCESS, record_access
from service.auth.context import AccessContext
from service.auth.policy import MODELS, visible_rows
from service.auth.registry import REVOKED_SUBSCRIPTION
from service.auth.scopes import parse_scopes
from service.fhir_api.subscriptions_fhir import (
    TOPIC_FOR_ENTITY,
    TOPICS,
    EventRef,
    SubscriptionSpec,
    Topic,
    notification_bundle,
)
from service.models import ChangeEvent
from service.models.clients import PartnerClient
from service.models.subscriptions import NotificationDelivery, Subscription
from service.usecases.errors import Invalid, NotFound
from service.usecases.outbound_endpoints import EndpointPolicy, EndpointRefused, guarded_sender
from service.usecases.unit_of_work import unit_of_work

LIVE = ("requested", "active", "error")
LOCKED_RETRY = timedelta(seconds=2)
# Send = (url, body, headers, timeout seconds) -> HTTP status; raises requests.RequestException.
Send = Callable[[str, bytes, Mapping[str, str], float], int]


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff between delivery attempts; the last delay repeats until `give_up_after`."""

    delays: tuple[float, ...] = (10, 30, 60, 300, 900, 1800, 3600)
    give_up_after: timedelta = timedelta(hours=26)

    def delay_after(self, attempts: int) -> timedelta:
        return timedelta(seconds=self.delays[min(attempts, len(self.delays)) - 1])

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """`CAREBRIDGE_NOTIFY_RETRY_DELAYS="1,2,5"` (seconds) shortens the backoff (tests, demos);
        the give-up window never drops below 24 hours."""
        raw = os.environ.get("CAREBRIDGE_NOTIFY_RETRY_DELAYS", "")
        delays = tuple(float(d) for d in raw.split(",") if d.strip())
        return cls(delays=delays) if delays else cls()


@dataclass(frozen=True)
class DeliveryOutcome:
    delivered: int
    retry_in: timedelta | None  # when the next attempt is due, if something is waiting
    more: bool  # the batch limit was reached with deliveries still due


def access_of(sub: Subscription) -> AccessContext:
    """The subscriber's access, as it was when it subscribed: what every notification is filtered by."""
    return AccessContext(
        client_id=sub.client_id,
        subject=sub.client_id,
        organization_id=sub.organization_id,
        scopes=parse_scopes(sub.scopes),
        patient_id=sub.patient_id,
    )


def create_subscription(
    session: Session, ctx: AccessContext, spec: SubscriptionSpec, endpoints: EndpointPolicy
) -> Subscription:
    """Store the subscription as `requested` and queue the handshake; it is `active` once the
    endpoint answered it (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/components.html#handshake).
    An endpoint `endpoints` refuses is Invalid (422) on `channel.endpoint`."""
    try:
        endpoints.check(spec.endpoint)
    except EndpointRefused as refused:
        raise Invalid(
            "the channel endpoint is not allowed", fields={"Subscription.channel.endpoint": [str(refused)]}
        ) from None
    with unit_of_work(session):
        now = clock.now()
        sub = Subscription(
            client_id=ctx.client_id,
            organization_id=ctx.organization_id,
            scopes=str(ctx.scopes),
            patient_id=ctx.patient_id,
            topic=spec.topic.url,
            filters=spec.filters,
            endpoint=spec.endpoint,
            headers=spec.headers,
            content=spec.content,
            heartbeat_seconds=spec.heartbeat_seconds,
            timeout_seconds=spec.timeout_seconds,
            reason=spec.reason,
            status="requested",
            events_since_start=0,
            created_at=now,
        )
        session.add(sub)
        session.flush()
        session.add(_delivery(sub, "handshake", now))
        return sub


def get_subscription(session: Session, ctx: AccessContext, subscription_id: str) -> Subscription:
    """The subscription, if `ctx`'s client (or another client of the same organisation) owns it."""
    sub = session.get(Subscription, subscription_id)
    if sub is None or not _owns(ctx, sub):
        raise NotFound("Subscription", subscription_id)
    return sub


# The most events one `$events` call returns: a client pages with eventsSinceNumber.
MAX_EVENTS = 100


def subscription_events(
    session: Session, ctx: AccessContext, subscription_id: str, since: int | None, until: int | None
) -> tuple[Subscription, list[EventRef]]:
    """The subscription's numbered events from `since` to `until` (both inclusive), oldest first,
    as kept in its deliveries (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/OperationDefinition-backport-subscription-events.html)."""
    sub = get_subscription(session, ctx, subscription_id)
    query = select(NotificationDelivery).where(
        NotificationDelivery.subscription_id == sub.id, NotificationDelivery.kind == "event-notification"
    )
    if since is not None:
        query = query.where(NotificationDelivery.event_number >= since)
    if until is not None:
        query = query.where(NotificationDelivery.event_number <= until)
    rows = session.scalars(query.order_by(NotificationDelivery.event_number).limit(MAX_EVENTS))
    events = [
        EventRef(row.event_number, row.event_at, row.focus_type, str(row.focus_id))
        for row in rows
        if row.event_number is not None and row.event_at is not None and row.focus_type
    ]
    return sub, events


def delete_subscription(session: Session, ctx: AccessContext, subscription_id: str) -> None:
    with unit_of_work(session):
        session.delete(get_subscription(session, ctx, subscription_id))


def _owns(ctx: AccessContext, sub: Subscription) -> bool:
    same_org = ctx.organization_id is not None and ctx.organization_id == sub.organization_id
    return sub.client_id == ctx.client_id or same_org


def _delivery(sub: Subscription, kind: str, now: datetime, event: ChangeEvent | None = None) -> NotificationDelivery:
    numbered = event is not None
    return NotificationDelivery(
        subscription_id=sub.id,
        kind=kind,
        event_number=sub.events_since_start if numbered else None,
        focus_type=TOPICS[sub.topic].resource_type if numbered else None,
        focus_id=event.entity_id if event is not None else None,
        event_at=event.at if event is not None else None,
        created_at=now,
        status="pending",
        attempts=0,
        next_attempt_at=now,
    )


# --- fan-out (outbox consumer) ------------------------------------------------------------


def facts(topic: Topic, row: Any) -> dict[str, str]:
    """The values of the topic's filter parameters for one record, as FHIR would search them."""
    values = {"patient": f"Patient/{row.patient_id}", "status": row.status}
    if "owner" in topic.filters:
        values["owner"] = f"Organization/{row.owner_org_id}"
    return values


def matches(filters: Mapping[str, Sequence[str]], record: Mapping[str, str]) -> bool:
    """Every filter name must match (AND); any of its values may (OR). A reference filter may
    name the target as `Type/id` or as the bare id."""
    return all(any(_same(wanted, record.get(name, "")) for wanted in values) for name, values in filters.items())


def _same(wanted: str, actual: str) -> bool:
    return wanted == actual or ("/" in actual and "/" not in wanted and actual.rsplit("/", 1)[1] == wanted)


def fan_out(session: Session, event: ChangeEvent) -> None:
    """Outbox consumer: one numbered notification per matching, permitted subscription."""
    topic = TOPIC_FOR_ENTITY.get(event.entity_type)
    if topic is None:
        return
    model, _ = MODELS[topic.resource_type]
    row = session.get(model, event.entity_id)
    if row is None:
        return
    record = facts(topic, row)
    now = clock.now()
    subscriptions = session.scalars(
        select(Subscription).where(Subscription.topic == topic.url, Subscription.status.in_(LIVE))
    )
    for sub in subscriptions:
        if matches(sub.filters, record) and _may_see(session, sub, topic, event.entity_id):
            sub.events_since_start += 1
            session.add(_delivery(sub, "event-notification", now, event))


def _may_see(session: Session, sub: Subscription, topic: Topic, entity_id: str) -> bool:
    ctx = access_of(sub)
    if not policy.allows(ctx, topic.resource_type, "r"):
        return False
    model, _ = MODELS[topic.resource_type]
    query = select(model.id).where(model.id == entity_id, visible_rows(ctx, topic.resource_type))
    return session.scalar(query) is not None


# --- delivery ---------------------------------------------------------------------------------


def deliver_pending(
    session: Session,
    subscription_id: str,
    *,
    base_url: str,
    policy: RetryPolicy,
    endpoints: EndpointPolicy,
    send: Send | None = None,
    batch: int = 50,
) -> DeliveryOutcome:
    """Post the subscription's due notifications in order, stopping at the first failure.
    `send` defaults to `guarded_sender(endpoints)`.

    The subscription row is locked (`FOR UPDATE SKIP LOCKED`) so two workers never deliver the
    same queue at once; the other worker looks again shortly. Delivery is at least once: a
    receiver dedupes by event number should a commit fail after its endpoint answered.
    """
    with unit_of_work(session):
        if session.get_bind().dialect.name == "sqlite":
            # SQLite has no row locks: take its write lock first, so two workers never post the same
            # queue and the final commit cannot lose a race this transaction began as a reader.
            claim = update(Subscription).where(Subscription.id == subscription_id)
            session.execute(claim.values(status=Subscription.status))
        query = select(Subscription).where(Subscription.id == subscription_id).with_for_update(skip_locked=True)
        sub = session.scalar(query)
        if sub is None:
            # Another worker holds the queue; look again shortly in case it missed newer rows.
            busy = session.get(Subscription, subscription_id) is not None
            return DeliveryOutcome(0, LOCKED_RETRY if busy else None, False)
        if sub.status == "off":
            return DeliveryOutcome(0, None, False)
        if _client_revoked(session, sub):
            sub.status, sub.error = "off", REVOKED_SUBSCRIPTION
            return DeliveryOutcome(0, None, False)
        queue = list(
            session.scalars(
                select(NotificationDelivery)
                .where(NotificationDelivery.subscription_id == sub.id, NotificationDelivery.status == "pending")
                .order_by(NotificationDelivery.id)
                .limit(batch + 1)
            )
        )
        delivered = 0
        sender = send or guarded_sender(endpoints)
        for delivery in queue[:batch]:
            now = clock.now()
            if delivery.next_attempt_at > now:
                return DeliveryOutcome(delivered, delivery.next_attempt_at - now, False)
            error = _attempt(session, sub, delivery, base_url, endpoints, sender)
            if error is None:
                delivered += 1
                continue
            if now - delivery.created_at >= policy.give_up_after:
                delivery.status = "failed"  # dead letter: kept, counted in the status, never retried
                continue
            delivery.next_attempt_at = now + policy.delay_after(delivery.attempts)
            return DeliveryOutcome(delivered, delivery.next_attempt_at - now, False)
        sub.error = _failed_summary(session, sub)
        if sub.error is not None:
            sub.status = "error"
        return DeliveryOutcome(delivered, None, len(queue) > batch)


def _client_revoked(session: Session, sub: Subscription) -> bool:
    """Whether the subscribing client was revoked (`carebridge clients revoke`). Revoking switches
    its subscriptions off; this catches a revocation that committed after this queue was read.
    A client carebridge did not register (a trusted issuer's) has no row and is not revoked here."""
    client = session.get(PartnerClient, sub.client_id)
    return client is not None and client.revoked_at is not None


def _attempt(
    session: Session,
    sub: Subscription,
    delivery: NotificationDelivery,
    base_url: str,
    endpoints: EndpointPolicy,
    send: Send,
) -> str | None:
    """One POST of one notification; returns the error, or None when the endpoint took it."""
    now = clock.now()
    events = []
    if delivery.kind == "event-notification":
        assert delivery.event_number is not None and delivery.event_at is not None and delivery.focus_type
        events.append(EventRef(delivery.event_number, delivery.event_at, delivery.focus_type, str(delivery.focus_id)))
    body = notification_bundle(sub, delivery.kind, events, base_url, bundle_id=str(uuid.uuid4()), now=now)
    headers = {"Content-Type": "application/fhir+json"}
    for header in sub.headers:
        name, _, value = header.partition(":")
        headers[name.strip()] = value.strip()
    try:
        # Again at each attempt: the name may resolve elsewhere now than when it was accepted.
        endpoints.check(sub.endpoint)
        status = send(sub.endpoint, orjson.dumps(body), headers, float(sub.timeout_seconds))
        error = None if 200 <= status < 300 else f"the endpoint answered HTTP {status}"
    except EndpointRefused as refused:
        error = f"the endpoint is not allowed: {refused}"
    except requests.RequestException as failure:
        error = f"the endpoint could not be reached: {type(failure).__name__}"
    delivery.attempts += 1
    record_access(
        session,
        access_of(sub),
        action="E",
        interaction="notify",
        outcome=OUTCOME_SUCCESS if error is None else OUTCOME_MINOR,
        resource_type=delivery.focus_type or "Subscription",
        resource_id=delivery.focus_id or sub.id,
        description=f"{delivery.kind} #{delivery.event_number or 0} attempt {delivery.attempts}: {error or 'ok'}",
    )
    if error is None:
        delivery.status = "delivered"
        delivery.delivered_at = now
        delivery.last_error = None
        sub.last_sent_at = now
        sub.status = "active"
    else:
        delivery.last_error = error
        sub.status = "error"
        sub.error = f"{now.isoformat()}: {error} ({delivery.kind} #{delivery.event_number or 0}, will retry)"
    return error


def _failed_summary(session: Session, sub: Subscription) -> str | None:
    failed = session.scalar(
        select(func.count())
        .select_from(NotificationDelivery)
        .where(NotificationDelivery.subscription_id == sub.id, NotificationDelivery.status == "failed")
    )
    return f"{failed} notification(s) could not be delivered within the retry window" if failed else None


def queue_heartbeats(session: Session) -> list[str]:
    """Queue a heartbeat for each live subscription silent for its heartbeat period; returns their ids."""
    with unit_of_work(session):
        now = clock.now()
        idle = select(NotificationDelivery.id).where(
            NotificationDelivery.subscription_id == Subscription.id, NotificationDelivery.status == "pending"
        )
        subs = session.scalars(
            select(Subscription).where(
                Subscription.status == "active", Subscription.heartbeat_seconds.is_not(None), ~idle.exists()
            )
        )
        due = []
        for sub in subs:
            last = sub.last_sent_at or sub.created_at
            if sub.heartbeat_seconds and now - last >= timedelta(seconds=sub.heartbeat_seconds):
                session.add(_delivery(sub, "heartbeat", now))
                due.append(sub.id)
        return due


def due_subscriptions(session: Session) -> list[str]:
    """Subscriptions with a notification whose attempt is due (the beat's safety net)."""
    query = (
        select(NotificationDelivery.subscription_id)
        .where(NotificationDelivery.status == "pending", NotificationDelivery.next_attempt_at <= clock.now())
        .distinct()
    )
    return list(session.scalars(query))
