"""a referral names the goal it serves

Revision ID: d3a8f5c27e41
Revises: b7e41c9d2a58
Create Date: 2026-12-07

Issue #15: a goal learns whether the referrals that serve it succeeded (Gravity SDOH
ServiceRequest pertainsToGoal).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d3a8f5c27e41"
down_revision: str | Sequence[str] | None = "b7e41c9d2a58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("goal_id", sa.String(length=36), nullable=True))
        batch_op.create_foreign_key("fk_referrals_goal_id_goals", "goals", ["goal_id"], ["id"])
        batch_op.create_index("ix_referrals_goal_id", ["goal_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_goal_id")
        batch_op.drop_constraint("fk_referrals_goal_id_goals", type_="foreignkey")
        batch_op.drop_column("goal_id")
