"""Partner clients with real keys, and tokens obtained from carebridge's own token endpoint."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy.orm import Session

from service import clock
from service.auth import registry
from service.auth.tokens import token_endpoint
from service.config import Settings

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FHIR_JSON = "application/fhir+json"


@dataclass
class Partner:
    client_id: str
    key: RSAKey

    def assertion(self, audience: str, *, lifetime: int = 240, jti: str | None = None, **overrides: Any) -> str:
        now = int(clock.now().timestamp())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "iat": now,
            "exp": now + lifetime,
            "jti": jti or str(uuid.uuid4()),
            **overrides,
        }
        return jwt.encode({"alg": "RS384", "kid": self.key.kid, "typ": "JWT"}, claims, self.key, algorithms=["RS384"])


@pytest.fixture(scope="session")
def rsa_key() -> RSAKey:
    # One key for the whole run: RSA generation is slow, and tests only need a distinct client id.
    return RSAKey.generate_key(2048, parameters={"kid": "partner-" + secrets.token_hex(4), "alg": "RS384"})


@pytest.fixture
def settings(app: Any) -> Settings:
    from service.app import runtime

    return runtime(app).settings


@pytest.fixture
def make_partner(session: Session, rsa_key: RSAKey) -> Callable[..., Partner]:
    def make(organization_id: str | None, scopes: str) -> Partner:
        client = registry.register_client(
            session,
            name="test partner",
            scopes=scopes,
            organization_id=organization_id,
            jwks={"keys": [rsa_key.as_dict(private=False)]},
        )
        return Partner(client.client_id, rsa_key)

    return make


@pytest.fixture
def get_token(client: Any, settings: Settings) -> Callable[[Partner, str], str]:
    """A real client-credentials exchange at POST /auth/token."""

    def fetch(partner: Partner, scope: str) -> str:
        response = client.post(
            "/auth/token",
            data={
                "grant_type": "client_credentials",
                "scope": scope,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": partner.assertion(token_endpoint(settings)),
            },
        )
        assert response.status_code == 200, response.get_json()
        token: str = response.get_json()["access_token"]
        return token

    return fetch
