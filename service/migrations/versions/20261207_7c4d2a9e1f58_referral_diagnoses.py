"""a referral carries its diagnoses as coded concepts

Revision ID: 7c4d2a9e1f58
Revises: e5a1c3b7d9f2
Create Date: 2026-12-07

Issue #14: a facility's queue card shows the diagnosis behind a referral (ServiceRequest.reasonCode).
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7c4d2a9e1f58"
down_revision: str | Sequence[str] | None = "e5a1c3b7d9f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("diagnoses", _json(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_column("diagnoses")
