"""sync errors once per resource; partners' pull state and trusted identifier systems; patient matches

Revision ID: 7c3e9a1b5d42
Revises: 7b3e9c2d4f18
Create Date: 2026-12-05

sync_errors is recreated rather than altered: its old rows repeat on every re-pull and their
messages may quote patient data (names, MRNs), which the new table never holds. The next pull
records whatever still fails.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import service.db

revision: str = "7c3e9a1b5d42"
down_revision: str | Sequence[str] | None = "7b3e9c2d4f18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("sync_errors") as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_errors_partner_id"))
    op.drop_table("sync_errors")
    op.create_table(
        "sync_errors",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("remote_id", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("first_seen", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_sync_errors_partner_id_partners"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_errors")),
        sa.UniqueConstraint("partner_id", "resource_type", "remote_id", name="uq_sync_errors_resource"),
    )
    op.create_index(op.f("ix_sync_errors_partner_id"), "sync_errors", ["partner_id"])
    with op.batch_alter_table("partners") as batch_op:
        batch_op.add_column(sa.Column("trusted_identifier_systems", JSON, nullable=True))
        batch_op.add_column(sa.Column("pulled_at", service.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("pull_error", sa.Text(), nullable=True))
    # Existing partners trust no identifier system until an operator names one (partners update).
    op.execute("UPDATE partners SET trusted_identifier_systems = '[]'")
    with op.batch_alter_table("partners") as batch_op:
        batch_op.alter_column("trusted_identifier_systems", existing_type=JSON, nullable=False)
    op.create_table(
        "patient_matches",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("remote_id", sa.String(length=64), nullable=False),
        sa.Column("remote_version", sa.String(length=64), nullable=True),
        sa.Column("remote_json", JSON, nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_patient_matches_partner_id_partners"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_patient_matches_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_matches")),
        sa.UniqueConstraint("partner_id", "remote_id", name="uq_patient_matches_remote"),
    )
    op.create_index(op.f("ix_patient_matches_patient_id"), "patient_matches", ["patient_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_patient_matches_patient_id"), table_name="patient_matches")
    op.drop_table("patient_matches")
    with op.batch_alter_table("partners") as batch_op:
        batch_op.drop_column("pull_error")
        batch_op.drop_column("pulled_at")
        batch_op.drop_column("trusted_identifier_systems")
    op.drop_index(op.f("ix_sync_errors_partner_id"), table_name="sync_errors")
    op.drop_table("sync_errors")
    op.create_table(
        "sync_errors",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("remote_id", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_sync_errors_partner_id_partners"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_errors")),
    )
    op.create_index(op.f("ix_sync_errors_partner_id"), "sync_errors", ["partner_id"])
