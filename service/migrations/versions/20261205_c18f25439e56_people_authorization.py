"""apps people authorise (redirect URIs, public clients) and authorization codes

Revision ID: c18f25439e56
Revises: 7c3e9a1b5d42
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db  # noqa: F401  (custom column types such as UTCDateTime)

revision: str = "c18f25439e56"
down_revision: str | None = "7c3e9a1b5d42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("partner_clients") as batch:
        batch.add_column(sa.Column("redirect_uris", service.db.JSONType, nullable=True))
        batch.add_column(sa.Column("public", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "authorization_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=120), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("redirect_uri", sa.String(length=500), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("expires_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["partner_clients.client_id"],
            name=op.f("fk_authorization_codes_client_id_partner_clients"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_authorization_codes_user_id_users")),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_authorization_codes")),
    )
    op.create_index(op.f("ix_authorization_codes_expires_at"), "authorization_codes", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_authorization_codes_expires_at"), table_name="authorization_codes")
    op.drop_table("authorization_codes")
    with op.batch_alter_table("partner_clients") as batch:
        batch.drop_column("public")
        batch.drop_column("redirect_uris")
