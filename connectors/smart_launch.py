"""SMART EHR launch for clinicians: authorization code + PKCE S256, code exchange, refresh.

The web app drives the browser; these functions only build URLs and talk to the token endpoint:

    request = start_authorization(settings, launch=request.args["launch"])
    session["state"], session["verifier"] = request.state, request.code_verifier
    redirect(request.url)
    ... on the redirect_uri:
    token = exchange_code(http, settings, request.args,
                          expected_state=session.pop("state"), code_verifier=session.pop("verifier"))

carebridge authenticates as a confidential asymmetric client (private_key_jwt), like the backend.
https://hl7.org/fhir/smart-app-launch/app-launch.html
"""

import base64
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple
from urllib.parse import urlencode

import orjson
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry

from connectors.errors import AuthFailed
from connectors.http import Transport
from connectors.smart_auth import ClientCredentials, SmartConfiguration, request_token, token_expiry

# Tolerated clock skew when checking an id_token's exp.
ID_TOKEN_LEEWAY = 60


@dataclass(frozen=True)
class LaunchSettings:
    client_id: str
    private_jwk: Mapping[str, Any]
    redirect_uri: str
    scope: str  # e.g. "launch openid fhirUser offline_access user/CarePlan.rs user/Task.cru"
    fhir_base: str  # sent as `aud`: the EHR must refuse to issue a token for another server
    smart: SmartConfiguration


class AuthorizationRequest(NamedTuple):
    """Where to send the browser, and the two secrets to keep in the user's session until the callback."""

    url: str
    state: str
    code_verifier: str


@dataclass(frozen=True)
class LaunchToken:
    """A user's tokens and launch context (https://hl7.org/fhir/smart-app-launch/app-launch.html#response-5)."""

    access_token: str
    expires_at: float  # clock() timestamp
    scope: str
    refresh_token: str | None = None
    patient: str | None = None
    encounter: str | None = None
    id_token: str | None = None
    fhir_user: str | None = None  # from the validated id_token, e.g. "Practitioner/123" or an absolute URL


def start_authorization(
    settings: LaunchSettings, *, launch: str | None, extra: Mapping[str, str] | None = None
) -> AuthorizationRequest:
    """The authorization URL with a fresh state and PKCE verifier.

    ``launch`` is the opaque value the EHR passed to carebridge's launch URL (None for a
    standalone launch). PKCE is always S256; SMART 2 forbids ``plain``
    (https://hl7.org/fhir/smart-app-launch/app-launch.html#considerations-for-pkce-support).
    ``extra`` adds server-specific parameters, e.g. ``prompt=consent``, without which an OpenID
    Connect server may ignore ``offline_access`` (OpenID Connect Core §11).
    """
    endpoint = settings.smart.authorization_endpoint
    if not endpoint:
        raise AuthFailed("smart-configuration has no authorization_endpoint")
    if "S256" not in settings.smart.code_challenge_methods:
        raise AuthFailed("the server does not offer PKCE S256, which SMART requires")
    state = secrets.token_urlsafe(32)
    code_verifier = secrets.token_urlsafe(64)  # 86 unreserved characters; RFC 7636 §4.1 allows 43..128
    query = {
        **(extra or {}),  # first, so it can never replace a parameter the protocol depends on
        "response_type": "code",
        "client_id": settings.client_id,
        "redirect_uri": settings.redirect_uri,
        "scope": settings.scope,
        "state": state,
        "aud": settings.fhir_base,
        "code_challenge": create_s256_code_challenge(code_verifier),
        "code_challenge_method": "S256",
    }
    if launch is not None:
        query["launch"] = launch
    separator = "&" if "?" in endpoint else "?"
    return AuthorizationRequest(endpoint + separator + urlencode(query), state, code_verifier)


