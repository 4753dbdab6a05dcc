"""A live carebridge over the demo data on a free loopback port, and a real access token from its
token endpoint (client_credentials + private_key_jwt), for the third-party client tests."""

from __future__ import annotations

import os
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
    payer_token: str  # the demo payer's client, for its Group (bulk export)
    payer_id: str


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
            # The eager bulk export task needs a result backend.
            celery_result_backend="cache+memory://",
            public_url=url,
        )
        load_demo(settings)
        app = create_app(settings)
        key = RSAKey.generate_key(2048, parameters={"kid": "conformance", "alg": "RS384"})
        clients = {}
        with runtime(app).session_factory() as session:
            for kind in ("hospital", "payer"):
                org = session.scalars(select(Organization).where(Organization.kind == kind)).one()
                client = registry.register_client(
                    session,
                    name=f"conformance {kind} client",
                    scopes=SCOPES,
                    organization_id=org.id,
                    jwks={"keys": [key.as_dict(private=False)]},
                )
                session.commit()
                clients[kind] = (client.client_id, org.id)
        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="carebridge-conformance", daemon=True)
        thread.start()
        exports = os.environ.get("CAREBRIDGE_EXPORT_DIR")
        os.environ["CAREBRIDGE_EXPORT_DIR"] = str(Path(tmp) / "exports")  # bulk export files, not instance/
        try:
            (hospital_client, hospital_id), (payer_client, payer_id) = clients["hospital"], clients["payer"]
            hospital_token, payer_token = _token(url, hospital_client, key), _token(url, payer_client, key)
            yield Live(f"{url}/fhir/R4", hospital_token, hospital_id, payer_token, payer_id)
        finally:
            server.shutdown()
            thread.join(timeout=10)
            if exports is None:
                os.environ.pop("CAREBRIDGE_EXPORT_DIR", None)
            else:
                os.environ["CAREBRIDGE_EXPORT_DIR"] = exports


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
