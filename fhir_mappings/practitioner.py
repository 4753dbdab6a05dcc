"""Care-team member <-> Practitioner, US Core Practitioner profile
(https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-practitioner.html).

carebridge models the first name (family + given names) and identifiers (NPI, carebridge's own);
US Core requires at least one identifier and a name with a family name.
"""

from __future__ import annotations

from fhir.resources.R4B.practitioner import Practitioner

from . import fields as f
from .codec import ResourceMap
from .domain import PractitionerData
from .profiles import US_CORE_PRACTITIONER, meta_claiming

US_NPI = "http://hl7.org/fhir/sid/us-npi"

PRACTITIONER: ResourceMap[PractitionerData, Practitioner] = ResourceMap(
    Practitioner,
    PractitionerData,
    (
        f.resource_id(),
        f.identifiers(),
        *f.first_name(),
    ),
    {"resourceType": "Practitioner", "meta": meta_claiming(US_CORE_PRACTITIONER)},
)

to_fhir_practitioner_json = PRACTITIONER.to_json
to_fhir_practitioner = PRACTITIONER.to_model
from_fhir_practitioner = PRACTITIONER.from_fhir
