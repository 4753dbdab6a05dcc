"""kept renditions of Task and Goal JSON, for bulk export

Revision ID: 5d8e2f1a9c47
Revises: 9a4c1e7d2b60
Create Date: 2026-12-01

See service/models/renditions.py: a rendition is used only while its version and generation
match, so existing rows need no backfill; the first export renders and keeps them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d8e2f1a9c47"
down_revision: str | Sequence[str] | None = "9a4c1e7d2b60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fhir_renditions",
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("resource_type", "resource_id", name=op.f("pk_fhir_renditions")),
    )


def downgrade() -> None:
    op.drop_table("fhir_renditions")
