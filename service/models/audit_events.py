"""Access audit: one row per access to patient data through the FHIR API (read, search, write,
export, notification), rendered as FHIR AuditEvent (https://hl7.org/fhir/R4/auditevent.html).

Separate from AuditRecord (which records changes with before/after): accesses are far more
numerous, never carry patient data, and are searched by the auditor by client, patient and time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, IdType, UTCDateTime, new_id


class AccessEvent(Base):
    __tablename__ = "access_events"
    __table_args__ = (
        Index("ix_access_events_patient_recorded", "patient_id", "recorded"),
        Index("ix_access_events_client_recorded", "client_id", "recorded"),
    )

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    recorded: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # https://hl7.org/fhir/R4/valueset-audit-event-action.html: C R U D E
    action: Mapped[str] = mapped_column(String(1))
    # https://hl7.org/fhir/R4/valueset-type-restful-interaction.html (read, vread, search-type,
    # update, patch...) or an operation name (export, notify, process-message).
    interaction: Mapped[str] = mapped_column(String(40))
    # https://hl7.org/fhir/R4/valueset-audit-event-outcome.html: 0 success, 4 minor, 8 serious, 12 major
    outcome: Mapped[str] = mapped_column(String(2))
    client_id: Mapped[str] = mapped_column(String(120))
    subject: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[str | None] = mapped_column(IdType)
    patient_id: Mapped[str | None] = mapped_column(IdType)
    resource_type: Mapped[str | None] = mapped_column(String(40))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    # The query string of a search (parameter names and ids only) or an operation's detail.
    query: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
