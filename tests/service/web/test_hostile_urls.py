"""Hostile query values on the web pages (issue #11): a clear 4xx or the default, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.web.conftest import WebCase, sign_in


@pytest.mark.parametrize("days", ["\u00b2", "9" * 5000, "-7", "7.0"])
def test_analytics_window_falls_back_to_30_days(client: Any, web_case: WebCase, days: str) -> None:
    sign_in(client, web_case.planner.username)
    response = client.get("/app/analytics", query_string={"days": days})
    assert response.status_code == 200


@pytest.mark.parametrize("page", ["\u00b2", "9" * 5000, "99999999999999999999"])
def test_worklist_page_number_is_read_as_ascii_digits(client: Any, web_case: WebCase, page: str) -> None:
    sign_in(client, web_case.planner.username)
    response = client.get("/app/worklist", query_string={"page": page, "sort": "name"})
    assert response.status_code == 200


def test_a_nul_in_a_query_value_is_400(client: Any, web_case: WebCase) -> None:
    sign_in(client, web_case.planner.username)
    assert client.get("/app/worklist?unit=a%00b").status_code == 400
