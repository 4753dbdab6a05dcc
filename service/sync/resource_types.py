"""Which carebridge record each synced FHIR resource type stands for, and carebridge's business identifiers."""

from __future__ import annotations

from fhir_mappings.codes import CAREBRIDGE_IDENTIFIER

# carebridge model name -> FHIR resource type (service.usecases.changes.PUBLISHED, and the documents
# sent with referrals, which partners read from carebridge's FHIR API and are never pushed).
RESOURCE_TYPE = {
    "Patient": "Patient",
    "Stay": "Encounter",
    "CasePlan": "CarePlan",
    "Goal": "Goal",
    "Referral": "ServiceRequest",
    "Handoff": "Task",
    "Document": "DocumentReference",
    "Screening": "QuestionnaireResponse",
    "ScreeningObservation": "Observation",
    "HealthConcern": "Condition",
}
ENTITY_TYPE = {resource: entity for entity, resource in RESOURCE_TYPE.items()}


def identifier_system(resource_type: str) -> str:
    """carebridge's identifier system for records of one type, e.g. .../identifier/task."""
    return f"{CAREBRIDGE_IDENTIFIER}{resource_type.lower()}"


def identifier_token(resource_type: str, entity_id: str) -> str:
    """A search token ``system|value`` (https://hl7.org/fhir/R4/search.html#token)."""
    return f"{identifier_system(resource_type)}|{entity_id}"


def carebridge_id(resource: dict[str, object]) -> str | None:
    """The carebridge record id a partner's resource carries as its business identifier, if any."""
    system = identifier_system(str(resource.get("resourceType", "")))
    for identifier in resource.get("identifier") or ():  # type: ignore[attr-defined]
        if isinstance(identifier, dict) and identifier.get("system") == system and identifier.get("value"):
            return str(identifier["value"])
    return None
