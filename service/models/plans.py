"""Case plans (FHIR CarePlan) and their goals (FHIR Goal)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, IdType, JSONType, UTCDateTime, new_id, utcnow

if TYPE_CHECKING:
    from service.models.partners import Partner

# Required bindings: https://hl7.org/fhir/R4/valueset-request-status.html, valueset-care-plan-intent.html
PLAN_STATUSES = ("draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown")
PLAN_INTENTS = ("proposal", "plan", "order", "option")
# https://hl7.org/fhir/R4/valueset-goal-status.html and valueset-goal-achievement.html
GOAL_LIFECYCLE = (
    "proposed",
    "planned",
    "accepted",
    "active",
    "on-hold",
    "completed",
    "cancelled",
    "entered-in-error",
    "rejected",
)
GOAL_ACHIEVEMENT = (
    "in-progress",
    "improving",
    "worsening",
    "no-change",
    "achieved",
    "sustaining",
    "not-achieved",
    "no-progress",
    "not-attainable",
)


class CasePlan(Base):
    __tablename__ = "case_plans"
    # FHIR `_sort=_lastUpdated` in index order (migration 3e1f0a7c9b24).
    __table_args__ = (Index("ix_case_plans_updated_at_id", "updated_at", "id"),)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    stay_id: Mapped[str | None] = mapped_column(ForeignKey("stays.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    intent: Mapped[str] = mapped_column(String(20), default="plan")
    # US Core requires the assess-plan category; more categories may be added.
    categories: Mapped[list[str]] = mapped_column(JSONType, default=lambda: ["assess-plan"])
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    author_ref: Mapped[str | None] = mapped_column(String(120))
    # Conditions addressed, as codings: [{"system", "code", "display"}].
    addresses: Mapped[list[dict[str, str]]] = mapped_column(JSONType, default=list)
    # Confirmed health concerns addressed (service.models.screenings.HealthConcern ids), sent as
    # Condition references after the coded ones.
    concern_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    notes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # The partner's resource as received, so nothing carebridge does not model is lost on export.
    source: Mapped[dict[str, object] | None] = mapped_column(JSONType)
    # The partner (an EHR) this plan was imported from; None for plans made in carebridge.
    origin_partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    __mapper_args__ = {"version_id_col": version}

    origin_partner: Mapped[Partner | None] = relationship()
    goals: Mapped[list[Goal]] = relationship(back_populates="case_plan", order_by="Goal.created_at")


class Goal(Base):
    __tablename__ = "goals"
    # FHIR `_sort=_lastUpdated` in index order (migration 3e1f0a7c9b24).
    __table_args__ = (Index("ix_goals_updated_at_id", "updated_at", "id"),)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    case_plan_id: Mapped[str | None] = mapped_column(ForeignKey("case_plans.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    lifecycle_status: Mapped[str] = mapped_column(String(20), default="active")
    achievement_status: Mapped[str | None] = mapped_column(String(20))
    start_date: Mapped[date | None] = mapped_column(Date)
    target_measure: Mapped[str | None] = mapped_column(String(200))
    target_due_date: Mapped[date | None] = mapped_column(Date)
    expressed_by_ref: Mapped[str | None] = mapped_column(String(120))
    # The health concern the goal serves (Goal.addresses).
    concern_id: Mapped[str | None] = mapped_column(ForeignKey("health_concerns.id"), index=True)
    notes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    source: Mapped[dict[str, object] | None] = mapped_column(JSONType)
    origin_partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    __mapper_args__ = {"version_id_col": version}

    case_plan: Mapped[CasePlan | None] = relationship(back_populates="goals")
