"""Fixtures for sync tests: a partner registered in carebridge for a running peer site."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from connectors.fhir_client import FhirClient
from connectors.http import HttpSettings, RetryPolicy, Transport
from service.models import Partner
from service.sync.connection import Connections
from service.usecases.partners import add_partner
from tests.peers import PeerSite

SCOPES = "system/*.cruds"
# Fast retries: the peers' injected faults clear within a second or two.
FAST = HttpSettings(retry=RetryPolicy(max_attempts=6, max_total_sleep=20.0, base_delay=0.05, max_delay=1.0))


class Keys(dict[str, Any]):
    """A KeyLookup over the keys the test registered (the service would use its keystore)."""

    def __call__(self, kid: str) -> Any:
        return self[kid]


@pytest.fixture
def connections() -> Iterator[Connections]:
    with Connections(Keys(), Transport(FAST)) as conns:
        yield conns


@pytest.fixture
def register_partner(session: Session, connections: Connections) -> Callable[..., Partner]:
    """``register_partner(site, name, organization_id, kind="ehr", **types)``: a Partner for ``site``."""

    def register(site: PeerSite, name: str, organization_id: str, kind: str = "ehr", **types: Any) -> Partner:
        client = site.register_backend_client(SCOPES)
        key = client.settings.private_jwk
        connections.keys[key["kid"]] = key  # type: ignore[index]
        return add_partner(
            session,
            name=name,
            kind=kind,
            organization_id=organization_id,
            fhir_base=site.fhir_base,
            client_id=client.settings.client_id,
            token_endpoint=site.token_endpoint,
            key_kid=key["kid"],
            scopes=SCOPES,
            **types,
        )

    return register


@pytest.fixture
def site_client(connections: Connections) -> Callable[[Partner], FhirClient]:
    """A FhirClient acting as the partner's own staff (same client as carebridge, for brevity)."""
    return connections.client
