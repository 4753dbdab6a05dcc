"""subscriptions and bulk export

Revision ID: 5e2b8c41d9a7
Revises: 7cfc5bc3fb12
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import service.db  # noqa: F401  (custom column types such as UTCDateTime)

revision: str = "5e2b8c41d9a7"
down_revision: str | None = "7cfc5bc3fb12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "bulk_export_jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=True),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=True),
        sa.Column("types", JSON, nullable=False),
        sa.Column("since", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("request_url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.String(length=200), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("transaction_time", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("output", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_export_jobs")),
    )
    op.create_index(op.f("ix_bulk_export_jobs_client_id"), "bulk_export_jobs", ["client_id"], unique=False)
    op.create_table(
        "fhir_subscriptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=True),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=True),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("filters", JSON, nullable=False),
        sa.Column("endpoint", sa.String(length=1000), nullable=False),
        sa.Column("headers", JSON, nullable=False),
        sa.Column("content", sa.String(length=16), nullable=False),
        sa.Column("heartbeat_seconds", sa.Integer(), nullable=True),
        sa.Column("timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("events_since_start", sa.Integer(), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fhir_subscriptions")),
    )
    op.create_index(op.f("ix_fhir_subscriptions_client_id"), "fhir_subscriptions", ["client_id"], unique=False)
    op.create_index("ix_fhir_subscriptions_topic_status", "fhir_subscriptions", ["topic", "status"], unique=False)
    op.create_table(
        "fhir_notification_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("event_number", sa.Integer(), nullable=True),
        sa.Column("focus_type", sa.String(length=40), nullable=True),
        sa.Column("focus_id", sa.String(length=36), nullable=True),
        sa.Column("event_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["fhir_subscriptions.id"],
            name=op.f("fk_fhir_notification_deliveries_subscription_id_fhir_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fhir_notification_deliveries")),
        sa.UniqueConstraint(
            "subscription_id", "event_number", name=op.f("uq_fhir_notification_deliveries_subscription_id")
        ),
    )
    op.create_index(
        "ix_fhir_notification_deliveries_due", "fhir_notification_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_fhir_notification_deliveries_queue", "fhir_notification_deliveries", ["subscription_id", "status", "id"]
    )


def downgrade() -> None:
    op.drop_table("fhir_notification_deliveries")
    op.drop_table("fhir_subscriptions")
    op.drop_index(op.f("ix_bulk_export_jobs_client_id"), table_name="bulk_export_jobs")
    op.drop_table("bulk_export_jobs")
