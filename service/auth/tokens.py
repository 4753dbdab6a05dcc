"""carebridge's access tokens, and tokens from trusted external authorization servers.

Own tokens are JWT access tokens (RFC 9068, `typ: at+jwt`) signed with the keystore's active key,
`aud` = carebridge's FHIR base, `sub` = the backend client or the person who authorised an app
(service.auth.authorization_code), lasting at most 300 s (SMART Backend Services recommends five
minutes: https://hl7.org/fhir/smart-app-launch/backend-services.html#issue-access-token).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from typing import Any

from joserfc import jwt
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from service import clock, keystore
from service.auth.context import AccessContext
from service.auth.jwts import (
    ASYMMETRIC_ALGS,
    InvalidJwt,
    check_lifetime,
    key_set_from_url,
    unverified_claims,
    unverified_header,
    verify_jwt,
)
from service.auth.policy import principal_for_user
from service.auth.scopes import ScopeSet, parse_scopes
from service.config import Settings
from service.models import User
from service.models.clients import PartnerClient, TrustedIssuer

ACCESS_TOKEN_SECONDS = 300
REALM = "carebridge"


def challenge(error: str | None = None, description: str | None = None) -> dict[str, str]:
    """The `WWW-Authenticate` header of a refusal on any door (https://www.rfc-editor.org/rfc/rfc6750#section-3)."""
    value = f'Bearer realm="{REALM}"'
    if error is not None:
        value += f', error="{error}"'
    if description is not None:
        value += f', error_description="{description.replace(chr(34), chr(39))}"'
    return {"WWW-Authenticate": value}


def fhir_base(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + "/fhir/R4"


def issuer(settings: Settings) -> str:
    """carebridge's authorization server identifier (its token endpoint lives under it)."""
    return settings.public_url.rstrip("/") + "/auth"


def token_endpoint(settings: Settings) -> str:
    return issuer(settings) + "/token"


def authorize_endpoint(settings: Settings) -> str:
    return issuer(settings) + "/authorize"


def issue_access_token(
    session: Session,
    settings: Settings,
    client: PartnerClient,
    scopes: ScopeSet,
    *,
    patient_id: str | None = None,
    user: User | None = None,
) -> tuple[str, int]:
    """(signed JWT, lifetime in seconds) for `client` with the granted `scopes`; `sub` is the person
    (`user`) who authorised an app, or the backend client itself."""
    kid, alg, key = keystore.active_key(session)
    now = int(clock.now().timestamp())
    claims: dict[str, Any] = {
        "iss": issuer(settings),
        "sub": user.id if user is not None else client.client_id,
        "aud": fhir_base(settings),
        "client_id": client.client_id,
        "iat": now,
        "exp": now + ACCESS_TOKEN_SECONDS,
        "jti": secrets.token_urlsafe(16),
        "scope": str(scopes),
    }
    if patient_id is not None:
        claims["patient"] = patient_id
    header = {"alg": alg, "kid": kid, "typ": "at+jwt"}
    return jwt.encode(header, claims, key, algorithms=[alg]), ACCESS_TOKEN_SECONDS


def verify_access_token(session: Session, settings: Settings, token: str) -> AccessContext:
    """The caller a bearer token stands for; raises InvalidJwt when it must be refused."""
    verified = _verified.get(_verified_key(settings, token))  # one of carebridge's own, verified before
    if verified is not None:
        return _own_token(session, verified)
    claimed_issuer = unverified_claims(token).get("iss")
    if claimed_issuer == issuer(settings):
        return _own_token(session, _verified_claims(session, settings, token))
    trusted = session.get(TrustedIssuer, claimed_issuer) if isinstance(claimed_issuer, str) else None
    if trusted is None:
        raise InvalidJwt("token issuer not trusted")
    return _external_token(settings, trusted, token)


# Own tokens whose signature, issuer and audience were verified, by (SHA-256 of the token, issuer, audience):
# (claims, kid of the signing key). Verifying (JWS parsing, RSA, the key set query) was a large part of every
# FHIR read, and a client sends the same token for up to ACCESS_TOKEN_SECONDS. What can change meanwhile is
# still asked on every request (`_own_token`): the lifetime, the client's revocation, the person's account
# and that the signing key is still published. Bounded; the oldest entries go first.
_verified: dict[tuple[bytes, str, str], tuple[dict[str, Any], str]] = {}
VERIFIED_CACHE_SIZE = 4096
_verified_lock = threading.Lock()
# The token's client, and whether its signing key is still published: one query per request, of the
# columns the check needs (loading the whole PartnerClient, key set and all, was twice the cost), run on
# the session's connection: through the session it went the ORM's way, as much again as the query.
_CLIENT_AND_KEY = select(
    PartnerClient.client_id,
    PartnerClient.organization_id,
    PartnerClient.revoked_at,
    PartnerClient.redirect_uris.is_not(None).label("authorizes_people"),
    keystore.KID_PUBLISHED.label("key_published"),
).where(PartnerClient.client_id == bindparam("client_id"))


def _own_token(session: Session, verified: tuple[dict[str, Any], str]) -> AccessContext:
    """The principal of one of carebridge's own tokens, whose (claims, kid) were verified."""
    claims, kid = verified
    check_lifetime(claims)
    client = (
        session.connection()
        .execute(_CLIENT_AND_KEY, {"client_id": claims["client_id"], **keystore.kid_published_params(kid)})
        .first()
    )
    if client is None or client.revoked_at is not None:
        raise InvalidJwt("client no longer registered")
    if not client.key_published:
        raise InvalidJwt("JWT signature or algorithm not accepted (its signing key is no longer published)")
    if claims["sub"] != client.client_id:
        return _person(session, client.client_id, client.authorizes_people, claims)
    return AccessContext(
        client_id=client.client_id,
        subject=str(claims["sub"]),
        organization_id=client.organization_id,
        scopes=parse_scopes(claims.get("scope")),
        patient_id=claims.get("patient"),
    )


def _verified_key(settings: Settings, token: str) -> tuple[bytes, str, str]:
    return hashlib.sha256(token.encode()).digest(), issuer(settings), fhir_base(settings)


def _verified_claims(session: Session, settings: Settings, token: str) -> tuple[dict[str, Any], str]:
    key = _verified_key(settings, token)
    claims = verify_jwt(
        token,
        keystore.verification_keys(session),
        algorithms=ASYMMETRIC_ALGS,
        issuer=issuer(settings),
        audience=fhir_base(settings),
        required=("exp", "client_id", "sub"),
    )
    kid = unverified_header(token).get("kid")
    if not isinstance(kid, str):
        raise InvalidJwt("JWT lacks the 'kid' header")  # carebridge names the key of every token it signs
    with _verified_lock:
        while len(_verified) >= VERIFIED_CACHE_SIZE:
            del _verified[next(iter(_verified))]
        _verified[key] = (claims, kid)
    return claims, kid


def _person(session: Session, app_id: str, authorizes_people: bool, claims: dict[str, Any]) -> AccessContext:
    """The principal of a token a person authorised for app `app_id` (one with redirect URIs): checked
    against the account now, so disabling it stops its tokens at once."""
    user = session.get(User, claims["sub"])
    if user is None or not authorizes_people:
        raise InvalidJwt("token subject unknown")
    try:
        return principal_for_user(
            user, parse_scopes(claims.get("scope")), client_id=app_id, patient_id=claims.get("patient")
        )
    except PermissionError:
        raise InvalidJwt("the user's account is disabled") from None


def _external_token(settings: Settings, trusted: TrustedIssuer, token: str) -> AccessContext:
    claims = verify_jwt(
        token,
        key_set_from_url(trusted.jwks_url),
        algorithms=trusted.algorithms.split(),
        issuer=trusted.issuer,
        audience=fhir_base(settings),
        required=("exp", "sub"),
    )
    scope = claims.get("scope", claims.get("scp", ""))
    client_id = claims.get("client_id") or claims.get("azp") or claims["sub"]
    return AccessContext(
        client_id=f"{trusted.issuer}#{client_id}",
        subject=str(claims["sub"]),
        organization_id=trusted.organization_id,
        scopes=parse_scopes(" ".join(scope) if isinstance(scope, list) else str(scope)),
        patient_id=claims.get("patient"),
    )
