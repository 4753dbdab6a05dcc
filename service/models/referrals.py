"""Referrals (FHIR ServiceRequest): what is needed, sent to one or more recipient organisations.

Each recipient gets its own handoff (FHIR Task with ``focus`` = this referral), following the
Gravity SDOH referral pattern: https://hl7.org/fhir/us/sdoh-clinicalcare/referral_workflow.html
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, IdType, JSONType, UTCDateTime, new_id, utcnow

if TYPE_CHECKING:
    from service.models.handoffs import Handoff

REFERRAL_SERVICES = (
    "snf_placement",
    "home_health",
    "dme",
    "outpatient_followup",
    "meals",
    "transport",
    "inpatient_rehab",
    "hospice",
    "community_services",
    "food_assistance",
)
# Placement referrals: one acceptance settles the referral, so the other recipients can be released.
PLACEMENT_SERVICES = frozenset({"snf_placement", "inpatient_rehab", "hospice", "home_health"})
# https://hl7.org/fhir/R4/valueset-request-priority.html
PRIORITIES = ("routine", "urgent", "asap", "stat")
REFERRAL_STATUSES = ("draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown")


class Referral(Base):
    __tablename__ = "referrals"
    # FHIR `_sort=_lastUpdated` in index order (migration 3e1f0a7c9b24).
    __table_args__ = (Index("ix_referrals_updated_at_id", "updated_at", "id"),)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    stay_id: Mapped[str | None] = mapped_column(ForeignKey("stays.id"), index=True)
    # The goal the referral serves (Gravity SDOH pertainsToGoal): its achievement follows the
    # referral's outcome (service.usecases.closing).
    goal_id: Mapped[str | None] = mapped_column(ForeignKey("goals.id"), index=True)
    case_plan_id: Mapped[str | None] = mapped_column(ForeignKey("case_plans.id"), index=True)
    service: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    # The diagnoses behind the referral (ServiceRequest.reasonCode): {system, code, display} each, or
    # {display} alone for one typed as free text; a partner's coded one also keeps its ``text``
    # (migration 7c4d2a9e1f58).
    diagnoses: Mapped[list[dict[str, str]]] = mapped_column(JSONType, default=list)
    # The health concern the referral serves (ServiceRequest.reasonReference).
    concern_id: Mapped[str | None] = mapped_column(ForeignKey("health_concerns.id"), index=True)
    priority: Mapped[str] = mapped_column(String(10), default="routine")
    status: Mapped[str] = mapped_column(String(20), default="active")
    intent: Mapped[str] = mapped_column(String(20), default="order")
    requester_ref: Mapped[str] = mapped_column(String(120))
    wanted_by: Mapped[date | None] = mapped_column(Date)
    authored_on: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    notes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    source: Mapped[dict[str, object] | None] = mapped_column(JSONType)
    # The partner (an EHR) this referral was imported from; None for referrals sent from carebridge.
    origin_partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    __mapper_args__ = {"version_id_col": version}

    handoffs: Mapped[list[Handoff]] = relationship(back_populates="referral", order_by="Handoff.authored_on")
