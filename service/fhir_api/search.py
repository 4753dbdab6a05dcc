"""Type-level search: parameters -> SQL over the rows the caller may see -> a searchset Bundle.

Paging is keyset on the resource id (`_cursor` = the last id of the previous page): a page never
shifts when rows are added or changed while a client pages through, unlike offsets
(https://hl7.org/fhir/R4/http.html#paging leaves the method to the server).
Unknown parameters are refused with 400 unless the client sends `Prefer: handling=lenient`
(https://hl7.org/fhir/R4/search.html#errors), in which case they are ignored and left out of the
self link.

`Bundle.total` is optional, and counting every match costs in proportion to the data, not to the
page. So it is given when it is free (the whole result fits on the first page) or when the client
asks for it with `_total=accurate`; `_total=none` and `_total=estimate` never pay for a count
(https://hl7.org/fhir/R4/search.html#total).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from service.auth import policy
from service.auth.context import AccessContext
from service.auth.policy import visible_rows
from service.fhir_api.outcome import FhirError
from service.fhir_api.params import date_clause, split_or
from service.fhir_api.resources import CARE_TEAM_EXISTS, INCLUDES, KINDS, ResourceKind
from service.limits import ascii_int

DEFAULT_COUNT = 20
MAX_COUNT = 200
# Result parameters carebridge understands (https://hl7.org/fhir/R4/search.html#return).
CONTROL = frozenset({"_count", "_cursor", "_include", "_revinclude", "_format", "_id", "_lastUpdated", "_total"})
TOTALS = frozenset({"none", "estimate", "accurate"})
FORMATS = frozenset({"json", "application/json", "application/fhir+json"})
MAX_REVINCLUDED = 1000


@dataclass
class SearchRequest:
    kind: ResourceKind
    filters: list[ColumnElement[bool]] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    cursor: str | None = None
    includes: list[str] = field(default_factory=list)
    revincludes: list[str] = field(default_factory=list)
    accurate_total: bool = False
    # The parameters actually applied (for self/next links), in the order given.
    applied: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class SearchResult:
    matches: list[Any]
    included: dict[str, list[Any]]  # resource type -> rows
    total: int | None  # None: not counted (see the module's docstring)
    next_cursor: str | None


def parse(kind: ResourceKind, args: MultiDict[str, str], *, base_url: str, lenient: bool) -> SearchRequest:
    request = SearchRequest(kind)
    model = kind.model
    for name, value in args.items(multi=True):
        if name == "_count":
            request.count = _count(value)
        elif name == "_cursor":
            request.cursor = value
            continue
        elif name == "_total":
            if value not in TOTALS:
                raise FhirError(400, f"_total must be one of {', '.join(sorted(TOTALS))}, got '{value}'")
            request.accurate_total = value == "accurate"
        elif name == "_format":
            if value not in FORMATS:
                raise FhirError(406, f"carebridge answers in JSON only, not '{value}'", code="not-supported")
        elif name in ("_include", "_revinclude"):
            allowed = kind.includes if name == "_include" else kind.revincludes
            if value not in allowed:
                if lenient:
                    continue
                accepted = ", ".join(allowed) or "none"
                raise FhirError(400, f"{name}={value} is not supported on {kind.name} (supported: {accepted})")
            (request.includes if name == "_include" else request.revincludes).append(value)
        elif name == "_id":
            request.filters.append(model.id.in_(split_or(value)))
        elif name == "_lastUpdated":
            request.filters.append(date_clause(name, value, kind.last_updated))
        elif name in kind.params:
            param = kind.params[name]
            alternatives = [param.clause(v, base_url) for v in split_or(value)]
            if not alternatives:
                raise FhirError(400, f"parameter '{name}' needs a value")
            request.filters.append(or_(*alternatives))
        elif lenient:
            continue
        else:
            supported = ", ".join(sorted(CONTROL - {"_cursor"} | set(kind.params)))
            raise FhirError(
                400, f"unknown search parameter '{name}' for {kind.name} (supported: {supported})", code="not-supported"
            )
        request.applied.append((name, value))
    return request


def _count(value: str) -> int:
    count = ascii_int(value)
    if count is None or count < 1:
        raise FhirError(400, f"_count must be a positive integer, got '{value}'")
    return min(count, MAX_COUNT)


def _base_query(request: SearchRequest, visible: ColumnElement[bool]) -> Select[Any]:
    kind = request.kind
    query = select(kind.model).where(visible, *request.filters)
    if kind.name == "CareTeam":
        query = query.where(CARE_TEAM_EXISTS)
    return query


def execute(session: Session, ctx: AccessContext, request: SearchRequest, visible: ColumnElement[bool]) -> SearchResult:
    """Run `request` over the rows matching `visible` (the caller's tenancy filter)."""
    model = request.kind.model
    query = _base_query(request, visible)
    page = query if request.cursor is None else query.where(model.id > request.cursor)
    rows = list(session.scalars(page.order_by(model.id).limit(request.count + 1)))
    next_cursor = rows[request.count - 1].id if len(rows) > request.count else None
    matches = rows[: request.count]
    total: int | None = None
    if request.accurate_total:
        total = session.scalar(select(func.count()).select_from(query.with_only_columns(model.id).subquery())) or 0
    elif request.cursor is None and next_cursor is None:
        total = len(matches)
    included: dict[str, list[Any]] = {}
    for value in request.includes:
        _add(included, _related(session, ctx, value, matches, reverse=False))
    for value in request.revincludes:
        _add(included, _related(session, ctx, value, matches, reverse=True))
    return SearchResult(matches, included, total, next_cursor)


def _add(included: dict[str, list[Any]], found: tuple[str, list[Any]] | None) -> None:
    if found is None:
        return
    resource_type, rows = found
    have = {row.id for row in included.get(resource_type, [])}
    included.setdefault(resource_type, []).extend(row for row in rows if row.id not in have)


def _related(
    session: Session, ctx: AccessContext, value: str, matches: Sequence[Any], *, reverse: bool
) -> tuple[str, list[Any]] | None:
    """The rows `_include`/`_revinclude=value` adds for `matches`, limited to what `ctx` may read.

    Types the token cannot read are left out silently, as SMART servers do with includes
    (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-fhir-resources).
    """
    target_type, source_column, target_column = INCLUDES[value]
    added_type = value.partition(":")[0] if reverse else target_type
    if not policy.allows(ctx, added_type, "r") or not matches:
        return None
    if reverse:
        keys = {getattr(row, target_column.key) for row in matches}
        where, model = source_column.in_(keys), KINDS[added_type].model
    else:
        keys = {getattr(row, source_column.key) for row in matches} - {None}
        where, model = target_column.in_(keys), KINDS[added_type].model
    if not keys:
        return added_type, []
    query = select(model).where(where, visible_rows(ctx, added_type)).order_by(model.id).limit(MAX_REVINCLUDED)
    return added_type, list(session.scalars(query))


def page_link(base_url: str, resource_type: str, request: SearchRequest, cursor: str | None) -> str:
    params = list(request.applied)
    if cursor is not None:
        params.append(("_cursor", cursor))
    query = urlencode(params)
    return f"{base_url}/{resource_type}" + (f"?{query}" if query else "")
