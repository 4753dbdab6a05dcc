from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.service.web.conftest import PASSWORD, WebCase, csrf_of, sign_in


def test_pages_need_sign_in_and_come_back_after_it(client: Any, web_case: WebCase) -> None:
    response = client.get("/app/worklist?unit=4+West")
    assert response.status_code == 302
    location = urlsplit(response.location)
    assert location.path == "/app/signin"
    assert parse_qs(location.query)["next"] == ["/app/worklist?unit=4+West"]
    token = csrf_of(client.get(response.location).text)
    signed = client.post(
        "/app/signin",
        data={
            "csrf_token": token,
            "username": web_case.planner.username,
            "password": PASSWORD,
            "next": "/app/worklist",
        },
    )
    assert signed.status_code == 303 and signed.location == "/app/worklist"


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client: Any, web_case: WebCase) -> None:
    token = csrf_of(client.get("/app/signin").text)
    for username, password in ((web_case.planner.username, "nope"), ("nobody", PASSWORD)):
        response = client.post("/app/signin", data={"csrf_token": token, "username": username, "password": password})
        assert response.status_code == 401
        assert "unknown username or wrong password" in response.text


def test_a_post_without_the_session_csrf_token_is_refused(client: Any, web_case: WebCase) -> None:
    client.get("/app/signin")
    response = client.post("/app/signin", data={"username": web_case.planner.username, "password": PASSWORD})
    assert response.status_code == 403
    sign_in(client, web_case.planner.username)
    stay_id = web_case.case.stay.id
    forged = client.post(f"/app/stays/{stay_id}/barriers", data={"csrf_token": "forged", "category": "transport"})
    assert forged.status_code == 403
    assert client.get(f"/app/stays/{stay_id}").text.count("Wheelchair") == 0


def test_sign_in_rotates_the_session_id_and_keeps_nothing_but_the_id_in_the_cookie(
    client: Any, web_case: WebCase
) -> None:
    client.get("/app/signin")
    before = client.get_cookie("carebridge_session", path="/").value
    sign_in(client, web_case.planner.username)
    after = client.get_cookie("carebridge_session", path="/").value
    assert before != after
    assert web_case.planner.id not in after and len(after) == 43


def test_sign_out_ends_the_session(client: Any, web_case: WebCase) -> None:
    token = sign_in(client, web_case.planner.username)
    assert client.post("/app/signout", data={"csrf_token": token}).status_code == 303
    assert client.get("/app/worklist").status_code == 302


def test_header_shows_roles_from_care_team_membership_and_the_time_zone(client: Any, web_case: WebCase) -> None:
    sign_in(client, web_case.planner.username)
    page = client.get("/app/worklist").text
    assert "Discharge planner" in page
    assert "Times in America/New_York" in page


def test_open_redirects_are_refused(client: Any, web_case: WebCase) -> None:
    token = csrf_of(client.get("/app/signin").text)
    response = client.post(
        "/app/signin",
        data={
            "csrf_token": token,
            "username": web_case.planner.username,
            "password": PASSWORD,
            "next": "//evil.example/app",
        },
    )
    assert response.location == "/app/"
