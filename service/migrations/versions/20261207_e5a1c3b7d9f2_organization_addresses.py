"""organisation address and phone (US Core Organization must support; Location's address)

Revision ID: e5a1c3b7d9f2
Revises: 6b2f8e4a1c93
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5a1c3b7d9f2"
down_revision: str | None = "6b2f8e4a1c93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("address_line", 200),
    ("address_city", 100),
    ("address_state", 40),
    ("address_postal_code", 20),
    ("phone", 40),
)


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        for name, length in COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
