"""Care team <-> CareTeam, US Core CareTeam profile
(https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-careteam.html).

Each member is a participant with a `member` reference and one `role`: carebridge's
care-team-role code, plus SNOMED CT where an equivalent exists. A partner's participant whose
role carebridge cannot code reads with `role_code=None`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B.careteam import CareTeam

from . import fields as f
from .codec import Items, Json, ResourceMap
from .codes import CARE_TEAM_ROLES
from .datatypes import parse_reference, render_reference
from .domain import CareTeamData, CareTeamMember
from .profiles import US_CORE_CARETEAM, meta_claiming


def _member(item: Any) -> CareTeamMember | None:
    ref = parse_reference(item.get("member")) if isinstance(item, Mapping) else None
    if ref is None:
        return None
    roles = (CARE_TEAM_ROLES.code_of(role) for role in item.get("role") or () if isinstance(role, Mapping))
    return CareTeamMember(ref, next((code for code in roles if code is not None), None))


def _participant(member: CareTeamMember) -> Json:
    participant: Json = {"member": render_reference(member.member_ref)}
    if member.role_code is not None:
        participant["role"] = [CARE_TEAM_ROLES.concept(member.role_code)]
    return participant


CARE_TEAM: ResourceMap[CareTeamData, CareTeam] = ResourceMap(
    CareTeam,
    CareTeamData,
    (
        f.resource_id(),
        f.text("name", ("name",)),
        f.reference_to("patient_id", ("subject",), "Patient"),
        Items("members", ("participant",), _member, _participant),
    ),
    # A team carebridge creates is in use; a partner's team keeps the status they gave it.
    {"resourceType": "CareTeam", "meta": meta_claiming(US_CORE_CARETEAM), "status": "active"},
)

to_fhir_care_team_json = CARE_TEAM.to_json
to_fhir_care_team = CARE_TEAM.to_model
from_fhir_care_team = CARE_TEAM.from_fhir
