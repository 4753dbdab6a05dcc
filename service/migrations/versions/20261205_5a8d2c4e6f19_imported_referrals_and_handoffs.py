"""referrals and handoffs remember the partner they were imported from

Revision ID: 5a8d2c4e6f19
Revises: 3e1f0a7c9b24
Create Date: 2026-12-05

An EHR's own ServiceRequest and Task become a carebridge referral and handoff (issue #12 "import
what the EHR owns"); an owner or performer carebridge does not know stays in the record's source.
Removing the partner keeps the records.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a8d2c4e6f19"
down_revision: str | Sequence[str] | None = "3e1f0a7c9b24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("referrals", "handoffs")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("origin_partner_id", sa.String(length=36), nullable=True))
            batch_op.create_foreign_key(
                f"fk_{table}_origin_partner_id_partners", "partners", ["origin_partner_id"], ["id"], ondelete="SET NULL"
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_origin_partner_id_partners", type_="foreignkey")
            batch_op.drop_column("origin_partner_id")
