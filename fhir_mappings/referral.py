"""Referral <-> ServiceRequest, US Core ServiceRequest profile
(https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-servicerequest.html).

`code` carries carebridge's referral-service code plus SNOMED CT where an equivalent exists;
`performer` lists the recipient organisations (each also gets a Task, see `handoff`);
`occurrenceDateTime` is the date the service is wanted by; the goal the referral serves is the
`pertainsToGoal` extension, as the Gravity SDOH ServiceRequest profile has it
(https://hl7.org/fhir/us/sdoh-clinicalcare/STU2/StructureDefinition-SDOHCC-ServiceRequest.html;
R4's `reasonReference` cannot name a Goal); `reasonReference` names the health concerns
(Condition) it serves, `reasonCode` the free-text reason (a concept with text alone, first) and
then the diagnoses (each a CodeableConcept, e.g. ICD-10-CM; reasonCode is must-support in US Core);
a partner's coded reasonCodes read as diagnoses. A text-only diagnosis sent without a reason reads
back as the reason, since R4 gives the two no other distinction.
`supportingInfo` the clinical documents sent with it (DocumentReference,
see `document`). A partner's ServiceRequest whose code carebridge does not know reads as
service "other"; a missing priority reads as "routine".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.servicerequest import ServiceRequest

from . import fields as f
from .codec import FirstItem, Items, Json, Path, ResourceMap, delete_in, get_in, set_in
from .codes import REFERRAL_SERVICES, SNOMED
from .datatypes import parse_concept, render_concept, render_text_concept
from .domain import ReferralData
from .profiles import US_CORE_SERVICEREQUEST, meta_claiming

# https://hl7.org/fhir/R4/extension-resource-pertainstogoal.html
PERTAINS_TO_GOAL = "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal"
# Every carebridge ServiceRequest is a referral to another organisation.
_PATIENT_REFERRAL = {"coding": [{"system": SNOMED, "code": "3457005", "display": "Patient referral"}]}


def _reason_text(raw: Any) -> str | None:
    """The free-text reason is a reasonCode with text and no coding."""
    concept = parse_concept(raw)
    return concept.text if concept is not None and not concept.code and not concept.display else None


_REASON = FirstItem("reason", ("reasonCode",), _reason_text, render_text_concept)


@dataclass(frozen=True)
class _Diagnoses:
    """Every reasonCode but the reason's (http://hl7.org/fhir/R4/servicerequest-definitions.html#ServiceRequest.reasonCode)."""

    name: str = "diagnoses"
    path: Path = ("reasonCode",)

    def read(self, resource: Mapping[str, Any]) -> tuple[Any, ...]:
        return _CONCEPTS.read({"reasonCode": self._split(resource)[1]})

    def write(self, resource: Json, data: Any) -> None:
        reason, others = self._split(resource)
        items = [*reason, *_CONCEPTS.merge(others, data.diagnoses)]
        if items:
            set_in(resource, self.path, items)
        else:
            delete_in(resource, self.path)

    def _split(self, resource: Mapping[str, Any]) -> tuple[list[Any], list[Any]]:
        items: Sequence[Any] = get_in(resource, self.path) or ()
        at = next((i for i, item in enumerate(items) if _reason_text(item) is not None), None)
        return [items[at]] if at is not None else [], [item for i, item in enumerate(items) if i != at]


_CONCEPTS = Items("diagnoses", ("reasonCode",), parse_concept, render_concept)

SERVICE_REQUEST: ResourceMap[ReferralData, ServiceRequest] = ResourceMap(
    ServiceRequest,
    ReferralData,
    (
        f.resource_id(),
        f.identifiers(),
        f.code("status", ("status",)),
        f.code("intent", ("intent",)),
        f.code("priority", ("priority",), default="routine"),
        f.coded("service_code", ("code",), REFERRAL_SERVICES, fallback="other", required=True),
        f.reference_to("patient_id", ("subject",), "Patient"),
        f.reference_to("stay_id", ("encounter",), "Encounter"),
        f.extension_reference_to("goal_id", PERTAINS_TO_GOAL, "Goal"),
        f.date("wanted_by", ("occurrenceDateTime",), other_choices=("occurrencePeriod", "occurrenceTiming")),
        f.instant("authored_on", ("authoredOn",)),
        f.any_reference("requester_ref", ("requester",)),
        f.any_references("performer_refs", ("performer",)),
        _REASON,
        _Diagnoses(),
        f.references_to("concern_ids", ("reasonReference",), "Condition"),
        f.notes(),
        f.references_to("document_ids", ("supportingInfo",), "DocumentReference"),
    ),
    {
        "resourceType": "ServiceRequest",
        "meta": meta_claiming(US_CORE_SERVICEREQUEST),
        "category": [_PATIENT_REFERRAL],
    },
)

to_fhir_service_request_json = SERVICE_REQUEST.to_json
to_fhir_service_request = SERVICE_REQUEST.to_model
from_fhir_service_request = SERVICE_REQUEST.from_fhir
