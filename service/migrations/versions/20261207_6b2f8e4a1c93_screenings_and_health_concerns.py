"""screening instruments, screenings, their Observations and health concerns; goals, plans and
referrals name the concern they serve

Revision ID: 6b2f8e4a1c93
Revises: e6b1c94f0d37
Create Date: 2026-12-07

Issue #15: the Gravity SDOH chain screening (QuestionnaireResponse) -> Observations -> health
concern (Condition) -> goal (Goal.addresses) -> referral (ServiceRequest.reasonReference).
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import service.db

revision: str = "6b2f8e4a1c93"
down_revision: str | Sequence[str] | None = "e6b1c94f0d37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _instant(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, service.db.UTCDateTime(timezone=True), nullable=nullable)


# Tables naming any record by id: a derived Observation or Condition ("<screening id>-o<n>") is
# longer than a UUID. SQLite does not enforce VARCHAR lengths (nothing to change there); on
# PostgreSQL widening a VARCHAR changes only the catalogue, no table rewrite.
_ENTITY_IDS = (("audit_records", "entity_id"), ("change_events", "entity_id"))


def _widen_entity_ids(length: int) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in _ENTITY_IDS:
        op.alter_column(table, column, type_=sa.String(length=length), existing_nullable=False)


def upgrade() -> None:
    _widen_entity_ids(64)
    op.create_table(
        "questionnaires",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("resource", _json(), nullable=False),
        _instant("updated_at", False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaires")),
        sa.UniqueConstraint("url", "version", name="uq_questionnaires_url"),
    )
    op.create_index(op.f("ix_questionnaires_url"), "questionnaires", ["url"], unique=False)
    op.create_table(
        "screenings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("stay_id", sa.String(length=36), nullable=True),
        sa.Column("questionnaire", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        _instant("authored"),
        sa.Column("author", sa.String(length=120), nullable=False),
        sa.Column("recorded_by_org_id", sa.String(length=36), nullable=True),
        sa.Column("resource", _json(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _instant("created_at", False),
        _instant("updated_at", False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_screenings_patient_id_patients")),
        sa.ForeignKeyConstraint(["stay_id"], ["stays.id"], name=op.f("fk_screenings_stay_id_stays")),
        sa.ForeignKeyConstraint(
            ["recorded_by_org_id"], ["organizations.id"], name=op.f("fk_screenings_recorded_by_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screenings")),
    )
    op.create_index(op.f("ix_screenings_patient_id"), "screenings", ["patient_id"], unique=False)
    op.create_index(op.f("ix_screenings_stay_id"), "screenings", ["stay_id"], unique=False)
    op.create_index("ix_screenings_updated_at_id", "screenings", ["updated_at", "id"], unique=False)
    op.create_table(
        "screening_observations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("screening_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("categories", _json(), nullable=False),
        _instant("effective"),
        sa.Column("resource", _json(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _instant("updated_at", False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_screening_observations_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["screening_id"], ["screenings.id"], name=op.f("fk_screening_observations_screening_id_screenings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_observations")),
    )
    op.create_index(op.f("ix_screening_observations_patient_id"), "screening_observations", ["patient_id"])
    op.create_index(op.f("ix_screening_observations_screening_id"), "screening_observations", ["screening_id"])
    op.create_index("ix_screening_observations_updated_at_id", "screening_observations", ["updated_at", "id"])
    op.create_table(
        "health_concerns",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("screening_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("stay_id", sa.String(length=36), nullable=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("display", sa.String(length=255), nullable=False),
        sa.Column("categories", _json(), nullable=False),
        sa.Column("clinical_status", sa.String(length=20), nullable=False),
        sa.Column("verification_status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        _instant("decided_at"),
        _instant("recorded"),
        sa.Column("resource", _json(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _instant("updated_at", False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_health_concerns_patient_id_patients")),
        sa.ForeignKeyConstraint(
            ["screening_id"], ["screenings.id"], name=op.f("fk_health_concerns_screening_id_screenings")
        ),
        sa.ForeignKeyConstraint(["stay_id"], ["stays.id"], name=op.f("fk_health_concerns_stay_id_stays")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_concerns")),
    )
    op.create_index(op.f("ix_health_concerns_patient_id"), "health_concerns", ["patient_id"])
    op.create_index(op.f("ix_health_concerns_screening_id"), "health_concerns", ["screening_id"])
    op.create_index(op.f("ix_health_concerns_stay_id"), "health_concerns", ["stay_id"])
    op.create_index("ix_health_concerns_updated_at_id", "health_concerns", ["updated_at", "id"])
    for table in ("goals", "referrals"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("concern_id", sa.String(length=64), nullable=True))
            batch_op.create_foreign_key(
                f"fk_{table}_concern_id_health_concerns", "health_concerns", ["concern_id"], ["id"]
            )
            batch_op.create_index(f"ix_{table}_concern_id", ["concern_id"], unique=False)
    with op.batch_alter_table("case_plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("concern_ids", _json(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("case_plans", schema=None) as batch_op:
        batch_op.drop_column("concern_ids")
    for table in ("goals", "referrals"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_concern_id")
            batch_op.drop_constraint(f"fk_{table}_concern_id_health_concerns", type_="foreignkey")
            batch_op.drop_column("concern_id")
    op.drop_table("health_concerns")
    op.drop_table("screening_observations")
    op.drop_table("screenings")
    op.drop_table("questionnaires")
    _widen_entity_ids(36)
