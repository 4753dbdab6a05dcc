"""Screening (Gravity SDOH assessment): the instruments (FHIR Questionnaire), the screenings
recorded against them (QuestionnaireResponse), the Observations derived from the answers, and
the health concerns (Condition) they suggest, which a person confirms or refutes.

The chain follows https://hl7.org/fhir/us/sdoh-clinicalcare/checking_for_sdoh.html: the
Observations and Conditions are derived once, when the screening is recorded
(`fhir_mappings.screening.screening_findings`), and kept as derived; a concern's verification
status is the one element a person then changes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, IdType, JSONType, UTCDateTime, new_id, utcnow

# https://hl7.org/fhir/R4/valueset-condition-ver-status.html: the codes a concern moves through
# here (a suggestion is unconfirmed until a person confirms or refutes it).
VERIFICATION_STATUSES = ("unconfirmed", "confirmed", "refuted")
# Derived resources are named "<screening id>-o<n>" / "-c<n>": longer than a UUID, within FHIR's 64.
DerivedId = String(64)


class Questionnaire(Base):
    """A screening instrument, as loaded (the shipped ones, or an operator's)."""

    __tablename__ = "questionnaires"
    __table_args__ = (UniqueConstraint("url", "version", name="uq_questionnaires_url"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[str] = mapped_column(String(40), default="")
    name: Mapped[str | None] = mapped_column(String(120))
    title: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20))
    resource: Mapped[dict[str, object]] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Screening(Base):
    """One completed screening (QuestionnaireResponse) of a patient, during a stay or not."""

    __tablename__ = "screenings"
    __table_args__ = (Index("ix_screenings_updated_at_id", "updated_at", "id"),)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    stay_id: Mapped[str | None] = mapped_column(ForeignKey("stays.id"), index=True)
    questionnaire: Mapped[str] = mapped_column(String(255))  # the instrument's canonical URL
    status: Mapped[str] = mapped_column(String(20))
    authored: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who answered for the record: a person (username) or a partner's client (`client:<id>`).
    author: Mapped[str] = mapped_column(String(120))
    # The organisation that recorded it (a payer's own screening arrives from the payer).
    recorded_by_org_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    # The QuestionnaireResponse as recorded (a partner's as sent), so nothing is lost on export.
    resource: Mapped[dict[str, object]] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    __mapper_args__ = {"version_id_col": version}

    concerns: Mapped[list[HealthConcern]] = relationship(order_by="HealthConcern.id", viewonly=True)


class ScreeningObservation(Base):
    """An Observation derived from a screening's answers (US Core Observation Screening Assessment)."""

    __tablename__ = "screening_observations"
    __table_args__ = (Index("ix_screening_observations_updated_at_id", "updated_at", "id"),)

    id: Mapped[str] = mapped_column(DerivedId, primary_key=True)
    screening_id: Mapped[str] = mapped_column(ForeignKey("screenings.id"), index=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))  # the LOINC question (or score) code
    categories: Mapped[list[str]] = mapped_column(JSONType)  # survey, sdoh and the SDOH domain
    effective: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resource: Mapped[dict[str, object]] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    __mapper_args__ = {"version_id_col": version}


class HealthConcern(Base):
    """A health concern (US Core Condition Problems and Health Concerns, category health-concern)
    a screening suggested; a person confirms or refutes it (`decided_by`, `decided_at`)."""

    __tablename__ = "health_concerns"
    __table_args__ = (Index("ix_health_concerns_updated_at_id", "updated_at", "id"),)

    id: Mapped[str] = mapped_column(DerivedId, primary_key=True)
    screening_id: Mapped[str] = mapped_column(ForeignKey("screenings.id"), index=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    stay_id: Mapped[str | None] = mapped_column(ForeignKey("stays.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))  # SNOMED CT finding
    display: Mapped[str] = mapped_column(String(255))
    categories: Mapped[list[str]] = mapped_column(JSONType)  # health-concern, sdoh and the SDOH domain
    clinical_status: Mapped[str] = mapped_column(String(20), default="active")
    verification_status: Mapped[str] = mapped_column(String(20), default="unconfirmed")
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The Condition as suggested; the renderer applies the statuses above to it.
    resource: Mapped[dict[str, object]] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    __mapper_args__ = {"version_id_col": version}
