"""The peers' smoke checks (../shared/peers/smoke_test.py), run against carebridge's own
token endpoint and FHIR base over real HTTP on 127.0.0.1, with Authlib as the partner's client.

The server runs on the real clock: Authlib signs assertions with the system time.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from werkzeug.serving import make_server

from service.app import create_app
from service.auth import registry
from service.config import Settings
from tests.factories import Case, build_case
from tests.service.fhir_api.support import ASSERTION_TYPE, FHIR_JSON, populate, unverified_claims


class SmartPrivateKeyJWT(PrivateKeyJWT):  # type: ignore[misc]
    """Authlib's PrivateKeyJWT signs exp = now + 3600 s; SMART servers accept at most 5 minutes."""

    def sign(self, auth: Any, token_endpoint: str) -> Any:
        return private_key_jwt_sign(
            auth.client_secret,
            client_id=auth.client_id,
            token_endpoint=token_endpoint,
            claims=self.claims,
            header=self.headers,
            alg=self.alg,
            expires_in=300,
        )


class _Proxy:
    """Lets the server bind its port before the app (which must know its public URL) exists."""

    app: Any = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


@pytest.fixture
def served(session_factory: Any, database_url: str) -> Iterator[str]:
    proxy = _Proxy()
    server = make_server("127.0.0.1", 0, proxy)
    public_url = f"http://127.0.0.1:{server.server_port}"
    settings = Settings(database_url=database_url, celery_eager=True, public_url=public_url)
    proxy.app = create_app(settings, session_factory=session_factory)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield public_url + "/fhir/R4"
    server.shutdown()
    thread.join()


@pytest.fixture
def case_now(session: Any) -> tuple[Case, dict[str, str]]:
    case = build_case(session, datetime.now(UTC), mrn="MRN-SMOKE")
    return case, populate(session, case)


def _assertion(key: Any, alg: str, client_id: str, aud: str, lifetime: int = 240) -> str:
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "exp": now + lifetime,
        "iat": now,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode({"alg": alg, "kid": key.kid, "typ": "JWT"}, claims, key, algorithms=[alg])


def _token(endpoint: str, assertion: str, scope: str) -> requests.Response:
    data = {
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    return requests.post(endpoint, data=data, timeout=10)


def test_smoke_checks_against_carebridge(served: str, case_now: tuple[Case, dict[str, str]], session: Any) -> None:
    fhir = served
    case, ids = case_now
    smart = requests.get(f"{fhir}/.well-known/smart-configuration", timeout=10).json()
    assert {"RS384", "ES384"} <= set(smart["token_endpoint_auth_signing_alg_values_supported"])
    assert requests.get(f"{fhir}/metadata", timeout=10).json()["fhirVersion"] == "4.0.1"
    endpoint = smart["token_endpoint"]

    rsa = RSAKey.generate_key(2048, parameters={"kid": "rs384-smoke", "use": "sig", "alg": "RS384"})
    ec = ECKey.generate_key("P-384", parameters={"kid": "es384-smoke", "use": "sig", "alg": "ES384"})
    snf = case.snfs[0].id
    rs_client = registry.register_client(
        session,
        name="SNF intake (RS384)",
        scopes="system/Patient.rs system/Task.rus system/ServiceRequest.rs",
        organization_id=snf,
        jwks={"keys": [rsa.as_dict(private=False)]},
    ).client_id
    es_client = registry.register_client(
        session,
        name="SNF reader (ES384)",
        scopes="system/Task.rs",
        organization_id=snf,
        jwks={"keys": [ec.as_dict(private=False)]},
    ).client_id

    scope = "system/Patient.rs system/Task.rus"
    assertion = _assertion(rsa, "RS384", rs_client, endpoint)
    response = _token(endpoint, assertion, scope)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    claims = unverified_claims(token)
    assert claims["aud"] == fhir and claims["exp"] - claims["iat"] <= 300
    replay = _token(endpoint, assertion, scope)
    assert replay.status_code in (400, 401) and replay.json()["error"] == "invalid_client"
    long_lived = _token(endpoint, _assertion(rsa, "RS384", rs_client, endpoint, lifetime=3600), scope)
    assert long_lived.status_code in (400, 401)
    outside = _token(endpoint, _assertion(rsa, "RS384", rs_client, endpoint), "system/Observation.rs")
    assert outside.json()["error"] == "invalid_scope"
    es = _token(endpoint, _assertion(ec, "ES384", es_client, endpoint), "system/Task.rs")
    assert es.status_code == 200
    read_only = es.json()["access_token"]

    default = OAuth2Session(rs_client, rsa, token_endpoint_auth_method="private_key_jwt", scope=scope)
    default.register_client_auth_method(PrivateKeyJWT(endpoint, alg="RS384", headers={"kid": rsa.kid}))
    with pytest.raises(Exception, match="invalid_client"):
        default.fetch_token(endpoint, grant_type="client_credentials")
    partner = OAuth2Session(rs_client, rsa, token_endpoint_auth_method="private_key_jwt", scope=scope)
    partner.register_client_auth_method(SmartPrivateKeyJWT(endpoint, alg="RS384", headers={"kid": rsa.kid}))
    fetched = partner.fetch_token(endpoint, grant_type="client_credentials")
    assert fetched["expires_in"] <= 300 and fetched["scope"] == scope

    assert requests.get(f"{fhir}/Task", timeout=10).headers["WWW-Authenticate"].startswith("Bearer")
    tampered = {"Authorization": "Bearer " + token[:-4] + "AAAA"}
    assert requests.get(f"{fhir}/Task", headers=tampered, timeout=10).status_code == 401

    # The Authlib session calls the FHIR API with its token, as a partner application would.
    found = partner.get(f"{fhir}/Task", params={"patient": f"Patient/{case.patient.id}"}, timeout=10)
    assert found.status_code == 200 and found.json()["total"] == 1  # only the Task addressed to this SNF
    task = found.json()["entry"][0]["resource"]
    assert task["id"] == ids["Task"]
    task["status"] = "accepted"
    headers = {"Content-Type": FHIR_JSON, "If-Match": 'W/"1"'}
    updated = partner.put(f"{fhir}/Task/{task['id']}", json=task, headers=headers, timeout=10)
    assert updated.status_code == 200 and updated.headers["ETag"] == 'W/"2"'
    stale = partner.put(f"{fhir}/Task/{task['id']}", json=task, headers=headers, timeout=10)
    assert stale.status_code == 412

    ro = {"Authorization": f"Bearer {read_only}", "Content-Type": FHIR_JSON}
    assert requests.get(f"{fhir}/Task/{task['id']}", headers=ro, timeout=10).status_code == 200
    task["status"] = "in-progress"
    ro_put = requests.put(f"{fhir}/Task/{task['id']}", json=task, headers={**ro, "If-Match": 'W/"2"'}, timeout=10)
    assert ro_put.status_code == 403
    assert requests.get(f"{fhir}/CarePlan", headers=ro, timeout=10).status_code == 403
