"""patient identifier systems a partner client is trusted to match on (admit notifications)

Revision ID: 7d3e9a1c5b42
Revises: 4f7a2c9e1b30
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d3e9a1c5b42"
down_revision: str | None = "4f7a2c9e1b30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("partner_clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identifier_systems", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("partner_clients", schema=None) as batch_op:
        batch_op.drop_column("identifier_systems")
