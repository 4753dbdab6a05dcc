"""The gate of every FHIR interaction: bearer token -> verified AccessContext -> scope check.

    ctx = authorize("Task", "u")   # raises FhirError(401|403) rendered as OperationOutcome

401 carries `WWW-Authenticate: Bearer realm="carebridge"` (plus `error="invalid_token"` when a
token was sent but is unusable); 403 carries `error="insufficient_scope"`
(https://www.rfc-editor.org/rfc/rfc6750#section-3). Tenancy (which rows) is not checked here:
see service.auth.policy (the same module decides both).
"""

from __future__ import annotations

from flask import current_app, g, request

from service.app import request_session, runtime
from service.auth import policy
from service.auth.context import AccessContext, set_current_access
from service.auth.jwts import InvalidJwt
from service.auth.scopes import Interaction
from service.auth.tokens import challenge, verify_access_token
from service.fhir_api.outcome import FhirError


def bearer_access() -> AccessContext:
    """The verified caller of this request (verified once per request), or FhirError 401."""
    cached: AccessContext | None = g.get("fhir_access")
    if cached is not None:
        return cached
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise FhirError(401, "an access token is required (Authorization: Bearer ...)", headers=challenge())
    try:
        ctx = verify_access_token(request_session(), runtime(current_app).settings, token.strip())
    except InvalidJwt as refused:
        raise FhirError(
            401, f"access token refused: {refused}", headers=challenge("invalid_token", str(refused))
        ) from None
    set_current_access(ctx)
    return ctx


def authorize(resource_type: str, interaction: Interaction) -> AccessContext:
    """Verify the bearer token and that its scopes grant `interaction` on `resource_type`."""
    ctx = bearer_access()
    if not policy.allows(ctx, resource_type, interaction):
        raise FhirError(
            403,
            f"the token's scopes do not permit '{interaction}' on {resource_type}",
            headers=challenge("insufficient_scope"),
        )
    return ctx
