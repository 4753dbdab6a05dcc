"""`carebridge sync ...`: run a pull or push round now, see where each partner stands, fix the outbox.

carebridge sync pull --partner NAME [--since 2026-03-01T00:00:00Z]
carebridge sync push --partner NAME
carebridge sync status
carebridge sync retry-dead [--partner NAME]
carebridge sync conflict DELIVERY_ID          # base, ours and theirs of each conflicting element
carebridge sync resolve DELIVERY_ID [--element PATH] --take ours|theirs | --element PATH --value JSON
"""

from __future__ import annotations

from datetime import timedelta

import click
import orjson
from sqlalchemy import func, select
from tqdm import tqdm

from service.cli_partners import cli_session, echo_status, partners
from service.config import Settings
from service.db import make_engine, make_session_factory
from service.models import Delivery
from service.sync import engine
from service.sync.connection import Connections, keystore_lookup
from service.sync.merge import three_way
from service.sync.outbox import retry_dead
from service.sync.push import resolve_conflict
from service.usecases.errors import UseCaseError
from service.usecases.partners import get_partner, list_partners

sync = click.Group("sync", help="Pull from and push to partners' FHIR servers.")


def _connections() -> Connections:
    return Connections(keystore_lookup(make_session_factory(make_engine(Settings.from_env().database_url))))


@sync.command("pull")
@click.option("--partner", "name", required=True)
@click.option("--since", default=None, help="Start at this instant instead of the stored watermark.")
def pull(name: str, since: str | None) -> None:
    """Pull every configured type from the partner, page by page."""
    with cli_session() as session, _connections() as conns, tqdm(unit="res", desc=f"pull {name}") as bar:
        partner = get_partner(session, name)

        def progress(resource_type: str, count: int) -> None:
            bar.set_postfix_str(resource_type)
            bar.update(count)

        report = engine.pull(session, partner, conns, since=since, progress=progress)
    for rtype, counts in report.counts.items():
        click.echo(f"{rtype}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


@sync.command("push")
@click.option("--partner", "name", required=True)
def push(name: str) -> None:
    """Deliver everything due to the partner."""
    with cli_session() as session, _connections() as conns:
        partner = get_partner(session, name)
        due = session.scalar(select(func.count()).where(Delivery.partner_id == partner.id, Delivery.state == "pending"))
        with tqdm(total=due, unit="res", desc=f"push {name}") as bar:
            ttl = timedelta(seconds=Settings.from_env().sync_capabilities_seconds)
            tally = engine.push(session, partner, conns, capabilities_ttl=ttl, progress=bar.update)
    click.echo(", ".join(f"{k} {v}" for k, v in sorted(tally.items())) or "nothing to send")


@sync.command("status")
def status() -> None:
    """Per partner and type: watermark, push mode (or "partner reads from carebridge"), outbox states."""
    with cli_session() as session:
        for partner in list_partners(session):
            click.echo(f"{partner.name} ({partner.kind}, {partner.fhir_base})")
            echo_status(session, partner)
        for row in session.scalars(select(Delivery).where(Delivery.state.in_(("conflict", "dead")))):
            click.echo(f"{row.state} #{row.id} {row.resource_type} {row.entity_id}: {row.error}")


@sync.command("retry-dead")
@click.option("--partner", "name", default=None)
def retry(name: str | None) -> None:
    """Queue dead deliveries again (after fixing what the OperationOutcome said)."""
    with cli_session() as session:
        partner_id = get_partner(session, name).id if name else None
        click.echo(f"{retry_dead(session, partner_id)} deliveries queued again")


@sync.command("conflict")
@click.argument("delivery_id", type=int)
def conflict(delivery_id: int) -> None:
    """Show a conflicting delivery: each element both sides changed, with base, ours and theirs."""
    with cli_session() as session:
        row = session.get(Delivery, delivery_id)
        if row is None or row.state != "conflict":
            raise click.ClickException(f"delivery #{delivery_id} is not in conflict")
        base, ours, theirs = row.base or {}, row.ours or {}, row.theirs or {}
        chosen = row.resolutions or {}
        click.echo(f"#{row.id} {row.resource_type} {row.entity_id}: {row.error}")
        for element in three_way(base, ours, theirs).conflicting:
            click.echo(f"=== {element}" + (" (resolved)" if element in chosen else ""))
            for label, side in (("base", base), ("ours (carebridge)", ours), ("theirs (partner)", theirs)):
                click.echo(f"--- {label}: " + orjson.dumps(side.get(element)).decode())


@sync.command("resolve")
@click.argument("delivery_id", type=int)
@click.option("--element", default=None, help="The element to settle (default: every conflicting one).")
@click.option("--take", type=click.Choice(["ours", "theirs"]), default=None)
@click.option("--value", "value_json", default=None, help="The element's value as JSON (null removes it).")
def resolve(delivery_id: int, element: str | None, take: str | None, value_json: str | None) -> None:
    """Settle a conflict element by element; both sides' other changes are kept. When every element
    is settled, the result is written to carebridge's record and pushed to the partner."""
    if (take is None) == (value_json is None) or (value_json is not None and element is None):
        raise click.UsageError("give --take ours|theirs, or --element PATH with --value JSON")
    with cli_session() as session:
        try:
            if value_json is not None:
                row = resolve_conflict(session, delivery_id, element=element, value=orjson.loads(value_json))
            else:
                row = resolve_conflict(session, delivery_id, element=element, take=take)
        except (ValueError, UseCaseError) as exc:  # orjson.JSONDecodeError is a ValueError
            raise click.ClickException(str(exc)) from exc
        click.echo(f"delivery #{row.id} is {row.state}")


def add_to(main: click.Group) -> None:
    """Add ``partners`` and ``sync`` to the main CLI."""
    main.add_command(partners)
    main.add_command(sync)
