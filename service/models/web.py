"""Web app state kept server side: signed-in sessions (with EHR tokens) and the EHRs that may launch carebridge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, IdType, JSONType, UTCDateTime, new_id, utcnow
from service.sealed import SealedJSON


class WebSession(Base):
    """One browser session. The cookie carries only ``id``; tokens never leave the server.

    An anonymous session (no user yet) holds the CSRF token of the sign-in form or the PKCE
    verifier of a launch in progress.
    """

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # {"iss", "state", "code_verifier"} between /app/launch and its callback.
    pending_launch: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # The EHR user's tokens and launch context (access_token, refresh_token, expires_at, patient, encounter, iss),
    # encrypted at rest like private keys: a refresh token read from a backup would act as that clinician.
    ehr_token: Mapped[dict[str, Any] | None] = mapped_column(SealedJSON)


class EhrRegistration(Base):
    """An EHR whose users may launch carebridge (SMART App Launch), keyed by its FHIR base (``iss``).

    carebridge is a confidential asymmetric client there (private_key_jwt), always with PKCE:
    https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html
    """

    __tablename__ = "ehr_registrations"

    iss: Mapped[str] = mapped_column(String(500), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(200))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    private_jwk: Mapped[dict[str, Any]] = mapped_column(SealedJSON)  # encrypted at rest
    scope: Mapped[str] = mapped_column(Text)
    # The hospital the EHR belongs to: launched users and pulled stays belong to it.
    hospital_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SigninFailures(Base):
    """Failed sign-ins counted per account and per client address in a fixed window.

    In the database, so every gunicorn process and every web server sees the same counts.
    """

    __tablename__ = "signin_failures"

    # "account:<username>" or "address:<client IP>"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer)


class SavedFilter(Base):
    """A worklist filter a person named and keeps (their own; nobody else sees it)."""

    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    # The worklist's query string (unit, planner, from, to, overdue, sort, dir), as the page reads it.
    query: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
