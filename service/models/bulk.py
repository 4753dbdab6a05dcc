"""Bulk Data `$export` jobs (https://hl7.org/fhir/uv/bulkdata/export.html): one row per kick-off.

The row keeps the caller's identity (client, organisation, scopes) so the Celery task exports
exactly what that client may read, and so only that client can poll, download or cancel.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, IdType, JSONType, UTCDateTime, new_id

EXPORT_LEVELS = ("system", "patient", "group")
EXPORT_STATUSES = ("accepted", "in-progress", "completed", "failed", "cancelled")


class ExportJob(Base):
    __tablename__ = "bulk_export_jobs"

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(String(200), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[str | None] = mapped_column(IdType)
    scopes: Mapped[str] = mapped_column(Text)
    patient_id: Mapped[str | None] = mapped_column(IdType)
    level: Mapped[str] = mapped_column(String(16))
    group_id: Mapped[str | None] = mapped_column(IdType)
    types: Mapped[list[str]] = mapped_column(JSONType)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    request_url: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="accepted")
    progress: Mapped[str] = mapped_column(String(200), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    # The instant the export's data is consistent with (the manifest's transactionTime).
    transaction_time: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # [{"type": "Task", "name": "Task-1.ndjson", "count": 1000}]
    output: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
