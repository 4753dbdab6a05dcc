"""FHIR Subscriptions (R4 backport, rest-hook) and the notifications owed to each subscriber.

A notification row is written by the outbox relay in the same transaction that marks the change
event dispatched, then delivered by Celery; it stays `pending` until the subscriber's endpoint
answered 2xx, and becomes `failed` (visible in `$status`) only after the retry window.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, IdType, JSONType, UTCDateTime, new_id

# https://hl7.org/fhir/R4/valueset-subscription-status.html
SUBSCRIPTION_STATUSES = ("requested", "active", "error", "off")
# https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/ValueSet-backport-notification-type.html
NOTIFICATION_KINDS = ("handshake", "heartbeat", "event-notification")
DELIVERY_STATUSES = ("pending", "delivered", "failed")


class Subscription(Base):
    __tablename__ = "fhir_subscriptions"
    __table_args__ = (Index("ix_fhir_subscriptions_topic_status", "topic", "status"),)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    # Who subscribed, kept so every notification is filtered by what that client may see.
    client_id: Mapped[str] = mapped_column(String(200), index=True)
    organization_id: Mapped[str | None] = mapped_column(IdType)
    scopes: Mapped[str] = mapped_column(Text)
    patient_id: Mapped[str | None] = mapped_column(IdType)
    topic: Mapped[str] = mapped_column(String(255))
    # {"owner": ["Organization/x"], "patient": [...], "status": [...]}: values OR-ed, names AND-ed.
    filters: Mapped[dict[str, list[str]]] = mapped_column(JSONType, default=dict)
    endpoint: Mapped[str] = mapped_column(String(1000))
    headers: Mapped[list[str]] = mapped_column(JSONType, default=list)
    content: Mapped[str] = mapped_column(String(16), default="id-only")
    heartbeat_seconds: Mapped[int | None] = mapped_column(Integer)
    timeout_seconds: Mapped[int] = mapped_column(Integer, default=10)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="requested")
    error: Mapped[str | None] = mapped_column(Text)
    events_since_start: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationDelivery(Base):
    __tablename__ = "fhir_notification_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_number"),
        # The delivery loop: a subscription's pending notifications in order.
        Index("ix_fhir_notification_deliveries_queue", "subscription_id", "status", "id"),
        Index("ix_fhir_notification_deliveries_due", "status", "next_attempt_at"),
    )

    # BigInteger on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    subscription_id: Mapped[str] = mapped_column(ForeignKey("fhir_subscriptions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    # Only event notifications are numbered (handshakes and heartbeats carry no event).
    event_number: Mapped[int | None] = mapped_column(Integer)
    focus_type: Mapped[str | None] = mapped_column(String(40))
    focus_id: Mapped[str | None] = mapped_column(IdType)
    event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
