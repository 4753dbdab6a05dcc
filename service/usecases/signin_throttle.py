"""Sign-in throttling: after too many failures an account, or a client address, waits.

Per account it stops password guessing against one user; per address it stops one client trying
one password against many users (OWASP Authentication Cheat Sheet, "Protect against automated
attacks"). Counts live in the database in a fixed window, so every web process shares them; a
successful sign-in clears the account's count. The address limit is higher, since a hospital's
staff may share one NAT address.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service import clock
from service.models.web import SigninFailures
from service.usecases.errors import TooManyAttempts
from service.usecases.unit_of_work import unit_of_work

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20


def account_key(username: str) -> str:
    return "account:" + username.strip()[:180]


def address_key(address: str) -> str:
    return "address:" + address[:180]


def _limit(key: str) -> int:
    return ACCOUNT_LIMIT if key.startswith("account:") else ADDRESS_LIMIT


def check(session: Session, keys: list[str]) -> None:
    """Raise TooManyAttempts while any of `keys` has used up its failures in the current window."""
    now = clock.now()
    rows = session.scalars(
        select(SigninFailures).where(SigninFailures.key.in_(keys), SigninFailures.window_started_at > now - WINDOW)
    )
    waits = [row.window_started_at + WINDOW - now for row in rows if row.failures >= _limit(row.key)]
    if waits:
        seconds = math.ceil(max(waits).total_seconds())
        minutes = math.ceil(seconds / 60)
        raise TooManyAttempts(
            f"too many failed sign-ins for this account or from this address; try again in {minutes} minutes",
            retry_after=seconds,
        )


def record_failure(session: Session, keys: list[str]) -> None:
    """Count one failure for each key: one atomic upsert per key, so concurrent processes never lose a count."""
    now = clock.now()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(SigninFailures)
    current = SigninFailures.window_started_at > now - WINDOW
    upsert = insert.on_conflict_do_update(
        index_elements=[SigninFailures.key],
        set_={
            "failures": case((current, SigninFailures.failures + 1), else_=1),
            "window_started_at": case((current, SigninFailures.window_started_at), else_=now),
        },
    )
    with unit_of_work(session):
        session.execute(delete(SigninFailures).where(SigninFailures.window_started_at <= now - WINDOW))
        session.execute(upsert, [{"key": key, "window_started_at": now, "failures": 1} for key in keys])


def clear(session: Session, key: str) -> None:
    with unit_of_work(session):
        row = session.get(SigninFailures, key)
        if row is not None:
            session.delete(row)
