"""Inpatient stays with their discharge readiness checklist and barriers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, ColumnElement, Date, ForeignKey, Index, String, Text, func, literal_column
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, IdType, UTCDateTime, new_id, utcnow
from service.models.patients import Patient

# Encounter.status subset used for inpatient stays: https://hl7.org/fhir/R4/valueset-encounter-status.html
STAY_STATUSES = ("planned", "in-progress", "finished", "cancelled")
DISCHARGE_DISPOSITIONS = ("home", "home_health", "snf", "inpatient_rehab", "hospice", "other", "expired")
READINESS_ITEMS = (
    "medication_reconciliation",
    "dme_ordered",
    "transport",
    "patient_family_education",
    "followup_appointment_booked",
    "payer_authorization",
)
BARRIER_CATEGORIES = (
    "post_acute_bed",
    "insurance_authorization",
    "family_caregiver",
    "equipment",
    "transport",
    "medical",
    "placement_paperwork",
    "housing",
    "other",
)


class Stay(Base):
    __tablename__ = "stays"
    # The worklist's access path: active stays by expected discharge date (keyset paging on id).
    __table_args__ = (
        Index("ix_stays_worklist", "status", "expected_discharge_date", "id"),
        # The worklist filtered by unit or by planner keeps the same EDD order inside the filter.
        Index("ix_stays_worklist_unit", "status", "unit", "expected_discharge_date", "id"),
        Index("ix_stays_worklist_planner", "status", "planner_id", "expected_discharge_date", "id"),
        # FHIR `_sort=_lastUpdated` in index order (migration 3e1f0a7c9b24). Migration 4d8b1f6e2a07
        # also indexes (hospital_id, place_key()): a hospital's wards and beds, one probe each.
        Index("ix_stays_updated_at_id", "updated_at", "id"),
    )

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    hospital_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="in-progress")
    unit: Mapped[str | None] = mapped_column(String(40), index=True)
    bed: Mapped[str | None] = mapped_column(String(20))
    planner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    admitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expected_discharge_date: Mapped[date | None] = mapped_column(Date)
    medically_ready_date: Mapped[date | None] = mapped_column(Date)
    discharged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discharge_disposition: Mapped[str | None] = mapped_column(String(32))
    # The partner EHR's Encounter id, when the stay was pulled from a hospital.
    source_system: Mapped[str | None] = mapped_column(String(255))
    source_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    patient: Mapped[Patient] = relationship()
    readiness_items: Mapped[list[ReadinessItem]] = relationship(
        back_populates="stay", cascade="all, delete-orphan", order_by="ReadinessItem.position"
    )
    barriers: Mapped[list[Barrier]] = relationship(
        back_populates="stay", cascade="all, delete-orphan", order_by="Barrier.opened_at"
    )



# Between a stay's unit and bed in `place_key`: a control character, which no unit or bed holds
# (the APIs and the sync refuse control characters in text).
PLACE_SEPARATOR = "\x1f"


def place_key() -> ColumnElement[str]:
    """The place a stay is at as one string, unit and bed (None without a unit): the expression
    ix_stays_places indexes after hospital_id, written as the migration writes it, so that the
    database matches the two. Literals, not bound parameters: an expression index matches only
    constants."""
    bed = func.coalesce(Stay.bed, literal_column("''"))
    return Stay.unit.concat(literal_column(f"'{PLACE_SEPARATOR}'")).concat(bed)


class ReadinessItem(Base):
    __tablename__ = "readiness_items"

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    stay_id: Mapped[str] = mapped_column(ForeignKey("stays.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(default=0)
    met: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    met_by: Mapped[str | None] = mapped_column(String(120))
    # When set, the item is met exactly when this handoff completes (e.g. DME delivered).
    handoff_id: Mapped[str | None] = mapped_column(ForeignKey("handoffs.id"), index=True)
    stay: Mapped[Stay] = relationship(back_populates="readiness_items")


class Barrier(Base):
    __tablename__ = "barriers"

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    stay_id: Mapped[str] = mapped_column(ForeignKey("stays.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_by: Mapped[str] = mapped_column(String(120))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    resolved_by: Mapped[str | None] = mapped_column(String(120))
    stay: Mapped[Stay] = relationship(back_populates="barriers")
