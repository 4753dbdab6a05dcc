"""clinical documents attached to referrals (DocumentReference + Binary)

Revision ID: d4c7a2e91b35
Revises: e3a9c1f47b20
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db  # noqa: F401  (custom column types such as UTCDateTime)

revision: str = "d4c7a2e91b35"
down_revision: str | None = "e3a9c1f47b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("referral_id", sa.String(length=36), nullable=False),
        sa.Column("stay_id", sa.String(length=36), nullable=True),
        sa.Column("type_code", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha1", sa.String(length=28), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("author_org_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_documents_patient_id_patients")),
        sa.ForeignKeyConstraint(["referral_id"], ["referrals.id"], name=op.f("fk_documents_referral_id_referrals")),
        sa.ForeignKeyConstraint(["stay_id"], ["stays.id"], name=op.f("fk_documents_stay_id_stays")),
        sa.ForeignKeyConstraint(
            ["author_org_id"], ["organizations.id"], name=op.f("fk_documents_author_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    op.create_index(op.f("ix_documents_patient_id"), "documents", ["patient_id"], unique=False)
    op.create_index(op.f("ix_documents_referral_id"), "documents", ["referral_id"], unique=False)
    op.create_index("ix_documents_updated_at_id", "documents", ["updated_at", "id"], unique=False)
    op.create_table(
        "document_contents",
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_contents_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_document_contents")),
    )


def downgrade() -> None:
    op.drop_table("document_contents")
    op.drop_index("ix_documents_updated_at_id", table_name="documents")
    op.drop_index(op.f("ix_documents_referral_id"), table_name="documents")
    op.drop_index(op.f("ix_documents_patient_id"), table_name="documents")
    op.drop_table("documents")
