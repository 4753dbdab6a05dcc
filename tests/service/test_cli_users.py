"""`carebridge users add/list/disable/set-role/reset-password` against a database of its own (cli_db)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from werkzeug.security import check_password_hash

from service.cli import main
from service.db import make_engine, make_session_factory
from service.models import User


@pytest.fixture
def cli(cli_db: str) -> Any:
    def run(*args: str, input: str | None = None) -> Any:
        return CliRunner().invoke(main, ["users", *args], input=input)

    def user(username: str) -> User:
        engine = make_engine(os.environ["DATABASE_URL"])
        try:
            with make_session_factory(engine)() as session:
                return session.scalars(select(User).where(User.username == username)).one()
        finally:
            engine.dispose()

    run.org_id = cli_db  # type: ignore[attr-defined]
    run.user = user  # type: ignore[attr-defined]
    return run


def test_add_list_set_role_reset_and_disable(cli: Any) -> None:
    added = cli("add", "dana", "--name", "Dana Planner", "--org", cli.org_id, "--role", "discharge_planner",
                "--password-stdin", input="first password\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    dana = cli.user("dana")
    assert dana.password_hash.startswith("scrypt:") and check_password_hash(dana.password_hash, "first password")

    assert cli("list").output == f"dana\tactive\tdischarge_planner\t{cli.org_id}\tDana Planner\n"

    assert cli("set-role", "dana", "case_manager").output == "dana is now case_manager\n"
    assert cli.user("dana").role == "case_manager"

    reset = cli("reset-password", "dana", input="second password\nsecond password\n")
    assert reset.exit_code == 0, reset.output
    assert "second password" not in reset.output  # the prompt hides what is typed
    assert check_password_hash(cli.user("dana").password_hash, "second password")

    assert cli("disable", "dana").output == "disabled dana\n"
    assert cli("list").output == f"dana\tdisabled\tcase_manager\t{cli.org_id}\tDana Planner\n"


def test_refusals_are_one_clear_line(cli: Any) -> None:
    short = cli("add", "sam", "--name", "Sam", "--org", cli.org_id, "--role", "case_manager",
                "--password-stdin", input="short\n")  # fmt: skip
    assert short.exit_code == 1
    assert short.output == "Error: password too short (password: at least 8 characters)\n"
    unknown = cli("disable", "nobody")
    assert unknown.exit_code == 1 and unknown.output == "Error: User nobody does not exist\n"
    bad_role = cli("set-role", "nobody", "superuser")
    assert bad_role.exit_code == 2 and "'superuser' is not one of" in bad_role.output
    mismatch = cli("reset-password", "nobody", input="password one\npassword two\npassword one\npassword one\n")
    assert "Error: The two entered values do not match." in mismatch.output
