"""carebridge as a SMART authorization server for people: authorization code + PKCE (S256).

An app registered by the operator (`carebridge clients add --redirect-uri ...`) sends the person to
the authorize endpoint; once they have signed in to the web app, carebridge hands the app a code
bound to the person, the app, the redirect URI, the granted scopes and the PKCE challenge. The app
exchanges it at the token endpoint with the code verifier for an access token whose `sub` is the
person (service.auth.tokens). Granted scopes = the `user/` scopes asked for, narrowed to what the
app is registered for and to what the person's role allows (service.auth.policy).

https://hl7.org/fhir/smart-app-launch/app-launch.html
https://www.rfc-editor.org/rfc/rfc7636 (PKCE)
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from service import clock
from service.auth.policy import role_scopes
from service.auth.scopes import ScopeSet, intersect, parse_scopes
from service.auth.tokens import fhir_base
from service.config import Settings
from service.models import User
from service.models.clients import AuthorizationCode, PartnerClient
from service.usecases.unit_of_work import unit_of_work

# Long enough for the app to post it back at once; RFC 6749 s4.1.2 recommends at most 10 minutes.
CODE_LIFETIME = timedelta(seconds=60)
# A S256 challenge is the unpadded base64url SHA-256 of the verifier: 43 characters (RFC 7636 s4.2).
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
# The verifier: 43 to 128 unreserved characters (RFC 7636 s4.1).
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


class NotForThisApp(Exception):
    """The request cannot be sent back to the app (unknown app, unregistered redirect URI): the
    person is told instead, never redirected (RFC 6749 s4.1.2.1)."""


class Refused(Exception):
    """An OAuth error to send back to the app at its redirect URI (RFC 6749 s4.1.2.1) or as the
    token endpoint's JSON (s5.2)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    state: str
    scope: ScopeSet
    code_challenge: str

    def redirect(self, **params: str) -> str:
        """The app's redirect URI with `params` and the state added to its query."""
        parts = urlsplit(self.redirect_uri)
        query = "&".join(q for q in (parts.query, urlencode({**params, "state": self.state})) if q)
        return urlunsplit(parts._replace(query=query))


def read_request(session: Session, args: Mapping[str, str]) -> AuthorizationRequest:
    """An authorization request whose app and redirect URI carebridge knows (else NotForThisApp);
    `check_request` then checks the rest."""
    client = session.get(PartnerClient, args.get("client_id") or "")
    if client is None or client.revoked_at is not None or not client.redirect_uris:
        raise NotForThisApp("carebridge does not know this app (client_id), or it was revoked")
    redirect_uri = args.get("redirect_uri") or ""
    if redirect_uri not in client.redirect_uris:
        raise NotForThisApp("this redirect_uri is not registered for the app")
    request = AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        state=args.get("state") or "",
        scope=parse_scopes(args.get("scope")),
        code_challenge=args.get("code_challenge") or "",
    )
    return request


def check_request(settings: Settings, request: AuthorizationRequest, args: Mapping[str, str]) -> None:
    """Refused (to send back to the app) unless the request is a SMART authorization code request with PKCE S256."""
    if args.get("response_type") != "code":
        raise Refused("unsupported_response_type", "response_type must be code")
    if args.get("code_challenge_method") != "S256" or not _CHALLENGE.match(request.code_challenge):
        # SMART 2 requires PKCE with S256 and forbids plain
        # (https://hl7.org/fhir/smart-app-launch/app-launch.html#considerations-for-pkce-support).
        raise Refused("invalid_request", "PKCE is required: code_challenge with code_challenge_method=S256")
    if args.get("aud", "").rstrip("/") != fhir_base(settings):
        # The app names the server it wants the token for; carebridge's tokens are for its own APIs.
        raise Refused("invalid_request", f"aud must be carebridge's FHIR base URL, {fhir_base(settings)}")
    if not request.state:
        raise Refused("invalid_request", "state is required")


def granted_scopes(session: Session, request: AuthorizationRequest, user: User) -> ScopeSet:
    """The `user/` scopes asked for, within the app's registration and the person's role."""
    client = session.get(PartnerClient, request.client_id)
    app_scopes = parse_scopes(client.allowed_scopes if client is not None else "")
    return intersect(intersect(request.scope, app_scopes), role_scopes(user.role))


def issue_code(session: Session, request: AuthorizationRequest, user: User) -> str:
    """A new code for `user`'s approval of `request`: the redirect URL that carries it to the app."""
    scopes = granted_scopes(session, request, user)
    if not scopes.resource_scopes:
        raise Refused("invalid_scope", "none of the requested user/ scopes is allowed for this app and your role")
    code = secrets.token_urlsafe(32)
    now = clock.now()
    with unit_of_work(session):
        session.execute(delete(AuthorizationCode).where(AuthorizationCode.expires_at < now - CODE_LIFETIME))
        session.add(
            AuthorizationCode(
                code_hash=_digest(code),
                client_id=request.client_id,
                user_id=user.id,
                redirect_uri=request.redirect_uri,
                scope=str(scopes),
                code_challenge=request.code_challenge,
                expires_at=now + CODE_LIFETIME,
            )
        )
    return request.redirect(code=code)


def redeem_code(session: Session, client: PartnerClient, form: Mapping[str, str]) -> tuple[User, ScopeSet]:
    """The person and scopes a code grants `client`, after the RFC 6749 s4.1.3 and PKCE checks.

    The code is spent first, by one conditional UPDATE committed whatever follows: two racing
    exchanges cannot both win, and a wrong verifier burns the code rather than allowing guesses.
    """
    code, verifier = form.get("code") or "", form.get("code_verifier") or ""
    now = clock.now()
    with unit_of_work(session):
        row = session.get(AuthorizationCode, _digest(code))
        if row is None or row.client_id != client.client_id:
            raise Refused("invalid_grant", "unknown authorization code")
        spent = session.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.code_hash == row.code_hash, AuthorizationCode.used_at.is_(None))
            .values(used_at=now)
        )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise Refused("invalid_grant", "the authorization code was already used")
    if row.expires_at <= now:
        raise Refused("invalid_grant", "the authorization code has expired")
    if form.get("redirect_uri") != row.redirect_uri:
        raise Refused("invalid_grant", "redirect_uri differs from the authorization request's")
    if not _VERIFIER.match(verifier) or not secrets.compare_digest(_s256(verifier), row.code_challenge):
        raise Refused("invalid_grant", "code_verifier does not match the code_challenge (PKCE S256)")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise Refused("invalid_grant", "the account that approved this code is disabled")
    return user, parse_scopes(row.scope)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
