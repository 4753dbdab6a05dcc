"""A FhirClient for a registered partner: SMART backend services with the key named by its kid.

The private key comes from carebridge's keystore (`service.keystore`, table ``signing_keys``) by
default; tests and tools may pass any ``KeyLookup``. One `BackendServicesAuth` is kept per partner
and key in a `Connections`, so every client for that partner reuses the cached token.
https://hl7.org/fhir/smart-app-launch/backend-services.html
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.fhir_client import FhirClient
from connectors.http import Transport
from connectors.smart_auth import BackendServicesAuth, BackendServicesSettings, discover
from service.models import Partner

KeyLookup = Callable[[str], Mapping[str, Any]]


class Connections:
    """One Transport and one token cache per partner; ``client(partner)`` gives a FhirClient sharing them."""

    def __init__(self, keys: KeyLookup, transport: Transport | None = None) -> None:
        self.keys = keys
        self.transport = transport or Transport()
        self._auths: dict[tuple[str, ...], BackendServicesAuth] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> Connections:
        return self

    def __exit__(self, *exc: object) -> None:
        self.transport.close()

    def client(self, partner: Partner) -> FhirClient:
        # Every setting the token depends on: a `partners update` takes effect in a running worker.
        key = (partner.id, partner.key_kid, partner.client_id, partner.scopes, partner.token_endpoint or "")
        with self._lock:
            auth = self._auths.get(key)
            if auth is None:
                token_endpoint = partner.token_endpoint or discover(self.transport, partner.fhir_base).token_endpoint
                settings = BackendServicesSettings(
                    client_id=partner.client_id,
                    token_endpoint=token_endpoint,
                    private_jwk=self.keys(partner.key_kid),
                    scope=partner.scopes,
                )
                auth = self._auths[key] = BackendServicesAuth(settings, self.transport)
        return FhirClient(partner.fhir_base, auth=auth, transport=self.transport)


def keystore_lookup(session_factory: Callable[[], Session]) -> KeyLookup:
    """Private JWKs from carebridge's keystore, by kid."""

    def lookup(kid: str) -> Mapping[str, Any]:
        from service.models.keys import SigningKey

        with session_factory() as session:
            row = session.scalar(select(SigningKey).where(SigningKey.kid == kid))
        if row is None:
            raise LookupError(f"no signing key with kid {kid!r} in the keystore (carebridge keys generate)")
        return row.private_jwk

    return lookup
