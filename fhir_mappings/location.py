"""A hospital's ward or bed <-> Location, US Core Location profile
(https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-location.html).

carebridge knows places from its stays: each stay names its hospital, unit and bed. A ward is a
Location of physical type "wa" managed by the hospital; a bed ("bd") is part of its ward
(https://hl7.org/fhir/R4/codesystem-location-physical-type.html). Both carry the hospital's
address and phone. A place's id is derived from the hospital's id and the names, so the
Encounter that names a ward and the Location of that ward agree without a table of places.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B.location import Location

from . import fields as f
from .codec import Element, FirstItem, ResourceMap
from .codes import LOCATION_PHYSICAL_TYPE
from .datatypes import parse_address, parse_phone, render_address, render_phone
from .domain import LocationData
from .profiles import US_CORE_LOCATION, meta_claiming

_PLACES = uuid.uuid5(uuid.NAMESPACE_URL, "https://carebridge.dev/fhir/Location")


def location_id(hospital_id: str, unit: str, bed: str | None = None) -> str:
    """The id of the Location of `unit` (a ward) or of `bed` in it, at the hospital `hospital_id`."""
    return str(uuid.uuid5(_PLACES, "\n".join((hospital_id, unit, *((bed,) if bed is not None else ())))))


def _physical_type(raw: Any) -> str | None:
    codings = raw.get("coding") or () if isinstance(raw, Mapping) else ()
    return next((c["code"] for c in codings if c.get("system") == LOCATION_PHYSICAL_TYPE.url and c.get("code")), None)


LOCATION: ResourceMap[LocationData, Location] = ResourceMap(
    Location,
    LocationData,
    (
        f.resource_id(),
        f.text("name", ("name",)),
        Element(
            "physical_type",
            ("physicalType",),
            _physical_type,
            lambda code: {"coding": [LOCATION_PHYSICAL_TYPE.coding(code)]},
        ),
        Element("address", ("address",), parse_address, render_address),
        FirstItem("phone", ("telecom",), parse_phone, render_phone),
        f.reference_to("managing_org_id", ("managingOrganization",), "Organization"),
        f.reference_to("part_of_id", ("partOf",), "Location"),
    ),
    # A place carebridge knows is one where a patient stays or stayed: in use.
    {"resourceType": "Location", "meta": meta_claiming(US_CORE_LOCATION), "status": "active", "mode": "instance"},
)

to_fhir_location_json = LOCATION.to_json
to_fhir_location = LOCATION.to_model
from_fhir_location = LOCATION.from_fhir
