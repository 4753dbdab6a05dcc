"""the outbox claim reads a partial index of open deliveries, not every done row in id order

Revision ID: e3a9c1f47b20
Revises: d3a8f5c27e41
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e3a9c1f47b20"
down_revision: str | None = "d3a8f5c27e41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("state IN ('pending', 'in-flight')")


def upgrade() -> None:
    op.drop_index("ix_partner_deliveries_claim", table_name="partner_deliveries")
    op.create_index(
        "ix_partner_deliveries_open",
        "partner_deliveries",
        ["partner_id", "id"],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_partner_deliveries_open", table_name="partner_deliveries")
    op.create_index("ix_partner_deliveries_claim", "partner_deliveries", ["partner_id", "state", "due_at", "id"])
