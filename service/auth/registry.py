"""Registering the clients allowed to call carebridge's APIs (used by `carebridge clients ...`).

A SMART backend client is registered out of band with its public keys (inline JWKS or a JWKS
URL), the scopes it may ask for and the organisation it acts for
(https://hl7.org/fhir/smart-app-launch/backend-services.html#registering-a-smart-backend-service).
An app people use is registered the same way with its redirect URIs and `user/` scopes: public
(no keys, PKCE only) or confidential (private_key_jwt). It acts for whoever signs in, so it has no
organisation of its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service import clock
from service.auth.jwts import ASYMMETRIC_ALGS
from service.auth.scopes import parse_resource_scope, parse_scopes
from service.models import Organization
from service.models.clients import PartnerClient, TrustedIssuer
from service.models.subscriptions import Subscription
from service.usecases.errors import ConflictError, Invalid, NotFound
from service.usecases.unit_of_work import get_or_404, unit_of_work


def _check_scopes(scopes: str) -> None:
    parsed = parse_scopes(scopes)
    unusable = [s for s in parsed.raw if parse_resource_scope(s) is None]
    if not parsed.resource_scopes or unusable:
        raise Invalid(
            "scopes must be SMART resource scopes such as system/Task.rs",
            fields={"scopes": [f"not a resource scope: {s}" for s in unusable] or ["no scope given"]},
        )


def _check_redirect_uris(uris: list[str]) -> None:
    """Absolute https URLs without a fragment; plain http only to the loopback address of a native
    app or script (RFC 6749 s3.1.2, RFC 8252 s7.3)."""
    bad = []
    for uri in uris:
        parts = urlsplit(uri)
        loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "::1", "localhost")
        if not (parts.scheme == "https" or loopback) or not parts.netloc or parts.fragment:
            bad.append(f"not an https (or loopback http) URL without a fragment: {uri}")
    if bad:
        raise Invalid("redirect URIs must be absolute https URLs", fields={"redirect_uris": bad})


def register_client(
    session: Session,
    *,
    name: str,
    scopes: str,
    organization_id: str | None,
    jwks: dict[str, Any] | None = None,
    jwks_url: str | None = None,
    client_id: str | None = None,
    identifier_systems: Sequence[str] = (),
    redirect_uris: list[str] | None = None,
    public: bool = False,
) -> PartnerClient:
    """Add a client. Exactly one of `jwks` / `jwks_url` carries its public keys, except for a
    `public` app, which has none. With `redirect_uris` it is an app people authorise.
    `identifier_systems`: the patient identifier systems the client assigns and is trusted to
    match existing patients on (see service.usecases.adt_messages)."""
    if public and (jwks is not None or jwks_url is not None):
        raise Invalid("a public app has no keys", fields={"jwks": ["leave out for a public app"]})
    if public and not redirect_uris:
        raise Invalid("a public app needs its redirect URIs", fields={"redirect_uris": ["at least one"]})
    if not public and (jwks is None) == (jwks_url is None):
        raise Invalid("give the client's public keys as a JWKS or a JWKS URL", fields={"jwks": ["exactly one"]})
    if redirect_uris:
        _check_redirect_uris(redirect_uris)
        if organization_id is not None:
            raise Invalid("an app people use acts for whoever signs in", fields={"org": ["leave out for an app"]})
    if jwks is not None:
        try:
            KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as bad:
            raise Invalid("the JWKS cannot be read", fields={"jwks": [str(bad)]}) from None
        if any(key.get("d") for key in jwks.get("keys", [])):
            raise Invalid("register public keys only", fields={"jwks": ["contains a private key"]})
    _check_scopes(scopes)
    if any(not system or any(c.isspace() for c in system) for system in identifier_systems):
        raise Invalid("identifier systems are URIs", fields={"identifier_systems": ["empty or contains a space"]})
    with unit_of_work(session):
        if organization_id is not None:
            get_or_404(session, Organization, organization_id)
        client_id = client_id or secrets.token_urlsafe(16)
        if session.get(PartnerClient, client_id) is not None:
            raise ConflictError(f"client {client_id} is already registered")
        client = PartnerClient(
            client_id=client_id,
            name=name,
            organization_id=organization_id,
            allowed_scopes=" ".join(parse_scopes(scopes).raw),
            jwks=jwks,
            jwks_url=jwks_url,
            identifier_systems=" ".join(dict.fromkeys(identifier_systems)),
            created_at=clock.now(),
            redirect_uris=list(redirect_uris) if redirect_uris else None,
            public=public,
        )
        session.add(client)
        return client


def list_clients(session: Session) -> list[PartnerClient]:
    return list(session.scalars(select(PartnerClient).order_by(PartnerClient.created_at, PartnerClient.client_id)))


REVOKED_SUBSCRIPTION = "the subscribing client was revoked"


def revoke_client(session: Session, client_id: str) -> PartnerClient:
    """Refuse the client's assertions and its unexpired tokens from now on, and switch its
    Subscriptions off in the same transaction: a revoked partner hears nothing more, not even
    what was already queued (the delivery checks the client too, see service.usecases.subscriptions)."""
    with unit_of_work(session):
        client = session.get(PartnerClient, client_id)
        if client is None:
            raise NotFound("PartnerClient", client_id)
        if client.revoked_at is None:
            client.revoked_at = clock.now()
        session.execute(
            update(Subscription)
            .where(Subscription.client_id == client_id, Subscription.status != "off")
            .values(status="off", error=REVOKED_SUBSCRIPTION)
        )
        return client


def trust_issuer(
    session: Session,
    *,
    issuer: str,
    jwks_url: str,
    organization_id: str | None,
    algorithms: str = "RS256 RS384 ES256 ES384",
) -> TrustedIssuer:
    """Accept access tokens from an external authorization server (e.g. a hospital's)."""
    refused = [alg for alg in algorithms.split() if alg not in ASYMMETRIC_ALGS]
    if refused or not algorithms.split():
        raise Invalid("only asymmetric JWS algorithms", fields={"algorithms": [f"refused: {', '.join(refused)}"]})
    with unit_of_work(session):
        if organization_id is not None:
            get_or_404(session, Organization, organization_id)
        row = session.get(TrustedIssuer, issuer) or TrustedIssuer(issuer=issuer, created_at=clock.now())
        row.jwks_url = jwks_url
        row.organization_id = organization_id
        row.algorithms = " ".join(algorithms.split())
        session.add(row)
        return row
