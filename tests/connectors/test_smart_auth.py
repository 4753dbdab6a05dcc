import threading
from urllib.parse import parse_qs

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import import_key

from connectors.errors import AuthFailed, TemporaryError
from connectors.keys import public_jwk
from connectors.smart_auth import (
    CLIENT_ASSERTION_TYPE,
    BackendServicesAuth,
    BackendServicesSettings,
    discover,
    parse_smart_configuration,
)

TOKEN_URL = "http://auth.test/token"
FHIR_BASE = "http://fhir.test/fhir/R4"
SCOPE = "system/CarePlan.cruds system/Task.cru"


class Clock:
    def __init__(self, start: float) -> None:
        self.time = start

    def __call__(self) -> float:
        return self.time


@pytest.fixture
def clock(now) -> Clock:
    return Clock(now)


@pytest.fixture(params=["RS384", "ES384"])
def key(request, rs384_key, es384_key):
    return {"RS384": rs384_key, "ES384": es384_key}[request.param]


@pytest.fixture
def auth(key, transport, clock) -> BackendServicesAuth:
    settings = BackendServicesSettings(client_id="cb-1", token_endpoint=TOKEN_URL, private_jwk=key, scope=SCOPE)
    return BackendServicesAuth(settings, transport, clock=clock)


def token_body(token: str = "at-1", expires_in: int | None = 300, **extra) -> dict:
    body = {"access_token": token, "token_type": "bearer", "scope": SCOPE, **extra}
    if expires_in is not None:
        body["expires_in"] = expires_in
    return body


def form_of(call) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(call.request.body).items()}


def test_token_request_is_exactly_client_credentials_with_a_signed_assertion(auth, key, http_mock, now):
    http_mock.post(TOKEN_URL, json=token_body())

    assert auth.access_token() == "at-1"

    form = form_of(http_mock.calls[0])
    assert set(form) == {"grant_type", "scope", "client_assertion_type", "client_assertion"}
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == SCOPE
    assert form["client_assertion_type"] == CLIENT_ASSERTION_TYPE
    assert http_mock.calls[0].request.headers["Content-Type"] == "application/x-www-form-urlencoded"

    # Verified with the public half only, as the partner would.
    token = jwt.decode(form["client_assertion"], import_key(public_jwk(key)), algorithms=[key["alg"]])
    assert token.header == {"alg": key["alg"], "kid": key["kid"], "typ": "JWT"}
    claims = token.claims
    assert claims["iss"] == claims["sub"] == "cb-1"
    assert claims["aud"] == TOKEN_URL
    assert claims["iat"] == int(now)
    assert 0 < claims["exp"] - now <= 300
    assert len(claims["jti"]) >= 32


def test_every_assertion_has_a_new_jti_even_on_a_retried_request(auth, key, http_mock):
    http_mock.post(TOKEN_URL, status=503)
    http_mock.post(TOKEN_URL, json=token_body())

    auth.access_token()

    verify = import_key(public_jwk(key))
    jtis = [jwt.decode(form_of(c)["client_assertion"], verify, [key["alg"]]).claims["jti"] for c in http_mock.calls]
    assert len(jtis) == 2 and jtis[0] != jtis[1]


@pytest.mark.parametrize(
    ("expires_in", "renew_at"),
    [(300, 270), (3600, 3540), (None, 270)],
    ids=["10%-early", "at-most-a-minute-early", "missing-expires_in-is-5-minutes"],
)
def test_token_is_cached_until_shortly_before_it_expires(auth, http_mock, clock, expires_in, renew_at):
    http_mock.post(TOKEN_URL, json=token_body("at-1", expires_in=expires_in))
    http_mock.post(TOKEN_URL, json=token_body("at-2"))
    start = clock.time

    first = auth.access_token()
    clock.time = start + renew_at - 1
    cached = auth.access_token()
    clock.time = start + renew_at
    renewed = auth.access_token()

    assert (first, cached, renewed) == ("at-1", "at-1", "at-2")
    assert len(http_mock.calls) == 2


def test_invalidate_drops_the_refused_token_but_not_a_newer_one(auth, http_mock):
    http_mock.post(TOKEN_URL, json=token_body("at-1"))
    http_mock.post(TOKEN_URL, json=token_body("at-2"))

    old = auth.access_token()
    auth.invalidate(old)
    new = auth.access_token()
    auth.invalidate(old)  # a late 401 for the old token from another thread

    assert (old, new, auth.access_token()) == ("at-1", "at-2", "at-2")
    assert len(http_mock.calls) == 2


