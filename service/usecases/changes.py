"""Apply a set of field changes to a record: version check, domain validation hook, audit entry."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault

from service import clock
from service.db import table_of
from service.models import ChangeEvent
from service.usecases import audit
from service.usecases import renditions as _renditions  # noqa: F401 (registers the listener keeping Task JSON)
from service.usecases.errors import VersionMismatch

# Records partners and subscribers see (as Patient, Encounter, CarePlan, Goal, ServiceRequest, Task,
# QuestionnaireResponse, Observation, Condition).
PUBLISHED = frozenset(
    {"Patient", "Stay", "CasePlan", "Goal", "Referral", "Handoff", "Screening", "ScreeningObservation", "HealthConcern"}
)
# The relay trigger's mark in `Session.info` (service.tasks.relay): this commit wrote ChangeEvents.
# The trigger sets it for ORM-flushed ones; `create_all`, which inserts them without the ORM, too.
EVENTS_WRITTEN = "carebridge.relay_pending"


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
        ChangeEvent(**_event(kind, obj.id, getattr(obj, "version", None), getattr(obj, "patient_id", None), action))
    )


def _event(kind: str, entity_id: str, version: int | None, patient_id: str | None, action: str) -> dict[str, Any]:
    """The outbox row of one change; a Patient's compartment is the patient itself."""
    return {
        "at": clock.now(), "entity_type": kind, "entity_id": entity_id, "version": version,
        "patient_id": entity_id if kind == "Patient" else patient_id, "action": action,
    }  # fmt: skip


def create_all(
    session: Session, model: type[Any], rows: Sequence[Mapping[str, Any]], *, actor: str
) -> list[dict[str, Any]]:
    """`create` for many new records of one model at once (a pulled page): the rows, their audit
    entries and their outbox events are one executemany INSERT each (Core: no ORM objects),
    instead of two flushes per record. The rows get their column defaults here, so the audit
    'after' is what is stored. Returns the complete rows; children (identifiers) are the caller's."""
    complete = [_with_defaults(model, row) for row in rows]
    if not complete:
        return complete
    session.execute(insert(table_of(model)), complete)
    kind = model.__name__
    audit.record_created(session, actor=actor, entity_type=kind, rows=complete)
    if kind in PUBLISHED:
        events = [_event(kind, row["id"], row.get("version"), row.get("patient_id"), "create") for row in complete]
        session.execute(insert(table_of(ChangeEvent)), events)
        session.info[EVENTS_WRITTEN] = True
    return complete


def _with_defaults(model: type[Any], row: Mapping[str, Any]) -> dict[str, Any]:
    """Every column of `row`, missing ones filled from their Python-side defaults (else None)."""
    fixed, computed = _defaults(table_of(model))
    out = {**fixed, **row}
    for key, make in computed:
        if key not in row:
            # SQLAlchemy wraps the function to take an execution context, which our defaults ignore.
            out[key] = make(None)
    return out


@functools.cache
def _defaults(table: Table) -> tuple[dict[str, Any], tuple[tuple[str, Any], ...]]:
    """A table's column defaults, worked out once (a pulled page fills them for every row): the
    fixed values (a scalar default, else None), and the functions producing the others."""
    fixed: dict[str, Any] = {}
    computed: list[tuple[str, Any]] = []
    for column in table.columns:
        if column.autoincrement is True:
            continue
        default = column.default
        if isinstance(default, CallableColumnDefault):
            computed.append((column.key, default.arg))
        elif isinstance(default, ScalarElementColumnDefault):
            fixed[column.key] = default.arg
        elif default is None:
            fixed[column.key] = None
    return fixed, tuple(computed)
