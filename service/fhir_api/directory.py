"""Organization, Practitioner, PractitionerRole and Location: read and search, so that every
reference carebridge's resources carry to them resolves (Task.owner/requester,
ServiceRequest.performer, Encounter.serviceProvider and location, CarePlan.author,
CareTeam.participant.member, PractitionerRole.practitioner/organization, Location.partOf). What a
principal may see: `service.auth.policy.visible_organizations`, `visible_practitioners`,
`visible_practitioner_roles` and `visible_places`. The searches are US Core 6.1's
(https://hl7.org/fhir/us/core/STU6.1/CapabilityStatement-us-core-server.html): Organization by
`name` and `address`, Practitioner by `name` and `identifier`, PractitionerRole by `specialty` and
`practitioner` (also chained: `practitioner.name`, `practitioner.identifier`), Location by `name`
and `address` (and `address-city`, `-state`, `-postalcode`). Also the StructureDefinition of
carebridge's Task profile, read at `StructureDefinition/handoff-task` and found by the canonical
Task.meta.profile names (`StructureDefinition?url=`). Provenance: who made each change of a record
the principal may read (the audit trail, `service.usecases.directory.change`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask import Response, request
from sqlalchemy import ColumnElement, or_

from fhir_mappings.handoff_profile import handoff_task_structure_definition
from fhir_mappings.profiles import HANDOFF_TASK
from service.app import request_session
from service.auth.audit import record_access_now
from service.auth.policy import allows
from service.fhir_api import bp
from service.fhir_api.capability import register_capability
from service.fhir_api.directory_params import INCLUDES, LOCATION_PARAMS, PARAMS, STRING_MODIFIERS
from service.fhir_api.guard import authorize
from service.fhir_api.outcome import FhirError, fhir_response
from service.fhir_api.params import split_or, string_matches
from service.fhir_api.routes import lenient
from service.fhir_api.subscriptions_http import fhir_base, use_case_errors
from service.fhir_bridge import (
    location_json,
    organization_json,
    practitioner_json,
    practitioner_role_json,
    provenance_json,
    searchset,
)
from service.usecases import directory

RENDER: dict[str, Callable[[Any], dict[str, Any]]] = {
    "Organization": organization_json,
    "Practitioner": practitioner_json,
    "PractitionerRole": practitioner_role_json,
}
# Parameters every search takes that do not narrow the results here.
_IGNORED = {"_format", "_count"}
DIRECTORY_TYPES = "any(" + ", ".join(sorted(RENDER)) + "):resource_type"


@bp.get(f"/<{DIRECTORY_TYPES}>/<ident>")
def read_directory(resource_type: str, ident: str) -> Response:
    ctx = authorize(resource_type, "r")
    session = request_session()
    with use_case_errors():
        row = directory.read(session, ctx, resource_type, ident)
    record_access_now(session, ctx, action="R", interaction="read", resource_type=resource_type, resource_id=ident)
    return fhir_response(RENDER[resource_type](row))


@bp.get(f"/<{DIRECTORY_TYPES}>")
def search_directory(resource_type: str) -> Response:
    ctx = authorize(resource_type, "s")
    session = request_session()
    filters: list[ColumnElement[bool]] = []
    identifier, includes = None, []
    params = PARAMS[resource_type]
    for key, value in request.args.items(multi=True):
        name, _, modifier = key.partition(":")
        param = params.get(name)
        if key == "_id":
            filters.append(_model(resource_type).id.in_(split_or(value)))
        elif key == "_include" and value in INCLUDES.get(resource_type, ()):
            includes.append(value)
        elif param is not None and param.clause is None and not modifier:
            identifier = value
        elif param is not None and param.clause is not None and (not modifier or modifier in param.modifiers):
            filters.append(or_(*(param.clause(v, modifier, fhir_base()) for v in split_or(value) or [""])))
        elif key not in _IGNORED and not lenient():
            raise FhirError(400, f"unknown search parameter {key!r} for {resource_type}", code="not-supported")
    rows = directory.search(session, ctx, resource_type, filters=filters, identifier=identifier)
    included: list[dict[str, Any]] = []
    if includes and allows(ctx, "Practitioner", "r"):
        included = [practitioner_json(row) for row in directory.practitioners_of(session, ctx, rows)]
    return _searchset(resource_type, ctx, [RENDER[resource_type](row) for row in rows], included)


def _model(resource_type: str) -> Any:
    return directory.DIRECTORY[resource_type][0]


def _searchset(
    resource_type: str, ctx: Any, resources: list[dict[str, Any]], included: Sequence[dict[str, Any]]
) -> Response:
    names = "&".join(dict.fromkeys(k for k in request.args if k not in _IGNORED))  # names only: no values
    record_access_now(
        request_session(), ctx, action="E", interaction="search-type", resource_type=resource_type, query=names or None
    )
    return unpaged_searchset(resource_type, resources, included)


def unpaged_searchset(
    resource_type: str, resources: Sequence[dict[str, Any]], included: Sequence[dict[str, Any]] = ()
) -> Response:
    """A searchset of every match on one page (the directory and conformance types are small),
    linked to the request as sent."""
    base = fhir_base()
    query = request.query_string.decode("latin-1")
    self_link = f"{base}/{resource_type}" + (f"?{query}" if query else "")
    return fhir_response(
        searchset(resources, included, base_url=base, self_link=self_link, next_link=None, total=len(resources))
    )


@bp.get("/Location/<ident>")
def read_location(ident: str) -> Response:
    """A hospital's ward or bed (service.usecases.directory.places)."""
    ctx = authorize("Location", "r")
    session = request_session()
    with use_case_errors():
        place = directory.place(session, ctx, ident)
    record_access_now(session, ctx, action="R", interaction="read", resource_type="Location", resource_id=ident)
    return fhir_response(location_json(place))


