"""`carebridge keys ...`: carebridge's token-signing keys (see service.keystore).

carebridge keys generate [--alg RS384|ES384]   # rotate: new active key, previous ones retired
carebridge keys list
carebridge keys reencrypt                      # after rotating CAREBRIDGE_KEY_ENCRYPTION_KEY
"""

from __future__ import annotations

import click

from connectors.keys import SIGNING_ALGS
from service.cli_clients import open_session
from service.keystore import generate_key, published_keys, reencrypt_private_keys


@click.group()
def keys() -> None:
    """Keys carebridge signs its access tokens with (published at /.well-known/jwks.json)."""


@keys.command("generate")
@click.option("--alg", type=click.Choice(SIGNING_ALGS), default="RS384", show_default=True)
def generate(alg: str) -> None:
    """Create a new signing key; it signs from now on, older keys stay published for a while."""
    with open_session() as session:
        row = generate_key(session, alg)  # type: ignore[arg-type]
        session.commit()
        click.echo(row.kid)


@keys.command("list")
def list_() -> None:
    """The published keys: kid, algorithm, created, retired."""
    with open_session() as session:
        rows = published_keys(session)
        for row in rows:
            retired = row.retired_at.isoformat() if row.retired_at else "active"
            click.echo(f"{row.kid}\t{row.alg}\t{row.created_at.isoformat()}\t{retired}")
        if not rows:
            click.echo("no signing keys yet; create one with `carebridge keys generate`")


@keys.command("reencrypt")
def reencrypt() -> None:
    """Encrypt every stored private key under the first CAREBRIDGE_KEY_ENCRYPTION_KEY."""
    with open_session() as session:
        count = reencrypt_private_keys(session)
        click.echo(f"{count} private keys encrypted under the current key-encryption key")
