"""`carebridge clients ...`: register, list and revoke the partners allowed to call the FHIR API,
and trust external authorization servers.

    carebridge clients add --name "Oak SNF intake" --org <organization id> \
        --scopes "system/Task.rsu system/ServiceRequest.rs system/Patient.rs" --jwks-url https://partner/jwks.json
    carebridge clients add --name auditor --scopes system/AuditEvent.rs --jwks-file auditor-public.json
    carebridge clients add --name "planner scripts" --public --redirect-uri http://127.0.0.1:8765/callback \
        --scopes "user/Patient.rs user/Task.rs user/CarePlan.rs"
    carebridge clients list
    carebridge clients revoke <client id>
    carebridge clients trust-issuer --issuer https://ehr.example/oidc \
        --jwks-url https://ehr.example/oidc/jwks --org <id>
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy.orm import Session

from service.auth import registry
from service.config import Settings
from service.db import make_engine, make_session_factory
from service.usecases.errors import UseCaseError


def open_session() -> Session:
    """A session on the configured database (DATABASE_URL), for one CLI command."""
    return make_session_factory(make_engine(Settings.from_env().database_url))()  # type: ignore[no-any-return]


def add_to(main: click.Group) -> None:
    """Add `clients` and `keys` to the `carebridge` command."""
    from service.cli_keys import keys

    main.add_command(clients)
    main.add_command(keys)


@click.group()
def clients() -> None:
    """Clients of carebridge's APIs: partners' backend services and the apps people sign in to."""


@clients.command("add")
@click.option("--name", required=True)
@click.option("--scopes", required=True, help="Space-separated SMART scopes the client may request.")
@click.option("--org", "organization_id", default=None, help="The organisation the client acts for.")
@click.option("--jwks-url", default=None, help="Where the client publishes its public keys.")
@click.option("--jwks-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@click.option("--client-id", default=None, help="Defaults to a random id.")
@click.option(
    "--identifier-system",
    "identifier_systems",
    multiple=True,
    help="A patient identifier system the client assigns (e.g. its hospital's MRN system): its admit "
    "notifications may match existing patients on it. Repeatable.",
)
@click.option(
    "--redirect-uri",
    "redirect_uris",
    multiple=True,
    help="An app people sign in to (authorization code + PKCE): where its codes may go. Repeatable.",
)
@click.option("--public", is_flag=True, help="The app has no keys (a script or native app): PKCE alone.")
def add(
    name: str,
    scopes: str,
    organization_id: str | None,
    jwks_url: str | None,
    jwks_file: Path | None,
    client_id: str | None,
    identifier_systems: tuple[str, ...],
    redirect_uris: tuple[str, ...],
    public: bool,
) -> None:
    """Register a client; prints its client id."""
    jwks = json.loads(jwks_file.read_text()) if jwks_file else None
    with open_session() as session:
        try:
            client = registry.register_client(
                session,
                name=name,
                scopes=scopes,
                organization_id=organization_id,
                jwks=jwks,
                jwks_url=jwks_url,
                client_id=client_id,
                identifier_systems=identifier_systems,
                redirect_uris=list(redirect_uris),
                public=public,
            )
        except UseCaseError as refused:
            raise click.ClickException(f"{refused.message} {refused.details or ''}".strip()) from None
        click.echo(client.client_id)


@clients.command("list")
def list_() -> None:
    """One line per client: id, state, kind (backend, app, app-public), organisation, scopes, name."""
    with open_session() as session:
        rows = registry.list_clients(session)
        for client in rows:
            state = "revoked" if client.revoked_at else "active"
            kind = "app-public" if client.public else "app" if client.redirect_uris else "backend"
            click.echo(
                f"{client.client_id}\t{state}\t{kind}\t{client.organization_id or '-'}\t{client.allowed_scopes}"
                f"\t{client.name}"
            )
        if not rows:
            click.echo("no clients registered; add one with `carebridge clients add --name ... --scopes ...`")


@clients.command("revoke")
@click.argument("client_id")
def revoke(client_id: str) -> None:
    """Refuse the client's assertions and tokens from now on, and switch its Subscriptions off."""
    with open_session() as session:
        try:
            registry.revoke_client(session, client_id)
        except UseCaseError as refused:
            raise click.ClickException(refused.message) from None
        click.echo(f"revoked {client_id}")


@clients.command("trust-issuer")
@click.option("--issuer", required=True, help="The `iss` of the external authorization server's tokens.")
@click.option("--jwks-url", required=True)
@click.option("--org", "organization_id", default=None, help="The organisation its tokens act for.")
@click.option("--algorithms", default="RS256 RS384 ES256 ES384", show_default=True)
def trust_issuer(issuer: str, jwks_url: str, organization_id: str | None, algorithms: str) -> None:
    """Accept access tokens signed by an external authorization server."""
    with open_session() as session:
        try:
            registry.trust_issuer(
                session, issuer=issuer, jwks_url=jwks_url, organization_id=organization_id, algorithms=algorithms
            )
        except UseCaseError as refused:
            raise click.ClickException(refused.message) from None
        click.echo(f"trusting {issuer}")
