"""carebridge's access tokens, and tokens from trusted external authorization servers.

Own tokens are JWT access tokens (RFC 9068, `typ: at+jwt`) signed with the keystore's active key,
`aud` = carebridge's FHIR base, lasting at most 300 s (SMART Backend Services recommends five
minutes: https://hl7.org/fhir/smart-app-launch/backend-services.html#issue-access-token).
"""

from __future__ import annotations

import secrets
from typing import Any

from joserfc import jwt
from sqlalchemy.orm import Session

from service import clock, keystore
from service.auth.context import AccessContext
from service.auth.jwts import ASYMMETRIC_ALGS, InvalidJwt, key_set_from_url, unverified_claims, verify_jwt
from service.auth.scopes import ScopeSet, parse_scopes
from service.config import Settings
from service.models.clients import PartnerClient, TrustedIssuer

ACCESS_TOKEN_SECONDS = 300


def fhir_base(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + "/fhir/R4"


def issuer(settings: Settings) -> str:
    """carebridge's authorization server identifier (its token endpoint lives under it)."""
    return settings.public_url.rstrip("/") + "/auth"


def token_endpoint(settings: Settings) -> str:
    return issuer(settings) + "/token"


def issue_access_token(
    session: Session, settings: Settings, client: PartnerClient, scopes: ScopeSet, *, patient_id: str | None = None
) -> tuple[str, int]:
    """(signed JWT, lifetime in seconds) for `client` with the granted `scopes`."""
    kid, alg, key = keystore.active_key(session)
    now = int(clock.now().timestamp())
    claims: dict[str, Any] = {
        "iss": issuer(settings),
        "sub": client.client_id,
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
    claimed_issuer = unverified_claims(token).get("iss")
    if claimed_issuer == issuer(settings):
        return _own_token(session, settings, token)
    trusted = session.get(TrustedIssuer, claimed_issuer) if isinstance(claimed_issuer, str) else None
    if trusted is None:
        raise InvalidJwt("token issuer not trusted")
    return _external_token(settings, trusted, token)


def _own_token(session: Session, settings: Settings, token: str) -> AccessContext:
    claims = verify_jwt(
        token,
        keystore.verification_keys(session),
        algorithms=ASYMMETRIC_ALGS,
        issuer=issuer(settings),
        audience=fhir_base(settings),
        required=("exp", "client_id", "sub"),
    )
    client = session.get(PartnerClient, claims["client_id"])
    if client is None or client.revoked_at is not None:
        raise InvalidJwt("client no longer registered")
    return AccessContext(
        client_id=client.client_id,
        subject=str(claims["sub"]),
        organization_id=client.organization_id,
        scopes=parse_scopes(claims.get("scope")),
        patient_id=claims.get("patient"),
    )


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
