"""Partners updating a Task (a handoff): its status, business status and status reason only.

A receiving facility accepts or declines a referral by PUTting the Task back with a new `status`
/ `businessStatus` (Gravity SDOH: https://hl7.org/fhir/us/sdoh-clinicalcare/STU2/referral_workflow.html),
and completes it with what it did as `output` (the resulting activity), which closes the loop.
The change goes through the same use cases as the REST API, so the Task state machine, the
party rules (owner vs requester) and the optimistic lock apply unchanged. Any other element that
differs from the current resource is refused with 422 naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

import fhir_mappings as fm
from service.auth import policy
from service.auth.context import AccessContext
from service.fhir_api.outcome import FhirError
from service.fhir_bridge import Json
from service.models import Handoff
from service.usecases import handoffs
from service.usecases.errors import ConflictError, Invalid, NotFound, UseCaseError, VersionMismatch

# Elements a partner may change, and elements the server maintains (ignored when sent back).
WRITABLE = frozenset({"status", "businessStatus", "statusReason", "output"})
SERVER_MANAGED = frozenset({"meta", "text", "lastModified", "executionPeriod"})
_ELEMENT_OF_FIELD = {
    "status": "Task.status",
    "business_status": "Task.businessStatus",
    "reason": "Task.statusReason",
    "outcome": "Task.output",
}


def changed_elements(current: Mapping[str, Any], proposed: Mapping[str, Any]) -> set[str]:
    keys = (set(current) | set(proposed)) - SERVER_MANAGED
    return {key for key in keys if current.get(key) != proposed.get(key)}


def concept_text(value: Any) -> str | None:
    """The text of a CodeableConcept (its text, else its first coding's display or code)."""
    if not isinstance(value, Mapping):
        return None
    if isinstance(value.get("text"), str):
        return str(value["text"])
    for coding in value.get("coding") or ():
        if isinstance(coding, Mapping) and (coding.get("display") or coding.get("code")):
            return str(coding.get("display") or coding.get("code"))
    return None


def update_task(
    session: Session, ctx: AccessContext, handoff: Handoff, current: Json, proposed: Json, expected_version: int
) -> Handoff:
    """Apply the partner's changes to `handoff`; raises FhirError with the right status."""
    changed = changed_elements(current, proposed)
    refused = sorted(changed - WRITABLE)
    if refused:
        raise FhirError(
            422,
            f"only Task.status, businessStatus, statusReason and output may be changed; refused: {', '.join(refused)}",
            code="business-rule",
            expression=[f"Task.{name}" for name in refused],
        )
    if not changed:
        return handoff
    if not policy.can_write(ctx, "Task", handoff):
        raise FhirError(403, "only the Task's parties and the case's hospital may update it", code="forbidden")
    actor = ctx.actor
    business_status = concept_text(proposed.get("businessStatus"))
    try:
        if "status" in changed:
            return handoffs.transition_handoff(
                session,
                handoff.id,
                str(proposed.get("status")),
                actor=actor,
                reason=concept_text(proposed.get("statusReason")),
                business_status=business_status if "businessStatus" in changed else None,
                expected_version=expected_version,
                acting_org_id=ctx.organization_id,
                outcome=fm.task_outcome(proposed) if "output" in changed else None,
            )
        unpaired = sorted({"statusReason", "output"} & changed)
        if unpaired:
            raise FhirError(
                422,
                f"Task.{unpaired[0]} can only change together with Task.status",
                code="business-rule",
                expression=[f"Task.{element}" for element in unpaired],
            )
        return handoffs.set_business_status(
            session, handoff.id, business_status, actor=actor, expected_version=expected_version
        )
    except UseCaseError as refused_change:
        raise _as_fhir_error(refused_change) from None


def _as_fhir_error(error: UseCaseError) -> FhirError:
    if isinstance(error, VersionMismatch):
        return FhirError(412, error.message, code="conflict")
    if isinstance(error, NotFound):
        return FhirError(404, error.message)
    if isinstance(error, Invalid):
        fields = error.details.get("fields")
        names = list(fields) if isinstance(fields, dict) else []
        paths = [_ELEMENT_OF_FIELD.get(name, f"Task.{name}") for name in names]
        return FhirError(422, error.message, code="business-rule", expression=paths or None)
    if isinstance(error, ConflictError):
        return FhirError(409, error.message, code="business-rule")
    return FhirError(error.status, error.message)
