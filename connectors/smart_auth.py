"""SMART discovery, the token endpoint, and SMART Backend Services (client_credentials + private_key_jwt).

Typical use in a worker (one Transport per process, one BackendServicesAuth per partner, so the
cached token is reused by every FhirClient talking to that partner):

    http = Transport()
    smart = discover(http, "https://ehr.example/fhir/R4")
    auth = BackendServicesAuth(
        BackendServicesSettings(client_id="carebridge", token_endpoint=smart.token_endpoint,
                                private_jwk=key, scope="system/CarePlan.cruds system/Task.cru"),
        http,
    )
    with FhirClient("https://ehr.example/fhir/R4", auth=auth, transport=http) as fhir: ...

https://hl7.org/fhir/smart-app-launch/backend-services.html
"""

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import requests
from joserfc import jwt
from joserfc.jwk import Key

from connectors.errors import AuthFailed
from connectors.http import Transport, describe
from connectors.keys import signing_key

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# SMART caps an assertion's exp at 5 minutes ahead; 4 minutes still passes when our clock runs
# up to a minute ahead of the server's.
# https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html#authenticating-to-the-token-endpoint
ASSERTION_LIFETIME = 240
# Backend Services recommends a 5 minute token lifetime; assume it when a server omits expires_in.
DEFAULT_TOKEN_LIFETIME = 300
# Refresh a cached token once 90% of its lifetime has passed, but at most a minute early.
MAX_REFRESH_MARGIN = 60.0


class TokenSource(Protocol):
    """Where FhirClient gets its bearer token; `invalidate` is called after a 401 with that token."""

    def access_token(self) -> str: ...

    def invalidate(self, token: str) -> None: ...


@dataclass(frozen=True)
class SmartConfiguration:
    """The parts of ``.well-known/smart-configuration`` carebridge acts on.

    https://hl7.org/fhir/smart-app-launch/conformance.html#metadata
    """

    token_endpoint: str
    issuer: str | None = None
    authorization_endpoint: str | None = None
    capabilities: frozenset[str] = frozenset()
    code_challenge_methods: frozenset[str] = frozenset()
    token_endpoint_auth_signing_algs: frozenset[str] = frozenset()


def parse_smart_configuration(document: Mapping[str, Any]) -> SmartConfiguration:
    token_endpoint = document.get("token_endpoint")
    if not isinstance(token_endpoint, str):
        raise AuthFailed("smart-configuration has no token_endpoint")
    return SmartConfiguration(
        token_endpoint=token_endpoint,
        issuer=document.get("issuer"),
        authorization_endpoint=document.get("authorization_endpoint"),
        capabilities=frozenset(document.get("capabilities", ())),
        code_challenge_methods=frozenset(document.get("code_challenge_methods_supported", ())),
        token_endpoint_auth_signing_algs=frozenset(
            document.get("token_endpoint_auth_signing_alg_values_supported", ())
        ),
    )


def discover(transport: Transport, fhir_base: str) -> SmartConfiguration:
    """Read ``{fhir_base}/.well-known/smart-configuration`` (public, JSON)."""
    url = fhir_base.rstrip("/") + "/.well-known/smart-configuration"
    response = transport.send(
        lambda: requests.Request("GET", url, headers={"Accept": "application/json"}), idempotent=True
    )
    if response.status_code != 200:
        raise AuthFailed(f"{describe('GET', url)} -> {response.status_code}", status=response.status_code)
    return parse_smart_configuration(orjson.loads(response.content))


def client_assertion(key: Key, client_id: str, token_endpoint: str, *, now: float) -> str:
    """A signed JWT authenticating ``client_id`` to ``token_endpoint`` (RFC 7523 §2.2).

    iss = sub = client_id, aud = the token endpoint, a never-repeated jti, ``kid`` in the header:
    https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html#authenticating-to-the-token-endpoint
    """
    alg = str(key.alg)
    issued = int(now)
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_endpoint,
        "iat": issued,
        "exp": issued + ASSERTION_LIFETIME,
        "jti": secrets.token_urlsafe(32),
    }
    return jwt.encode({"alg": alg, "kid": key.kid, "typ": "JWT"}, claims, key, algorithms=[alg])


