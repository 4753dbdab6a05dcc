"""``carebridge web register-ehr``: let an EHR's users launch carebridge (SMART App Launch).

Without ``--client-id`` carebridge registers itself at the EHR's RFC 7591 endpoint (the
``registration_endpoint`` of its smart-configuration) as a confidential asymmetric client with a
fresh key: https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import click
import requests

from connectors.keys import generate_signing_key, public_jwks
from service.config import Settings
from service.db import make_engine, make_session_factory
from service.usecases.ehr_registrations import DEFAULT_SCOPE, register_ehr

TIMEOUT = 15


def dynamic_registration(iss: str, redirect_uri: str, private_jwk: Mapping[str, Any]) -> str:
    """Register carebridge at the EHR; the client_id it assigns."""
    configuration = requests.get(iss.rstrip("/") + "/.well-known/smart-configuration", timeout=TIMEOUT)
    configuration.raise_for_status()
    endpoint = configuration.json().get("registration_endpoint")
    if not endpoint:
        raise click.ClickException("the EHR offers no registration_endpoint: register by hand and pass --client-id")
    response = requests.post(
        endpoint,
        json={
            "client_name": "carebridge",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "redirect_uris": [redirect_uri],
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": private_jwk["alg"],
            "jwks": public_jwks([private_jwk]),
        },
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    client_id: str = response.json()["client_id"]
    return client_id


@click.group()
def web() -> None:
    """The web app for planners and facilities."""


@web.command("register-ehr")
@click.argument("iss")
@click.option("--hospital-id", required=True, help="The carebridge hospital the EHR belongs to.")
@click.option("--redirect-uri", required=True, help="<carebridge public URL>/app/launch/callback")
@click.option("--client-id", help="Already registered at the EHR (then also pass --private-jwk-file).")
@click.option("--private-jwk-file", type=click.File(), help="The client's private JWK (JSON).")
@click.option("--scope", default=DEFAULT_SCOPE, show_default=True)
def register_ehr_command(
    iss: str, hospital_id: str, redirect_uri: str, client_id: str | None, private_jwk_file: Any, scope: str
) -> None:
    """Let users of the EHR at ISS (its FHIR base) launch carebridge."""
    if client_id and private_jwk_file is None:
        raise click.UsageError("--client-id needs --private-jwk-file")
    private_jwk = json.load(private_jwk_file) if private_jwk_file else generate_signing_key("RS384")
    client_id = client_id or dynamic_registration(iss, redirect_uri, private_jwk)
    engine = make_engine(Settings.from_env().database_url)
    with make_session_factory(engine)() as session:
        register_ehr(
            session,
            iss=iss,
            client_id=client_id,
            redirect_uri=redirect_uri,
            private_jwk=private_jwk,
            hospital_id=hospital_id,
            scope=scope,
        )
    engine.dispose()
    click.echo(f"EHR {iss} registered: client_id {client_id}; launch URL <carebridge>/app/launch")
