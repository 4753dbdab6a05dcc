"""Clients allowed to call carebridge's APIs: registered SMART Backend Services clients and the
apps people authorise (authorization code + PKCE), one registry; external authorization servers
whose tokens carebridge trusts; the assertion ids seen and the authorization codes handed out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, JSONType, UTCDateTime


class PartnerClient(Base):
    __tablename__ = "partner_clients"

    client_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The organisation the client acts for: its tenant boundary. None = carebridge-operated.
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    allowed_scopes: Mapped[str] = mapped_column(Text)
    # Space-separated patient identifier systems this client assigns (its hospital's MRN system):
    # an admit notification from it may match an existing patient on these even when its
    # organisation cannot see that patient yet (service.usecases.adt_messages).
    identifier_systems: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Public keys for private_key_jwt: inline JWKS or a JWKS URL
    # (https://hl7.org/fhir/smart-app-launch/backend-services.html#registering-a-smart-backend-service).
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    jwks_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An app people use (SMART App Launch, authorization code): the exact redirect URIs its codes
    # may go to. None for a backend-services client.
    redirect_uris: Mapped[list[str] | None] = mapped_column(JSONType)
    # A public app has no keys (a script, a native or browser app): PKCE alone binds its code.
    # https://hl7.org/fhir/smart-app-launch/client-public.html
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class TrustedIssuer(Base):
    """An external authorization server (e.g. a hospital's) whose access tokens carebridge accepts."""

    __tablename__ = "trusted_issuers"

    issuer: Mapped[str] = mapped_column(String(500), primary_key=True)
    jwks_url: Mapped[str] = mapped_column(String(500))
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    # Space-separated JWS algorithms accepted from this issuer (never "none", never HS*).
    algorithms: Mapped[str] = mapped_column(String(200), default="RS256 RS384 ES256 ES384")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SeenAssertion(Base):
    """Client-assertion `jti` values, kept until the assertion stops being accepted (`exp` plus the
    clock-skew leeway, see service.auth.client_assertion), so none is used twice
    (https://www.rfc-editor.org/rfc/rfc7523#section-3, item 7)."""

    __tablename__ = "seen_assertions"

    client_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AuthorizationCode(Base):
    """A code handed to an app at its redirect URI, bound to the person who signed in, the app,
    that redirect URI, the granted scopes and the PKCE challenge; short-lived and single-use
    (https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2). Only its SHA-256 is stored."""

    __tablename__ = "authorization_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("partner_clients.client_id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
