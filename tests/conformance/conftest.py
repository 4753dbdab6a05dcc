"""A live carebridge over the demo data on a free loopback port, and a real access token from its
token endpoint (client_credentials + private_key_jwt), for the third-party client tests."""

from __future__ import annotations

import secrets
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select
from werkzeug.serving import make_server

from service.app import create_app, runtime
from service.auth import registry
from service.config import Settings
from service.demo import load_demo
from service.models import Organization

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPES = "system/*.rs system/Task.rus"


@dataclass(frozen=True)
class Live:
    base: str  # the FHIR base
    token: str
    hospital_id: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        # public_url is the server's own address: next links and the token audience use it.
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'demo.db'}",
            secret_key=secrets.token_hex(16),
            celery_eager=True,
            public_url=url,
        )
        load_demo(settings)
        app = create_app(settings)
        key = RSAKey.generate_key(2048, parameters={"kid": "conformance", "alg": "RS384"})
        with runtime(app).session_factory() as session:
            hospital = session.scalars(select(Organization).where(Organization.kind == "hospital")).one()
            client = registry.register_client(
                session,
                name="conformance client",
                scopes=SCOPES,
                organization_id=hospital.id,
                jwks={"keys": [key.as_dict(private=False)]},
            )
            session.commit()
            client_id, hospital_id = client.client_id, hospital.id
        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="carebridge-conformance", daemon=True)
        thread.start()
        try:
            yield Live(f"{url}/fhir/R4", _token(url, client_id, key), hospital_id)
        finally:
            server.shutdown()
            thread.join(timeout=10)


def _token(url: str, client_id: str, key: RSAKey) -> str:
    """A real client-credentials exchange (https://hl7.org/fhir/smart-app-launch/backend-services.html)."""
    token_url = requests.get(f"{url}/fhir/R4/.well-known/smart-configuration", timeout=30).json()["token_endpoint"]
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": token_url, "iat": now, "exp": now + 240}
    claims["jti"] = str(uuid.uuid4())
    assertion = jwt.encode({"alg": "RS384", "kid": key.kid, "typ": "JWT"}, claims, key, algorithms=["RS384"])
    answer = requests.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "scope": SCOPES,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token