def exchange_code(
    transport: Transport,
    settings: LaunchSettings,
    callback: Mapping[str, str],
    *,
    expected_state: str,
    code_verifier: str,
    clock: Callable[[], float] = time.time,
) -> LaunchToken:
    """Check the redirect's ``state``, then trade its ``code`` for tokens.

    ``callback`` is the query of the request to ``redirect_uri``. The state is checked before
    anything else, so an error or code injected by a third party is never acted on (RFC 6749 §10.12).
    """
    if not secrets.compare_digest(callback.get("state", ""), expected_state):
        raise AuthFailed("authorization response state does not match this session")
    if "error" in callback:
        raise AuthFailed(
            f"authorization refused: {callback['error']}: {callback.get('error_description', '')}",
            oauth_error=callback["error"],
        )
    code = callback.get("code")
    if not code:
        raise AuthFailed("authorization response has no code")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": settings.redirect_uri,
        "code_verifier": code_verifier,
    }
    issued_at = clock()
    # Not idempotent: a code works once, so a resend after a lost response could only fail.
    body = _request(transport, settings, form, clock)
    return _launch_token(body, issued_at, settings)


def refresh_launch_token(
    transport: Transport, settings: LaunchSettings, token: LaunchToken, *, clock: Callable[[], float] = time.time
) -> LaunchToken:
    """A new access token from ``token.refresh_token``, keeping context the response leaves out.

    A server may rotate the refresh token or keep the old one valid (RFC 6749 §6), and need not
    repeat the launch context.
    """
    if token.refresh_token is None:
        raise AuthFailed("no refresh token: ask for offline_access or online_access")
    issued_at = clock()
    body = _request(transport, settings, {"grant_type": "refresh_token", "refresh_token": token.refresh_token}, clock)
    fresh = _launch_token(body, issued_at, settings)
    return replace(
        fresh,
        refresh_token=fresh.refresh_token or token.refresh_token,
        patient=fresh.patient or token.patient,
        encounter=fresh.encounter or token.encounter,
        id_token=fresh.id_token or token.id_token,
        fhir_user=fresh.fhir_user or token.fhir_user,
    )


def _request(
    transport: Transport, settings: LaunchSettings, form: Mapping[str, str], clock: Callable[[], float]
) -> dict[str, Any]:
    client = ClientCredentials(settings.client_id, settings.private_jwk)
    return request_token(transport, settings.smart.token_endpoint, client, form, idempotent=False, clock=clock)


def _launch_token(body: Mapping[str, Any], issued_at: float, settings: LaunchSettings) -> LaunchToken:
    id_token = body.get("id_token")
    return LaunchToken(
        access_token=body["access_token"],
        expires_at=token_expiry(body, issued_at),
        scope=str(body.get("scope", "")),
        refresh_token=body.get("refresh_token"),
        patient=body.get("patient"),
        encounter=body.get("encounter"),
        id_token=id_token,
        fhir_user=_fhir_user(id_token, settings, issued_at) if id_token else None,
    )


def _fhir_user(id_token: str, settings: LaunchSettings, now: float) -> str | None:
    """The ``fhirUser`` claim after checking iss, aud and exp.

    The signature is not checked: the id_token came straight from the token endpoint over the
    server-authenticated connection, which OpenID Connect Core §3.1.3.7 (6) accepts in its place.
    """
    if not settings.smart.issuer:
        raise AuthFailed("cannot validate the id_token: smart-configuration names no issuer")
    try:
        _header, payload, _signature = id_token.split(".")
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        if not isinstance(claims, dict):
            raise ValueError("payload is not a JSON object")
        JWTClaimsRegistry(
            now=int(now),
            leeway=ID_TOKEN_LEEWAY,
            iss={"essential": True, "value": settings.smart.issuer},
            aud={"essential": True, "value": settings.client_id},
            exp={"essential": True},
        ).validate(claims)
    except (ValueError, JoseError) as exc:  # orjson.JSONDecodeError and binascii.Error are ValueErrors
        raise AuthFailed(f"invalid id_token: {exc}") from exc
    fhir_user = claims.get("fhirUser")
    return fhir_user if isinstance(fhir_user, str) else None
