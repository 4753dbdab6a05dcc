"""Organisations, practitioners, users and care-team membership."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, IdType, JSONType, UTCDateTime, new_id, utcnow

ORGANIZATION_KINDS = (
    "hospital",
    "snf",
    "home_health",
    "inpatient_rehab",
    "hospice",
    "primary_care",
    "community",
    "payer",
)
# What a person does in carebridge; service.auth.policy.ROLE_SCOPES says what each may see and do.
USER_ROLES = (
    "discharge_planner",
    "case_manager",
    "intake_coordinator",
    "payer_care_manager",
    "auditor",
    "administrator",
)
CARE_TEAM_ROLES = (
    "discharge_planner",
    "nurse_case_manager",
    "social_worker",
    "attending_physician",
    "payer_care_manager",
)


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    # [{"system": ..., "value": ...}] e.g. NPI, the partner's own id.
    identifiers: Mapped[list[dict[str, str]]] = mapped_column(JSONType, default=list)
    # Where it is and how to call it (US Core Organization must support address and telecom; a
    # hospital's address is also its wards' and beds' Location address).
    address_line: Mapped[str | None] = mapped_column(String(200))
    address_city: Mapped[str | None] = mapped_column(String(100))
    address_state: Mapped[str | None] = mapped_column(String(40))
    address_postal_code: Mapped[str | None] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Practitioner(Base):
    __tablename__ = "practitioners"

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    npi: Mapped[str | None] = mapped_column(String(20), unique=True)
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    organization: Mapped[Organization | None] = relationship()


class User(Base):
    """Someone who signs in: a planner, a case manager, a facility's intake coordinator, a payer."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    practitioner_id: Mapped[str | None] = mapped_column(ForeignKey("practitioners.id"))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    role: Mapped[str] = mapped_column(String(32))  # one of USER_ROLES
    # A disabled account keeps its history (audit trail, timelines) but can no longer sign in or use tokens.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    organization: Mapped[Organization] = relationship()
    practitioner: Mapped[Practitioner | None] = relationship()


class CareTeamMember(Base):
    """A user's role on one patient's care team (drives the worklist 'planner' filter)."""

    __tablename__ = "care_team_members"
    __table_args__ = (UniqueConstraint("patient_id", "user_id", "role"),)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    user: Mapped[User] = relationship()
