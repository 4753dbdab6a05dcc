"""Rendered FHIR JSON of a record at one version, so a bulk export copies text instead of
hydrating and mapping every row again.

Only types whose JSON is a function of their own row are kept (`RENDERED`): a Task (handoff) or a
Goal, at a given optimistic-lock `version` (which every ORM update bumps), always renders the
same. A rendition is current when its `version` and `generation` match the row and the code, so
a change never has to invalidate anything: a stale rendition is simply not used. CarePlan,
ServiceRequest, Patient and Encounter also depend on other rows (goals, recipients, identifiers,
the audit-counted version) and are rendered live.
"""

from __future__ import annotations

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, IdType

# Bump when a mapping's output for a kept type changes: renditions of older generations are stale.
GENERATION = 2


class Rendition(Base):
    __tablename__ = "fhir_renditions"

    resource_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    resource_id: Mapped[str] = mapped_column(IdType, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    generation: Mapped[int] = mapped_column(Integer)
    # The resource's JSON text, meta stamped, exactly as an ndjson line (Text, not JSON: never parsed).
    json: Mapped[str] = mapped_column(Text)
