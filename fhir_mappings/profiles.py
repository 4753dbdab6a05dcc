"""Canonical URLs of the profiles carebridge's resources claim in `meta.profile`.

carebridge targets US Core 6.1.0 (https://hl7.org/fhir/us/core/STU6.1/), the version certified
EHRs serve today. US Core has no Task profile, so handoffs claim carebridge's own.
"""

from __future__ import annotations

from .codes import CAREBRIDGE_PROFILE

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-"

US_CORE_CAREPLAN = US_CORE + "careplan"
US_CORE_GOAL = US_CORE + "goal"
US_CORE_SERVICEREQUEST = US_CORE + "servicerequest"
US_CORE_CARETEAM = US_CORE + "careteam"
US_CORE_ENCOUNTER = US_CORE + "encounter"
US_CORE_PATIENT = US_CORE + "patient"
US_CORE_ORGANIZATION = US_CORE + "organization"
US_CORE_PRACTITIONER = US_CORE + "practitioner"
US_CORE_PRACTITIONERROLE = US_CORE + "practitionerrole"
US_CORE_LOCATION = US_CORE + "location"
US_CORE_PROVENANCE = US_CORE + "provenance"
US_CORE_DOCUMENTREFERENCE = US_CORE + "documentreference"
US_CORE_OBSERVATION_SCREENING = US_CORE + "observation-screening-assessment"
US_CORE_CONDITION_HEALTH_CONCERN = US_CORE + "condition-problems-health-concerns"
# US Core 6.1 has no QuestionnaireResponse profile of its own; it points to SDC's
# (https://hl7.org/fhir/us/core/STU6.1/screening-and-assessments.html).
SDC_QUESTIONNAIRE_RESPONSE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaireresponse"
HANDOFF_TASK = CAREBRIDGE_PROFILE + "handoff-task"


def meta_claiming(profile: str) -> dict[str, list[str]]:
    return {"profile": [profile]}
