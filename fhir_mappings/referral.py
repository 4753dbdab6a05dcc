"""Referral <-> ServiceRequest, US Core ServiceRequest profile
(https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-servicerequest.html).

`code` carries carebridge's referral-service code plus SNOMED CT where an equivalent exists;
`performer` lists the recipient organisations (each also gets a Task, see `handoff`);
`occurrenceDateTime` is the date the service is wanted by; the goal the referral serves is the
`pertainsToGoal` extension, as the Gravity SDOH ServiceRequest profile has it
(https://hl7.org/fhir/us/sdoh-clinicalcare/STU2/StructureDefinition-SDOHCC-ServiceRequest.html;
R4's `reasonReference` cannot name a Goal); `reasonReference` names the health concerns
(Condition) it serves, `supportingInfo` the clinical documents sent with it (DocumentReference,
see `document`). A partner's ServiceRequest whose code carebridge does not know reads as
service "other"; a missing priority reads as "routine".
"""

from __future__ import annotations

from fhir.resources.R4B.servicerequest import ServiceRequest

from . import fields as f
from .codec import FirstItem, ResourceMap
from .codes import REFERRAL_SERVICES, SNOMED
from .datatypes import parse_concept_text, render_text_concept
from .domain import ReferralData
from .profiles import US_CORE_SERVICEREQUEST, meta_claiming

# https://hl7.org/fhir/R4/extension-resource-pertainstogoal.html
PERTAINS_TO_GOAL = "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal"
# Every carebridge ServiceRequest is a referral to another organisation.
_PATIENT_REFERRAL = {"coding": [{"system": SNOMED, "code": "3457005", "display": "Patient referral"}]}

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
        FirstItem("reason", ("reasonCode",), parse_concept_text, render_text_concept),
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
