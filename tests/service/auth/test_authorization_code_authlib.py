"""A real third-party OAuth client (Authlib's OAuth2Session, PKCE S256, public client) gets a
person's token from a running carebridge and reads the FHIR API with it."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from service.auth import registry
from service.demo import DEMO_PASSWORD
from tests.browser.live_server import LiveApp, live_app  # noqa: F401  (fixture)

REDIRECT = "http://127.0.0.1:8765/callback"  # nothing listens: the test reads the redirect's address


def _sign_in_and_approve(authorization_url: str, username: str) -> str:
    """What the person's browser does: open the URL, sign in, land on the redirect URI (returned)."""
    browser = requests.Session()
    page = browser.get(authorization_url, timeout=30)
    assert page.url.split("?")[0].endswith("/app/signin"), page.url
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    next_url = re.search(r'name="next" value="([^"]+)"', page.text)
    assert csrf and next_url
    form = {"csrf_token": csrf.group(1), "username": username, "password": DEMO_PASSWORD}
    form["next"] = next_url.group(1).replace("&amp;", "&")
    signed = browser.post(urljoin(page.url, "/app/signin"), data=form, allow_redirects=False, timeout=30)
    assert signed.status_code == 303, signed.text
    back = browser.get(urljoin(page.url, signed.headers["Location"]), allow_redirects=False, timeout=30)
    assert back.status_code == 302
    browser.close()
    return str(back.headers["Location"])


def test_authlib_code_flow_with_pkce(live_app: LiveApp) -> None:  # noqa: F811
    with live_app.session() as db:
        registry.register_client(
            db,
            name="authlib app",
            client_id="authlib-app",
            scopes="user/Patient.rs user/Task.rs",
            organization_id=None,
            redirect_uris=[REDIRECT],
            public=True,
        )
    fhir_base = live_app.settings.public_url + "/fhir/R4"
    oauth = OAuth2Session(
        client_id="authlib-app",
        redirect_uri=REDIRECT,
        scope="user/Patient.rs user/Task.rs",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = generate_token(64)
    url, _state = oauth.create_authorization_url(
        f"{live_app.url}/auth/authorize", code_verifier=verifier, aud=fhir_base
    )

    callback = _sign_in_and_approve(url, "dana.planner")
    assert callback.startswith(REDIRECT + "?")

    token = oauth.fetch_token(f"{live_app.url}/auth/token", authorization_response=callback, code_verifier=verifier)
    assert token["token_type"] == "Bearer" and token["scope"] == "user/Patient.rs user/Task.rs"

    patients = oauth.get(f"{live_app.url}/fhir/R4/Patient", params={"_count": 5}, timeout=30)
    assert patients.status_code == 200, patients.text
    bundle = patients.json()
    assert bundle["resourceType"] == "Bundle" and len(bundle["entry"]) == 5
    assert oauth.get(f"{live_app.url}/fhir/R4/CarePlan", timeout=30).status_code == 403  # not granted
