"""A person's role at their organisation <-> PractitionerRole, US Core PractitionerRole profile
(https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-practitionerrole.html).

Each carebridge user is one person acting for one organisation in one role, which is what a
PractitionerRole says: `practitioner` (when carebridge has a Practitioner for them),
`organization`, `code` (carebridge's user-role code) and `specialty` (NUCC, for the roles that
coordinate care). US Core pd-1 asks for contact details or an endpoint: the role is reached
through its organisation's phone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fhir.resources.R4B.practitionerrole import PractitionerRole

from . import fields as f
from .codec import FirstItem, ResourceMap
from .codes import NUCC, USER_ROLE, CodeSystem
from .datatypes import parse_phone, render_phone
from .domain import PractitionerRoleData
from .profiles import US_CORE_PRACTITIONERROLE, meta_claiming


def _coded(system: CodeSystem) -> tuple[Callable[[Any], str | None], Callable[[str], dict[str, Any]]]:
    """(parse, render) of a CodeableConcept in a list holding a code of `system`, as that code."""

    def parse(item: Any) -> str | None:
        codings = item.get("coding") or () if isinstance(item, Mapping) else ()
        known = (c["code"] for c in codings if c.get("system") == system.url and c.get("code") in system.concepts)
        return next(known, None)

    return parse, lambda code: {"coding": [system.coding(code)]}


PRACTITIONER_ROLE: ResourceMap[PractitionerRoleData, PractitionerRole] = ResourceMap(
    PractitionerRole,
    PractitionerRoleData,
    (
        f.resource_id(),
        f.reference_to("practitioner_id", ("practitioner",), "Practitioner"),
        f.reference_to("organization_id", ("organization",), "Organization"),
        FirstItem("role_code", ("code",), *_coded(USER_ROLE)),
        FirstItem("specialty", ("specialty",), *_coded(NUCC)),
        FirstItem("phone", ("telecom",), parse_phone, render_phone),
    ),
    {"resourceType": "PractitionerRole", "meta": meta_claiming(US_CORE_PRACTITIONERROLE), "active": True},
)

to_fhir_practitioner_role_json = PRACTITIONER_ROLE.to_json
to_fhir_practitioner_role = PRACTITIONER_ROLE.to_model
from_fhir_practitioner_role = PRACTITIONER_ROLE.from_fhir
