"""merge the feature branches; indexes for facility searches and tenancy filters

Revision ID: 9a4c1e7d2b60
Revises: 3b9d2f0c6a1e, 5e2b8c41d9a7, af76899ae5fe, bee74f987b79, c4e1a7b95d20
Create Date: 2026-12-01

The features' migrations were written on parallel branches; this revision joins them so that
later migrations have one parent. Its indexes let PostgreSQL answer "which patients and referrals
is this organisation a party to" from an index instead of scanning every handoff
(see service/auth/tenancy.py), and page a facility's Task search in id order.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9a4c1e7d2b60"
down_revision: str | Sequence[str] | None = (
    "3b9d2f0c6a1e",
    "5e2b8c41d9a7",
    "af76899ae5fe",
    "bee74f987b79",
    "c4e1a7b95d20",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_handoffs_owner_status_id", "handoffs", ["owner_org_id", "status", "id"])
    op.create_index("ix_handoffs_owner_parties", "handoffs", ["owner_org_id", "patient_id", "referral_id"])
    op.create_index("ix_handoffs_requester_parties", "handoffs", ["requester_org_id", "patient_id", "referral_id"])


def downgrade() -> None:
    op.drop_index("ix_handoffs_requester_parties", table_name="handoffs")
    op.drop_index("ix_handoffs_owner_parties", table_name="handoffs")
    op.drop_index("ix_handoffs_owner_status_id", table_name="handoffs")
