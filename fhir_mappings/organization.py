"""Organisation identity <-> Organization, US Core Organization profile
(https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-organization.html).

`kind` is the `type` entry holding carebridge's organization-kind code (with HL7's
organization-type code next to it); a partner's organisation reads a kind only from a type that
names exactly one (HL7 "pay" -> payer, "cg" -> community). `address` and `phone` are the first
address and the first phone number (both must support).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B.organization import Organization

from . import fields as f
from .codec import FirstItem, ResourceMap
from .codes import ORGANIZATION_KINDS
from .datatypes import parse_address, parse_phone, render_address, render_phone
from .domain import OrganizationData
from .profiles import US_CORE_ORGANIZATION, meta_claiming


def _kind(item: Any) -> str | None:
    return ORGANIZATION_KINDS.code_of(item) if isinstance(item, Mapping) else None


ORGANIZATION: ResourceMap[OrganizationData, Organization] = ResourceMap(
    Organization,
    OrganizationData,
    (
        f.resource_id(),
        f.identifiers(),
        FirstItem("kind", ("type",), _kind, ORGANIZATION_KINDS.concept),
        f.text("name", ("name",)),
        FirstItem("address", ("address",), parse_address, render_address),
        FirstItem("phone", ("telecom",), parse_phone, render_phone),
    ),
    # US Core asks for `active` (must support); an organisation carebridge creates is in use.
    {"resourceType": "Organization", "meta": meta_claiming(US_CORE_ORGANIZATION), "active": True},
)

to_fhir_organization_json = ORGANIZATION.to_json
to_fhir_organization = ORGANIZATION.to_model
from_fhir_organization = ORGANIZATION.from_fhir
