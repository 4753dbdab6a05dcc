"""`carebridge partners ...`: register the EHRs and payers carebridge syncs with.

    carebridge partners add NAME --kind ehr --organization ORG_ID --fhir-base URL \
        --client-id ID --key-kid KID --scopes "system/*.cruds" [--pull Patient,Encounter,Task] [--push ...] \
        [--trusted-identifier-system urn:oid:... ...]
    carebridge partners update NAME [--client-id ID] [--key-kid KID] [--scopes ...] [--pull ...] [--push ...]
        [--trusted-identifier-system SYSTEM ... | --no-trusted-identifier-systems]
    carebridge partners remove NAME [--drop-queued]
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
from service.usecases.partners import (
    DEFAULT_PULL,
    DEFAULT_PUSH,
    add_partner,
    get_partner,
    list_partners,
    remove_partner,
    update_partner,
)

NO_PARTNERS = "no partners registered; add one with `carebridge partners add NAME --kind ehr|payer ...`"
partners = click.Group("partners", help="Hospital EHRs and payers carebridge syncs with.")
TRUSTED_HELP = (
    "An identifier system whose values name one person at this partner (e.g. its MRN system); "
    "pulled Patients match existing patients only on these. Repeat for several."
)


@contextmanager
def cli_session() -> Iterator[Session]:
    """A session on DATABASE_URL for one command (service.cli_errors explains what fails)."""
    engine = make_engine(Settings.from_env().database_url)
    try:
        with make_session_factory(engine)() as session:
            yield session
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
@click.option("--trusted-identifier-system", "trusted", multiple=True, help=TRUSTED_HELP)
def add(name: str, pull_types: str, push_types: str, trusted: tuple[str, ...], **fields: str) -> None:
    """Register a partner."""
    with cli_session() as session:
        pull, push = _types(pull_types), _types(push_types)
        partner = add_partner(
            session, name=name, pull_types=pull, push_types=push, trusted_identifier_systems=trusted, **fields
        )
        click.echo(f"partner {partner.name} registered ({partner.id})")


@partners.command("update")
@click.argument("name")
@click.option("--client-id", default=None)
@click.option("--key-kid", default=None)
@click.option("--scopes", default=None)
@click.option("--token-endpoint", default=None)
@click.option("--pull", "pull_types", default=None, help="Types to pull, e.g. Patient,Encounter,Task.")
@click.option("--push", "push_types", default=None, help="Types to push, e.g. CarePlan,Goal,ServiceRequest,Task.")
@click.option("--trusted-identifier-system", "trusted", multiple=True, help=TRUSTED_HELP + " Replaces the list.")
@click.option("--no-trusted-identifier-systems", "untrust", is_flag=True, help="Trust no identifier system.")
def update(
    name: str, pull_types: str | None, push_types: str | None, trusted: tuple[str, ...], untrust: bool,
    **fields: str | None,
) -> None:  # fmt: skip
    """Change a partner's client, scopes, types or trusted identifier systems."""
    changes: dict[str, object] = {key: value for key, value in fields.items() if value is not None}
    if pull_types is not None:
        changes["pull_types"] = _types(pull_types)
    if push_types is not None:
        changes["push_types"] = _types(push_types)
    if trusted or untrust:
        changes["trusted_identifier_systems"] = list(trusted)
    if not changes:
        raise click.UsageError("say what to change, e.g. --scopes or --trusted-identifier-system")
    with cli_session() as session:
        partner = update_partner(session, name, changes)
        click.echo(f"partner {partner.name} updated: {', '.join(sorted(changes))}")


@partners.command("remove")
@click.argument("name")
@click.option("--drop-queued", is_flag=True, help="Also drop deliveries still queued for it (they are not sent).")
def remove(name: str, drop_queued: bool) -> None:
    """Remove a partner and its sync state; refused while deliveries are queued unless --drop-queued."""
    with cli_session() as session:
        dropped = remove_partner(session, name, drop_queued=drop_queued)
    counts = ", ".join(f"{n} {state}" for state, n in sorted(dropped.items()))
    click.echo(f"partner {name} removed" + (f"; dropped queued deliveries: {counts}" if counts else ""))


@partners.command("list")
def list_() -> None:
    """Every partner, one a line."""
    with cli_session() as session:
        rows = list_partners(session)
        for partner in rows:
            click.echo(f"{partner.name}\t{partner.kind}\t{partner.fhir_base}")
        if not rows:
            click.echo(NO_PARTNERS)


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
            ("trusted systems", ", ".join(partner.trusted_identifier_systems) or "none"),
            ("capabilities read", partner.capabilities_read_at or "never"),
        ):
            click.echo(f"{label:18} {value}")
        echo_status(session, partner)


def echo_status(session: Session, partner: Partner) -> None:
    status = partner_status(session, partner)
    for t in status.types:
        counts = ", ".join(f"{k} {v}" for k, v in t.deliveries.items() if v) or "-"
        click.echo(f"  {t.resource_type:15} pulled until {t.pulled_until or '-':30} push: {t.push or '-':30} {counts}")
    last = partner.pulled_at.isoformat(timespec="seconds") if partner.pulled_at else "never"
    click.echo(f"  last pull: {last}" + (f", failed: {partner.pull_error}" if partner.pull_error else ""))
    click.echo(
        f"  pull errors: {status.sync_errors} resources not applied ({status.error_occurrences} failed pulls of them;"
        f" carebridge sync errors --partner {partner.name}), patient matches to review: {status.open_matches}"
    )
