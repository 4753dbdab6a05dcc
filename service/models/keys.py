"""carebridge's own signing keys (the private JWK lives in the database, encrypted; see service.keystore)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime
from service.sealed import SealedJSON


class SigningKey(Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(10))
    private_jwk: Mapped[dict[str, Any]] = mapped_column(SealedJSON)  # encrypted at rest
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Retired keys stay published in the JWKS until tokens signed with them have expired.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