@bp.get("/Location")
def search_locations() -> Response:
    ctx = authorize("Location", "s")
    wanted_ids: set[str] | None = None
    matches: list[tuple[Callable[[directory.Place], tuple[str | None, ...]], list[str], str]] = []
    for key, value in request.args.items(multi=True):
        name, _, modifier = key.partition(":")
        if key == "_id":
            wanted_ids = set(split_or(value)) & (wanted_ids if wanted_ids is not None else set(split_or(value)))
        elif name in LOCATION_PARAMS and modifier in ("", *STRING_MODIFIERS):
            matches.append((LOCATION_PARAMS[name][1], split_or(value), modifier))
        elif key not in _IGNORED and not lenient():
            raise FhirError(400, f"unknown search parameter {key!r} for Location", code="not-supported")

    def found(place: directory.Place) -> bool:
        if wanted_ids is not None and place.id not in wanted_ids:
            return False
        return all(any(string_matches(m, v, texts(place)) for v in values) for texts, values, m in matches)

    places = [place for place in directory.places(request_session(), ctx) if found(place)]
    return _searchset("Location", ctx, [location_json(place) for place in places], [])


@bp.get("/Provenance/<ident>")
def read_provenance(ident: str) -> Response:
    """Who made one change of a record (`_revinclude=Provenance:target` finds them by record)."""
    ctx = authorize("Provenance", "r")
    session = request_session()
    with use_case_errors():
        change = directory.change(session, ctx, ident)
    record_access_now(
        session, ctx, action="R", interaction="read", resource_type="Provenance", resource_id=ident,
        patient_id=change.record.patient_id,
    )  # fmt: skip
    return fhir_response(provenance_json(change))


# Conformance resources carebridge publishes, by id: public, like /metadata.
STRUCTURE_DEFINITIONS = {"handoff-task": handoff_task_structure_definition()}


@bp.get("/StructureDefinition/<ident>")
def read_structure_definition(ident: str) -> Response:
    if ident not in STRUCTURE_DEFINITIONS:
        raise FhirError(404, f"StructureDefinition/{ident} is not known")
    return fhir_response(STRUCTURE_DEFINITIONS[ident])


@bp.get("/StructureDefinition")
def search_structure_definitions() -> Response:
    """By `url`: how a client resolves a canonical such as Task.meta.profile
    (https://hl7.org/fhir/R4/references.html#canonical)."""
    for key in request.args:
        if key not in ("url", *_IGNORED) and not lenient():
            raise FhirError(400, f"unknown search parameter {key!r} for StructureDefinition", code="not-supported")
    wanted = request.args.get("url")
    return unpaged_searchset(
        "StructureDefinition", [sd for sd in STRUCTURE_DEFINITIONS.values() if wanted in (None, sd["url"])]
    )


def _describe(rest: dict[str, Any]) -> None:
    for resource in rest["resource"]:
        searched = any(i["code"] == "search-type" for i in resource["interaction"])
        if resource["type"] in PARAMS and searched:
            resource["searchParam"] = [
                {"name": name, "type": p.type, "documentation": p.documentation}
                for name, p in PARAMS[resource["type"]].items()
            ]
            if resource["type"] in INCLUDES:
                resource["searchInclude"] = list(INCLUDES[resource["type"]])
        elif resource["type"] == "Location" and searched:
            resource["searchParam"] = [
                {"name": name, "type": "string", "documentation": doc} for name, (doc, _) in LOCATION_PARAMS.items()
            ]
        elif resource["type"] == "StructureDefinition":
            resource["searchParam"] = [{"name": "url", "type": "uri", "documentation": "The canonical URL"}]
        elif resource["type"] == "Task":
            resource["supportedProfile"] = [HANDOFF_TASK]


register_capability(_describe)
