"""Authenticating a SMART backend client by its signed assertion (private_key_jwt, RFC 7523).

Rules (https://hl7.org/fhir/smart-app-launch/backend-services.html#authenticate-the-client):
`iss` = `sub` = the client id; `aud` = the token endpoint URL; signed with a key from the client's
registered JWKS (inline or by URL); `exp` no more than five minutes ahead; `jti` never reused
within the assertion's lifetime: its whole accepted lifetime, `exp` plus the clock-skew leeway
`verify_jwt` grants (RFC 7523 section 3, https://www.rfc-editor.org/rfc/rfc7523#section-3).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from joserfc.jwk import KeySet
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service import clock
from service.auth.jwts import LEEWAY, InvalidJwt, key_set_from_url, unverified_claims, verify_jwt
from service.auth.tokens import token_endpoint
from service.config import Settings
from service.models.clients import PartnerClient, SeenAssertion

# SMART asks clients to support RS384 and ES384; servers may accept more asymmetric algorithms.
ASSERTION_ALGS = ("RS384", "ES384", "RS256", "ES256", "PS384")
MAX_ASSERTION_LIFETIME = timedelta(minutes=5)


class AssertionRefused(Exception):
    """The client could not be authenticated; the message is safe to return as error_description."""


def authenticate_client(session: Session, settings: Settings, assertion: str, client_id: str | None) -> PartnerClient:
    """The registered client that signed `assertion`, after every RFC 7523 / SMART check."""
    try:
        claimed = unverified_claims(assertion).get("iss")
        client = session.get(PartnerClient, claimed) if isinstance(claimed, str) else None
        if client is None or client.revoked_at is not None or (client_id and client_id != claimed):
            raise AssertionRefused("unknown or revoked client")
        claims = verify_jwt(
            assertion,
            _client_keys(client),
            algorithms=ASSERTION_ALGS,
            issuer=client.client_id,
            audience=token_endpoint(settings),
            required=("exp", "jti", "sub"),
        )
    except InvalidJwt as bad:
        raise AssertionRefused(f"client assertion refused: {bad}") from None
    if claims["sub"] != client.client_id:
        raise AssertionRefused("client assertion sub must be the client id")
    expires = datetime.fromtimestamp(claims["exp"], UTC)
    if expires - clock.now() > MAX_ASSERTION_LIFETIME:
        raise AssertionRefused("client assertion exp is more than 5 minutes ahead")
    # Remember the jti as long as verify_jwt would still accept this exp, not just until exp:
    # forgetting it at exp let an assertion be replayed inside the leeway.
    _remember_jti(session, client.client_id, str(claims["jti"]), expires + timedelta(seconds=LEEWAY))
    return client


def _client_keys(client: PartnerClient) -> KeySet:
    if client.jwks:
        return KeySet.import_key_set(client.jwks)  # type: ignore[arg-type]
    if client.jwks_url:
        return key_set_from_url(client.jwks_url)
    raise InvalidJwt("the client has no registered keys")


def _remember_jti(session: Session, client_id: str, jti: str, until: datetime) -> None:
    """Refuse a jti seen before; remember this one until `until` (and forget those past theirs)."""
    session.execute(delete(SeenAssertion).where(SeenAssertion.expires_at < clock.now()))
    if session.get(SeenAssertion, (client_id, jti)) is not None:
        session.rollback()
        raise AssertionRefused("client assertion jti already used (replay)")
    session.add(SeenAssertion(client_id=client_id, jti=jti, expires_at=until))
    try:
        session.commit()
    except IntegrityError:  # the same assertion raced in on another connection
        session.rollback()
        raise AssertionRefused("client assertion jti already used (replay)") from None
