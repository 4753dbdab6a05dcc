"""`carebridge users ...`: the people who sign in (service.usecases.users).

    carebridge users add dana.planner --name "Dana Planner" --org <organization id> --role discharge_planner
    carebridge users list
    carebridge users set-role dana.planner case_manager
    carebridge users reset-password dana.planner            # prompts; or --password-stdin
    carebridge users disable dana.planner
"""

from __future__ import annotations

import sys

import click

from service.cli_clients import open_session
from service.models.parties import USER_ROLES
from service.usecases import users as accounts
from service.usecases.errors import UseCaseError


@click.group()
def users() -> None:
    """People who sign in to the web app and authorise apps, with their organisation and role."""


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _refused(refused: UseCaseError) -> click.ClickException:
    fields = refused.details.get("fields")
    detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in fields.items()) if isinstance(fields, dict) else ""
    return click.ClickException(refused.message + (f" ({detail})" if detail else ""))


_password_stdin = click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")


@users.command("add")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="The name shown in the app and the audit trail.")
@click.option("--org", "organization_id", required=True, help="The organisation the person works for.")
@click.option("--role", required=True, type=click.Choice(USER_ROLES))
@click.option("--time-zone", default="UTC", show_default=True)
@_password_stdin
def add(
    username: str, display_name: str, organization_id: str, role: str, time_zone: str, password_stdin: bool
) -> None:
    """Add a person; asks for their first password."""
    password = _password(password_stdin)
    with open_session() as session:
        try:
            user = accounts.add_user(
                session,
                username=username,
                display_name=display_name,
                organization_id=organization_id,
                role=role,
                password=password,
                time_zone=time_zone,
            )
        except UseCaseError as refused:
            raise _refused(refused) from None
        click.echo(f"added {user.username} ({user.id})")


@users.command("list")
def list_() -> None:
    """One line per person: username, state, role, organisation, name."""
    with open_session() as session:
        for user in accounts.list_users(session):
            state = "active" if user.active else "disabled"
            click.echo(f"{user.username}\t{state}\t{user.role}\t{user.organization_id}\t{user.display_name}")


@users.command("disable")
@click.argument("username")
def disable(username: str) -> None:
    """Stop the person signing in; their sessions and tokens stop working at once."""
    with open_session() as session:
        try:
            accounts.disable_user(session, username)
        except UseCaseError as refused:
            raise _refused(refused) from None
        click.echo(f"disabled {username}")


@users.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(USER_ROLES))
def set_role(username: str, role: str) -> None:
    """Change what the person may do (their sessions and new tokens follow at once)."""
    with open_session() as session:
        try:
            accounts.set_role(session, username, role)
        except UseCaseError as refused:
            raise _refused(refused) from None
        click.echo(f"{username} is now {role}")


@users.command("reset-password")
@click.argument("username")
@_password_stdin
def reset_password(username: str, password_stdin: bool) -> None:
    """Set a new password (prompted twice, hidden); the person's open sessions end."""
    password = _password(password_stdin)
    with open_session() as session:
        try:
            accounts.reset_password(session, username, password)
        except UseCaseError as refused:
            raise _refused(refused) from None
        click.echo(f"password of {username} reset")
