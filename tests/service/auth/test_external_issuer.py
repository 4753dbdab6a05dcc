"""Access tokens from a trusted external authorization server (a hospital's own), verified
against its JWKS: signature, iss, aud, exp/nbf and an asymmetric algorithm allow-list."""

from __future__ import annotations

from typing import Any

import pytest
import responses
from joserfc import jwt
from joserfc.jwk import ECKey

from service import clock
from service.auth import registry
from service.auth.tokens import fhir_base
from service.config import Settings
from service.usecases.errors import Invalid
from tests.factories import Case
from tests.service.fhir_api.support import World, bearer

ISSUER = "http://127.0.0.1:8090/oidc"


def _now() -> int:
    return int(clock.now().timestamp())


JWKS_URL = ISSUER + "/jwks"


@pytest.fixture(scope="module")
def hospital_key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "ehr-1", "alg": "ES256"})


def _token(key: ECKey, settings: Settings, **claims: Any) -> str:
    now = _now()
    body = {"iss": ISSUER, "sub": "ehr-user", "aud": fhir_base(settings), "exp": now + 120, "scope": "system/Task.rs"}
    body.update(claims)
    return jwt.encode({"alg": "ES256", "kid": key.kid}, body, key, algorithms=["ES256"])


@pytest.fixture
def trusted(world: World, session: Any) -> str:
    registry.trust_issuer(
        session, issuer=ISSUER, jwks_url=JWKS_URL, organization_id=world.a.hospital.id, algorithms="ES256"
    )
    return world.ids_a["Task"]


@pytest.fixture
def jwks(hospital_key: ECKey) -> Any:
    from service.auth import jwts

    jwts._JWKS_CACHE.clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(JWKS_URL, json={"keys": [hospital_key.as_dict(private=False)]})
        yield mock


def test_token_of_a_trusted_issuer_acts_for_its_organisation(
    client: Any, trusted: str, jwks: Any, hospital_key: ECKey, settings: Settings, world: World
) -> None:
    response = client.get(f"/fhir/R4/Task/{trusted}", headers=bearer(_token(hospital_key, settings)))
    assert response.status_code == 200
    # The issuer's organisation is a tenant like any other: patient B's Task stays hidden.
    other = client.get(f"/fhir/R4/Task/{world.ids_b['Task']}", headers=bearer(_token(hospital_key, settings)))
    assert other.status_code == 404


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "http://127.0.0.1:9/fhir/R4"},
        {"iss": "http://127.0.0.1:8091/other"},
        {"exp": -600},
        {"nbf": 600},
    ],
)
def test_refused_claims(
    client: Any, trusted: str, jwks: Any, hospital_key: ECKey, settings: Settings, claims: dict[str, Any]
) -> None:
    # Times are offsets from the (frozen) clock.
    claims = {k: _now() + v if k in ("exp", "nbf") else v for k, v in claims.items()}
    response = client.get(f"/fhir/R4/Task/{trusted}", headers=bearer(_token(hospital_key, settings, **claims)))
    assert response.status_code == 401


def test_algorithm_outside_the_issuers_allow_list(
    client: Any, trusted: str, jwks: Any, settings: Settings, session: Any, world: World
) -> None:
    key = ECKey.generate_key("P-384", parameters={"kid": "ehr-2", "alg": "ES384"})
    jwks.replace(responses.GET, JWKS_URL, json={"keys": [key.as_dict(private=False)]})
    token = jwt.encode(
        {"alg": "ES384", "kid": key.kid},
        {
            "iss": ISSUER,
            "sub": "x",
            "aud": fhir_base(settings),
            "exp": _now() + 60,
            "scope": "system/Task.rs",
        },
        key,
        algorithms=["ES384"],
    )
    assert client.get(f"/fhir/R4/Task/{trusted}", headers=bearer(token)).status_code == 401


def test_symmetric_algorithms_cannot_be_trusted(session: Any, case: Case) -> None:
    with pytest.raises(Invalid):
        registry.trust_issuer(session, issuer=ISSUER, jwks_url=JWKS_URL, organization_id=None, algorithms="HS256")
    with pytest.raises(Invalid):
        registry.trust_issuer(session, issuer=ISSUER, jwks_url=JWKS_URL, organization_id=None, algorithms="none")
