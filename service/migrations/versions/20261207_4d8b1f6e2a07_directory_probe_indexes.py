"""indexes that let the directory searches probe per organisation and per place

Revision ID: 4d8b1f6e2a07
Revises: 7c4d2a9e1f58
Create Date: 2026-12-07

Organization and Location searches cost in proportion to the caller's data (issue #13:
bench/fhir_search.py, p95 x7.37 and x2.97 for 10x the Tasks). With these indexes
`policy.visible_organizations` asks per organisation whether the caller refers to it, is referred
by it, or holds a patient whose primary care it is, and `directory.places` walks a hospital's
distinct (unit, bed) pairs one index probe each (models.stays.place_key) instead of sorting all
its stays.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "4d8b1f6e2a07"
down_revision: str | Sequence[str] | None = "7c4d2a9e1f58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_handoffs_requester_owner", "handoffs", ["requester_org_id", "owner_org_id"])
    op.create_index("ix_handoffs_owner_requester", "handoffs", ["owner_org_id", "requester_org_id"])
    op.create_index("ix_patients_primary_care_id", "patients", ["primary_care_id"])
    # As models.stays.place_key writes it (the separator is the control character U+001F).
    op.execute("CREATE INDEX ix_stays_places ON stays (hospital_id, (unit || '\x1f' || coalesce(bed, '')))")


def downgrade() -> None:
    op.drop_index("ix_stays_places", table_name="stays")
    op.drop_index("ix_patients_primary_care_id", table_name="patients")
    op.drop_index("ix_handoffs_owner_requester", table_name="handoffs")
    op.drop_index("ix_handoffs_requester_owner", table_name="handoffs")
