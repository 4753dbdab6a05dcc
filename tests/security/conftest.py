"""The access matrix's world (two hospitals' patients, each with a plan, a goal, a referral to two
SNFs) and its principals: people of every role with their own bearer tokens, backend clients of
a hospital, an SNF and a payer, and patient-context tokens."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from service.auth import registry
from service.auth.policy import principal_for_user
from service.auth.scopes import parse_scopes
from service.auth.tokens import issue_access_token
from service.config import Settings
from service.models import User
from service.models.clients import PartnerClient
from tests.service.fhir_api.fixtures import make_partner, mint, rsa_key, settings, world  # noqa: F401


@pytest.fixture
def person_token(session: Session, settings: Settings) -> Callable[[User], str]:  # noqa: F811
    """A bearer token a person authorised for a registered app: what their role grants (the token
    endpoint narrows the app's `user/*.cruds` to the role the same way)."""

    def issue(user: User) -> str:
        session.add(user)
        app = registry.register_client(
            session, name="matrix app", scopes="user/*.cruds", organization_id=None, public=True,
            redirect_uris=["http://127.0.0.1:8765/callback"],
        )  # fmt: skip
        row = session.get(PartnerClient, app.client_id)
        assert row is not None
        granted = principal_for_user(user, parse_scopes("user/*.cruds")).scopes
        return issue_access_token(session, settings, row, granted, user=user)[0]

    return issue
