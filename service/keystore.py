"""carebridge's signing keys, kept in the database (table `signing_keys`).

The newest non-retired key signs access tokens; every key not retired for longer than a token
lives is published at `/.well-known/jwks.json` so tokens stay verifiable across a rotation.
`carebridge keys generate` rotates; `carebridge db upgrade` creates the first key (and so does the
first token issued, should there still be none), so the JWKS an operator registers with partners
is never empty. Private JWKs are encrypted at rest under
`CAREBRIDGE_KEY_ENCRYPTION_KEY` (service.sealed).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from joserfc.jwk import Key, KeySet
from sqlalchemy import ColumnElement, bindparam, exists, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from connectors.keys import SigningAlg, generate_signing_key, public_jwk, signing_key
from service import clock
from service.models.keys import SigningKey
from service.models.web import EhrRegistration, WebSession

# Tokens live at most 300 s (service.auth.tokens); keep retired keys published a little longer.
PUBLISH_RETIRED_FOR = timedelta(minutes=10)

# Deriving a public key imports the private one, which for RSA costs tens of milliseconds (the
# key's consistency checks): that was most of every FHIR request's time. A kid names one key for
# good, so each key set is built once per process; which keys are published is still read per call.
_key_sets: dict[tuple[str, ...], tuple[dict[str, list[dict[str, Any]]], KeySet | None]] = {}


def generate_key(session: Session, alg: SigningAlg = "RS384") -> SigningKey:
    """Add a new signing key (it becomes the active one) and retire the previous ones."""
    now = clock.now()
    for old in session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
        old.retired_at = now
    private = generate_signing_key(alg)
    row = SigningKey(kid=private["kid"], alg=alg, private_jwk=private, created_at=now)
    session.add(row)
    session.flush()
    return row


def reencrypt_private_keys(session: Session) -> int:
    """Seal every private key carebridge holds, and the EHR tokens of open web sessions, under the
    first key-encryption key (after a rotation, or to encrypt values stored before encryption at
    rest); the number of keys rewritten."""
    rows: list[SigningKey | EhrRegistration] = [*session.scalars(select(SigningKey))]
    rows += session.scalars(select(EhrRegistration))
    for row in rows:
        flag_modified(row, "private_jwk")  # the value is the same: write it again, sealed anew
    for web_session in session.scalars(select(WebSession)):
        if web_session.ehr_token is not None:
            flag_modified(web_session, "ehr_token")
    session.commit()
    return len(rows)


def ensure_key(session: Session) -> SigningKey:
    """The active signing key; the first one is created (and committed) when there is none."""
    row = session.scalars(
        select(SigningKey).where(SigningKey.retired_at.is_(None)).order_by(SigningKey.created_at.desc())
    ).first()
    if row is None:
        row = generate_key(session)
        session.commit()
    return row


def active_key(session: Session) -> tuple[str, str, Key]:
    """(kid, alg, private key) to sign with."""
    row = ensure_key(session)
    return row.kid, row.alg, signing_key(row.private_jwk)


def published_keys(session: Session) -> list[SigningKey]:
    return list(session.scalars(_published_query(select(SigningKey))))


def _published_query(query: Any) -> Any:
    return query.where(_is_published()).order_by(SigningKey.created_at)


def _is_published(since: Any = None) -> ColumnElement[bool]:
    since = since if since is not None else clock.now() - PUBLISH_RETIRED_FOR
    return or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > since)


# SQL: the key named by the bound `kid` is still published (a token it signed is still verifiable); bind
# `kid_published_params(kid)`. Built once: it is asked on every request (service.auth.tokens).
KID_PUBLISHED = exists().where(SigningKey.kid == bindparam("kid"), _is_published(bindparam("published_since")))


def kid_published_params(kid: str) -> dict[str, Any]:
    return {"kid": kid, "published_since": clock.now() - PUBLISH_RETIRED_FOR}


def public_jwks(session: Session) -> dict[str, list[dict[str, Any]]]:
    """The JWK Set partners verify carebridge's tokens with (RFC 7517 section 5)."""
    return _published(session)[0]


def verification_keys(session: Session) -> KeySet:
    jwks, key_set = _published(session)
    return key_set if key_set is not None else KeySet.import_key_set(jwks)  # type: ignore[arg-type]


def _published(session: Session) -> tuple[dict[str, list[dict[str, Any]]], KeySet | None]:
    # Every token verification asks: read the kids only, and the (encrypted) keys only when the set changed.
    kids = tuple(session.scalars(_published_query(select(SigningKey.kid))))
    if kids not in _key_sets:
        rows = published_keys(session)
        kids = tuple(row.kid for row in rows)
        jwks = {"keys": [public_jwk(row.private_jwk) for row in rows]}
        _key_sets.clear()  # only the current set is ever asked for again
        _key_sets[kids] = (jwks, KeySet.import_key_set(jwks) if rows else None)  # type: ignore[arg-type]
    return _key_sets[kids]
