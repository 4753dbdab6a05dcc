"""vread (`[type]/[id]/_history/[vid]`) and instance history from the audit trail.

Every change to a published record writes an AuditRecord with the record's columns *after* the
change, in the same transaction as the change (service.usecases.changes). So the history is
complete the moment a write commits, with no second table to keep in step and no lag behind an
outbox consumer: a client that just received `ETag: W/"4"` can always vread version 4. The old
version is rendered from that snapshot with today's mapping, and its related records (a plan's
goals, a referral's recipients, a patient's identifiers) as they are now: vread is for the
resource's own elements, which is what If-Match and version-aware clients compare.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Date, inspect, select
from sqlalchemy.orm import Session

from service.db import UTCDateTime
from service.fhir_bridge import AUDIT_VERSIONED, Json, render, stamp
from service.models import AuditRecord


def _restore(model: type[Any], snapshot: dict[str, Any], current: Any) -> Any:
    """A read-only stand-in for `current` with the column values of `snapshot`."""
    values: dict[str, Any] = {}
    for attr in inspect(model).column_attrs:
        value = snapshot.get(attr.key)
        column_type = attr.columns[0].type
        if isinstance(value, str) and isinstance(column_type, UTCDateTime):
            value = dt.datetime.fromisoformat(value)
        elif isinstance(value, str) and isinstance(column_type, Date):
            value = dt.date.fromisoformat(value)
        values[attr.key] = value
    for rel in inspect(model).relationships:
        values[rel.key] = getattr(current, rel.key)
    return SimpleNamespace(**values)


def version_snapshots(
    session: Session, resource_type: str, model: type[Any], ident: str
) -> list[dict[str, Any] | None]:
    """The record's audit snapshots ('after'; None for a delete), oldest first.

    Ordered by audit time, then by the record's own `updated_at` (set on every write), because
    several changes can share one audit instant (a frozen clock, one transaction).
    """
    entity_type = AUDIT_VERSIONED.get(resource_type, model.__name__)
    query = select(AuditRecord.at, AuditRecord.after).where(
        AuditRecord.entity_type == entity_type, AuditRecord.entity_id == ident
    )
    rows = sorted(session.execute(query), key=lambda r: (r.at, str((r.after or {}).get("updated_at") or "")))
    return [row.after for row in rows]


def render_version(session: Session, resource_type: str, model: type[Any], current: Any, version: int) -> Json | None:
    """The resource as it was at `version`, or None when carebridge has no such version."""
    snapshots = version_snapshots(session, resource_type, model, current.id)
    return _render_snapshot(session, resource_type, model, current, snapshots, version)


def _render_snapshot(
    session: Session,
    resource_type: str,
    model: type[Any],
    current: Any,
    snapshots: list[dict[str, Any] | None],
    version: int,
) -> Json | None:
    if resource_type in AUDIT_VERSIONED:
        snapshot = snapshots[version - 1] if 0 < version <= len(snapshots) else None
    else:
        snapshot = next((s for s in reversed(snapshots) if s is not None and s.get("version") == version), None)
    if snapshot is None:
        return None
    old = _restore(model, snapshot, current)
    [resource] = render(session, resource_type, [old])
    return stamp(resource, version, old.updated_at)


def instance_history(session: Session, resource_type: str, model: type[Any], current: Any, version: int) -> list[Json]:
    """Every version carebridge can render of `current` (at `version`), newest first
    (https://hl7.org/fhir/R4/http.html#history). A CareTeam, derived from its members, has only
    its current version."""
    [latest] = render(session, resource_type, [current])
    if resource_type == "CareTeam":
        return [latest]
    snapshots = version_snapshots(session, resource_type, model, current.id)
    older = (_render_snapshot(session, resource_type, model, current, snapshots, v) for v in range(version - 1, 0, -1))
    return [latest, *(resource for resource in older if resource is not None)]
