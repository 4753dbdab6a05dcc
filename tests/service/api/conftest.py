"""REST API principals: backend-services tokens per organisation, and people signed in to the web app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from service.usecases import signin
from tests.factories import Case
from tests.service.fhir_api.fixtures import make_partner, mint, rsa_key, settings  # noqa: F401

# Everything a backend client of an organisation may be granted (tenancy still limits the rows).
ALL = "system/*.cruds"


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


@pytest.fixture
def as_org(mint: Callable[..., str]) -> Callable[..., dict[str, str]]:  # noqa: F811
    """Headers of a backend client acting for an organisation, with `scope`."""

    def headers(org_id: str | None, scope: str = ALL, **extra: str) -> dict[str, str]:
        return bearer(mint(org_id, scope), **extra)

    return headers


@pytest.fixture
def hospital(as_org: Callable[..., dict[str, str]], case: Case) -> dict[str, str]:
    """The case's hospital, as a backend client with every scope."""
    return as_org(case.hospital.id)


@pytest.fixture
def cookie_session(client: Any, session: Session) -> Callable[..., str]:
    """Sign `user` in (the web app's session cookie on `client`); the session's CSRF token."""

    def sign(user: Any) -> str:
        web = signin.sign_in(session, None, user)
        client.set_cookie(signin.SESSION_COOKIE, web.id)
        return web.csrf_token

    return sign
