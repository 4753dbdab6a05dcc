"""Record every change for audit: actor, time, before and after."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session

from service import clock
from service.db import table_of
from service.models import AuditRecord


def snapshot(obj: Any) -> dict[str, Any]:
    """The record's column values as JSON-safe data (the 'before' or 'after' of an audit entry)."""
    return json_safe({attr.key: getattr(obj, attr.key) for attr in inspect(obj).mapper.column_attrs})


def json_safe(values: Mapping[str, Any]) -> dict[str, Any]:
    # `date` covers `datetime` (a subclass); testing a union type cost a pulled page's audit a tenth of its time.
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in values.items()}


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
        **_entry(
            actor=actor,
            action=action,
            entity_type=type(entity).__name__,
            entity_id=entity.id,
            patient_id=patient_id if patient_id is not None else getattr(entity, "patient_id", None),
            before=before,
            after=snapshot(entity) if action != "delete" else None,
        )
    )
    session.add(entry)
    return entry


def record_created(session: Session, *, actor: str, entity_type: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """`record` of "create" for rows inserted without the ORM (`changes.create_all`): one INSERT."""
    entries = [
        _entry(actor=actor, action="create", entity_type=entity_type, entity_id=row["id"],
               patient_id=row.get("patient_id"), before=None, after=json_safe(row))
        for row in rows
    ]  # fmt: skip
    session.execute(insert(table_of(AuditRecord)), entries)


def _entry(
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    patient_id: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "at": clock.now(), "actor": actor, "action": action, "entity_type": entity_type, "entity_id": entity_id,
        "patient_id": patient_id, "before": before, "after": after,
    }  # fmt: skip
