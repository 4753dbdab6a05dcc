import base64
import hashlib
import re
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import import_key

from connectors.errors import AuthFailed, TemporaryError
from connectors.keys import generate_signing_key, public_jwk
from connectors.smart_auth import CLIENT_ASSERTION_TYPE, SmartConfiguration
from connectors.smart_launch import (
    LaunchSettings,
    LaunchToken,
    exchange_code,
    refresh_launch_token,
    start_authorization,
)

FHIR_BASE = "http://fhir.test/fhir/R4"
ISSUER = "http://auth.test"
TOKEN_URL = f"{ISSUER}/token"
SMART = SmartConfiguration(
    token_endpoint=TOKEN_URL,
    issuer=ISSUER,
    authorization_endpoint=f"{ISSUER}/authorize",
    code_challenge_methods=frozenset({"S256"}),
)
SCOPE = "launch openid fhirUser offline_access user/CarePlan.rs"


@pytest.fixture
def settings(es384_key) -> LaunchSettings:
    return LaunchSettings(
        client_id="cb-web",
        private_jwk=es384_key,
        redirect_uri="https://carebridge.test/launch/callback",
        scope=SCOPE,
        fhir_base=FHIR_BASE,
        smart=SMART,
    )


@pytest.fixture(scope="module")
def issuer_key():
    return generate_signing_key("RS384")


def id_token(issuer_key, now: float, **claims) -> str:
    body = {"iss": ISSUER, "aud": "cb-web", "sub": "u1", "iat": int(now), "exp": int(now) + 600}
    body.update(claims)
    return jwt.encode({"alg": "RS384", "kid": issuer_key["kid"]}, body, import_key(issuer_key), ["RS384"])


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


# --- start_authorization -------------------------------------------------------------------------


def test_authorization_url_carries_launch_aud_and_an_s256_challenge(settings):
    request = start_authorization(settings, launch="xyz123")

    assert request.url.startswith(f"{ISSUER}/authorize?")
    query = query_of(request.url)
    expected_challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(request.code_verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    )
    assert query == {
        "response_type": "code",
        "client_id": "cb-web",
        "redirect_uri": "https://carebridge.test/launch/callback",
        "scope": SCOPE,
        "state": request.state,
        "aud": FHIR_BASE,
        "launch": "xyz123",
        "code_challenge": expected_challenge,
        "code_challenge_method": "S256",
    }


def test_verifier_and_state_are_fresh_high_entropy_values(settings):
    first, second = start_authorization(settings, launch=None), start_authorization(settings, launch=None)

    # RFC 7636 §4.1: 43..128 characters from the unreserved set
    assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", first.code_verifier)
    assert len(first.state) >= 32
    assert first.code_verifier != second.code_verifier
    assert first.state != second.state
    assert "launch" not in query_of(first.url)  # standalone launch


def test_extra_parameters_are_added_but_never_replace_protocol_ones(settings):
    request = start_authorization(
        settings, launch="x", extra={"prompt": "consent", "code_challenge_method": "plain", "state": "fixed"}
    )

    query = query_of(request.url)
    assert query["prompt"] == "consent"
    assert query["code_challenge_method"] == "S256"
    assert query["state"] == request.state != "fixed"


def test_existing_query_on_the_authorize_endpoint_is_kept(settings):
    smart = replace(SMART, authorization_endpoint=f"{ISSUER}/authorize?tenant=7")

    url = start_authorization(replace(settings, smart=smart), launch=None).url

    assert query_of(url)["tenant"] == "7"
    assert url.count("?") == 1


@pytest.mark.parametrize("methods", [frozenset(), frozenset({"plain"})])
def test_a_server_without_s256_is_refused(settings, methods):
    with pytest.raises(AuthFailed, match="S256"):
        start_authorization(replace(settings, smart=replace(SMART, code_challenge_methods=methods)), launch="x")


def test_a_server_without_authorization_endpoint_is_refused(settings):
    with pytest.raises(AuthFailed):
        start_authorization(replace(settings, smart=replace(SMART, authorization_endpoint=None)), launch="x")


# --- exchange_code -------------------------------------------------------------------------------


def test_code_exchange_sends_verifier_and_assertion_and_returns_launch_context(
    settings, transport, http_mock, issuer_key, now, es384_key
):
    http_mock.post(
        TOKEN_URL,
        json={
            "access_token": "at",
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": SCOPE,
            "refresh_token": "rt",
            "patient": "pat-1",
            "encounter": "enc-9",
            "id_token": id_token(issuer_key, now, fhirUser="Practitioner/pr-1"),
        },
    )

    token = exchange_code(
        transport,
        settings,
        {"code": "c0de", "state": "s1", "iss": ISSUER},
        expected_state="s1",
        code_verifier="v" * 43,
        clock=lambda: now,
    )

    form = {k: v[0] for k, v in parse_qs(http_mock.calls[0].request.body).items()}
    assertion = form.pop("client_assertion")
    assert form == {
        "grant_type": "authorization_code",
        "code": "c0de",
        "redirect_uri": "https://carebridge.test/launch/callback",
        "code_verifier": "v" * 43,
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
    }
    claims = jwt.decode(assertion, import_key(public_jwk(es384_key)), ["ES384"]).claims
    assert claims["iss"] == claims["sub"] == "cb-web"
    assert claims["aud"] == TOKEN_URL
    assert token.access_token == "at"
    assert token.expires_at == now + 3600
    assert (token.refresh_token, token.patient, token.encounter) == ("rt", "pat-1", "enc-9")
    assert token.fhir_user == "Practitioner/pr-1"
    assert token.scope == SCOPE


