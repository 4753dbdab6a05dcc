"""Fixtures for FHIR API and auth tests: partner clients with real keys, tokens obtained from
carebridge's own token endpoint, and a two-patient world. Imported by the conftests that need them."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import RSAKey
from sqlalchemy.orm import Session, sessionmaker

from service.auth import registry
from service.auth.scopes import parse_scopes
from service.auth.tokens import issue_access_token, token_endpoint
from service.config import Settings
from service.models.clients import PartnerClient
from tests.factories import build_case
from tests.service.fhir_api.support import ASSERTION_TYPE, Partner, World, populate


@pytest.fixture(scope="session")
def rsa_key() -> RSAKey:
    # One key for the whole run: RSA generation is slow, and tests only need a distinct client id.
    return RSAKey.generate_key(2048, parameters={"kid": "partner-" + secrets.token_hex(4), "alg": "RS384"})


@pytest.fixture(name="app")
def export_app(session_factory: sessionmaker[Any], database_url: str) -> Any:
    """The shared app, with an in-memory result backend: the eager export task needs one. Import
    it (with `export_dir`) into a module that runs `$export`."""
    from service.app import create_app

    settings = Settings(database_url=database_url, celery_eager=True, celery_result_backend="cache+memory://")
    return create_app(settings, session_factory=session_factory)


@pytest.fixture(autouse=True)
def export_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAREBRIDGE_EXPORT_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def settings(app: Any) -> Settings:
    from service.app import runtime

    return runtime(app).settings


@pytest.fixture
def make_partner(session: Session, rsa_key: RSAKey) -> Callable[..., Partner]:
    def make(organization_id: str | None, scopes: str, *, identifier_systems: tuple[str, ...] = ()) -> Partner:
        client = registry.register_client(
            session,
            name="test partner",
            scopes=scopes,
            organization_id=organization_id,
            jwks={"keys": [rsa_key.as_dict(private=False)]},
            identifier_systems=identifier_systems,
        )
        return Partner(client.client_id, rsa_key)

    return make


@pytest.fixture
def get_token(client: Any, settings: Settings) -> Callable[[Partner, str], str]:
    """A real client-credentials exchange at POST /auth/token."""

    def fetch(partner: Partner, scope: str) -> str:
        response = client.post(
            "/auth/token",
            data={
                "grant_type": "client_credentials",
                "scope": scope,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": partner.assertion(token_endpoint(settings)),
            },
        )
        assert response.status_code == 200, response.get_json()
        token: str = response.get_json()["access_token"]
        return token

    return fetch


@pytest.fixture
def world(session: Session, now: datetime) -> World:
    a = build_case(session, now, mrn="MRN-A")
    b = build_case(session, now, mrn="MRN-B")
    return World(a, b, populate(session, a), populate(session, b))


@pytest.fixture
def mint(session: Session, settings: Settings, make_partner: Callable[..., Partner]) -> Callable[..., str]:
    """An access token for a new client of `organization_id`, issued directly (no assertion)."""

    def issue(organization_id: str | None, scope: str, *, patient_id: str | None = None) -> str:
        partner = make_partner(organization_id, scope)
        client = session.get(PartnerClient, partner.client_id)
        assert client is not None
        token, _ = issue_access_token(session, settings, client, parse_scopes(scope), patient_id=patient_id)
        return token

    return issue
