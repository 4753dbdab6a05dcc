"""What carebridge's FHIR server really supports, said two ways:
the CapabilityStatement (`/metadata`, https://hl7.org/fhir/R4/capabilitystatement.html) and the
SMART configuration (`/.well-known/smart-configuration`,
https://hl7.org/fhir/smart-app-launch/conformance.html#using-well-known).

The CapabilityStatement is generated from what is really served: interactions and operations by
asking the URL map whether a route answers each method and path (`Served`), search parameters
from the same table the search code reads (service.fhir_api.resources). It `instantiates` the US
Core server and Bulk Data CapabilityStatements only while the searches and operations they
require are all there, so a route or parameter removed takes the claim away with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from fhir_mappings.profiles import (
    SDC_QUESTIONNAIRE_RESPONSE,
    US_CORE_CONDITION_HEALTH_CONCERN,
    US_CORE_OBSERVATION_SCREENING,
)
from service.auth.client_assertion import ASSERTION_ALGS
from service.fhir_api import PREFIX, endpoint_for
from service.fhir_api.resources import AUDIT_EVENT, KINDS, ResourceKind
from service.fhir_api.search import sortable
from service.fhir_api.subscriptions_fhir import TOPICS

Json = dict[str, Any]
SMART_SCOPES = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
US_CORE_SERVER = "http://hl7.org/fhir/us/core/CapabilityStatement/us-core-server"
BULK_DATA = "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"
# https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/StructureDefinition-capabilitystatement-subscriptiontopic-canonical.html:
# how an R4 server advertises its topics.
TOPIC_CANONICAL = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/capabilitystatement-subscriptiontopic-canonical"
)
_BULK = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition"
_BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition"
# (level, resource type or None, name) -> the OperationDefinition it implements. A route named with
# `$` but missing here (like `$export-status`, a status URL) is not an operation.
OPERATIONS: dict[tuple[str, str | None, str], str] = {
    ("system", None, "export"): f"{_BULK}/export",
    ("type", "Patient", "export"): f"{_BULK}/patient-export",
    ("instance", "Group", "export"): f"{_BULK}/group-export",
    ("system", None, "process-message"): "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message",
    ("instance", "Subscription", "status"): f"{_BACKPORT}/backport-subscription-status",
    ("instance", "Subscription", "events"): f"{_BACKPORT}/backport-subscription-events",
    ("type", "DocumentReference", "docref"): "http://hl7.org/fhir/us/core/OperationDefinition/docref",
}
# US Core 6.1 server: the SHALL search parameter combinations per type
# (https://hl7.org/fhir/us/core/STU6.1/CapabilityStatement-us-core-server.html), and the
# `_revinclude=Provenance:target` every US Core patient data type SHALL support.
US_CORE_SHALL: dict[str, tuple[tuple[str, ...], ...]] = {
    "Patient": (("_id",), ("identifier",), ("name",), ("birthdate", "name"), ("gender", "name")),
    "Encounter": (("_id",), ("identifier",), ("patient",), ("date", "patient")),
    "CarePlan": (("patient", "category"),),
    "CareTeam": (("patient", "status"),),
    "Goal": (("patient",),),
    "ServiceRequest": (
        ("_id",),
        ("patient",),
        ("patient", "category"),
        ("patient", "code"),
        ("patient", "category", "authored"),
    ),
    "DocumentReference": (
        ("_id",),
        ("patient",),
        ("patient", "category"),
        ("patient", "type"),
        ("patient", "category", "date"),
    ),
    "Observation": (("patient", "category"), ("patient", "code"), ("patient", "category", "date")),
    "Condition": (("patient",),),
    "QuestionnaireResponse": (("_id",), ("patient",)),
    "Organization": (("name",), ("address",)),
    "Practitioner": (("name",), ("identifier",)),
    "PractitionerRole": (("specialty",), ("practitioner",)),
    "Location": (("name",), ("address",)),
}
US_CORE_REVINCLUDE = "Provenance:target"
# The profiles a type's resources claim, where the type serves only those (the screening chain:
# https://hl7.org/fhir/us/core/STU6.1/screening-and-assessments.html).
SUPPORTED_PROFILES = {
    "QuestionnaireResponse": SDC_QUESTIONNAIRE_RESPONSE,
    "Observation": US_CORE_OBSERVATION_SCREENING,
    "Condition": US_CORE_CONDITION_HEALTH_CONCERN,
}
_COMMON = {"_id": "token", "_lastUpdated": "date"}

# Additions from other modules: each gets the REST block (a dict) to extend.
_CONTRIBUTIONS: list[Callable[[Json], None]] = []


def register_capability(contribute: Callable[[Json], None]) -> None:
    """Let another FHIR module add what the URL map cannot tell (documentation, profiles)."""
    _CONTRIBUTIONS.append(contribute)


@dataclass(frozen=True)
class Served:
    """What the URL map answers: `endpoint(method, path)` names the route other than the
    catch-all that serves `method` on `path` (a path under the FHIR base, e.g. "Task/x"), or is
    None. `types` are the resource types named by routes, `operations` the `$` routes as
    (level, type, name)."""

    endpoint: Callable[[str, str], str | None]
    types: frozenset[str]
    operations: frozenset[tuple[str, str | None, str]]


# interaction code -> (method, path template); "x" stands for any id.
_INTERACTIONS = (
    ("read", "GET", "{t}/x"),
    ("vread", "GET", "{t}/x/_history/1"),
    ("update", "PUT", "{t}/x"),
    ("patch", "PATCH", "{t}/x"),
    ("delete", "DELETE", "{t}/x"),
    ("history-instance", "GET", "{t}/x/_history"),
    ("history-type", "GET", "{t}/_history"),
    ("create", "POST", "{t}"),
    ("search-type", "GET", "{t}"),
)


_ANY = re.compile(r"^<any\(([^)]*)\):\w+>$")


def served_by(app: Flask) -> Served:
    """What `app`'s routes under the FHIR base serve, for the CapabilityStatement."""
    types: set[str] = set()
    operations: set[tuple[str, str | None, str]] = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        segments = rule.rule.removeprefix(PREFIX + "/").split("/")
        named = _ANY.match(segments[0])
        if named is not None:
            types.update(item.strip() for item in named.group(1).split(","))
        elif segments[0][:1].isupper():
            types.add(segments[0])
        if segments[-1].startswith("$"):
            level = ("system", "type", "instance")[min(len(segments) - 1, 2)]
            operations.add((level, None if level == "system" else segments[0], segments[-1][1:]))
    return Served(
        lambda method, path: endpoint_for(app, method, f"{PREFIX}/{path}"), frozenset(types), frozenset(operations)
    )