@dataclass(frozen=True)
class ClientCredentials:
    """A confidential asymmetric client: its id and private JWK (see `connectors.keys`)."""

    client_id: str
    private_jwk: Mapping[str, Any]


def request_token(
    transport: Transport,
    token_endpoint: str,
    client: ClientCredentials,
    form: Mapping[str, str],
    *,
    idempotent: bool,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """POST a grant to the token endpoint with a client assertion; the token response as a dict.

    Each attempt signs a fresh assertion because servers reject a replayed jti. Any refusal (after
    retrying temporary failures) raises AuthFailed with the OAuth ``error`` code (RFC 6749 §5.2).
    """
    key = signing_key(client.private_jwk)

    def build() -> requests.Request:
        assertion = client_assertion(key, client.client_id, token_endpoint, now=clock())
        data = {**form, "client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": assertion}
        return requests.Request("POST", token_endpoint, data=data, headers={"Accept": "application/json"})

    response = transport.send(build, idempotent=idempotent)
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        body = {}
    where = f"{describe('POST', token_endpoint)} -> {response.status_code}"
    if response.status_code != 200:
        error = body.get("error") if isinstance(body.get("error"), str) else None
        detail = f": {error}: {body.get('error_description', '')}" if error else ""
        raise AuthFailed(where + detail, status=response.status_code, oauth_error=error)
    # token_type is case-insensitive (RFC 6749 §5.1); SMART only issues Bearer tokens.
    if not isinstance(body.get("access_token"), str) or str(body.get("token_type", "")).lower() != "bearer":
        raise AuthFailed(f"{where}: response is not a Bearer token", status=response.status_code)
    return body


def token_expiry(token_response: Mapping[str, Any], issued_at: float) -> float:
    """When the token stops working, as a clock() timestamp."""
    expires_in = token_response.get("expires_in")
    lifetime = float(expires_in) if isinstance(expires_in, int | float) else DEFAULT_TOKEN_LIFETIME
    return issued_at + lifetime


@dataclass(frozen=True)
class BackendServicesSettings:
    """What carebridge needs to talk to one partner as a backend service."""

    client_id: str
    token_endpoint: str
    private_jwk: Mapping[str, Any]
    scope: str  # e.g. "system/CarePlan.cruds system/Task.cru" (SMART v2) or v1 "system/*.read"

    def __post_init__(self) -> None:
        signing_key(self.private_jwk)  # fail at configuration time, not at the first token request


class BackendServicesAuth:
    """client_credentials tokens for one partner, cached until shortly before they expire.

    Thread-safe: one fetch at a time; threads arriving meanwhile wait and reuse its token.
    https://hl7.org/fhir/smart-app-launch/backend-services.html#obtaining-an-access-token
    """

    def __init__(
        self, settings: BackendServicesSettings, transport: Transport, *, clock: Callable[[], float] = time.time
    ):
        self.settings = settings
        self._client = ClientCredentials(settings.client_id, settings.private_jwk)
        self._transport = transport
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0

    def access_token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                self._token, self._refresh_at = self._fetch()
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (the partner refused it); a newer token another thread fetched is kept."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _fetch(self) -> tuple[str, float]:
        """A new token and the clock() time to refresh it at."""
        issued_at = self._clock()
        body = request_token(
            self._transport,
            self.settings.token_endpoint,
            self._client,
            {"grant_type": "client_credentials", "scope": self.settings.scope},
            idempotent=True,
            clock=self._clock,
        )
        expires_at = token_expiry(body, issued_at)
        return body["access_token"], expires_at - min(MAX_REFRESH_MARGIN, (expires_at - issued_at) / 10)
