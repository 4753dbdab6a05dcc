"""`record_access(...)`: one AccessEvent (rendered as FHIR AuditEvent) per access to patient data.

Every FHIR read, vread, search, write, export and notification delivery calls it, success or
not: who (subject), which client, for which organisation, which patient, what, when, outcome.
It never stores resource content or search values other than ids, so the audit trail holds no
clinical data (issue #5, part 4). The row is added to `session`; the caller commits (reads use
`record_access_now`, which returns once the event is committed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from flask import g, has_request_context
from sqlalchemy.orm import Session

from service import clock
from service.auth.context import AccessContext
from service.auth.group_commit import commit_access_events
from service.db import new_id
from service.models.audit_events import AccessEvent

Action = Literal["C", "R", "U", "D", "E"]
# https://hl7.org/fhir/R4/valueset-audit-event-outcome.html
OUTCOME_SUCCESS = "0"
OUTCOME_MINOR = "4"  # the request was refused (bad input, not found, not allowed)
OUTCOME_SERIOUS = "8"


def outcome_for_status(status: int) -> str:
    if status < 400:
        return OUTCOME_SUCCESS
    return OUTCOME_MINOR if status < 500 else OUTCOME_SERIOUS


def record_access(
    session: Session,
    ctx: AccessContext,
    *,
    action: Action,
    interaction: str,
    outcome: str = OUTCOME_SUCCESS,
    resource_type: str | None = None,
    resource_id: str | None = None,
    patient_id: str | None = None,
    query: str | None = None,
    description: str | None = None,
) -> AccessEvent:
    """Add one access event to `session` (the caller's transaction decides when it is written)."""
    event = AccessEvent(
        **_fields(
            ctx, action=action, interaction=interaction, outcome=outcome, resource_type=resource_type,
            resource_id=resource_id, patient_id=patient_id, query=query, description=description,
        )  # fmt: skip
    )
    session.add(event)
    return event


def _fields(ctx: AccessContext, *, outcome: str = OUTCOME_SUCCESS, **fields: object) -> dict[str, object]:
    """The columns of one event; notes a refusal on the request, so service.auth.request_audit adds no second one."""
    if outcome != OUTCOME_SUCCESS and has_request_context():
        g.refusal_recorded = True
    return {
        "id": new_id(),
        "recorded": clock.now(),
        "outcome": outcome,
        "client_id": ctx.client_id,
        "subject": ctx.subject,
        "organization_id": ctx.organization_id,
        **fields,
    }


def record_access_now(session: Session, ctx: AccessContext, **fields: object) -> None:
    """`record_access` and commit at once (reads and searches, which have no transaction of their own)."""
    record_accesses_now(session, ctx, [fields.pop("patient_id", None)], **fields)  # type: ignore[list-item]


def record_accesses_now(
    session: Session, ctx: AccessContext, patient_ids: Sequence[str | None], **fields: object
) -> None:
    """One event per patient an access disclosed (a search page may show several, and each patient's
    accounting of disclosures must find it), committed before this returns, together with those of the
    requests auditing at the same time (service.auth.group_commit)."""
    rows = [_fields(ctx, patient_id=patient_id, **fields) for patient_id in patient_ids]  # type: ignore[arg-type]
    commit_access_events(session, rows)
