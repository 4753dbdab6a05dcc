"""Organization and Practitioner: read, and search by `name` (string) or `identifier` (token),
so that every Organization and Practitioner reference carebridge's resources carry resolves
(Task.owner/requester, ServiceRequest.performer, Encounter.serviceProvider, CarePlan.author,
CareTeam.participant.member). What a principal may see: `service.auth.policy.visible_organizations`
and `visible_practitioners`. Also the StructureDefinition of carebridge's Task profile, read at
`StructureDefinition/handoff-task` and found by the canonical Task.meta.profile names
(`StructureDefinition?url=`). Provenance: who made each change of a record the principal may read
(the audit trail, `service.usecases.directory.change`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, request

from fhir_mappings.handoff_profile import handoff_task_structure_definition
from fhir_mappings.profiles import HANDOFF_TASK
from service.app import request_session
from service.auth.audit import record_access_now
from service.fhir_api import bp
from service.fhir_api.capability import register_capability
from service.fhir_api.guard import authorize
from service.fhir_api.outcome import FhirError, fhir_response
from service.fhir_api.params import string_clause
from service.fhir_api.routes import lenient
from service.fhir_api.subscriptions_http import fhir_base, use_case_errors
from service.fhir_bridge import organization_json, practitioner_json, provenance_json, searchset
from service.models import Organization, Practitioner
from service.usecases import directory

RENDER: dict[str, Callable[[Any], dict[str, Any]]] = {
    "Organization": organization_json,
    "Practitioner": practitioner_json,
}
NAME_COLUMNS = {"Organization": Organization.name, "Practitioner": Practitioner.name}
SEARCH_PARAMS = (
    {"name": "name", "type": "string", "documentation": "Any part of the name (starts with; :exact, :contains)"},
    {"name": "identifier", "type": "token", "documentation": "An identifier (system|value), e.g. the NPI"},
)
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
    name, identifier = None, None
    for key, value in request.args.items(multi=True):
        param, _, modifier = key.partition(":")
        if param == "name" and modifier in ("", "exact", "contains"):
            name = string_clause("name", modifier, value, (NAME_COLUMNS[resource_type],))
        elif key == "identifier":
            identifier = value
        elif key not in _IGNORED and not lenient():
            raise FhirError(400, f"unknown search parameter {key!r} for {resource_type}", code="not-supported")
    rows = directory.search(session, ctx, resource_type, name=name, identifier=identifier)
    names = "&".join(dict.fromkeys(k for k in request.args if k not in _IGNORED))  # names only: no values
    record_access_now(
        session, ctx, action="E", interaction="search-type", resource_type=resource_type, query=names or None
    )
    base = fhir_base()
    query = request.query_string.decode("latin-1")
    self_link = f"{base}/{resource_type}" + (f"?{query}" if query else "")
    resources = [RENDER[resource_type](row) for row in rows]
    return fhir_response(
        searchset(resources, [], base_url=base, self_link=self_link, next_link=None, total=len(resources))
    )


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
    found = [sd for sd in STRUCTURE_DEFINITIONS.values() if wanted in (None, sd["url"])]
    base = fhir_base()
    query = request.query_string.decode("latin-1")
    self_link = f"{base}/StructureDefinition" + (f"?{query}" if query else "")
    return fhir_response(searchset(found, [], base_url=base, self_link=self_link, next_link=None, total=len(found)))


def _describe(rest: dict[str, Any]) -> None:
    for resource in rest["resource"]:
        if resource["type"] in RENDER and any(i["code"] == "search-type" for i in resource["interaction"]):
            resource["searchParam"] = [dict(p) for p in SEARCH_PARAMS]
        elif resource["type"] == "StructureDefinition":
            resource["searchParam"] = [{"name": "url", "type": "uri", "documentation": "The canonical URL"}]
        elif resource["type"] == "Task":
            resource["supportedProfile"] = [HANDOFF_TASK]


register_capability(_describe)
