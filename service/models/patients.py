"""Patients and their business identifiers (hospital MRN, payer member id, partners' ids)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, IdType, UTCDateTime, new_id, utcnow

IDENTIFIER_KINDS = ("mrn", "member_id", "partner")


class Patient(Base):
    __tablename__ = "patients"
    # FHIR `_sort=_lastUpdated` in index order (migration 3e1f0a7c9b24, which also creates the
    # expression indexes on lower(family_name) and lower(given_name) for the name search).
    __table_args__ = (Index("ix_patients_updated_at_id", "updated_at", "id"),)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(16))
    # The payer whose member this patient is (tenant boundary for payer access).
    payer_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    # Where the post-discharge primary-care visit goes (owner of the "PCP visit within 7 days" handoff).
    primary_care_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    identifiers: Mapped[list[PatientIdentifier]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def display_name(self) -> str:
        return f"{self.family_name}, {self.given_name}"


class PatientIdentifier(Base):
    __tablename__ = "patient_identifiers"
    # One system+value names one patient: this is what makes pulls from partners idempotent.
    __table_args__ = (UniqueConstraint("system", "value"),)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    system: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))
    patient: Mapped[Patient] = relationship(back_populates="identifiers")
