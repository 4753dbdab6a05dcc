"""Partners carebridge syncs with (hospital EHRs, payers) and the sync engine's bookkeeping.

- `Partner`: one FHIR server, its SMART backend-services client and what to pull and push.
- `SyncWatermark`: per partner and resource type, the ``_lastUpdated`` instant the next pull starts at.
- `PartnerLink`: which partner resource (id + version) stands for which carebridge record, and the
  partner JSON last seen, so a pull of the same page changes nothing and a push knows its If-Match.
- `Delivery`: the partner outbox. One row per record a partner must see; it is ``done`` only when
  the partner confirmed it, ``dead`` (with the OperationOutcome) on a permanent failure, and
  ``conflict`` (with base and both versions) when both sides changed the same elements.
- `SyncError`: a pulled resource (or page) carebridge could not apply, once per partner, type and id,
  with a PHI-free reason, when it was first and last seen and how often.
- `PatientMatch`: a partner Patient that carebridge would not match on its own (demographics that
  disagree, an identifier already taken by someone else), waiting for a person to decide.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, IdType, JSONType, UTCDateTime, new_id, utcnow

PARTNER_KINDS = ("ehr", "payer")
# The resource types sync handles, in dependency order: a record is pushed after those it refers to.
SYNC_TYPES = ("Patient", "Encounter", "Goal", "CarePlan", "ServiceRequest", "Task")
DELIVERY_STATES = ("pending", "in-flight", "done", "dead", "conflict")
# The ids of BigInteger keys: SQLite only auto-increments an INTEGER PRIMARY KEY.
SerialId = BigInteger().with_variant(Integer(), "sqlite")


class Partner(Base):
    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    # The carebridge organisation this partner acts as (a Task it moves is moved by this party).
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    fhir_base: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    # None: read from the partner's .well-known/smart-configuration.
    token_endpoint: Mapped[str | None] = mapped_column(String(255))
    key_kid: Mapped[str] = mapped_column(String(120))
    scopes: Mapped[str] = mapped_column(Text)
    pull_types: Mapped[list[str]] = mapped_column(JSONType, default=list)
    push_types: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # From the partner's CapabilityStatement: resource type -> interactions; "*" -> system interactions.
    capabilities: Mapped[dict[str, list[str]] | None] = mapped_column(JSONType)
    capabilities_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Identifier systems whose values name one person at this partner (e.g. the hospital's MRN
    # system): a partner Patient is matched to an existing patient only on these (service.sync.identity).
    trusted_identifier_systems: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # The last pull round: when it ended, and why it failed (None when it succeeded).
    pulled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pull_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncWatermark(Base):
    __tablename__ = "sync_watermarks"
    __table_args__ = (UniqueConstraint("partner_id", "resource_type"),)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    resource_type: Mapped[str] = mapped_column(String(40))
    # The partner's own meta.lastUpdated text, never re-rendered: its precision is the partner's.
    last_updated: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PartnerLink(Base):
    __tablename__ = "partner_links"
    __table_args__ = (
        # Named by hand: the naming convention would give both the same name (first column only).
        UniqueConstraint("partner_id", "entity_type", "entity_id", name="uq_partner_links_entity"),
        UniqueConstraint("partner_id", "resource_type", "remote_id", name="uq_partner_links_remote"),
    )

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    entity_type: Mapped[str] = mapped_column(String(40))  # carebridge model: Patient, Stay, Handoff...
    entity_id: Mapped[str] = mapped_column(IdType)
    resource_type: Mapped[str] = mapped_column(String(40))
    remote_id: Mapped[str] = mapped_column(String(64))
    remote_version: Mapped[str | None] = mapped_column(String(64))
    # The carebridge version the partner has (None for records without a version counter).
    synced_version: Mapped[int | None] = mapped_column(Integer)
    # The partner's resource as last read or written: the common base of a three-way merge.
    remote_json: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Delivery(Base):
    __tablename__ = "partner_deliveries"
    __table_args__ = (
        # The claim query: one partner's open rows in order. Done rows pile up forever and are
        # never claimed, so they stay out of this index (the claim would otherwise walk them all).
        Index(
            "ix_partner_deliveries_open",
            "partner_id",
            "id",
            postgresql_where=text("state IN ('pending', 'in-flight')"),
            sqlite_where=text("state IN ('pending', 'in-flight')"),
        ),
        Index("ix_partner_deliveries_entity", "partner_id", "entity_type", "entity_id", "state"),
    )

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(IdType)
    resource_type: Mapped[str] = mapped_column(String(40))
    # The carebridge version that asked for this delivery; the newest is sent anyway.
    version: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    # created, updated, unchanged, merged, superseded, partner-reads (done); why it failed (dead)...
    result: Mapped[str | None] = mapped_column(String(40))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # A conflict: the partner's version both sides started from, carebridge's and the partner's now.
    base: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    ours: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    theirs: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # The value a person chose for each conflicting element so far (null: the element goes).
    resolutions: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SyncError(Base):
    __tablename__ = "sync_errors"
    # One row per partner resource however often it fails: a re-pull counts, never duplicates.
    __table_args__ = (UniqueConstraint("partner_id", "resource_type", "remote_id", name="uq_sync_errors_resource"),)

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    resource_type: Mapped[str] = mapped_column(String(40))
    # The partner's id (cut to 64 characters if longer); "" for a page that could not be read.
    remote_id: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)  # PHI-free: codes, paths, ids, lengths; never values
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer, default=1)


MATCH_STATES = ("open", "accepted", "rejected")


class PatientMatch(Base):
    __tablename__ = "patient_matches"
    __table_args__ = (UniqueConstraint("partner_id", "remote_id", name="uq_patient_matches_remote"),)

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    remote_id: Mapped[str] = mapped_column(String(64))
    remote_version: Mapped[str | None] = mapped_column(String(64))
    # The partner's Patient as pulled: what accept or reject applies.
    remote_json: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # The carebridge patient it would have matched (None when its identifiers name several).
    patient_id: Mapped[str | None] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)  # PHI-free: which check failed, not the values
    state: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(120))
