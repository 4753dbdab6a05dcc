"""carebridge's authorization server: the token endpoint (`POST /auth/token`) for partners'
backend services (client_credentials, RFC 7523 client assertions) and for the apps people
authorise (authorization_code + PKCE), the authorize endpoint (`GET /auth/authorize`) and the
public keys (`/.well-known/jwks.json`).

https://hl7.org/fhir/smart-app-launch/backend-services.html#obtaining-an-access-token
https://hl7.org/fhir/smart-app-launch/app-launch.html#obtain-access-token
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, redirect, request, url_for

from service.app import request_session, runtime
from service.auth.authorization_code import Refused, redeem_code
from service.auth.client_assertion import AssertionRefused, authenticate_client
from service.auth.scopes import ScopeSet, is_within, parse_resource_scope, parse_scopes
from service.auth.tokens import issue_access_token
from service.keystore import public_jwks
from service.models.clients import PartnerClient

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


@auth_bp.get("/auth/authorize")
def authorize() -> Any:
    """The person's part happens in the web app, where their session cookie lives (path /app)."""
    query = request.query_string.decode()
    return redirect(url_for("web.authorize") + (f"?{query}" if query else ""))


@auth_bp.post("/auth/token")
def token() -> Response:
    form = request.form
    if form.get("grant_type") == "authorization_code":
        return _authorization_code(form)
    if form.get("grant_type") != "client_credentials":
        detail = "grant_type must be client_credentials or authorization_code"
        return _oauth_error(400, "unsupported_grant_type", detail)
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


def _authorization_code(form: Mapping[str, str]) -> Response:
    """Exchange a code: a public app names itself (client_id) and proves the code with PKCE alone; a
    confidential one also authenticates with a private_key_jwt assertion."""
    session = request_session()
    settings = runtime(current_app).settings
    if form.get("client_assertion"):
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            return _oauth_error(401, "invalid_client", f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}")
        try:
            client: PartnerClient | None = authenticate_client(
                session, settings, form["client_assertion"], form.get("client_id")
            )
        except AssertionRefused as refused:
            return _oauth_error(401, "invalid_client", str(refused))
    else:
        client = session.get(PartnerClient, form.get("client_id") or "")
        if client is None or not client.public or client.revoked_at is not None:
            return _oauth_error(401, "invalid_client", "unknown client, or a confidential one without its assertion")
    assert client is not None
    try:
        user, scopes = redeem_code(session, client, form)
    except Refused as refused:
        return _oauth_error(400, refused.error, refused.description)
    access_token, lifetime = issue_access_token(session, settings, client, scopes, user=user)
    response = jsonify(
        {"access_token": access_token, "token_type": "Bearer", "expires_in": lifetime, "scope": str(scopes)}
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
