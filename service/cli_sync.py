"""`carebridge sync ...`: run a pull or push round now, see where each partner stands, fix the outbox.

carebridge sync pull --partner NAME [--since 2026-03-01T00:00:00Z]
carebridge sync push --partner NAME
carebridge sync status
carebridge sync errors [--partner NAME] [--clear]
carebridge sync matches list [--partner NAME]
carebridge sync matches accept|reject MATCH_ID
carebridge sync retry-dead [--partner NAME]
carebridge sync conflict DELIVERY_ID          # base, ours and theirs of each conflicting element
carebridge sync resolve DELIVERY_ID [--element PATH] --take ours|theirs | --element PATH --value JSON
"""

from __future__ import annotations

import getpass
from typing import Any

import click
import orjson
from sqlalchemy import Engine, func, select
from tqdm import tqdm

from service.cli_partners import NO_PARTNERS, cli_session, echo_status, partners
from service.config import Settings
from service.db import make_engine, make_session_factory
from service.models import Delivery
from service.sync import engine, errors, matches
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
    bars: dict[str, tqdm[Any]] = {}

    def progress(resource_type: str, count: int, total: int | None) -> None:
        # One bar per type, with the partner's total for the search when it says it (Bundle.total is optional).
        if resource_type not in bars:
            bars[resource_type] = tqdm(total=total, unit="res", desc=f"pull {name} {resource_type}")
        bars[resource_type].update(count)

    try:
        with cli_session() as session, _connections() as conns:
            report = engine.pull(session, get_partner(session, name), conns, since=since, progress=progress)
    finally:
        for bar in bars.values():
            bar.close()
    for rtype, counts in report.counts.items():
        click.echo(f"{rtype}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for rtype in report.broken:
        click.echo(f"{rtype}: stopped at a page it could not read (see carebridge sync errors); retried next pull")
    if report.stopped:
        click.echo(f"stopped early: {report.stopped}")


@sync.command("push")
@click.option("--partner", "name", required=True)
def push(name: str) -> None:
    """Deliver everything due to the partner."""
    with cli_session() as session, _connections() as conns:
        partner = get_partner(session, name)
        due = session.scalar(select(func.count()).where(Delivery.partner_id == partner.id, Delivery.state == "pending"))
        with tqdm(total=due, unit="res", desc=f"push {name}") as bar:
            tally = engine.push(session, partner, conns, progress=bar.update)
    click.echo(", ".join(f"{k} {v}" for k, v in sorted(tally.items())) or "nothing to send")


@sync.command("status")
def status() -> None:
    """Per partner and type: watermark, push mode (or "partner reads from carebridge"), outbox states."""
    with cli_session() as session:
        rows = list_partners(session)
        for partner in rows:
            click.echo(f"{partner.name} ({partner.kind}, {partner.fhir_base})")
            echo_status(session, partner)
        if not rows:
            click.echo(NO_PARTNERS)
        for row in session.scalars(select(Delivery).where(Delivery.state.in_(("conflict", "dead")))):
            click.echo(f"{row.state} #{row.id} {row.resource_type} {row.entity_id}: {row.error}")


@sync.command("errors")
@click.option("--partner", "name", default=None)
@click.option("--clear", is_flag=True, help="Forget them; the next pull records what still fails.")
def errors_(name: str | None, clear: bool) -> None:
    """Pulled resources (and pages) that could not be applied: why, when first and last seen, how often."""
    with cli_session() as session:
        partner_id = get_partner(session, name).id if name else None
        if clear:
            click.echo(f"{errors.clear(session, partner_id)} sync errors cleared")
            return
        names = {p.id: p.name for p in list_partners(session)}
        rows = errors.list_errors(session, partner_id)
        for row in rows:
            what = f"{row.resource_type}/{row.remote_id}" if row.remote_id else f"{row.resource_type} (a page)"
            seen = f"{row.first_seen:%Y-%m-%d %H:%M} .. {row.last_seen:%Y-%m-%d %H:%M}, {row.count}x"
            click.echo(f"{names[row.partner_id]}\t{what}\t{seen}\t{row.message}")
        if not rows:
            click.echo("no sync errors")


matches_group = click.Group("matches", help="Partner Patients held for a person to decide who they are.")
sync.add_command(matches_group)


@matches_group.command("list")
@click.option("--partner", "name", default=None)
def matches_list(name: str | None) -> None:
    """Open reviews: the partner Patient, the carebridge patient it would match, and why it was held."""
    with cli_session() as session:
        partner_id = get_partner(session, name).id if name else None
        names = {p.id: p.name for p in list_partners(session)}
        rows = matches.list_matches(session, partner_id)
        for row in rows:
            candidate = f"patient {row.patient_id}" if row.patient_id else "no single patient"
            click.echo(f"#{row.id}\t{names[row.partner_id]} Patient/{row.remote_id}\t{candidate}\t{row.reason}")
        if not rows:
            click.echo("no patient matches to review")


@matches_group.command("accept")
@click.argument("match_id", type=int)
def matches_accept(match_id: int) -> None:
    """The partner Patient is the patient the review names: link it and apply its demographics."""
    _decide(match_id, "accept")


@matches_group.command("reject")
@click.argument("match_id", type=int)
def matches_reject(match_id: int) -> None:
    """The partner Patient is someone else: register a new patient for it."""
    _decide(match_id, "reject")


def _decide(match_id: int, decision: str) -> None:
    with cli_session() as session:
        bind = session.get_bind()
        assert isinstance(bind, Engine)
        row = matches.decide(bind, match_id, decision, actor=f"cli:{getpass.getuser()}")
        click.echo(f"match #{row.id} {row.state}")


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
