"""The REST API's door: every request under /api has a principal, or is refused with 401.

A principal is either
- a bearer token carebridge issued (`Authorization: Bearer ...`): a backend-services client's
  (`system/` scopes) or a person's (`user/` scopes), verified by service.auth.tokens; or
- the web app's session cookie, for same-origin calls from carebridge's pages: a signed-in,
  active person with their role's scopes. Writes then need the session's CSRF token in
  `X-CSRF-Token` (OWASP CSRF Prevention Cheat Sheet: synchronizer token), since a browser sends
  the cookie on cross-site requests too.

Nothing a caller writes in a header names who it is (the old self-declared actor and
organisation headers are gone): the actor in audit trails and handoff timelines and the acting
organisation come from the principal.
"""

from __future__ import annotations

from flask import Flask, current_app, request

from service.app import request_session, runtime
from service.auth import policy
from service.auth.context import AccessContext, current_access, set_current_access
from service.auth.jwts import InvalidJwt
from service.auth.tokens import verify_access_token
from service.usecases import signin as accounts
from service.usecases.errors import Forbidden, Unauthenticated

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def init_app(app: Flask) -> None:
    @app.before_request
    def _authenticate() -> None:
        if request.path.startswith("/api/") or request.path == "/api":
            set_current_access(_principal())


def principal() -> AccessContext:
    """The principal of the current REST request (set before the view runs)."""
    return current_access()


def _principal() -> AccessContext:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme:
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("send the access token as 'Authorization: Bearer <token>'", error="invalid_request")
        try:
            return verify_access_token(request_session(), runtime(current_app).settings, token.strip())
        except InvalidJwt as refused:
            raise Unauthenticated(f"access token refused: {refused}", error="invalid_token") from None
    web, user = accounts.signed_in(request_session(), request.cookies.get(accounts.SESSION_COOKIE))
    if user is None:
        raise Unauthenticated("authentication required: an access token (Authorization: Bearer) or a signed-in session")
    ctx = policy.principal_for_user(user)
    if request.method not in SAFE_METHODS and not accounts.csrf_ok(web, request.headers.get("X-CSRF-Token")):
        set_current_access(ctx)  # so the refusal is audited under the person
        raise Forbidden("a change made with the session cookie needs the session's X-CSRF-Token header")
    return ctx
