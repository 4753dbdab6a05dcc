"""What carebridge's FHIR server really supports, said two ways:
the CapabilityStatement (`/metadata`, https://hl7.org/fhir/R4/capabilitystatement.html) and the
SMART configuration (`/.well-known/smart-configuration`,
https://hl7.org/fhir/smart-app-launch/conformance.html#using-well-known). Both are built from the
same tables the handlers use (service.fhir_api.resources), so they cannot drift apart.

Other blueprints under /fhir/R4 (subscriptions, bulk export, messaging) describe themselves by
calling `register_capability(...)` at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.auth.client_assertion import ASSERTION_ALGS
from service.fhir_api.resources import KINDS

Json = dict[str, Any]
SMART_SCOPES = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"

# Additions from other modules: each gets the REST block (a dict) to extend.
_CONTRIBUTIONS: list[Callable[[Json], None]] = []


def register_capability(contribute: Callable[[Json], None]) -> None:
    """Let another FHIR module add its resources/operations to the CapabilityStatement."""
    _CONTRIBUTIONS.append(contribute)


def _resource(name: str) -> Json:
    kind = KINDS[name]
    interactions = [{"code": "read"}, {"code": "vread"}, {"code": "search-type"}]
    if kind.updatable:
        interactions.append({"code": "update"})
    params = [{"name": p.name, "type": p.type, "documentation": p.documentation} for p in kind.params.values()]
    params += [
        {"name": "_id", "type": "token"},
        {"name": "_lastUpdated", "type": "date", "documentation": "Prefixes eq, gt, ge, lt, le"},
    ]
    resource: Json = {
        "type": name,
        "interaction": interactions,
        "versioning": "versioned-update" if kind.updatable else "versioned",
        "readHistory": True,
        "updateCreate": False,
        "conditionalUpdate": False,
        "searchParam": params,
    }
    if kind.includes:
        resource["searchInclude"] = list(kind.includes)
    if kind.revincludes:
        resource["searchRevInclude"] = list(kind.revincludes)
    return resource


def _audit_event() -> Json:
    return {
        "type": "AuditEvent",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [
            {"name": "patient", "type": "reference"},
            {"name": "agent", "type": "token", "documentation": "The client id"},
            {"name": "date", "type": "date"},
            {"name": "action", "type": "token"},
        ],
    }


def capability_statement(base_url: str, token_url: str, software_version: str, date: str) -> Json:
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
        "resource": [_resource(name) for name in sorted(KINDS)] + [_audit_event()],
        "interaction": [],
    }
    for contribute in _CONTRIBUTIONS:
        contribute(rest)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "carebridge",
        "kind": "instance",
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
    Organization read/search. scopes_supported lists them so a client can ask for what it needs
    (https://hl7.org/fhir/smart-app-launch/conformance.html#metadata)."""
    checked = {name: "rs" for name in KINDS} | {"AuditEvent": "rs", "Task": "rus", "Encounter": "rus"}
    checked |= {"Subscription": "crd", "Group": "r", "Organization": "rs"}
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
