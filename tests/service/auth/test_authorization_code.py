"""People's bearer tokens: SMART standalone launch against carebridge's own authorize endpoint
(authorization code + PKCE S256), with web sign-in as its login step.

https://hl7.org/fhir/smart-app-launch/app-launch.html
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from joserfc.jwk import RSAKey
from sqlalchemy.orm import Session

from service import clock
from service.auth import registry
from service.auth.tokens import token_endpoint
from service.config import Settings
from service.models import User
from tests.service.fhir_api.support import Partner
from tests.service.web.conftest import PASSWORD, WebCase, csrf_of

FHIR_BASE = "http://127.0.0.1:5000/fhir/R4"
REDIRECT = "http://127.0.0.1:8765/callback"
APP_SCOPES = "user/Patient.rs user/Encounter.rs user/CarePlan.rs user/ServiceRequest.rs user/Task.cruds"


def register_app(session: Session, **keys: Any) -> str:
    """The operator's `carebridge clients add --redirect-uri ...`: public unless keys are given."""
    client = registry.register_client(
        session,
        name="planner scripts",
        scopes=APP_SCOPES,
        organization_id=None,
        client_id="scripts",
        redirect_uris=[REDIRECT],
        public=not keys,
        **keys,
    )
    return client.client_id


@pytest.fixture
def app_id(session: Session) -> str:
    return register_app(session)


def pkce() -> tuple[str, str]:
    """(verifier, S256 challenge) as RFC 7636 s4.1-4.2 define them."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_params(challenge: str, scope: str, **overrides: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": "scripts",
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": "st-123",
        "aud": FHIR_BASE,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return params


def follow_to_app(client: Any, username: str, params: dict[str, str]) -> dict[str, list[str]]:
    """Open the authorize URL as a browser would, signing in when asked; the app's callback query."""
    response = client.get("/auth/authorize?" + urlencode(params))
    assert response.status_code == 302 and urlsplit(response.location).path == "/app/authorize"
    response = client.get(response.location)
    if urlsplit(response.location).path == "/app/signin":
        next_url = parse_qs(urlsplit(response.location).query)["next"][0]
        token = csrf_of(client.get(response.location).text)
        form = {"csrf_token": token, "username": username, "password": PASSWORD, "next": next_url}
        signed = client.post("/app/signin", data=form)
        assert signed.status_code == 303, signed.text
        response = client.get(signed.location)
    assert response.status_code == 302
    landed = urlsplit(response.location)
    assert f"{landed.scheme}://{landed.netloc}{landed.path}" == REDIRECT
    return parse_qs(landed.query)


def exchange(client: Any, code: str, verifier: str, **overrides: str) -> Any:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": "scripts",
        "code_verifier": verifier,
    }
    form.update(overrides)
    return client.post("/auth/token", data=form)


def get_code(client: Any, username: str, scope: str = "user/Patient.rs user/Task.rs") -> tuple[str, str]:
    verifier, challenge = pkce()
    callback = follow_to_app(client, username, authorize_params(challenge, scope))
    assert callback["state"] == ["st-123"]
    return callback["code"][0], verifier


def test_a_planner_signs_in_authorizes_a_script_and_calls_the_fhir_api(
    client: Any, web_case: WebCase, app_id: str
) -> None:
    code, verifier = get_code(client, web_case.planner.username, "user/Patient.rs user/CarePlan.rs")
    response = exchange(client, code, verifier)
    assert response.status_code == 200, response.text
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert body["scope"] == "user/Patient.rs user/CarePlan.rs"
    assert response.headers["Cache-Control"] == "no-store"

    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    patient_id = web_case.case.patient.id
    read = client.get(f"/fhir/R4/Patient/{patient_id}", headers=bearer)
    assert read.status_code == 200, read.text
    assert read.get_json()["id"] == patient_id
    # The token grants only what was asked for and granted: no Task scope.
    assert client.get("/fhir/R4/Task", headers=bearer).status_code == 403


