"""`carebridge partners ...`: register the EHRs and payers carebridge syncs with.

    carebridge partners add NAME --kind ehr --organization ORG_ID --fhir-base URL \
        --client-id ID --key-kid KID --scopes "system/*.cruds" [--pull Patient,Encounter,Task] [--push ...]
    carebridge partners list
    carebridge partners show NAME
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from service.config import Settings
from service.db import make_engine, make_session_factory
from service.models.partners import PARTNER_KINDS, Partner
from service.sync.status import partner_status
from service.usecases.errors import UseCaseError
from service.usecases.partners import DEFAULT_PULL, DEFAULT_PUSH, add_partner, get_partner, list_partners

partners = click.Group("partners", help="Hospital EHRs and payers carebridge syncs with.")


@contextmanager
def cli_session() -> Iterator[Session]:
    """A session on DATABASE_URL; use-case errors become a one-line message and exit status 1."""
    engine = make_engine(Settings.from_env().database_url)
    try:
        with make_session_factory(engine)() as session:
            yield session
    except UseCaseError as exc:
        fields = exc.details.get("fields") or {}
        raise click.ClickException(f"{exc.message} {fields}" if fields else exc.message) from exc
    finally:
        engine.dispose()


def _types(value: str) -> list[str]:
    return [t.strip() for t in value.split(",") if t.strip()]


@partners.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice(PARTNER_KINDS), required=True)
@click.option("--organization", "organization_id", required=True, help="carebridge organisation id it acts as.")
@click.option("--fhir-base", required=True)
@click.option("--client-id", required=True, help="carebridge's client id at the partner's authorization server.")
@click.option("--key-kid", required=True, help="kid of carebridge's signing key (carebridge keys generate).")
@click.option("--scopes", required=True, help='e.g. "system/Patient.rs system/Task.cruds"')
@click.option("--token-endpoint", default=None, help="Default: from the partner's smart-configuration.")
@click.option("--pull", "pull_types", default=",".join(DEFAULT_PULL), show_default=True)
@click.option("--push", "push_types", default=",".join(DEFAULT_PUSH), show_default=True)
def add(name: str, pull_types: str, push_types: str, **fields: str) -> None:
    """Register a partner."""
    with cli_session() as session:
        pull, push = _types(pull_types), _types(push_types)
        partner = add_partner(session, name=name, pull_types=pull, push_types=push, **fields)
        click.echo(f"partner {partner.name} registered ({partner.id})")


@partners.command("list")
def list_() -> None:
    """Every partner, one a line."""
    with cli_session() as session:
        for partner in list_partners(session):
            click.echo(f"{partner.name}\t{partner.kind}\t{partner.fhir_base}")


@partners.command("show")
@click.argument("name")
def show(name: str) -> None:
    """A partner's settings, and per type: pulled until, push mode, deliveries."""
    with cli_session() as session:
        partner = get_partner(session, name)
        for label, value in (
            ("name", partner.name),
            ("kind", partner.kind),
            ("organization", partner.organization_id),
            ("fhir base", partner.fhir_base),
            ("client id", partner.client_id),
            ("key kid", partner.key_kid),
            ("scopes", partner.scopes),
            ("pull", ", ".join(partner.pull_types)),
            ("push", ", ".join(partner.push_types)),
            ("capabilities read", partner.capabilities_read_at or "never"),
        ):
            click.echo(f"{label:18} {value}")
        echo_status(session, partner)


def echo_status(session: Session, partner: Partner) -> None:
    status = partner_status(session, partner)
    for t in status.types:
        counts = ", ".join(f"{k} {v}" for k, v in t.deliveries.items() if v) or "-"
        click.echo(f"  {t.resource_type:15} pulled until {t.pulled_until or '-':30} push: {t.push or '-':30} {counts}")
    click.echo(f"  pull errors: {status.sync_errors}")