def _search_params(kind: ResourceKind) -> list[Json]:
    params = [{"name": p.name, "type": p.type, "documentation": p.documentation} for p in kind.params.values()]
    return params + [{"name": name, "type": kind_of} for name, kind_of in _COMMON.items()]


def _resource(name: str, served: Served) -> Json:
    endpoints = {code: served.endpoint(method, path.format(t=name)) for code, method, path in _INTERACTIONS}
    # "{t}/_history" is also a read of the id "_history" where no type history route exists.
    if endpoints["history-type"] == endpoints["read"]:
        endpoints["history-type"] = None
    interactions = [code for code, endpoint in endpoints.items() if endpoint is not None]
    resource: Json = {"type": name, "interaction": [{"code": code} for code in interactions]}
    kind = KINDS.get(name) or (AUDIT_EVENT if name == "AuditEvent" else None)
    if "read" in interactions and kind is not None:
        # Version-aware updates: PUT needs If-Match (412 without); reads answer If-None-Match and
        # If-Modified-Since with 304 (https://hl7.org/fhir/R4/http.html#concurrency, #cread).
        versioned = "versioned" if "vread" in interactions else "no-version"
        resource["versioning"] = "versioned-update" if "update" in interactions else versioned
        resource["readHistory"] = "vread" in interactions
        resource["updateCreate"] = False
        resource["conditionalRead"] = "full-support"
    if name in SUPPORTED_PROFILES:
        resource["supportedProfile"] = [SUPPORTED_PROFILES[name]]
    if kind is not None and "search-type" in interactions:
        resource["searchParam"] = _search_params(kind)
        if kind.includes:
            resource["searchInclude"] = list(kind.includes)
        if kind.revincludes:
            resource["searchRevInclude"] = list(kind.revincludes)
        resource["documentation"] = "_sort on " + ", ".join(sortable(kind)) + "; _summary=count, _count=0, _elements"
    operations = [
        {"name": op, "definition": OPERATIONS[(level, name, op)]}
        for level, type_name, op in sorted(served.operations, key=lambda o: (o[0], o[2]))
        if type_name == name and (level, name, op) in OPERATIONS
    ]
    if operations:
        resource["operation"] = operations
    if name == "Subscription":
        resource["extension"] = [{"url": TOPIC_CANONICAL, "valueCanonical": url} for url in sorted(TOPICS)]
    return resource


