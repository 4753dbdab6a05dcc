"""The search parameters of the directory types (Organization, Practitioner, PractitionerRole,
Location), in one table that the searches and the CapabilityStatement read, as
`service.fhir_api.resources` is for the patient data types. US Core 6.1 asks for them
(https://hl7.org/fhir/us/core/STU6.1/CapabilityStatement-us-core-server.html).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select

from fhir_mappings import business_identifier
from fhir_mappings.codes import NUCC, ROLE_SPECIALTIES
from fhir_mappings.practitioner import US_NPI
from service.fhir_api.params import Codes, reference_id, string_clause
from service.models import Organization, Practitioner, User
from service.usecases.directory import Place

OWN_PRACTITIONER_IDENTIFIER = business_identifier("practitioner", "").system


@dataclass(frozen=True)
class Param:
    """A search parameter of a directory type: `clause(value, modifier, base)` filters the type's
    model (None: the use case matches it, as `identifier`)."""

    type: str
    documentation: str
    clause: Callable[[str, str, str], ColumnElement[bool]] | None
    modifiers: tuple[str, ...] = ()


def _string(*columns: Any) -> Callable[[str, str, str], ColumnElement[bool]]:
    return lambda value, modifier, _base: string_clause("string", modifier, value, columns)


def _practitioner_identifier(value: str, _modifier: str, _base: str) -> ColumnElement[bool]:
    """`practitioner.identifier`: the NPI or carebridge's own practitioner identifier (token rules)."""
    system, bar, code = value.rpartition("|")
    npi = Practitioner.npi == code if not bar or system == US_NPI else false()
    own = Practitioner.id == code if not bar or system == OWN_PRACTITIONER_IDENTIFIER else false()
    return User.practitioner_id.in_(select(Practitioner.id).where(or_(npi, own)))


def _specialty(value: str, _modifier: str, _base: str) -> ColumnElement[bool]:
    codes = Codes(NUCC.url).stored("specialty", value)
    return User.role.in_([role for role, code in ROLE_SPECIALTIES.items() if code in codes])


STRING_MODIFIERS = ("exact", "contains")
PARAMS: dict[str, dict[str, Param]] = {
    "Organization": {
        "name": Param(
            "string",
            "Any part of the name (starts with; :exact, :contains)",
            _string(Organization.name),
            STRING_MODIFIERS,
        ),
        "identifier": Param("token", "An identifier (system|value), e.g. the NPI", None),
        "address": Param(
            "string",
            "Any part of the address: line, city, state or postal code (starts with; :exact, :contains)",
            _string(
                Organization.address_line,
                Organization.address_city,
                Organization.address_state,
                Organization.address_postal_code,
            ),
            STRING_MODIFIERS,
        ),
    },
    "Practitioner": {
        "name": Param(
            "string",
            "Any part of the name (starts with; :exact, :contains)",
            _string(Practitioner.name),
            STRING_MODIFIERS,
        ),
        "identifier": Param("token", "An identifier (system|value), e.g. the NPI", None),
    },
    "PractitionerRole": {
        "practitioner": Param(
            "reference",
            "The Practitioner in the role",
            lambda value, _m, base: User.practitioner_id == reference_id("practitioner", value, "Practitioner", base),
        ),
        "practitioner.name": Param(
            "string",
            "The Practitioner's name (chained)",
            lambda value, modifier, _base: User.practitioner_id.in_(
                select(Practitioner.id).where(string_clause("practitioner.name", modifier, value, (Practitioner.name,)))
            ),
            STRING_MODIFIERS,
        ),
        "practitioner.identifier": Param("token", "The Practitioner's NPI (chained)", _practitioner_identifier),
        "specialty": Param("token", "NUCC provider taxonomy (171M00000X: case manager/care coordinator)", _specialty),
        "organization": Param(
            "reference",
            "The organisation the role is at",
            lambda value, _m, base: User.organization_id == reference_id("organization", value, "Organization", base),
        ),
    },
}
INCLUDES = {"PractitionerRole": ("PractitionerRole:practitioner",)}
# Location search: the places are derived, so each parameter says which texts of a place it matches.
LOCATION_PARAMS: dict[str, tuple[str, Callable[[Place], tuple[str | None, ...]]]] = {
    "name": ("The ward, or the ward and bed", lambda p: (p.name,)),
    "address": (
        "Any part of the hospital's address",
        lambda p: (
            p.hospital.address_line,
            p.hospital.address_city,
            p.hospital.address_state,
            p.hospital.address_postal_code,
        ),
    ),
    "address-city": ("The hospital's city", lambda p: (p.hospital.address_city,)),
    "address-state": ("The hospital's state", lambda p: (p.hospital.address_state,)),
    "address-postalcode": ("The hospital's postal code", lambda p: (p.hospital.address_postal_code,)),
}
