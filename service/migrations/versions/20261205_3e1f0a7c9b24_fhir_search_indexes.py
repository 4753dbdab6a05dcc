"""indexes for the FHIR searches clients sort and filter by

Revision ID: 3e1f0a7c9b24
Revises: 9c4d2e7f1a63
Create Date: 2026-12-05

`_sort=_lastUpdated` (either direction) reads (updated_at, id) in index order instead of sorting
every visible row, and US Core's Patient `name` search (case-insensitive "starts with",
https://hl7.org/fhir/R4/search.html#string) reads lower(family/given name) ranges: on
PostgreSQL with text_pattern_ops, which is what lets LIKE 'prefix%' use a btree under any collation.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3e1f0a7c9b24"
down_revision: str | Sequence[str] | None = "9c4d2e7f1a63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPDATED = ("patients", "stays", "case_plans", "goals", "referrals", "handoffs")
NAMES = ("family_name", "given_name")


def upgrade() -> None:
    for table in UPDATED:
        op.create_index(f"ix_{table}_updated_at_id", table, ["updated_at", "id"])
    ops = " text_pattern_ops" if op.get_bind().dialect.name == "postgresql" else ""
    for column in NAMES:
        op.execute(f"CREATE INDEX ix_patients_{column}_lower ON patients (lower({column}){ops})")


def downgrade() -> None:
    for column in NAMES:
        op.drop_index(f"ix_patients_{column}_lower", table_name="patients")
    for table in UPDATED:
        op.drop_index(f"ix_{table}_updated_at_id", table_name=table)
