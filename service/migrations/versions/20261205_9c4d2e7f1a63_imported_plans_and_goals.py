"""case plans and goals remember the partner they were imported from

Revision ID: 9c4d2e7f1a63
Revises: c18f25439e56
Create Date: 2026-12-05

An EHR's own CarePlan and Goal become carebridge records (issue #12 "import what the EHR owns");
the case page marks them as coming from that partner. Removing the partner keeps the records.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c4d2e7f1a63"
down_revision: str | Sequence[str] | None = "c18f25439e56"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("case_plans", "goals")


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
