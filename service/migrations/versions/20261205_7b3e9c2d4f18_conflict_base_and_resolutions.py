"""a conflicting delivery keeps the merge base and the values a person chose per element

Revision ID: 7b3e9c2d4f18
Revises: 7d3e9a1c5b42
Create Date: 2026-12-05

See service/sync/merge.py: a conflict shows base, ours and theirs, and is resolved element by
element. Existing conflicts have no base (NULL): they merge against an empty base.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7b3e9c2d4f18"
down_revision: str | Sequence[str] | None = "7d3e9a1c5b42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("partner_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("base", JSON, nullable=True))
        batch_op.add_column(sa.Column("resolutions", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("partner_deliveries", schema=None) as batch_op:
        batch_op.drop_column("resolutions")
        batch_op.drop_column("base")
