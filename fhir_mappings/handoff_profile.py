"""The StructureDefinition of carebridge's Task profile (`profiles.HANDOFF_TASK`), which every
handoff claims in `meta.profile`, so that the canonical resolves: carebridge serves it at
`<base>/StructureDefinition/handoff-task` and finds it by `StructureDefinition?url=<canonical>`
(https://hl7.org/fhir/R4/references.html#canonical).

It states, as a differential on R4 Task (https://hl7.org/fhir/R4/profiling.html#snapshot), the
rules `validation.profiles` checks for the profile: code from the handoff-kind CodeSystem, one
patient (`for`), an owner and a requester (organisation or person), `focus` a ServiceRequest.
"""

from __future__ import annotations

from typing import Any

from .codes import HANDOFF_KIND
from .profiles import HANDOFF_TASK
from .validation.profiles import PERSON_OR_ORG

_R4 = "http://hl7.org/fhir/StructureDefinition/"
_PARTY = [_R4 + t for t in PERSON_OR_ORG]


def _element(path: str, *, minimum: int | None = None, targets: list[str] | None = None, **more: Any) -> Any:
    element: dict[str, Any] = {"id": path, "path": path}
    if minimum is not None:
        element["min"] = minimum
    if targets is not None:
        element["type"] = [{"code": "Reference", "targetProfile": targets}]
    return element | more


def handoff_task_structure_definition() -> dict[str, Any]:
    return {
        "resourceType": "StructureDefinition",
        "id": "handoff-task",
        "url": HANDOFF_TASK,
        "name": "CarebridgeHandoffTask",
        "title": "carebridge handoff (Task)",
        "status": "active",
        "publisher": "carebridge",
        "description": "A care-transition handoff addressed to one organisation: a referral's answer, a payer "
        "authorisation, transport, equipment delivery or a follow-up, following the Gravity SDOH referral "
        "pattern (Task.focus is the ServiceRequest).",
        "fhirVersion": "4.0.1",
        "kind": "resource",
        "abstract": False,
        "type": "Task",
        "baseDefinition": _R4 + "Task",
        "derivation": "constraint",
        "differential": {
            "element": [
                _element("Task"),
                _element(
                    "Task.code",
                    minimum=1,
                    binding={"strength": "extensible", "description": f"a code of {HANDOFF_KIND.url}"},
                ),
                _element("Task.focus", targets=[_R4 + "ServiceRequest"]),
                _element("Task.for", minimum=1, targets=[_R4 + "Patient"]),
                _element("Task.requester", minimum=1, targets=_PARTY),
                _element("Task.owner", minimum=1, targets=_PARTY),
            ]
        },
    }
