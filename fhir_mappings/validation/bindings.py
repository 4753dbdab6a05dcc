"""Value-set bindings fhir.resources does not enforce: element definition path -> binding.

Required bindings of R4 (https://hl7.org/fhir/R4/terminologies.html#required) for the elements of
the resources carebridge exchanges and the data types they use, plus Encounter.class, whose
binding is extensible (a code outside the set is only a warning).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .. import codes
from ..codes import ValueSet


@dataclass(frozen=True)
class Binding:
    strength: str  # required | extensible
    value_set: ValueSet


def _required(value_set: ValueSet, *paths: str) -> dict[str, Binding]:
    return dict.fromkeys(paths, Binding("required", value_set))


_QUANTITIES = ("Quantity", "Age", "Count", "Distance", "Duration")

BINDINGS: Mapping[str, Binding] = {
    # data types
    **_required(codes.NARRATIVE_STATUS, "Narrative.status"),
    **_required(codes.IDENTIFIER_USE, "Identifier.use"),
    **_required(codes.NAME_USE, "HumanName.use"),
    **_required(codes.CONTACT_POINT_SYSTEM, "ContactPoint.system"),
    **_required(codes.CONTACT_POINT_USE, "ContactPoint.use"),
    **_required(codes.ADDRESS_USE, "Address.use"),
    **_required(codes.ADDRESS_TYPE, "Address.type"),
    **_required(codes.QUANTITY_COMPARATOR, *(f"{q}.comparator" for q in _QUANTITIES)),
    **_required(codes.UNITS_OF_TIME, "Timing.repeat.durationUnit", "Timing.repeat.periodUnit"),
    **_required(codes.DAYS_OF_WEEK, "Timing.repeat.dayOfWeek"),
    # CarePlan
    **_required(codes.REQUEST_STATUS, "CarePlan.status", "ServiceRequest.status"),
    **_required(codes.CARE_PLAN_INTENT, "CarePlan.intent"),
    **_required(codes.CARE_PLAN_ACTIVITY_KIND, "CarePlan.activity.detail.kind"),
    **_required(codes.CARE_PLAN_ACTIVITY_STATUS, "CarePlan.activity.detail.status"),
    # Goal
    **_required(codes.GOAL_STATUS, "Goal.lifecycleStatus"),
    # ServiceRequest, Task
    **_required(codes.REQUEST_INTENT, "ServiceRequest.intent"),
    **_required(codes.REQUEST_PRIORITY, "ServiceRequest.priority", "Task.priority"),
    **_required(codes.TASK_STATUS, "Task.status"),
    **_required(codes.TASK_INTENT, "Task.intent"),
    # CareTeam
    **_required(codes.CARE_TEAM_STATUS, "CareTeam.status"),
    # Encounter
    **_required(codes.ENCOUNTER_STATUS, "Encounter.status", "Encounter.statusHistory.status"),
    **_required(codes.ENCOUNTER_LOCATION_STATUS, "Encounter.location.status"),
    "Encounter.class": Binding("extensible", codes.ACT_ENCOUNTER_CODE),
    "Encounter.classHistory.class": Binding("extensible", codes.ACT_ENCOUNTER_CODE),
    # Patient, Provenance
    **_required(codes.ADMINISTRATIVE_GENDER, "Patient.gender", "Patient.contact.gender"),
    **_required(codes.LINK_TYPE, "Patient.link.type"),
    **_required(codes.PROVENANCE_ENTITY_ROLE, "Provenance.entity.role"),
    # Bundle
    **_required(codes.BUNDLE_TYPE, "Bundle.type"),
    **_required(codes.SEARCH_ENTRY_MODE, "Bundle.entry.search.mode"),
    **_required(codes.HTTP_VERB, "Bundle.entry.request.method"),
}
