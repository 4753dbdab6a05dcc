"""A disabled account cannot sign in, and its open sessions stop at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.usecases import users
from tests.service.web.conftest import PASSWORD, WebCase, csrf_of, sign_in


def test_disabling_ends_the_session_and_refuses_sign_in(client: Any, session: Session, web_case: WebCase) -> None:
    sign_in(client, web_case.planner.username)
    assert client.get("/app/worklist").status_code == 200

    users.disable_user(session, web_case.planner.username)

    assert client.get("/app/worklist").status_code == 302
    token = csrf_of(client.get("/app/signin").text)
    form = {"csrf_token": token, "username": web_case.planner.username, "password": PASSWORD}
    refused = client.post("/app/signin", data=form)
    assert refused.status_code == 401
    assert "this account is disabled; ask your administrator" in refused.text


def test_a_password_reset_signs_out_whoever_held_the_old_one(
    client: Any, session: Session, web_case: WebCase
) -> None:
    sign_in(client, web_case.intakes[0].username)
    users.reset_password(session, web_case.intakes[0].username, "a brand new password")
    assert client.get("/app/queue").status_code == 302
    sign_in(client, web_case.intakes[0].username, "a brand new password")
