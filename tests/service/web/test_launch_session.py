"""An EHR launch that does not complete leaves whoever is signed in signed in.

Any site can send a signed-in user to /app/launch?iss=... (a link or an image is enough); before
the fix that replaced their session, so one crafted link signed them out.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from sqlalchemy.orm import Session

from connectors.keys import generate_signing_key
from service.usecases.ehr_registrations import register_ehr
from tests.service.web.conftest import WebCase, sign_in

EHR = "http://127.0.0.1:9/ehr/fhir"


@pytest.fixture
def ehr(session: Session, web_case: WebCase) -> Any:
    register_ehr(
        session,
        iss=EHR,
        client_id="carebridge",
        redirect_uri="http://127.0.0.1:5000/app/launch/callback",
        private_jwk=generate_signing_key("ES384"),
        hospital_id=web_case.case.hospital.id,
    )
    with responses.RequestsMock() as mocked:
        mocked.get(
            f"{EHR}/.well-known/smart-configuration",
            json={
                "authorization_endpoint": "http://127.0.0.1:9/ehr/authorize",
                "token_endpoint": "http://127.0.0.1:9/ehr/token",
                "code_challenge_methods_supported": ["S256"],
            },
        )
        yield mocked


def test_a_launch_started_by_another_site_does_not_sign_the_user_out(client: Any, web_case: WebCase, ehr: Any) -> None:
    sign_in(client, web_case.planner.username)
    cookie = client.get_cookie("carebridge_session", path="/").value

    launched = client.get("/app/launch", query_string={"iss": EHR, "launch": "xyz"})
    assert launched.status_code == 302
    assert parse_qs(urlsplit(launched.location).query)["launch"] == ["xyz"]

    assert client.get_cookie("carebridge_session", path="/").value == cookie
    assert client.get("/app/worklist").status_code == 200  # still signed in, same session


def test_a_failed_callback_keeps_the_session_too(client: Any, web_case: WebCase, ehr: Any) -> None:
    sign_in(client, web_case.planner.username)
    client.get("/app/launch", query_string={"iss": EHR, "launch": "xyz"})
    refused = client.get("/app/launch/callback", query_string={"code": "stolen", "state": "not-the-state"})
    assert refused.status_code == 409
    assert client.get("/app/worklist").status_code == 200


def test_a_launch_without_a_session_opens_an_anonymous_one(client: Any, web_case: WebCase, ehr: Any) -> None:
    launched = client.get("/app/launch", query_string={"iss": EHR, "launch": "xyz"})
    assert launched.status_code == 302
    assert client.get_cookie("carebridge_session", path="/") is not None
    assert client.get("/app/worklist").status_code == 302  # nobody is signed in by a launch alone
