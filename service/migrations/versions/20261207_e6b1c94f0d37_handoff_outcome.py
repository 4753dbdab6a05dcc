"""a handoff keeps the outcome its recipient reported on completion

Revision ID: e6b1c94f0d37
Revises: d4c7a2e91b35
Create Date: 2026-12-07

Issue #15: a completed referral Task says what was done (Task.output), which closes the loop.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e6b1c94f0d37"
down_revision: str | Sequence[str] | None = "d4c7a2e91b35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_column("outcome")
