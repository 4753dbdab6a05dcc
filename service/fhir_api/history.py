"""vread (`[type]/[id]/_history/[vid]`), instance history and type history from the audit trail.

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
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, Date, inspect, select
from sqlalchemy.orm import Session

from service.auth.context import AccessContext
from service.db import UTCDateTime
from service.fhir_api.params import date_clause
from service.fhir_bridge import AUDIT_VERSIONED, Json, render, stamp, version_of
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
    return [row.after for row in _trails(session, resource_type, model, [ident]).get(ident, [])]


def _trails(session: Session, resource_type: str, model: type[Any], ids: Any) -> dict[str, list[Any]]:
    """The audit entries (id, entity_id, at, after) of each record in `ids`, oldest first (see
    `version_snapshots` for the order)."""
    query = select(AuditRecord.id, AuditRecord.entity_id, AuditRecord.at, AuditRecord.after).where(
        AuditRecord.entity_type == _entity_type(resource_type, model), AuditRecord.entity_id.in_(ids)
    )
    trails: dict[str, list[Any]] = defaultdict(list)
    for row in sorted(session.execute(query), key=lambda r: (r.at, str((r.after or {}).get("updated_at") or ""))):
        trails[row.entity_id].append(row)
    return trails


def _entity_type(resource_type: str, model: type[Any]) -> str:
    return AUDIT_VERSIONED.get(resource_type, model.__name__)


def render_version(
    session: Session, resource_type: str, model: type[Any], current: Any, version: int, reader: AccessContext
) -> Json | None:
    """The resource as it was at `version` (as `reader` reads it: `fhir_bridge.render`), or None
    when carebridge has no such version."""
    snapshots = version_snapshots(session, resource_type, model, current.id)
    return _render_snapshot(session, resource_type, model, current, snapshots, version, reader)


def _render_snapshot(
    session: Session,
    resource_type: str,
    model: type[Any],
    current: Any,
    snapshots: list[dict[str, Any] | None],
    version: int,
    reader: AccessContext,
) -> Json | None:
    if resource_type in AUDIT_VERSIONED:
        snapshot = snapshots[version - 1] if 0 < version <= len(snapshots) else None
    else:
        snapshot = next((s for s in reversed(snapshots) if s is not None and s.get("version") == version), None)
    if snapshot is None:
        return None
    old = _restore(model, snapshot, current)
    [resource] = render(session, resource_type, [old], reader)
    return stamp(resource, version, old.updated_at)


def instance_history(
    session: Session, resource_type: str, model: type[Any], current: Any, version: int, reader: AccessContext
) -> list[Json]:
    """Every version carebridge can render of `current` (at `version`) for `reader`, newest first
    (https://hl7.org/fhir/R4/http.html#history). A CareTeam, derived from its members, has only
    its current version."""
    [latest] = render(session, resource_type, [current], reader)
    if resource_type == "CareTeam":
        return [latest]
    snapshots = version_snapshots(session, resource_type, model, current.id)
    older = (
        _render_snapshot(session, resource_type, model, current, snapshots, v, reader)
        for v in range(version - 1, 0, -1)
    )
    return [latest, *(resource for resource in older if resource is not None)]


def type_history(
    session: Session,
    resource_type: str,
    model: type[Any],
    visible: ColumnElement[bool],
    *,
    reader: AccessContext,
    since: str | None,
    offset: int,
    count: int,
) -> tuple[list[tuple[Any, Json]], bool]:
    """One page of every version of every `visible` record of the type, newest change first
    (https://hl7.org/fhir/R4/http.html#history: the history of all resources of a type), and
    whether more follow: (current row, resource at that version) pairs. `since` (`_since`, an
    instant) keeps the changes made at or after it. A version is one audited change (any
    but a delete); each is rendered as instance history renders it."""
    query = (
        select(AuditRecord.id, AuditRecord.entity_id, AuditRecord.at)
        .where(
            AuditRecord.entity_type == _entity_type(resource_type, model),
            AuditRecord.action != "delete",  # every other action (create, update, transition...) wrote a version
            AuditRecord.entity_id.in_(select(model.id).where(visible)),
        )
        .order_by(AuditRecord.at.desc(), AuditRecord.id.desc())
        .offset(offset)
        .limit(count + 1)
    )
    if since is not None:
        query = query.where(date_clause("_since", f"ge{since}", AuditRecord.at))
    page = session.execute(query).all()
    ids = {entity_id for _, entity_id, _ in page[:count]}
    current = {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))}
    trails = _trails(session, resource_type, model, ids)
    latest: dict[str, int] = {}
    versions: list[tuple[dt.datetime, int, Any, Json]] = []
    seen: set[tuple[str, int]] = set()
    for record_id, entity_id, at in page[:count]:
        row, trail = current[entity_id], trails[entity_id]
        position = next(i for i, entry in enumerate(trail) if entry.id == record_id)
        version = position + 1 if resource_type in AUDIT_VERSIONED else int((trail[position].after or {})["version"])
        if (entity_id, version) in seen:
            continue  # an update that kept the version (several audit entries of one version)
        seen.add((entity_id, version))
        if entity_id not in latest:
            latest[entity_id] = version_of(session, resource_type, row)
        resource: Json | None = None
        if version == latest[entity_id]:
            [resource] = render(session, resource_type, [row], reader)
        else:
            snapshots = [entry.after for entry in trail]
            resource = _render_snapshot(session, resource_type, model, row, snapshots, version, reader)
        if resource is not None:
            versions.append((at, version, row, resource))
    # Changes audited at the same instant (one transaction) list their versions newest first too.
    versions.sort(key=lambda v: (v[0], v[1]), reverse=True)
    return [(row, resource) for _, _, row, resource in versions], len(page) > count
