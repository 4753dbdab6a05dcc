"""Handoff <-> Task (https://hl7.org/fhir/R4/task.html).

A referral's recipient gets one Task each, following the Gravity SDOH referral pattern
(https://hl7.org/fhir/us/sdoh-clinicalcare/STU2/referral_workflow.html): `focus` = the
ServiceRequest, `for` = the patient, `owner` = the recipient, `restriction.period.end` = when an
answer is due, `businessStatus` = the finer step ("bed offered"). Other handoffs (payer
authorisation, follow-up call...) are the same shape without `focus`; `code` says which kind,
from the carebridge handoff-kind CodeSystem. A partner's Task whose code carebridge does not know
reads as kind "other".
"""

from __future__ import annotations

from fhir.resources.R4B.task import Task

from . import fields as f
from .codec import ResourceMap
from .codes import HANDOFF_KINDS
from .domain import HandoffData
from .profiles import HANDOFF_TASK, meta_claiming

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
    ),
    # Every handoff is an actionable order to its owner (https://hl7.org/fhir/R4/valueset-task-intent.html).
    {"resourceType": "Task", "meta": meta_claiming(HANDOFF_TASK), "intent": "order"},
)

to_fhir_task_json = TASK.to_json
to_fhir_task = TASK.to_model
from_fhir_task = TASK.from_fhir
