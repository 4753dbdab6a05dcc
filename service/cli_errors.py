"""What the `carebridge` command says when a command fails the way commands are expected to fail.

One line saying what went wrong and what to do, exit status 1; the traceback only with
`carebridge --debug ...` (issue #11: a CLI that answers like a tool).
"""

from __future__ import annotations

import json
from typing import Any

import click
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from connectors.errors import AuthFailed, ConnectorError
from service.usecases.errors import UseCaseError

DEBUG_HINT = "run `carebridge --debug ...` to see the traceback"


class Tool(click.Group):
    """The top-level group: its `--debug` flag decides between one line and the traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as failed:
            if ctx.meta.get("carebridge.debug"):
                raise
            raise click.ClickException(explain(failed)) from None


def explain(failed: Exception) -> str:
    """One line: what went wrong, and what to do about it."""
    if isinstance(failed, AuthFailed):
        return (
            f"the partner refused carebridge's credentials ({failed}); check the partner's client id and key "
            "(carebridge partners show NAME / partners update NAME --client-id ... --key-kid ...) and that "
            "carebridge's /.well-known/jwks.json is registered there"
        )
    if isinstance(failed, ConnectorError):
        return f"{failed}; check the partner's FHIR base and that it answers, then try again"
    if isinstance(failed, UseCaseError):
        fields = failed.details.get("fields") or {}
        return f"{failed.message} {fields}" if fields else failed.message
    if isinstance(failed, DBAPIError) and _missing_table(failed):
        return "the database is not migrated (a table is missing): run `carebridge db upgrade`"
    if isinstance(failed, OperationalError):
        return f"cannot use the database ({type(failed.orig).__name__}); check DATABASE_URL and that it is running"
    if isinstance(failed, json.JSONDecodeError):  # orjson's is one too
        return f"a file is not valid JSON ({failed}); fix the file and try again"
    return f"unexpected {type(failed).__name__}: {failed}; {DEBUG_HINT}"


def _missing_table(failed: DBAPIError) -> bool:
    # SQLite: "no such table: ..."; PostgreSQL: SQLSTATE 42P01 undefined_table.
    if getattr(failed.orig, "sqlstate", None) == "42P01":
        return True
    return isinstance(failed, OperationalError | ProgrammingError) and "no such table" in str(failed.orig)
