"""Keep and reuse rendered FHIR JSON (`service.models.renditions`) for the types it is kept for.

Every flush that writes such a row keeps its rendition in the writing transaction
(`_keep_flushed`), so an export mostly copies text. It still renders what has no current
rendition (rows of an older `GENERATION`, kept before an upgrade, or written without the ORM):
`current_json_query` pairs each row with its rendition when that rendition is current (same row
version, same code generation) and with the row's own columns otherwise; a `Keeper` stores what
was just rendered of the latter, and `refresh_statistics` tells PostgreSQL's planner how many
there now are. Storing is an upsert that never replaces a newer version with an older one, so
two exports rendering the same rows at once, or a change committing meanwhile, leave the newest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Select, and_, case, column, event, literal, null, select, table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.models import Goal, Handoff
from service.models.renditions import GENERATION, Rendition

# FHIR type -> the model whose row alone (at one `version`) determines the resource's JSON, the
# same for every reader (unlike a ServiceRequest's performers, `fhir_bridge.render`): kept once,
# served to all.
RENDERED: dict[str, type[Any]] = {"Task": Handoff, "Goal": Goal}
# The label of the current rendition's text in `current_json_query`.
KEPT = "kept_json"


def current_json_query(resource_type: str) -> Select[Any]:
    """SELECT, over the type's model outer-joined to its renditions, each row's current rendition
    (`KEPT`, NULL when there is none at the row's version and the code's generation) and, only
    where it is NULL, the row's columns under their attribute names, so the export renders a stale
    row from this one result row (the renderer reads attributes, a result row has them) instead of
    reading it again. One query, whose plan is made once, when the export's cursor opens; a current
    rendition's row costs no more than its text (CASE evaluates a column only when it is chosen)."""
    model = RENDERED[resource_type]
    current = and_(
        Rendition.resource_type == resource_type,
        Rendition.resource_id == model.id,
        Rendition.version == model.version,
        Rendition.generation == GENERATION,
    )
    stale = Rendition.json.is_(None)
    columns = [case((stale, value), else_=null()).label(value.name) for value in _columns(model)]
    return select(Rendition.json.label(KEPT), *columns).select_from(model).outerjoin(Rendition, current)


def _columns(model: type[Any]) -> list[Any]:
    """The model's columns, each under its attribute name: a result row then reads like the model."""
    return [value.label(key) for key, value in model.__mapper__.columns.items()]


class Keeper:
    """Keeps what one export renders of one type: `add` each batch as it is rendered, `finish` when
    the type's cursor is done. On PostgreSQL a batch is COPied into a temporary table and all are
    merged into the renditions table by `finish`, in one statement. Upserting each batch instead
    had two costs: one INSERT per row (more than rendering cost), and a growing table under the
    export's open cursor, whose plan was made when that table was empty: the join scanned it once
    per row, so the export slowed as it kept renditions. Elsewhere each batch is upserted."""

    def __init__(self, session: Session, resource_type: str) -> None:
        self.session = session
        self.resource_type = resource_type
        self.kept = 0
        self._staging = session.get_bind().dialect.name == "postgresql"

    def add(self, rows: Sequence[Any], lines: Sequence[bytes]) -> None:
        """`lines` are the JSON rendered from `rows` (in order), each at the row's `version`."""
        if not rows:
            return
        if self._staging:
            if not self.kept:  # ON COMMIT DROP: a run that stops before `finish` leaves nothing behind.
                self.session.execute(text(f"CREATE TEMPORARY TABLE {_STAGING.name} ({_STAGING_DDL}) ON COMMIT DROP"))
            psycopg_connection: Any = self.session.connection().connection.driver_connection
            with psycopg_connection.cursor().copy(_COPY_STAGED) as copy:
                for row, line in zip(rows, lines, strict=True):
                    copy.write_row((row.id, row.version, line.decode()))
        else:
            _upsert(self.session.connection(), self.resource_type, rows, lines)
        self.kept += len(rows)

    def finish(self) -> int:
        """Merge what was staged; the number of renditions kept."""
        if self._staging and self.kept:
            staged = select(
                literal(self.resource_type), _STAGING.c.resource_id, _STAGING.c.version, literal(GENERATION),
                _STAGING.c.json,
            )  # fmt: skip
            self.session.execute(_newest_wins(postgresql.insert(Rendition).from_select(_COLUMNS, staged)))
            self.session.execute(text(f"DROP TABLE {_STAGING.name}"))
        return self.kept


_COLUMNS = ("resource_type", "resource_id", "version", "generation", "json")
_STAGING = table("rendition_staging", column("resource_id"), column("version"), column("json"))
_STAGING_DDL = "resource_id varchar(36) NOT NULL, version integer NOT NULL, json text NOT NULL"
_COPY_STAGED = f"COPY {_STAGING.name} (resource_id, version, json) FROM STDIN"


@event.listens_for(Session, "after_flush")
def _keep_flushed(session: Session, _context: Any) -> None:
    """Render each Task and Goal a flush wrote and keep it, in the writing transaction: the first
    export after a load through carebridge's writes then copies text instead of rendering it all.
    The rows are read back as stored and rendered from that, as an export or a read renders them:
    the written objects still hold a partner's JSON as sent, and PostgreSQL's jsonb keeps its keys
    in an order of its own (https://www.postgresql.org/docs/current/datatype-json.html), so their
    rendering would differ in key order from what the API serves. Each later flush of a row renders
    it again (a rendition of the same version is replaced)."""
    from service import fhir_bridge  # it imports use cases: a module-level import would be circular

    written: dict[str, list[str]] = {}
    for obj in (*session.new, *session.dirty):
        resource_type = _TYPE_OF.get(type(obj))
        if resource_type is not None:
            written.setdefault(resource_type, []).append(obj.id)
    connection = session.connection()
    for resource_type, ids in written.items():
        model = RENDERED[resource_type]
        rows = connection.execute(select(*_columns(model)).where(model.id.in_(ids))).all()
        lines = [orjson.dumps(resource) for resource in fhir_bridge.render(session, resource_type, rows, None)]
        _upsert(connection, resource_type, rows, lines)


_TYPE_OF = {model: resource_type for resource_type, model in RENDERED.items()}


def _upsert(connection: Connection, resource_type: str, rows: Sequence[Any], lines: Sequence[bytes]) -> None:
    """Keep `lines` (rendered from `rows`, in order) as those row versions' renditions, one
    statement per row (an executemany): for the few rows a write has."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    values = [
        {"resource_type": resource_type, "resource_id": row.id, "version": row.version, "generation": GENERATION,
         "json": line.decode()}
        for row, line in zip(rows, lines, strict=True)
    ]  # fmt: skip
    connection.execute(_newest_wins(dialect.insert(Rendition)), values)


def _newest_wins(insert: Any) -> Any:
    """The upsert that replaces a kept rendition only with one of the same or a newer version, so
    two exports rendering the same rows at once, or a change committing meanwhile, leave the newest."""
    return insert.on_conflict_do_update(
        index_elements=[Rendition.resource_type, Rendition.resource_id],
        set_={name: insert.excluded[name] for name in _COLUMNS[2:]},
        where=Rendition.version <= insert.excluded.version,
    )


def refresh_statistics(session: Session) -> None:
    """ANALYZE the table after an export kept many renditions. Until autovacuum gets to it, the
    planner would think the table as empty as before and join it to the next export's rows with
    a nested loop, which makes that export take hours instead of seconds
    (https://www.postgresql.org/docs/current/populate.html#POPULATE-ANALYZE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {Rendition.__tablename__}"))
