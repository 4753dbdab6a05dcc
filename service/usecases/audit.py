"""Record every change for audit: actor, time, before and after."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from service import clock
from service.models import AuditRecord


def snapshot(obj: Any) -> dict[str, Any]:
    """The record's column values as JSON-safe data (the 'before' or 'after' of an audit entry)."""
    return json_safe({attr.key: getattr(obj, attr.key) for attr in inspect(obj).mapper.column_attrs})


def json_safe(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, date | datetime) else value for key, value in values.items()}


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: Any,
    before: dict[str, Any] | None,
    patient_id: str | None = None,
) -> AuditRecord:
    session.flush()  # ids and defaults exist before we take the 'after' picture
    entry = AuditRecord(
        at=clock.now(),
        actor=actor,
        action=action,
        entity_type=type(entity).__name__,
        entity_id=entity.id,
        patient_id=patient_id if patient_id is not None else getattr(entity, "patient_id", None),
        before=before,
        after=snapshot(entity) if action != "delete" else None,
    )
    session.add(entry)
    return entry
