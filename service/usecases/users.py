"""People's accounts, managed by an operator (`carebridge users ...`).

Passwords are hashed with werkzeug's scrypt (`generate_password_hash`'s default: a memory-hard
function, the first choice of the OWASP Password Storage Cheat Sheet after Argon2id, and already a
dependency through Flask). Disabling an account keeps its history but ends its sessions at once;
its bearer tokens are refused from the next request, since every token check reads the account.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from service.models import Organization, User
from service.models.parties import USER_ROLES
from service.models.web import WebSession
from service.usecases.errors import ConflictError, Invalid, NotFound
from service.usecases.unit_of_work import get_or_404, unit_of_work

# NIST SP 800-63B s5.1.1.2: at least 8 characters, no other composition rules.
MIN_PASSWORD_LENGTH = 8


def add_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    organization_id: str,
    role: str,
    password: str,
    time_zone: str = "UTC",
) -> User:
    _check_role(role)
    with unit_of_work(session):
        get_or_404(session, Organization, organization_id)
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise ConflictError(f"user {username} already exists")
        user = User(
            username=username,
            display_name=display_name,
            organization_id=organization_id,
            role=role,
            password_hash=_hash(password),
            time_zone=time_zone,
            active=True,
        )
        session.add(user)
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.organization_id, User.username)))


def disable_user(session: Session, username: str) -> User:
    """The account can no longer sign in; its open sessions end now."""
    with unit_of_work(session):
        user = _by_username(session, username)
        user.active = False
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return user


def set_role(session: Session, username: str, role: str) -> User:
    _check_role(role)
    with unit_of_work(session):
        user = _by_username(session, username)
        user.role = role
    return user


def reset_password(session: Session, username: str, password: str) -> User:
    """A new password; sessions opened with the old one end (whoever knew it is signed out)."""
    with unit_of_work(session):
        user = _by_username(session, username)
        user.password_hash = _hash(password)
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return user


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid("password too short", fields={"password": [f"at least {MIN_PASSWORD_LENGTH} characters"]})
    return generate_password_hash(password)  # scrypt


def _check_role(role: str) -> None:
    if role not in USER_ROLES:
        raise Invalid("unknown role", fields={"role": [f"one of {', '.join(USER_ROLES)}"]})


def _by_username(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("User", username)
    return user


def names_of(session: Session, usernames: Iterable[str]) -> dict[str, str]:
    """People's names by username, to credit them by name (a backend client's id is not a user: absent)."""
    wanted = set(usernames)
    if not wanted:
        return {}
    query = select(User.username, User.display_name).where(User.username.in_(wanted))
    return {username: name for username, name in session.execute(query)}
