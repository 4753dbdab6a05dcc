"""Private keys are encrypted at rest under CAREBRIDGE_KEY_ENCRYPTION_KEY; keys stored before stay usable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from cryptography.fernet import Fernet
from joserfc import jwt
from sqlalchemy import column, select, table
from sqlalchemy.orm import Session

from connectors.keys import generate_signing_key
from service import keystore, sealed
from service.auth.jwts import verify_jwt
from service.db import JSONType
from service.models.keys import SigningKey
from service.sealed import SealError

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
# The table as the database holds it, without the sealing column type: what a dump would show.
RAW = table("signing_keys", column("kid"), column("alg"), column("private_jwk", JSONType), column("created_at"))


@pytest.fixture
def kek(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def use(value: str | None) -> None:
        if value is None:
            monkeypatch.delenv(sealed.ENV, raising=False)
        else:
            monkeypatch.setenv(sealed.ENV, value)
        sealed.keyring.cache_clear()

    use(OLD)
    yield use
    sealed.keyring.cache_clear()


def stored(session: Session, kid: str) -> Any:
    return session.execute(select(RAW.c.private_jwk).where(RAW.c.kid == kid)).scalar_one()


def test_a_new_signing_key_is_stored_encrypted_and_still_signs(session: Session, kek: Any) -> None:
    row = keystore.generate_key(session, "ES384")
    session.commit()
    raw = stored(session, row.kid)
    assert list(raw) == ["fernet"]
    assert row.private_jwk["d"] not in str(raw)
    session.expire_all()
    assert Fernet(OLD).decrypt(raw["fernet"].encode())  # sealed under the configured key
    kid, alg, key = keystore.active_key(session)
    assert (kid, alg) == (row.kid, "ES384")
    token = jwt.encode({"alg": alg, "kid": kid}, {"iss": "i", "aud": "a", "exp": 2**40}, key, algorithms=[alg])
    claims = verify_jwt(token, keystore.verification_keys(session), algorithms=[alg], issuer="i", audience="a")
    assert claims["iss"] == "i"


def test_a_key_stored_before_encryption_is_read_and_reencrypt_seals_it(
    session: Session, kek: Any, now: datetime
) -> None:
    plain = generate_signing_key("RS384")
    session.execute(RAW.insert().values(kid=plain["kid"], alg="RS384", private_jwk=plain, created_at=now))
    session.commit()
    assert stored(session, plain["kid"])["d"] == plain["d"]
    assert session.get(SigningKey, plain["kid"]).private_jwk == plain  # type: ignore[union-attr]

    assert keystore.reencrypt_private_keys(session) == 1
    assert list(stored(session, plain["kid"])) == ["fernet"]


def test_rotation_new_key_first_then_reencrypt_then_old_key_dropped(session: Session, kek: Any) -> None:
    row = keystore.generate_key(session)
    session.commit()
    kek(f"{NEW},{OLD}")
    session.expire_all()
    assert session.get(SigningKey, row.kid).private_jwk["kid"] == row.kid  # type: ignore[union-attr]
    assert keystore.reencrypt_private_keys(session) >= 1
    kek(NEW)
    session.expire_all()
    assert session.get(SigningKey, row.kid).private_jwk["kid"] == row.kid  # type: ignore[union-attr]


def test_the_wrong_key_is_a_clear_error(session: Session, kek: Any) -> None:
    row = keystore.generate_key(session)
    session.commit()
    kek(NEW)
    session.expire_all()
    with pytest.raises(SealError, match="CAREBRIDGE_KEY_ENCRYPTION_KEY lacks the key it was sealed with"):
        session.get(SigningKey, row.kid)


def test_a_malformed_key_is_a_clear_error(kek: Any) -> None:
    kek("not-a-fernet-key")
    with pytest.raises(SealError, match="must hold Fernet keys"):
        sealed.seal({"kty": "EC"})


def test_without_the_variable_the_development_key_is_used_with_a_warning(
    kek: Any, caplog: pytest.LogCaptureFixture
) -> None:
    kek(None)
    token = sealed.seal({"kty": "EC"})
    assert "CAREBRIDGE_KEY_ENCRYPTION_KEY is not set" in caplog.text
    kek(OLD)  # a real key set later still reads what the development key sealed
    assert sealed.unseal(token) == {"kty": "EC"}


def test_an_ehr_launch_client_key_is_stored_encrypted(session: Session, kek: Any, case: Any) -> None:
    from service.models.web import EhrRegistration
    from service.usecases.ehr_registrations import register_ehr

    private = generate_signing_key("ES384")
    register_ehr(
        session,
        iss="http://127.0.0.1:9/fhir",
        client_id="cb",
        redirect_uri="http://127.0.0.1:5000/app/launch/callback",
        private_jwk=private,
        hospital_id=case.hospital.id,
    )
    raw_table = table("ehr_registrations", column("iss"), column("private_jwk", JSONType))
    raw = session.execute(select(raw_table.c.private_jwk)).scalar_one()
    assert list(raw) == ["fernet"] and private["d"] not in str(raw)
    session.expire_all()
    assert session.get(EhrRegistration, "http://127.0.0.1:9/fhir").private_jwk == private  # type: ignore[union-attr]


def test_an_ehr_users_tokens_are_stored_encrypted_and_reencrypt_seals_them_anew(
    session: Session, kek: Any, case: Any
) -> None:
    from service.models.web import WebSession
    from service.usecases.signin import open_session

    tokens = {"iss": "http://127.0.0.1:9/fhir", "access_token": "at-secret-1", "refresh_token": "rt-secret-1"}
    web = open_session(session, ehr_token=tokens)
    raw_table = table("web_sessions", column("id"), column("ehr_token", JSONType))
    raw = session.execute(select(raw_table.c.ehr_token).where(raw_table.c.id == web.id)).scalar_one()
    assert list(raw) == ["fernet"] and "secret" not in str(raw)
    kek(f"{NEW},{OLD}")  # rotated: the new key seals, the old one still reads
    keystore.reencrypt_private_keys(session)
    kek(NEW)
    session.expire_all()
    assert session.get_one(WebSession, web.id).ehr_token == tokens
