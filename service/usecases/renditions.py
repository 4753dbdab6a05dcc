"""Keep and reuse rendered FHIR JSON (`service.models.renditions`) for the types it is kept for.

`current_json_query` pairs each row with its rendition when that rendition is current (same row
version, same code generation) and with NULL otherwise; `keep` stores what was just rendered for
the NULLs, and `refresh_statistics` tells PostgreSQL's planner how many there now are. Storing
is an upsert that never replaces a newer version with an older one, so two exports rendering the
same rows at once, or a change committing meanwhile, leave the newest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.models import Goal, Handoff
from service.models.renditions import GENERATION, Rendition

# FHIR type -> the model whose row alone (at one `version`) determines the resource's JSON.
RENDERED: dict[str, type[Any]] = {"Task": Handoff, "Goal": Goal}


def current_json_query(resource_type: str) -> Select[Any]:
    """SELECT (row id, current rendition JSON or NULL) over the type's model, outer-joined: one
    query whose plan is made once, when the export's cursor opens."""
    model = RENDERED[resource_type]
    current = and_(
        Rendition.resource_type == resource_type,
        Rendition.resource_id == model.id,
        Rendition.version == model.version,
        Rendition.generation == GENERATION,
    )
    return select(model.id, Rendition.json).select_from(model).outerjoin(Rendition, current)


def keep(session: Session, resource_type: str, rows: Sequence[Any], lines: Sequence[bytes]) -> None:
    """Store `lines` (JSON rendered from `rows`, in order) as the renditions of those row versions."""
    if not rows:
        return
    values = [
        {
            "resource_type": resource_type,
            "resource_id": row.id,
            "version": row.version,
            "generation": GENERATION,
            "json": line.decode(),
        }
        for row, line in zip(rows, lines, strict=True)
    ]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(Rendition)
    upsert = insert.on_conflict_do_update(
        index_elements=[Rendition.resource_type, Rendition.resource_id],
        set_={
            "version": insert.excluded.version,
            "generation": insert.excluded.generation,
            "json": insert.excluded.json,
        },
        where=Rendition.version <= insert.excluded.version,
    )
    session.execute(upsert, values)


def refresh_statistics(session: Session) -> None:
    """ANALYZE the table after an export kept many renditions. Until autovacuum gets to it, the
    planner would think the table as empty as before and join it to the next export's rows with
    a nested loop, which makes that export take hours instead of seconds
    (https://www.postgresql.org/docs/current/populate.html#POPULATE-ANALYZE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {Rendition.__tablename__}"))
