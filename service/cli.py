"""The ``carebridge`` command: database, web server, worker, demo data, and the feature groups."""

from __future__ import annotations

import ipaddress

import click

from service.cli_errors import Tool
from service.config import DEV_SECRET_KEY, Settings


@click.group(cls=Tool)
@click.option("--debug", is_flag=True, help="Show the traceback when a command fails.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """carebridge: care coordination across hospitals, post-acute providers and payers."""
    ctx.meta["carebridge.debug"] = debug


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (SQLite file by default, or DATABASE_URL), create the first
    token-signing key, so /.well-known/jwks.json has a key to register with partners, and load
    the screening instruments carebridge ships."""
    from service.cli_clients import open_session
    from service.keystore import ensure_key
    from service.migrate import upgrade
    from service.usecases.questionnaires import load_shipped

    settings = Settings.from_env()
    upgrade(settings.database_url)
    with open_session() as session:
        ensure_key(session)
        load_shipped(session)  # the screening instruments carebridge ships, current
    click.echo(f"database is up to date ({_redact(settings.database_url)})")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", type=int, help="Processes  [default: 1 on SQLite, 2 otherwise]")
@click.option("--threads", type=int, help="Threads per process  [default: 8 on SQLite, 4 otherwise]")
def serve(host: str, port: int, workers: int | None, threads: int | None) -> None:
    """Run the web server (gunicorn)."""
    from service.wsgi_server import run, sizing

    settings = Settings.from_env()
    default_workers, default_threads = sizing(settings)
    if settings.secret_key == DEV_SECRET_KEY and not _is_loopback(host):
        # Anyone who knows the public development key could forge what it signs.
        raise click.ClickException(f"refusing to listen on {host} with the development SECRET_KEY; set SECRET_KEY")

    run(host=host, port=port, workers=workers or default_workers, threads=threads or default_threads)


@main.command()
@click.option("--beat/--no-beat", default=False, help="Also run the periodic scheduler in this process.")
@click.option("--concurrency", default=2, show_default=True, type=int)
def worker(beat: bool, concurrency: int) -> None:
    """Run a Celery worker (add more on other machines for scale)."""
    from service.worker import celery_app

    argv = ["worker", "--loglevel=INFO", f"--concurrency={concurrency}"]
    if beat:
        argv.append("--beat")
    celery_app.worker_main(argv)


@main.command()
@click.option("--stays", default=25, show_default=True, type=int, help="Inpatients to create.")
def demo(stays: int) -> None:
    """Load realistic demo data: a hospital, three SNFs, a home-health agency, a payer, inpatients."""
    from service.demo import load_demo

    settings = Settings.from_env()
    summary = load_demo(settings, stays=stays)
    click.echo(summary)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


# Feature groups are added after the core commands, which they may import from here.
from service.cli_clients import add_to as add_client_commands  # noqa: E402
from service.cli_fhir import fhir  # noqa: E402
from service.cli_followups import followups  # noqa: E402
from service.cli_questionnaires import questionnaires  # noqa: E402
from service.cli_sync import add_to as add_sync_commands  # noqa: E402
from service.cli_users import users  # noqa: E402
from service.web.cli import web  # noqa: E402

main.add_command(fhir)
main.add_command(users)  # people: accounts, roles, passwords
main.add_command(questionnaires)  # screening instruments
main.add_command(followups)  # follow-ups by discharge disposition
add_client_commands(main)  # FHIR API: clients, keys
add_sync_commands(main)
main.add_command(web)  # web app: register-ehr


if __name__ == "__main__":
    main()
