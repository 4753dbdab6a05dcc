"""The transactional outbox: one row per change a partner or subscriber may need to hear about.

Written in the same transaction as the change itself, so a change and its event commit or vanish
together. A relay (``service.usecases.dispatch``) later fans each event out to partner pushes and
subscription notifications and marks it dispatched; nothing is lost if a worker dies in between.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, IdType, UTCDateTime


class ChangeEvent(Base):
    __tablename__ = "change_events"
    __table_args__ = (Index("ix_change_events_pending", "dispatched_at", "id"),)

    # BigInteger on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    entity_type: Mapped[str] = mapped_column(String(40))
    # a derived Observation's or Condition's id is longer than a UUID (migration 6b2f8e4a1c93).
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    patient_id: Mapped[str | None] = mapped_column(IdType)
    action: Mapped[str] = mapped_column(String(40))
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
