"""Inpatient stay <-> Encounter, US Core Encounter profile
(https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-encounter.html).

A stay carebridge creates is class IMP (inpatient) with type SNOMED CT 32485007 "Hospital
admission" (US Core requires a type); a partner's Encounter keeps its own class and type.
`period` is admission to discharge; the ward and bed are `location` entries whose
`physicalType` is "wa" / "bd" (https://hl7.org/fhir/R4/codesystem-location-physical-type.html),
named by `location.display` and referring to the Location carebridge serves for that ward or bed
(`fhir_mappings.location`).

Discharge disposition carries carebridge's code plus HL7's discharge-disposition code
(home_health -> home, inpatient_rehab -> rehab, hospice -> hosp, other -> oth). A disposition
coded only in HL7's system reads back through that table where it is one-to-one (home reads as
"home"); any other disposition reads as "other".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from fhir.resources.R4B.encounter import Encounter

from . import fields as f
from .codec import FirstItem, Json, Path, ResourceMap
from .codes import DISCHARGE_DISPOSITIONS, LOCATION_PHYSICAL_TYPE, SNOMED, V3_ACT_CODE
from .datatypes import identity, parse_str
from .domain import StayData
from .location import location_id
from .profiles import US_CORE_ENCOUNTER, meta_claiming


@dataclass(frozen=True)
class _Place:
    """A FirstItem whose rendering also sees the whole stay: the Location's id depends on the
    hospital and, for a bed, the unit."""

    name: str
    path: Path
    parse_item: Callable[[Any], Any]
    render_item: Callable[[StayData, str], Json]

    def read(self, resource: Mapping[str, Any]) -> Any:
        return FirstItem(self.name, self.path, self.parse_item, identity).read(resource)

    def write(self, resource: Json, data: Any) -> None:
        FirstItem(self.name, self.path, self.parse_item, partial(self.render_item, data)).write(resource, data)


def _place(name: str, physical_type: str) -> _Place:
    """The Encounter.location entry of one physical type (ward, bed), held as its display name and
    referring to carebridge's Location of that place (`location.location_id`)."""

    def parse(item: Any) -> str | None:
        if not isinstance(item, Mapping):
            return None
        codings = (item.get("physicalType") or {}).get("coding") or ()
        typed = any(c.get("system") == LOCATION_PHYSICAL_TYPE.url and c.get("code") == physical_type for c in codings)
        return parse_str((item.get("location") or {}).get("display")) if typed else None

    def render(stay: StayData, place: str) -> Json:
        location: Json = {"display": place}
        if stay.hospital_org_id and stay.unit:
            ident = location_id(stay.hospital_org_id, stay.unit, stay.bed if physical_type == "bd" else None)
            location = {"reference": f"Location/{ident}", **location}
        return {"location": location, "physicalType": {"coding": [LOCATION_PHYSICAL_TYPE.coding(physical_type)]}}

    return _Place(name, ("location",), parse, render)


ENCOUNTER: ResourceMap[StayData, Encounter] = ResourceMap(
    Encounter,
    StayData,
    (
        f.resource_id(),
        f.identifiers(),
        f.code("status", ("status",)),
        f.reference_to("patient_id", ("subject",), "Patient"),
        f.instant("admitted_at", ("period", "start")),
        f.instant("discharged_at", ("period", "end")),
        f.coded(
            "discharge_disposition",
            ("hospitalization", "dischargeDisposition"),
            DISCHARGE_DISPOSITIONS,
            fallback="other",
        ),
        _place("unit", "wa"),
        _place("bed", "bd"),
        f.reference_to("hospital_org_id", ("serviceProvider",), "Organization"),
    ),
    {
        "resourceType": "Encounter",
        "meta": meta_claiming(US_CORE_ENCOUNTER),
        "class": {"system": V3_ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
        "type": [{"coding": [{"system": SNOMED, "code": "32485007", "display": "Hospital admission"}]}],
    },
)

to_fhir_encounter_json = ENCOUNTER.to_json
to_fhir_encounter = ENCOUNTER.to_model
from_fhir_encounter = ENCOUNTER.from_fhir
