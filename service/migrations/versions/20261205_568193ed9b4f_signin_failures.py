"""failed sign-ins per account and per address (sign-in throttling)

Revision ID: 568193ed9b4f
Revises: 5d8e2f1a9c47
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db  # noqa: F401  (custom column types such as UTCDateTime)

revision: str = "568193ed9b4f"
down_revision: str | None = "5d8e2f1a9c47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signin_failures",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_started_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_signin_failures")),
    )


def downgrade() -> None:
    op.drop_table("signin_failures")