def test_concurrent_callers_share_one_token_request(auth, http_mock):
    http_mock.post(TOKEN_URL, json=token_body("at-1"))
    barrier = threading.Barrier(8)
    seen: list[str] = []

    def worker() -> None:
        barrier.wait()
        seen.append(auth.access_token())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert seen == ["at-1"] * 8
    assert len(http_mock.calls) == 1


@pytest.mark.parametrize(
    ("status", "body", "oauth_error"),
    [
        (400, {"error": "invalid_scope", "error_description": "none allowed"}, "invalid_scope"),
        (401, {"error": "invalid_client"}, "invalid_client"),
        (403, "forbidden", None),
    ],
)
def test_refused_token_request_raises_auth_failed(auth, http_mock, status, body, oauth_error):
    http_mock.post(TOKEN_URL, status=status, **({"json": body} if isinstance(body, dict) else {"body": body}))

    with pytest.raises(AuthFailed) as caught:
        auth.access_token()

    assert caught.value.status == status
    assert caught.value.oauth_error == oauth_error
    assert str(caught.value).startswith(f"POST /token -> {status}")
    assert len(http_mock.calls) == 1


@pytest.mark.parametrize("body", [{"token_type": "bearer"}, {"access_token": "x", "token_type": "mac"}, ["x"]])
def test_a_response_that_is_not_a_bearer_token_is_refused(auth, http_mock, body):
    http_mock.post(TOKEN_URL, json=body)

    with pytest.raises(AuthFailed, match="not a Bearer token"):
        auth.access_token()


def test_token_endpoint_outage_is_temporary(auth, http_mock):
    http_mock.post(TOKEN_URL, body=requests.ConnectionError("reset"))

    with pytest.raises(TemporaryError):
        auth.access_token()

    assert len(http_mock.calls) == 3


@pytest.mark.parametrize(
    "change",
    [{"kid": None}, {"alg": "RS256"}, {"alg": None}, {"d": None}],
    ids=["no-kid", "rs256", "no-alg", "public-key"],
)
def test_settings_refuse_unusable_keys(rs384_key, change):
    private = {k: v for k, v in {**rs384_key, **change}.items() if v is not None}
    if "d" in change:
        private = public_jwk(rs384_key)

    with pytest.raises(ValueError):
        BackendServicesSettings(client_id="c", token_endpoint=TOKEN_URL, private_jwk=private, scope=SCOPE)


SMART_CONFIGURATION = {
    "issuer": "http://auth.test",
    "token_endpoint": TOKEN_URL,
    "authorization_endpoint": "http://auth.test/auth",
    "capabilities": ["launch-ehr", "client-confidential-asymmetric"],
    "code_challenge_methods_supported": ["S256"],
    "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
    "grant_types_supported": ["client_credentials", "authorization_code"],
}


def test_discover_reads_the_well_known_smart_configuration(transport, http_mock):
    http_mock.get(f"{FHIR_BASE}/.well-known/smart-configuration", json=SMART_CONFIGURATION)

    smart = discover(transport, FHIR_BASE + "/")

    assert smart.token_endpoint == TOKEN_URL
    assert smart.issuer == "http://auth.test"
    assert smart.authorization_endpoint == "http://auth.test/auth"
    assert "launch-ehr" in smart.capabilities
    assert smart.code_challenge_methods == {"S256"}
    assert smart.token_endpoint_auth_signing_algs == {"RS384", "ES384"}
    assert http_mock.calls[0].request.headers["Accept"] == "application/json"


def test_discover_without_smart_support_fails(transport, http_mock):
    http_mock.get(f"{FHIR_BASE}/.well-known/smart-configuration", status=404)

    with pytest.raises(AuthFailed) as caught:
        discover(transport, FHIR_BASE)

    assert caught.value.status == 404


def test_configuration_without_token_endpoint_is_refused():
    with pytest.raises(AuthFailed):
        parse_smart_configuration({"issuer": "x"})


def test_backend_only_configuration_parses_with_defaults():
    smart = parse_smart_configuration({"token_endpoint": TOKEN_URL})

    assert smart.authorization_endpoint is None
    assert smart.capabilities == frozenset()
