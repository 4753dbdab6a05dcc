"""The SMART Backend Services token endpoint (RFC 7523 client assertions) and the JWKS it
signs with: https://hl7.org/fhir/smart-app-launch/backend-services.html"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from service import clock
from service.auth import registry
from service.auth.tokens import fhir_base, issuer, token_endpoint
from service.config import Settings
from tests.factories import Case
from tests.service.fhir_api.support import ASSERTION_TYPE, Partner, unverified_claims

SCOPE = "system/Task.rs system/ServiceRequest.rs"


def _post(client: Any, assertion: str, scope: str = SCOPE, **extra: str) -> Any:
    data = {
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        **extra,
    }
    return client.post("/auth/token", data=data)


@pytest.fixture
def partner(case: Case, make_partner: Any) -> Partner:
    return make_partner(case.snfs[0].id, "system/Task.rus system/ServiceRequest.rs system/Patient.rs")


def test_issues_a_short_lived_jwt_for_the_fhir_base(client: Any, partner: Partner, settings: Settings) -> None:
    response = _post(client, partner.assertion(token_endpoint(settings)))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"] == "bearer" and body["scope"] == SCOPE and body["expires_in"] <= 300
    keys = KeySet.import_key_set(client.get("/.well-known/jwks.json").get_json())
    token = jwt.decode(body["access_token"], keys, algorithms=["RS384"])
    assert token.header["typ"] == "at+jwt"
    claims = token.claims
    assert claims["aud"] == fhir_base(settings) and claims["iss"] == issuer(settings)
    assert claims["sub"] == claims["client_id"] == partner.client_id
    assert 0 < claims["exp"] - claims["iat"] <= 300


def test_replayed_jti_is_refused(client: Any, partner: Partner, settings: Settings) -> None:
    assertion = partner.assertion(token_endpoint(settings))
    assert _post(client, assertion).status_code == 200
    replay = _post(client, assertion)
    assert replay.status_code == 401
    assert replay.get_json()["error"] == "invalid_client"
    assert "replay" in replay.get_json()["error_description"]


@pytest.mark.parametrize("after_exp", [1, 8, 13, 29])
def test_jti_stays_refused_while_the_leeway_still_accepts_its_exp(
    client: Any, partner: Partner, settings: Settings, now: datetime, after_exp: int
) -> None:
    # RFC 7523 section 3 (7): a jti is refused for as long as the assertion would be accepted, and
    # carebridge accepts an exp up to 30 s in the past (clock skew), so it must remember that long.
    assertion = partner.assertion(token_endpoint(settings), lifetime=60)
    assert _post(client, assertion).status_code == 200
    later = now + timedelta(seconds=60 + after_exp)
    clock.set_clock(lambda: later)  # the `now` fixture restores the clock
    replay = _post(client, assertion)
    assert replay.status_code == 401
    assert "replay" in replay.get_json()["error_description"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"lifetime": 3600}, "5 minutes"),
        ({"lifetime": -120}, "expired"),
        ({"aud": "http://127.0.0.1:5000/fhir/R4"}, "audience"),
        ({"sub": "someone-else"}, "sub"),
    ],
)
def test_bad_assertions_are_invalid_client(
    client: Any, partner: Partner, settings: Settings, change: dict[str, Any], reason: str
) -> None:
    audience = change.pop("aud", token_endpoint(settings))
    response = _post(client, partner.assertion(audience, **change))
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert reason in response.get_json()["error_description"]


def test_assertion_signed_by_another_key_is_refused(client: Any, partner: Partner, settings: Settings) -> None:
    stranger = RSAKey.generate_key(2048, parameters={"kid": str(partner.key.kid), "alg": "RS384"})
    response = _post(client, Partner(partner.client_id, stranger).assertion(token_endpoint(settings)))
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


def test_unknown_and_revoked_clients_are_refused(
    client: Any, partner: Partner, settings: Settings, session: Any
) -> None:
    unknown = Partner("nobody", partner.key).assertion(token_endpoint(settings))
    assert _post(client, unknown).get_json()["error"] == "invalid_client"
    token = _post(client, partner.assertion(token_endpoint(settings))).get_json()["access_token"]
    registry.revoke_client(session, partner.client_id)
    assert _post(client, partner.assertion(token_endpoint(settings))).status_code == 401
    # Tokens issued before the revocation stop working too.
    assert client.get("/fhir/R4/Task", headers={"Authorization": f"Bearer {token}"}).status_code == 401


@pytest.mark.parametrize(
    "scope", ["system/Observation.rs", "system/Task.cruds", "patient/Task.rs", "openid", "system/Task.rs?status=ready"]
)
def test_scopes_beyond_the_allow_list_are_invalid_scope(
    client: Any, partner: Partner, settings: Settings, scope: str
) -> None:
    response = _post(client, partner.assertion(token_endpoint(settings)), scope=scope)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_scope"


def test_v1_scope_within_v2_allow_list(client: Any, partner: Partner, settings: Settings) -> None:
    response = _post(client, partner.assertion(token_endpoint(settings)), scope="system/Task.read")
    assert response.status_code == 200
    assert unverified_claims(response.get_json()["access_token"])["scope"] == "system/Task.read"


def test_only_client_credentials_with_an_assertion(client: Any, partner: Partner, settings: Settings) -> None:
    wrong_grant = _post(client, partner.assertion(token_endpoint(settings)), grant_type="password")
    assert wrong_grant.status_code == 400 and wrong_grant.get_json()["error"] == "unsupported_grant_type"
    # A backend client holds no authorization code: the code grant (for apps people use) refuses it.
    no_code = _post(client, partner.assertion(token_endpoint(settings)), grant_type="authorization_code")
    assert no_code.status_code == 400 and no_code.get_json()["error"] == "invalid_grant"
    no_assertion = client.post("/auth/token", data={"grant_type": "client_credentials", "scope": SCOPE})
    assert no_assertion.status_code == 401 and no_assertion.get_json()["error"] == "invalid_client"
    garbage = _post(client, "not-a-jwt")
    assert garbage.status_code == 401 and garbage.get_json()["error"] == "invalid_client"


def test_client_keys_from_a_jwks_url(
    client: Any, case: Case, session: Any, rsa_key: RSAKey, settings: Settings
) -> None:
    import responses

    url = "http://127.0.0.1:8765/partner/jwks.json"
    registered = registry.register_client(
        session, name="by url", scopes="system/Task.rs", organization_id=case.snfs[0].id, jwks_url=url
    )
    with responses.RequestsMock() as mock:
        mock.get(url, json={"keys": [rsa_key.as_dict(private=False)]})
        assertion = Partner(registered.client_id, rsa_key).assertion(token_endpoint(settings))
        response = _post(client, assertion, scope="system/Task.rs")
    assert response.status_code == 200, response.get_json()
