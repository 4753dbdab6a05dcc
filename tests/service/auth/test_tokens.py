"""An access token verified once is still checked on every request: its lifetime, its client's
revocation and its signing key (service.auth.tokens keeps verified tokens for their lifetime)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from service import clock
from service.auth import registry
from service.auth.jwts import unverified_claims
from service.models.keys import SigningKey
from tests.service.fhir_api.support import World, bearer


def _read(client: Any, world: World, token: str) -> int:
    status: int = client.get(f"/fhir/R4/Task/{world.ids_a['Task']}", headers=bearer(token)).status_code
    return status


def test_a_used_token_stops_working_when_its_client_is_revoked(
    client: Any, session: Session, world: World, mint: Any
) -> None:
    token = mint(world.a.hospital.id, "system/*.rs")
    assert _read(client, world, token) == 200
    registry.revoke_client(session, unverified_claims(token)["client_id"])
    assert _read(client, world, token) == 401


def test_a_used_token_expires(client: Any, world: World, mint: Any, now: datetime) -> None:
    token = mint(world.a.hospital.id, "system/*.rs")
    assert _read(client, world, token) == 200
    # Tokens live 300 s; 30 s of clock skew is tolerated (service.auth.jwts.LEEWAY).
    clock.set_clock(lambda: now + timedelta(seconds=329))
    assert _read(client, world, token) == 200
    clock.set_clock(lambda: now + timedelta(seconds=331))
    assert _read(client, world, token) == 401


def test_a_used_token_stops_working_when_its_signing_key_is_withdrawn(
    client: Any, session: Session, world: World, mint: Any
) -> None:
    token = mint(world.a.hospital.id, "system/*.rs")
    assert _read(client, world, token) == 200
    session.execute(delete(SigningKey))
    session.commit()
    response = client.get(f"/fhir/R4/Task/{world.ids_a['Task']}", headers=bearer(token))
    assert response.status_code == 401
    assert "signing key" in response.get_json()["issue"][0]["diagnostics"]
