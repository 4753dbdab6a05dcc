"""Signing in to the web app: passwords, server-side sessions, roles and what a user may see.

The browser cookie holds only a random session id; the user, the CSRF token and any EHR tokens
stay in ``web_sessions`` (OWASP Session Management Cheat Sheet: session ids are random, rotated
at sign-in, and carry no data).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from service import clock
from service.models import CareTeamMember, User
from service.models.web import WebSession
from service.usecases import signin_throttle
from service.usecases.errors import Invalid
from service.usecases.unit_of_work import unit_of_work

SESSION_LIFETIME = timedelta(hours=10)  # one shift
# Path "/": the REST API accepts the same session for same-origin calls from the pages.
SESSION_COOKIE = "carebridge_session"
# Checked when a username is unknown, so a wrong username costs as much time as a wrong password.
_DUMMY_HASH = "scrypt:32768:8:1$dummy$" + "0" * 128


def authenticate(session: Session, username: str, password: str, *, address: str | None = None) -> User:
    """The user with that username and password; one vague error for every failure.

    Throttled per account and per client `address` (service.usecases.signin_throttle): while either
    is over its limit this raises TooManyAttempts before looking at the password.
    """
    keys = [signin_throttle.account_key(username)] + ([signin_throttle.address_key(address)] if address else [])
    signin_throttle.check(session, keys)
    user = session.scalar(select(User).where(User.username == username.strip()))
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    if not check_password_hash(stored, password) or user is None or not user.password_hash:
        signin_throttle.record_failure(session, keys)
        raise Invalid("unknown username or wrong password", fields={"username": ["check username and password"]})
    signin_throttle.clear(session, keys[0])
    if not user.active:  # told only to whoever knows the password
        raise Invalid("this account is disabled; ask your administrator", fields={"username": ["disabled"]})
    return user


def open_session(session: Session, user_id: str | None = None, **state: Any) -> WebSession:
    """A new session with fresh random id and CSRF token (also used to rotate the id at sign-in)."""
    now = clock.now()
    with unit_of_work(session):
        session.execute(delete(WebSession).where(WebSession.expires_at < now))
        web = WebSession(
            id=secrets.token_urlsafe(32),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
            **state,
        )
        session.add(web)
    return web


def find_session(session: Session, session_id: str | None) -> WebSession | None:
    if not session_id:
        return None
    web = session.get(WebSession, session_id)
    if web is None or web.expires_at <= clock.now():
        return None
    return web


def sign_in(session: Session, previous: WebSession | None, user: User, **state: Any) -> WebSession:
    """Replace the anonymous session by a signed-in one (a new id defeats session fixation)."""
    close_session(session, previous)
    return open_session(session, user.id, **state)


def close_session(session: Session, web: WebSession | None) -> None:
    if web is None:
        return
    with unit_of_work(session):
        session.execute(delete(WebSession).where(WebSession.id == web.id))


def update_session(session: Session, web: WebSession, **state: Any) -> WebSession:
    with unit_of_work(session):
        for key, value in state.items():
            setattr(web, key, value)
    return web


def roles(session: Session, user: User) -> list[str]:
    """The user's care-team roles: every care-team role they hold for any patient."""
    found = session.scalars(select(CareTeamMember.role).where(CareTeamMember.user_id == user.id).distinct())
    return sorted(found)


def signed_in(session: Session, session_id: str | None) -> tuple[WebSession | None, User | None]:
    """The session a cookie names and its signed-in user (None when anonymous or disabled)."""
    web = find_session(session, session_id)
    user = session.get(User, web.user_id) if web is not None and web.user_id else None
    return web, user if user is not None and user.active else None


def csrf_ok(web: WebSession | None, sent: str | None) -> bool:
    """The synchronizer token of the session (OWASP CSRF Prevention Cheat Sheet)."""
    return web is not None and secrets.compare_digest(sent or "", web.csrf_token)


def ehr_user(session: Session, *, hospital_id: str, iss: str, fhir_user: str | None) -> User:
    """The carebridge user for an EHR user (``fhirUser`` of the id_token), created at their first launch.

    The EHR has authenticated them; carebridge keeps no password for them, so they can only come in
    through a launch.
    """
    who = fhir_user or "unknown EHR user"
    username = "ehr:" + hashlib.sha256(f"{iss}|{who}".encode()).hexdigest()[:24]
    user = session.scalar(select(User).where(User.username == username))
    if user is not None:
        return user
    with unit_of_work(session):
        # Whoever launches carebridge from inside the hospital's EHR works that hospital's cases.
        user = User(
            username=username,
            display_name=f"{who.rsplit('/', 1)[-1]} (EHR)",
            organization_id=hospital_id,
            role="discharge_planner",
        )
        session.add(user)
    return user
