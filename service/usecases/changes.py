"""Apply a set of field changes to a record: version check, domain validation hook, audit entry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from service import clock
from service.models import ChangeEvent
from service.usecases import audit
from service.usecases.errors import VersionMismatch

# Records partners and subscribers see (as Patient, Encounter, CarePlan, Goal, ServiceRequest, Task).
PUBLISHED = frozenset({"Patient", "Stay", "CasePlan", "Goal", "Referral", "Handoff"})


def apply_changes(
    session: Session,
    obj: Any,
    changes: Mapping[str, Any],
    *,
    actor: str,
    expected_version: int | None = None,
    action: str = "update",
) -> Any:
    """Set ``changes`` on ``obj`` and audit them; refuse when the caller edited an older version."""
    current = getattr(obj, "version", None)
    if expected_version is not None and current is not None and expected_version != current:
        raise VersionMismatch(type(obj).__name__, obj.id, expected_version, current)
    before = audit.snapshot(obj)
    for key, value in changes.items():
        setattr(obj, key, value)
    audit.record(session, actor=actor, action=action, entity=obj, before=before)
    publish(session, obj, action)
    return obj


def create(session: Session, obj: Any, *, actor: str) -> Any:
    session.add(obj)
    audit.record(session, actor=actor, action="create", entity=obj, before=None)
    publish(session, obj, "create")
    return obj


def publish(session: Session, obj: Any, action: str) -> None:
    """Write the outbox event for a published record, inside the caller's transaction."""
    kind = type(obj).__name__
    if kind not in PUBLISHED:
        return
    session.flush()  # the version counter is bumped at flush
    session.add(
        ChangeEvent(
            at=clock.now(),
            entity_type=kind,
            entity_id=obj.id,
            version=getattr(obj, "version", None),
            patient_id=obj.id if kind == "Patient" else getattr(obj, "patient_id", None),
            action=action,
        )
    )