def _meets_us_core(resources: Iterable[Json]) -> bool:
    for resource in resources:
        shall = US_CORE_SHALL.get(resource["type"])
        if shall is None:
            continue
        names = {p["name"] for p in resource.get("searchParam", ())}
        if any(not set(combination) <= names for combination in shall):
            return False
        # The patient data types, not the directory ones (Organization, Practitioner, ...).
        if resource["type"] in KINDS and US_CORE_REVINCLUDE not in resource.get("searchRevInclude", ()):
            return False
    return True


def capability_statement(base_url: str, token_url: str, software_version: str, date: str, served: Served) -> Json:
    resources = [_resource(name, served) for name in sorted(served.types)]
    system_operations = [
        {"name": op, "definition": OPERATIONS[(level, None, op)]}
        for level, type_name, op in sorted(served.operations, key=lambda o: o[2])
        if type_name is None and (level, None, op) in OPERATIONS
    ]
    rest: Json = {
        "mode": "server",
        "security": {
            "cors": False,
            "service": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                            "code": "SMART-on-FHIR",
                        }
                    ]
                }
            ],
            "extension": [{"url": SMART_SCOPES, "extension": [{"url": "token", "valueUri": token_url}]}],
            "description": "SMART Backend Services (client_credentials + private_key_jwt); "
            "scopes enforced per interaction (SMART v1 and v2).",
        },
        "resource": resources,
        "interaction": [],
        "operation": system_operations,
    }
    for contribute in _CONTRIBUTIONS:
        contribute(rest)
    instantiates = []
    if _meets_us_core(resources):
        instantiates.append(US_CORE_SERVER)
    if {key for key in OPERATIONS if key[2] == "export"} <= served.operations:
        instantiates.append(BULK_DATA)
    statement: Json = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "carebridge",
        "kind": "instance",
    }
    if instantiates:
        statement["instantiates"] = instantiates
    return statement | {
        "software": {"name": "carebridge", "version": software_version},
        "implementation": {"description": "carebridge FHIR API", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{key: value for key, value in rest.items() if value != []}],
    }


def _checked_scopes() -> list[str]:
    """`<Type>.<interactions>` (SMART v2) for every type and interaction a FHIR handler checks
    (`guard.authorize`): read/search of each served type and the audit trail, Task updates,
    Encounter updates (`$process-message`), Subscription create/read/delete, Group read (bulk),
    Organization, Practitioner, PractitionerRole, Location and Basic (topics) read/search,
    Provenance read, Binary read (a document's content), QuestionnaireResponse create and
    Questionnaire read/search. scopes_supported lists them so a client can ask for what it needs
    (https://hl7.org/fhir/smart-app-launch/conformance.html#metadata)."""
    checked = {name: "rs" for name in KINDS} | {"AuditEvent": "rs", "Task": "rus", "Encounter": "rus"}
    checked |= {"Subscription": "crd", "Group": "r", "Organization": "rs", "Practitioner": "rs", "Provenance": "r"}
    checked |= {"Binary": "r", "QuestionnaireResponse": "crs", "Questionnaire": "rs"}
    checked |= {"PractitionerRole": "rs", "Location": "rs", "Basic": "rs"}
    return [f"{name}.{interactions}" for name, interactions in sorted(checked.items())]


def smart_configuration(*, issuer: str, token_url: str, authorize_url: str, jwks_url: str) -> Json:
    """SMART discovery (https://hl7.org/fhir/smart-app-launch/conformance.html#metadata): backend
    services for partners, and standalone launch with `user/` scopes for the apps people use
    (public apps authenticate with PKCE alone: auth method "none", RFC 8414 s2)."""
    scopes = [f"{context}/{name}" for context in ("system", "user") for name in ("*.rs", *_checked_scopes())]
    return {
        "issuer": issuer,
        "jwks_uri": jwks_url,
        "authorization_endpoint": authorize_url,
        "token_endpoint": token_url,
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "response_types_supported": ["code"],
        "scopes_supported": scopes,
        "code_challenge_methods_supported": ["S256"],
        "capabilities": [
            "launch-standalone",
            "client-public",
            "client-confidential-asymmetric",
            "permission-user",
            "permission-v1",
            "permission-v2",
        ],
    }
