"""users get a role and an active flag (issue #10: every door asks one access policy)

Revision ID: 4f7a2c9e1b30
Revises: 568193ed9b4f
Create Date: 2026-12-05

Existing users get the role their organisation's kind implies (hospital staff: discharge
planner; payer staff: payer care manager; everyone else: intake coordinator) and stay active.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4f7a2c9e1b30"
down_revision: str | Sequence[str] | None = "568193ed9b4f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("role", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.execute(
        """
        UPDATE users SET role = CASE
            (SELECT kind FROM organizations WHERE organizations.id = users.organization_id)
            WHEN 'hospital' THEN 'discharge_planner'
            WHEN 'payer' THEN 'payer_care_manager'
            ELSE 'intake_coordinator' END
        """
    )
    with op.batch_alter_table("users") as batch:
        batch.alter_column("role", existing_type=sa.String(length=32), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("active")
        batch.drop_column("role")