def test_a_persons_token_works_on_the_rest_api_too(client: Any, web_case: WebCase, app_id: str) -> None:
    code, verifier = get_code(client, web_case.planner.username, "user/Patient.rs user/Encounter.rs")
    bearer = {"Authorization": f"Bearer {exchange(client, code, verifier).get_json()['access_token']}"}
    patient_id = web_case.case.patient.id
    read = client.get(f"/api/patients/{patient_id}", headers=bearer)
    assert read.status_code == 200, read.text
    assert read.get_json()["id"] == patient_id
    assert client.get("/api/worklist", headers=bearer).status_code == 200
    # /api/handoffs answers to Task, which this token was not granted.
    queue = client.get(f"/api/handoffs/queue/{web_case.case.hospital.id}", headers=bearer)
    assert queue.status_code == 403


def test_an_already_signed_in_person_goes_straight_back_to_the_app(
    client: Any, web_case: WebCase, app_id: str
) -> None:
    get_code(client, web_case.planner.username)
    _, challenge = pkce()
    response = client.get("/app/authorize?" + urlencode(authorize_params(challenge, "user/Patient.rs")))
    assert response.status_code == 302 and response.location.startswith(REDIRECT + "?")


def test_scopes_are_narrowed_to_the_role_and_the_app(app: Any, client: Any, web_case: WebCase, app_id: str) -> None:
    # An intake coordinator's role holds user/Patient.rs user/ServiceRequest.rs user/Task.rus
    # user/Organization.rs; the app is registered without AuditEvent.
    asked = "user/Patient.rs user/CarePlan.rs user/Task.cruds user/AuditEvent.rs"
    code, verifier = get_code(client, web_case.intakes[0].username, asked)
    assert exchange(client, code, verifier).get_json()["scope"] == "user/Patient.rs user/Task.rus"

    planners_browser = app.test_client()
    code, verifier = get_code(planners_browser, web_case.planner.username, asked + " user/*.rs")
    granted = exchange(planners_browser, code, verifier).get_json()["scope"]
    assert granted == (
        "user/Patient.rs user/CarePlan.rs user/Task.cruds user/Encounter.rs user/ServiceRequest.rs"
    )


def test_nothing_grantable_is_refused_at_the_app(client: Any, web_case: WebCase, app_id: str) -> None:
    _, challenge = pkce()
    callback = follow_to_app(client, web_case.intakes[0].username, authorize_params(challenge, "user/CarePlan.rs"))
    assert callback["error"] == ["invalid_scope"] and callback["state"] == ["st-123"]
    assert "code" not in callback


def test_a_wrong_verifier_is_refused_and_burns_the_code(client: Any, web_case: WebCase, app_id: str) -> None:
    code, verifier = get_code(client, web_case.planner.username)
    wrong = exchange(client, code, secrets.token_urlsafe(48))
    assert wrong.status_code == 400
    assert wrong.get_json() == {
        "error": "invalid_grant",
        "error_description": "code_verifier does not match the code_challenge (PKCE S256)",
    }
    assert exchange(client, code, verifier).get_json()["error_description"] == "the authorization code was already used"


