"""Import then export any resource carebridge maps: what a partner gets back from carebridge for
a resource it sent, when carebridge changed nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .bounds import check_json
from .care_plan import CARE_PLAN
from .care_team import CARE_TEAM
from .codec import Json, MappingError, ResourceMap, copy_json
from .goal import GOAL
from .handoff import TASK
from .organization import ORGANIZATION
from .patient import PATIENT
from .provenance import PROVENANCE
from .referral import SERVICE_REQUEST
from .stay import ENCOUNTER
from .validation.issues import fhirpath

MAPS: Mapping[str, ResourceMap[Any, Any]] = {
    m.resource_type: m
    for m in (CARE_PLAN, CARE_TEAM, GOAL, TASK, ORGANIZATION, PATIENT, PROVENANCE, SERVICE_REQUEST, ENCOUNTER)
}


def map_for(resource_type: str) -> ResourceMap[Any, Any]:
    try:
        return MAPS[resource_type]
    except KeyError:
        raise MappingError(f"carebridge maps no {resource_type!r} resources") from None


def roundtrip_json(resource: Mapping[str, Any]) -> Json:
    """Export(import(resource)); a Bundle has each entry's resource round-tripped in place."""
    refused = check_json(resource)
    if refused is not None:
        raise MappingError(f"{fhirpath(refused.path) or '$'}: {refused.message}")
    return _roundtrip(resource)


def _roundtrip(resource: Mapping[str, Any]) -> Json:
    if resource.get("resourceType") == "Bundle":
        bundle: Json = copy_json(resource)
        for entry in bundle.get("entry") or ():
            if "resource" in entry:
                entry["resource"] = _roundtrip(entry["resource"])
        return bundle
    mapping = map_for(str(resource.get("resourceType")))
    return mapping.to_json(mapping.from_json(resource))
