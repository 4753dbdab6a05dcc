"""Partners allowed to call carebridge's FHIR API: registered SMART Backend Services clients,
external authorization servers whose tokens carebridge trusts, and the assertion ids seen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
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
