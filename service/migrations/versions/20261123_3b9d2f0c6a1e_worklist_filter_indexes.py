"""worklist filter indexes

Revision ID: 3b9d2f0c6a1e
Revises: 7cfc5bc3fb12
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3b9d2f0c6a1e"
down_revision: str | None = "7cfc5bc3fb12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_stays_worklist_unit", "stays", ["status", "unit", "expected_discharge_date", "id"])
    op.create_index("ix_stays_worklist_planner", "stays", ["status", "planner_id", "expected_discharge_date", "id"])


def downgrade() -> None:
    op.drop_index("ix_stays_worklist_planner", table_name="stays")
    op.drop_index("ix_stays_worklist_unit", table_name="stays")