def test_a_code_is_single_use(client: Any, web_case: WebCase, app_id: str) -> None:
    code, verifier = get_code(client, web_case.planner.username)
    assert exchange(client, code, verifier).status_code == 200
    again = exchange(client, code, verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"


def test_an_expired_code_is_refused(client: Any, web_case: WebCase, app_id: str, now: datetime) -> None:
    code, verifier = get_code(client, web_case.planner.username)
    clock.set_clock(lambda: now + timedelta(seconds=61))
    late = exchange(client, code, verifier)
    assert late.status_code == 400
    assert late.get_json()["error_description"] == "the authorization code has expired"


def test_the_redirect_uri_must_match_the_authorization_requests(client: Any, web_case: WebCase, app_id: str) -> None:
    code, verifier = get_code(client, web_case.planner.username)
    other = exchange(client, code, verifier, redirect_uri="http://127.0.0.1:8765/other")
    assert other.status_code == 400
    assert other.get_json()["error_description"] == "redirect_uri differs from the authorization request's"


def test_an_unregistered_redirect_uri_is_never_followed(client: Any, web_case: WebCase, app_id: str) -> None:
    _, challenge = pkce()
    params = authorize_params(challenge, "user/Patient.rs", redirect_uri="https://evil.example/cb")
    response = client.get("/app/authorize?" + urlencode(params))
    assert response.status_code == 400
    assert "redirect_uri is not registered for the app" in response.text


@pytest.mark.parametrize(
    ("override", "description"),
    [
        ({"code_challenge_method": "plain"}, "PKCE is required: code_challenge with code_challenge_method=S256"),
        ({"code_challenge_method": ""}, "PKCE is required: code_challenge with code_challenge_method=S256"),
        ({"aud": "https://other.example/fhir"}, f"aud must be carebridge's FHIR base URL, {FHIR_BASE}"),
        ({"state": ""}, "state is required"),
    ],
)
def test_bad_authorization_requests_go_back_to_the_app_with_an_error(
    client: Any, web_case: WebCase, app_id: str, override: dict[str, str], description: str
) -> None:
    _, challenge = pkce()
    response = client.get("/app/authorize?" + urlencode(authorize_params(challenge, "user/Patient.rs", **override)))
    assert response.status_code == 302
    callback = parse_qs(urlsplit(response.location).query)
    assert callback["error"] == ["invalid_request"]
    assert callback["error_description"] == [description]


def test_a_confidential_app_cannot_exchange_without_its_assertion(
    client: Any, session: Session, web_case: WebCase
) -> None:
    register_app(session, jwks_url="https://127.0.0.1:9/jwks.json")
    code, verifier = get_code(client, web_case.planner.username)
    response = exchange(client, code, verifier)
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


def test_a_confidential_app_exchanges_with_its_private_key_jwt(
    client: Any, session: Session, web_case: WebCase, rsa_key: RSAKey, settings: Settings
) -> None:
    register_app(session, jwks={"keys": [rsa_key.as_dict(private=False)]})
    code, verifier = get_code(client, web_case.planner.username)
    assertion = Partner("scripts", rsa_key).assertion(token_endpoint(settings))
    response = exchange(
        client,
        code,
        verifier,
        client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion=assertion,
    )
    assert response.status_code == 200, response.text
    assert response.get_json()["scope"] == "user/Patient.rs user/Task.rs"


def test_a_disabled_persons_token_stops_working_at_once(
    client: Any, session: Session, web_case: WebCase, app_id: str
) -> None:
    code, verifier = get_code(client, web_case.planner.username)
    token = exchange(client, code, verifier).get_json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/fhir/R4/Patient/{web_case.case.patient.id}", headers=bearer).status_code == 200
    planner = session.get(User, web_case.planner.id)
    assert planner is not None
    planner.active = False
    session.commit()
    assert client.get(f"/fhir/R4/Patient/{web_case.case.patient.id}", headers=bearer).status_code == 401


def test_revoking_the_app_stops_its_peoples_tokens(
    client: Any, session: Session, web_case: WebCase, app_id: str
) -> None:
    code, verifier = get_code(client, web_case.planner.username)
    bearer = {"Authorization": f"Bearer {exchange(client, code, verifier).get_json()['access_token']}"}
    registry.revoke_client(session, app_id)
    assert client.get(f"/fhir/R4/Patient/{web_case.case.patient.id}", headers=bearer).status_code == 401


def test_a_planners_app_resolves_every_reference_of_their_patients_stay_and_care_team(
    session: Session, client: Any, web_case: WebCase
) -> None:
    scopes = "user/Encounter.rs user/CareTeam.rs user/Location.rs user/PractitionerRole.rs user/Organization.rs"
    registry.register_client(
        session, name="Bedside viewer", scopes=scopes, organization_id=None, client_id="scripts",
        redirect_uris=[REDIRECT], public=True,
    )  # fmt: skip
    code, verifier = get_code(client, web_case.planner.username, scopes)
    response = exchange(client, code, verifier)
    assert response.get_json()["scope"] == scopes  # the planner's role holds each of them
    bearer = {"Authorization": f"Bearer {response.get_json()['access_token']}"}
    patient_id = web_case.case.patient.id
    references = []
    for resource_type in ("Encounter", "CareTeam"):
        bundle = client.get(f"/fhir/R4/{resource_type}", query_string={"patient": patient_id}, headers=bearer)
        assert bundle.status_code == 200, bundle.text
        references += re.findall(r'"reference":"((?:Location|PractitionerRole|Organization)/[^"]+)"', bundle.text)
    # The ward and bed of the stay (4 West, bed 12A), the hospital, and the planner on the care team.
    assert sorted(ref.split("/")[0] for ref in set(references)) == [
        "Location", "Location", "Organization", "PractitionerRole"
    ]  # fmt: skip
    for reference in references:
        assert client.get(f"/fhir/R4/{reference}", headers=bearer).status_code == 200, reference
