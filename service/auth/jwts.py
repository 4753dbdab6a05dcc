"""Verifying signed JWTs from outside: client assertions and access tokens.

One place for the rules every JWT carebridge accepts must pass: an asymmetric algorithm from an
allow-list (never `none`, never HS*: an HMAC "signed" with a public key proves nothing, see
https://datatracker.ietf.org/doc/html/rfc8725#section-3.1), a good signature by one of the
expected keys, the expected `iss` and `aud`, and a current `exp`/`nbf`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from service import clock

ASYMMETRIC_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
# Clock skew tolerated between carebridge and a partner, in seconds.
LEEWAY = 30


class InvalidJwt(Exception):
    """The JWT is not acceptable; the message says why (safe to return to the caller)."""


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a compact JWS without checking anything: only to pick the keys to verify with."""
    try:
        claims = orjson.loads(extract_compact(token.encode()).payload)
    except (JoseError, ValueError) as bad:
        raise InvalidJwt("malformed JWT") from bad
    if not isinstance(claims, dict):
        raise InvalidJwt("JWT claims are not a JSON object")
    return claims


def unverified_header(token: str) -> dict[str, Any]:
    """The protected header of a compact JWS, unchecked (its `kid`)."""
    try:
        header: dict[str, Any] = extract_compact(token.encode()).headers()
    except (JoseError, ValueError) as bad:
        raise InvalidJwt("malformed JWT") from bad
    return header


def verify_jwt(
    token: str,
    keys: KeySet,
    *,
    algorithms: Iterable[str],
    issuer: str,
    audience: str,
    required: Iterable[str] = ("exp",),
) -> dict[str, Any]:
    allowed = [alg for alg in algorithms if alg in ASYMMETRIC_ALGS]
    try:
        decoded = jwt.decode(token, keys, algorithms=allowed)
    except JoseError as bad:
        raise InvalidJwt(f"JWT signature or algorithm not accepted ({bad.error})") from bad
    claims = dict(decoded.claims)
    for name in required:
        if name not in claims:
            raise InvalidJwt(f"JWT lacks the '{name}' claim")
    if claims.get("iss") != issuer:
        raise InvalidJwt("JWT issuer not accepted")
    audiences = claims.get("aud")
    if audience not in (audiences if isinstance(audiences, list) else [audiences]):
        raise InvalidJwt("JWT audience is not this server")
    check_lifetime(claims)
    return claims


def check_lifetime(claims: dict[str, Any]) -> None:
    """Raise InvalidJwt unless "now" lies within the claims' `nbf`..`exp` (with LEEWAY)."""
    now = clock.now().timestamp()
    if not _is_number(claims.get("exp")) or claims["exp"] + LEEWAY < now:
        raise InvalidJwt("JWT expired")
    if "nbf" in claims and (not _is_number(claims["nbf"]) or claims["nbf"] - LEEWAY > now):
        raise InvalidJwt("JWT not yet valid")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# JWKS fetched from URLs, by URL: (fetched at, key set). Keys rotate rarely; a short cache keeps
# every request from calling the partner while a rotation is still picked up within a minute.
_JWKS_CACHE: dict[str, tuple[float, KeySet]] = {}
JWKS_CACHE_SECONDS = 60


def key_set_from_url(url: str) -> KeySet:
    """The JWK Set published at `url` (a client's `jwks_uri` or an issuer's `jwks_uri`)."""
    now = clock.now().timestamp()
    cached = _JWKS_CACHE.get(url)
    if cached is not None and now - cached[0] < JWKS_CACHE_SECONDS:
        return cached[1]
    try:
        response = requests.get(url, timeout=5, headers={"Accept": "application/json"})
        response.raise_for_status()
        keys = KeySet.import_key_set(response.json())
    except (requests.RequestException, ValueError, JoseError) as failed:
        raise InvalidJwt("the signer's JWKS could not be fetched") from failed
    _JWKS_CACHE[url] = (now, keys)
    return keys
