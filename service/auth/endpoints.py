"""carebridge's authorization server for partners: the SMART Backend Services token endpoint
(`POST /auth/token`, RFC 7523 client assertions) and its public keys (`/.well-known/jwks.json`).

https://hl7.org/fhir/smart-app-launch/backend-services.html#obtaining-an-access-token
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from service.app import request_session, runtime
from service.auth.client_assertion import AssertionRefused, authenticate_client
from service.auth.scopes import ScopeSet, is_within, parse_resource_scope, parse_scopes
from service.auth.tokens import issue_access_token
from service.keystore import public_jwks

auth_bp = Blueprint("carebridge_auth", __name__)

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _oauth_error(status: int, error: str, description: str) -> Response:
    # https://www.rfc-editor.org/rfc/rfc6749#section-5.2
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@auth_bp.get("/.well-known/jwks.json")
def jwks() -> Any:
    return jsonify(public_jwks(request_session()))


@auth_bp.post("/auth/token")
def token() -> Response:
    form = request.form
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
    if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE or not form.get("client_assertion"):
        return _oauth_error(401, "invalid_client", "a private_key_jwt client assertion is required")
    session = request_session()
    settings = runtime(current_app).settings
    try:
        client = authenticate_client(session, settings, form["client_assertion"], form.get("client_id"))
    except AssertionRefused as refused:
        return _oauth_error(401, "invalid_client", str(refused))
    requested = parse_scopes(form.get("scope"))
    allowed = parse_scopes(client.allowed_scopes)
    refused_scopes = _refused(requested, allowed)
    if not requested.raw or refused_scopes:
        detail = ", ".join(refused_scopes) if refused_scopes else "no scope requested"
        return _oauth_error(400, "invalid_scope", f"scope not allowed for this client: {detail}")
    access_token, lifetime = issue_access_token(session, settings, client, requested)
    response = jsonify(
        {"access_token": access_token, "token_type": "bearer", "expires_in": lifetime, "scope": str(requested)}
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused(requested: ScopeSet, allowed: ScopeSet) -> list[str]:
    """Requested scope strings the client may not have: unparseable ones and those beyond its allow-list."""
    granted = {str(s) for s in requested.raw if _scope_ok(s, allowed)}
    return [s for s in requested.raw if s not in granted]


def _scope_ok(text: str, allowed: ScopeSet) -> bool:
    scope = parse_resource_scope(text)
    return scope is not None and scope.context == "system" and is_within(scope, allowed)
