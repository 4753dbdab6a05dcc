"""Handoff <-> Task (https://hl7.org/fhir/R4/task.html).

A referral's recipient gets one Task each, following the Gravity SDOH referral pattern
(https://hl7.org/fhir/us/sdoh-clinicalcare/STU2/referral_workflow.html): `focus` = the
ServiceRequest, `for` = the patient, `owner` = the recipient, `restriction.period.end` = when an
answer is due, `businessStatus` = the finer step ("bed offered"). Other handoffs (payer
authorisation, follow-up call...) are the same shape without `focus`; `code` says which kind,
from the carebridge handoff-kind CodeSystem. A partner's Task whose code carebridge does not know
reads as kind "other".

A recipient that completes a referral says what it did in `output`: the Gravity SDOH
"resulting activity" (https://hl7.org/fhir/us/sdoh-clinicalcare/STU2/StructureDefinition-SDOHCC-TaskForReferralManagement.html:
`output.type` = resulting-activity, `output.value[x]` a CodeableConcept or a Procedure), kept as
its text; a partner's other outputs (a Procedure reference) stay as sent.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.task import Task

from . import fields as f
from .codec import FirstItem, ResourceMap
from .codes import HANDOFF_KINDS
from .datatypes import parse_concept_text, render_text_concept
from .domain import HandoffData
from .profiles import HANDOFF_TASK, meta_claiming

# https://hl7.org/fhir/us/sdoh-clinicalcare/STU2/CodeSystem-SDOHCC-CodeSystemTemporaryCodes.html
SDOHCC_TEMPORARY_CODES = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
RESULTING_ACTIVITY = {
    "coding": [{"system": SDOHCC_TEMPORARY_CODES, "code": "resulting-activity", "display": "Resulting Activity"}]
}


def _parse_outcome(output: Any) -> str | None:
    """The text of a resulting-activity output whose value is a CodeableConcept."""
    if not isinstance(output, dict):
        return None
    codings = (output.get("type") or {}).get("coding") or ()
    wanted = (SDOHCC_TEMPORARY_CODES, "resulting-activity")
    if not any(isinstance(c, dict) and (c.get("system"), c.get("code")) == wanted for c in codings):
        return None
    value = output.get("valueCodeableConcept")
    return parse_concept_text(value) if isinstance(value, dict) else None


def _render_outcome(text: str) -> dict[str, Any]:
    return {"type": RESULTING_ACTIVITY, "valueCodeableConcept": render_text_concept(text)}


OUTCOME = FirstItem("outcome", ("output",), _parse_outcome, _render_outcome)

TASK: ResourceMap[HandoffData, Task] = ResourceMap(
    Task,
    HandoffData,
    (
        f.resource_id(),
        f.identifiers(),
        f.code("status", ("status",)),
        f.concept("status_reason", ("statusReason",)),
        f.concept("business_status", ("businessStatus",)),
        f.coded("kind", ("code",), HANDOFF_KINDS, fallback="other", required=True),
        f.text("description", ("description",)),
        f.reference_to("referral_id", ("focus",), "ServiceRequest"),
        f.reference_to("patient_id", ("for",), "Patient"),
        f.reference_to("stay_id", ("encounter",), "Encounter"),
        f.instant("execution_start", ("executionPeriod", "start")),
        f.instant("execution_end", ("executionPeriod", "end")),
        f.instant("authored_on", ("authoredOn",)),
        f.instant("last_modified", ("lastModified",)),
        f.any_reference("requester_ref", ("requester",)),
        f.any_reference("owner_ref", ("owner",)),
        f.notes(),
        f.instant("due_at", ("restriction", "period", "end")),
        OUTCOME,
    ),
    # Every handoff is an actionable order to its owner (https://hl7.org/fhir/R4/valueset-task-intent.html).
    {"resourceType": "Task", "meta": meta_claiming(HANDOFF_TASK), "intent": "order"},
)

to_fhir_task_json = TASK.to_json
to_fhir_task = TASK.to_model
from_fhir_task = TASK.from_fhir


def task_outcome(resource: Any) -> str | None:
    """What a Task's recipient says it did (its resulting-activity output), from Task JSON."""
    return OUTCOME.read(resource) if isinstance(resource, dict) else None
