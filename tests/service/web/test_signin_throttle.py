"""Sign-in throttling: 5 failures per account and 20 per client address within 15 minutes, then 429."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from service import clock
from tests.service.web.conftest import PASSWORD, WebCase, csrf_of


def attempt(client: Any, username: str, password: str, address: str = "127.0.0.1") -> Any:
    environ = {"REMOTE_ADDR": address}
    token = csrf_of(client.get("/app/signin", environ_overrides=environ).text)
    form = {"csrf_token": token, "username": username, "password": password}
    return client.post("/app/signin", data=form, environ_overrides=environ)


def at(moment: datetime) -> None:
    clock.set_clock(lambda: moment)


def test_an_account_waits_15_minutes_after_5_failures(client: Any, web_case: WebCase, now: datetime) -> None:
    planner = web_case.planner.username
    for _ in range(5):
        assert attempt(client, planner, "guess").status_code == 401
    at(now + timedelta(minutes=5))
    refused = attempt(client, planner, PASSWORD)  # even the right password: the account waits
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "600"
    assert "too many failed sign-ins for this account or from this address; try again in 10 minutes" in refused.text
    assert attempt(client, planner, PASSWORD, address="10.9.9.9").status_code == 429  # from anywhere
    at(now + timedelta(minutes=15))
    assert attempt(client, planner, PASSWORD).status_code == 303


def test_a_successful_sign_in_clears_the_accounts_failures(client: Any, web_case: WebCase, now: datetime) -> None:
    planner = web_case.planner.username
    for _ in range(2):
        for _ in range(4):
            assert attempt(client, planner, "guess").status_code == 401
        assert attempt(client, planner, PASSWORD).status_code == 303


def test_failures_older_than_the_window_are_forgotten(client: Any, web_case: WebCase, now: datetime) -> None:
    planner = web_case.planner.username
    for _ in range(4):
        assert attempt(client, planner, "guess").status_code == 401
    at(now + timedelta(minutes=16))
    for _ in range(4):
        assert attempt(client, planner, "guess").status_code == 401
    assert attempt(client, planner, PASSWORD).status_code == 303


def test_an_address_waits_after_20_failures_across_accounts(client: Any, web_case: WebCase, now: datetime) -> None:
    for i in range(20):
        assert attempt(client, f"nobody-{i}", "guess", address="203.0.113.7").status_code == 401
    refused = attempt(client, web_case.intakes[0].username, PASSWORD, address="203.0.113.7")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "900"
    # The same users from another address are not held up.
    assert attempt(client, web_case.intakes[0].username, PASSWORD, address="198.51.100.2").status_code == 303

