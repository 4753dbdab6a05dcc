"""Handoffs (FHIR Task): one tracked step between parties about one patient's transition."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, IdType, JSONType, UTCDateTime, new_id, utcnow

if TYPE_CHECKING:
    from service.models.referrals import Referral

HANDOFF_KINDS = (
    "referral_decision",
    "payer_authorization",
    "transport",
    "dme_delivery",
    "home_health_start",
    "followup_call_48h",
    "pcp_visit_7d",
    "medication_reconciliation",
    "facility_admission",
    "post_discharge_check",
    "other",
)


class Handoff(Base):
    __tablename__ = "handoffs"
    __table_args__ = (
        # Open work per stay and per owner organisation, by due time (worklist and owner queue).
        Index("ix_handoffs_stay_status_due", "stay_id", "status", "due_at"),
        Index("ix_handoffs_owner_status_due", "owner_org_id", "status", "due_at"),
        # A facility's FHIR search (Task?owner=..&status=..) pages in id order: one index walk per page.
        Index("ix_handoffs_owner_status_id", "owner_org_id", "status", "id"),
        # Tenancy (service.auth.policy): the patients and referrals an organisation is a party to,
        # answered from the index alone.
        Index("ix_handoffs_owner_parties", "owner_org_id", "patient_id", "referral_id"),
        Index("ix_handoffs_requester_parties", "requester_org_id", "patient_id", "referral_id"),
        # The organisations an organisation refers to and is referred by, one probe each
        # (policy.visible_organizations).
        Index("ix_handoffs_requester_owner", "requester_org_id", "owner_org_id"),
        Index("ix_handoffs_owner_requester", "owner_org_id", "requester_org_id"),
        # FHIR `_sort=_lastUpdated` in index order (migration 3e1f0a7c9b24).
        Index("ix_handoffs_updated_at_id", "updated_at", "id"),
    )

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    stay_id: Mapped[str | None] = mapped_column(ForeignKey("stays.id"))
    referral_id: Mapped[str | None] = mapped_column(ForeignKey("referrals.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    # Owner: the organisation responsible for the next step (Task.owner).
    owner_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    # A person inside the owner organisation, when one is named (e.g. the nurse case manager).
    owner_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    requester_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    status: Mapped[str] = mapped_column(String(20), default="requested")
    business_status: Mapped[str | None] = mapped_column(String(120))
    status_reason: Mapped[str | None] = mapped_column(Text)
    # What the recipient did, said when it completed the work (Task.output, Gravity SDOH resulting activity).
    outcome: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    execution_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    execution_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    authored_on: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    notes: Mapped[list[dict[str, str]]] = mapped_column(JSONType, default=list)
    source: Mapped[dict[str, object] | None] = mapped_column(JSONType)
    # The partner (an EHR) this handoff was imported from; None for handoffs made in carebridge.
    origin_partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    __mapper_args__ = {"version_id_col": version}

    referral: Mapped[Referral | None] = relationship(back_populates="handoffs")
    events: Mapped[list[HandoffEvent]] = relationship(
        back_populates="handoff", cascade="all, delete-orphan", order_by="HandoffEvent.at"
    )


class HandoffEvent(Base):
    """The history of one handoff: who changed what and when (the case view's timeline)."""

    __tablename__ = "handoff_events"

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    handoff_id: Mapped[str] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(120))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    business_status: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(Text)
    handoff: Mapped[Handoff] = relationship(back_populates="events")
