"""Clinical documents attached to a referral (FHIR DocumentReference + Binary).

The bytes are kept in the database, in a table of their own: one store to back up and one
transaction for the document and its metadata, the same on every web server and worker (an
instance folder is per machine), and the metadata row stays small for lists, audits and
searches (an audit snapshot copies every column of the record it audits).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, IdType, UTCDateTime, new_id, utcnow

# https://hl7.org/fhir/R4/valueset-document-reference-status.html
DOCUMENT_STATUSES = ("current", "superseded", "entered-in-error")
CONTENT_TYPES = ("application/pdf", "text/plain")


class Document(Base):
    __tablename__ = "documents"
    # FHIR `_sort=_lastUpdated` and search by patient in index order.
    __table_args__ = (Index("ix_documents_updated_at_id", "updated_at", "id"),)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), index=True)
    stay_id: Mapped[str | None] = mapped_column(ForeignKey("stays.id"))
    # A LOINC document code (fhir_mappings.codes.DOCUMENT_TYPE).
    type_code: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="current")
    title: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int]
    # SHA-1 of the content, base64: FHIR Attachment.hash (https://hl7.org/fhir/R4/datatypes.html#Attachment).
    sha1: Mapped[str] = mapped_column(String(28))
    # Who attached it: the person's username or `client:<id>`, and their organisation.
    author: Mapped[str] = mapped_column(String(200))
    author_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    __mapper_args__ = {"version_id_col": version}


class DocumentContent(Base):
    """The document's bytes, read only when someone opens it."""

    __tablename__ = "document_contents"

    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