@pytest.mark.parametrize("returned", [{"code": "c", "state": "forged"}, {"code": "c"}, {"error": "access_denied"}])
def test_state_mismatch_is_refused_before_any_request(settings, transport, http_mock, returned):
    with pytest.raises(AuthFailed, match="state"):
        exchange_code(transport, settings, returned, expected_state="s1", code_verifier="v" * 43)

    assert len(http_mock.calls) == 0


def test_an_authorization_error_is_reported(settings, transport, http_mock):
    with pytest.raises(AuthFailed) as caught:
        exchange_code(
            transport,
            settings,
            {"state": "s1", "error": "access_denied", "error_description": "user said no"},
            expected_state="s1",
            code_verifier="v" * 43,
        )

    assert caught.value.oauth_error == "access_denied"
    assert len(http_mock.calls) == 0


def test_a_callback_without_code_is_refused(settings, transport):
    with pytest.raises(AuthFailed, match="no code"):
        exchange_code(transport, settings, {"state": "s1"}, expected_state="s1", code_verifier="v" * 43)


def test_a_used_code_is_not_resent_after_a_5xx(settings, transport, http_mock):
    http_mock.post(TOKEN_URL, status=503)

    with pytest.raises(TemporaryError):
        exchange_code(transport, settings, {"code": "c", "state": "s1"}, expected_state="s1", code_verifier="v" * 43)

    assert len(http_mock.calls) == 1


@pytest.mark.parametrize(
    "claims",
    # the conftest clock is 1_700_000_000; 61 s ago is past the 60 s leeway
    [{"aud": "someone-else"}, {"iss": "http://evil.test"}, {"exp": 1_700_000_000 - 61}],
    ids=["aud", "iss", "expired"],
)
def test_an_id_token_for_someone_else_is_refused(settings, transport, http_mock, issuer_key, now, claims):
    token = id_token(issuer_key, now, **claims)
    http_mock.post(TOKEN_URL, json={"access_token": "at", "token_type": "Bearer", "scope": "", "id_token": token})

    with pytest.raises(AuthFailed, match="id_token"):
        exchange_code(
            transport,
            settings,
            {"code": "c", "state": "s"},
            expected_state="s",
            code_verifier="v" * 43,
            clock=lambda: now,
        )


def test_a_malformed_id_token_is_refused(settings, transport, http_mock, now):
    http_mock.post(TOKEN_URL, json={"access_token": "at", "token_type": "Bearer", "scope": "", "id_token": "a.b!.c"})

    with pytest.raises(AuthFailed, match="id_token"):
        exchange_code(transport, settings, {"code": "c", "state": "s"}, expected_state="s", code_verifier="v" * 43)


# --- refresh -------------------------------------------------------------------------------------

OLD = LaunchToken(
    access_token="at-1",
    expires_at=0.0,
    scope=SCOPE,
    refresh_token="rt-1",
    patient="pat-1",
    encounter="enc-1",
    id_token="old.id.token",
    fhir_user="Practitioner/pr-1",
)


def test_refresh_keeps_context_and_refresh_token_the_response_omits(settings, transport, http_mock, now):
    http_mock.post(TOKEN_URL, json={"access_token": "at-2", "token_type": "Bearer", "expires_in": 300, "scope": SCOPE})

    token = refresh_launch_token(transport, settings, OLD, clock=lambda: now)

    form = {k: v[0] for k, v in parse_qs(http_mock.calls[0].request.body).items()}
    assert (form["grant_type"], form["refresh_token"]) == ("refresh_token", "rt-1")
    assert form["client_assertion_type"] == CLIENT_ASSERTION_TYPE
    assert token == replace(OLD, access_token="at-2", expires_at=now + 300)


def test_refresh_takes_a_rotated_refresh_token(settings, transport, http_mock):
    http_mock.post(
        TOKEN_URL, json={"access_token": "at-2", "token_type": "Bearer", "scope": SCOPE, "refresh_token": "rt-2"}
    )

    assert refresh_launch_token(transport, settings, OLD).refresh_token == "rt-2"


def test_refresh_without_refresh_token_is_refused(settings, transport):
    with pytest.raises(AuthFailed, match="offline_access"):
        refresh_launch_token(transport, settings, replace(OLD, refresh_token=None))


def test_an_id_token_cannot_be_checked_without_a_known_issuer(settings, transport, http_mock, issuer_key, now):
    http_mock.post(
        TOKEN_URL,
        json={"access_token": "at", "token_type": "Bearer", "scope": "", "id_token": id_token(issuer_key, now)},
    )

    with pytest.raises(AuthFailed, match="issuer"):
        exchange_code(
            transport,
            replace(settings, smart=replace(SMART, issuer=None)),
            {"code": "c", "state": "s"},
            expected_state="s",
            code_verifier="v" * 43,
        )
