"""What a pull could not apply: one `SyncError` per partner resource, with a reason free of PHI.

A resource that fails again bumps ``count`` and ``last_seen`` of its row; one that applies later
removes it, so the rows are what is wrong now. Reasons name the check that failed, paths, ids,
lengths and error classes, never values: a partner's resource holds names, birth dates and MRNs,
and so do database error messages (they quote the parameters) and some use-case messages
(a duplicate identifier names it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from connectors.errors import ConnectorError
from fhir_mappings import MappingError
from service import clock
from service.models import SyncError
from service.usecases.errors import IllegalTransition, NotFound, UseCaseError, VersionMismatch

log = logging.getLogger(__name__)
REMOTE_ID_LENGTH = 64  # SyncError.remote_id


class Refused(Exception):
    """carebridge will not apply this resource; the message is PHI-free by construction."""


def reason(exc: BaseException) -> str:
    """A PHI-free description of why applying a resource failed."""
    if isinstance(exc, Refused | IllegalTransition | VersionMismatch | NotFound | MappingError):
        return str(exc)  # built from paths, states, ids and limits only
    if isinstance(exc, ConnectorError):
        return str(exc)  # method, URL path, status and OperationOutcome codes (connectors.errors)
    if isinstance(exc, UseCaseError):
        fields = sorted(exc.details.get("fields") or {})  # type: ignore[call-overload]
        return f"refused by carebridge ({exc.code})" + (f": {', '.join(fields)}" if fields else "")
    if isinstance(exc, DBAPIError):
        # The driver's message quotes the statement's parameters: keep only its class.
        return f"the database refused it ({type(exc.orig).__name__})"
    return f"could not be applied ({type(exc).__name__})"


def record(session: Session, partner_id: str, resource_type: str, remote_id: str | None, message: str) -> None:
    """Add or bump the error of one resource ("" for a page); the caller commits."""
    key = (remote_id or "")[:REMOTE_ID_LENGTH]
    now = clock.now()
    where = (SyncError.partner_id == partner_id, SyncError.resource_type == resource_type, SyncError.remote_id == key)
    row = session.scalar(select(SyncError).where(*where))
    if row is None:
        try:
            with session.begin_nested():  # another pull of this partner may insert the same row meanwhile
                session.add(
                    SyncError(
                        partner_id=partner_id, resource_type=resource_type, remote_id=key, message=message,
                        first_seen=now, last_seen=now, count=1,
                    )  # fmt: skip
                )
        except IntegrityError:
            row = session.scalars(select(SyncError).where(*where)).one()
    if row is not None:
        row.message, row.last_seen, row.count = message, now, row.count + 1
    log.warning("pull: %s %s/%s not applied: %s", partner_id, resource_type, key or "(page)", message)


def resolved(session: Session, partner_id: str, resource_type: str, remote_ids: Iterable[str]) -> None:
    """Forget the errors of resources that have now been applied (one statement per page)."""
    ids = [i[:REMOTE_ID_LENGTH] for i in remote_ids]
    if ids:
        session.execute(
            delete(SyncError).where(
                SyncError.partner_id == partner_id, SyncError.resource_type == resource_type,
                SyncError.remote_id.in_(ids),
            )  # fmt: skip
        )


def list_errors(session: Session, partner_id: str | None = None) -> Sequence[SyncError]:
    query = select(SyncError).order_by(SyncError.partner_id, SyncError.last_seen.desc(), SyncError.id)
    if partner_id is not None:
        query = query.where(SyncError.partner_id == partner_id)
    return session.scalars(query).all()


def clear(session: Session, partner_id: str | None = None) -> int:
    """Remove the recorded errors (of one partner); the next pull records what still fails."""
    query = delete(SyncError)
    if partner_id is not None:
        query = query.where(SyncError.partner_id == partner_id)
    removed = cast(CursorResult[Any], session.execute(query)).rowcount
    session.commit()
    return int(removed or 0)
