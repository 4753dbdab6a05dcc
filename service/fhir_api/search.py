"""Type-level search: parameters -> SQL over the rows the caller may see -> a searchset Bundle.

Paging is keyset on the resource id (`_cursor` = the last id of the previous page): a page never
shifts when rows are added or changed while a client pages through, unlike offsets
(https://hl7.org/fhir/R4/http.html#paging leaves the method to the server). A search with `_sort`
pages by offset (`_cursor=+N`), since its order is not the id's.
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
from service.auth.policy import CARE_TEAM_EXISTS, visible_rows
from service.fhir_api.outcome import FhirError
from service.fhir_api.params import date_clause, split_or
from service.fhir_api.resources import CARE_TEAM_MEMBERS, INCLUDES, KINDS, PROVENANCE_TARGET, ResourceKind
from service.limits import ascii_int
from service.usecases import directory

DEFAULT_COUNT = 20
MAX_COUNT = 200
# Result parameters carebridge understands (https://hl7.org/fhir/R4/search.html#return).
CONTROL = frozenset(
    {"_count", "_cursor", "_include", "_revinclude", "_format", "_id", "_lastUpdated", "_total", "_summary"}
    | {"_sort", "_elements", "_totalMethod"}
)
# Aidbox's name for _total (count | estimate | none), which fhirpy's count() sends with _count=0.
TOTAL_METHODS = {"count": "accurate", "estimate": "estimate", "none": "none"}
TOTALS = frozenset({"none", "estimate", "accurate"})
SUMMARIES = frozenset({"count", "false"})
MAX_REVINCLUDED = 1000
SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}


@dataclass
class SearchRequest:
    kind: ResourceKind
    filters: list[ColumnElement[bool]] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    cursor: str | None = None
    includes: list[str] = field(default_factory=list)
    revincludes: list[str] = field(default_factory=list)
    accurate_total: bool = False
    # _summary=count or _count=0: the total only (https://hl7.org/fhir/R4/search.html#summary).
    count_only: bool = False
    # (column, descending) pairs from _sort, in order.
    sort: list[tuple[Any, bool]] = field(default_factory=list)
    # _elements: the top-level elements to return (None: all).
    elements: list[str] | None = None
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
        base_name, _, modifier = name.partition(":")
        if name == "_count":
            request.count = count_param(value)
            request.count_only = request.count == 0
        elif name == "_cursor":
            request.cursor = value
            continue
        elif name == "_total":
            if value not in TOTALS:
                raise FhirError(400, f"_total must be one of {', '.join(sorted(TOTALS))}, got '{value}'")
            request.accurate_total = value == "accurate"
        elif name == "_totalMethod":
            if value not in TOTAL_METHODS:
                raise FhirError(400, f"_totalMethod must be one of {', '.join(TOTAL_METHODS)}, got '{value}'")
            request.accurate_total = TOTAL_METHODS[value] == "accurate"
        elif name == "_summary":
            if value not in SUMMARIES:
                if lenient:
                    continue
                raise FhirError(400, f"_summary={value} is not supported (use count or false)", code="not-supported")
            request.count_only = value == "count"
        elif name == "_format":
            continue  # checked for every request under /fhir/R4 (service.fhir_api.formats)
        elif name == "_sort":
            request.sort = [_sort_key(kind, key, lenient) for key in value.split(",") if key]
        elif name == "_elements":
            request.elements = [element.strip() for element in value.split(",") if element.strip()]
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
        elif base_name in kind.params and (not modifier or modifier in kind.params[base_name].modifiers):
            param = kind.params[base_name]
            alternatives = [param.clause(v, base_url, modifier) for v in split_or(value)]
            if not alternatives:
                raise FhirError(400, f"parameter '{name}' needs a value")
            request.filters.append(or_(*alternatives))
        elif lenient:
            continue
        elif base_name in kind.params:
            raise FhirError(400, f"the modifier ':{modifier}' is not supported on '{base_name}'", code="not-supported")
        else:
            supported = ", ".join(sorted(CONTROL - {"_cursor"} | set(kind.params)))
            raise FhirError(
                400, f"unknown search parameter '{name}' for {kind.name} (supported: {supported})", code="not-supported"
            )
        request.applied.append((name, value))
    return request


def sortable(kind: ResourceKind) -> dict[str, Any]:
    """The `_sort` keys of `kind` and the columns they order by."""
    keys = {"_id": kind.model.id, "_lastUpdated": kind.last_updated}
    return keys | {name: param.sort for name, param in kind.params.items() if param.sort is not None}


def _sort_key(kind: ResourceKind, key: str, lenient: bool) -> tuple[Any, bool]:
    # https://hl7.org/fhir/R4/search.html#sort: a leading "-" sorts descending.
    name = key.strip().removeprefix("-")
    columns = sortable(kind)
    if name not in columns:
        raise FhirError(400, f"_sort by '{name}' is not supported on {kind.name} (supported: {', '.join(columns)})")
    return columns[name], key.strip().startswith("-")


def count_param(value: str) -> int:
    count = ascii_int(value)
    if count is None or count < 0:
        raise FhirError(400, f"_count must be a non-negative integer, got '{value}'")
    return min(count, MAX_COUNT)


def _base_query(request: SearchRequest, visible: ColumnElement[bool]) -> Select[Any]:
    kind = request.kind
    query = select(kind.model).where(visible, *request.filters)
    if kind.name == "CareTeam":
        query = query.where(CARE_TEAM_EXISTS)
    return query


def execute(
    session: Session,
    ctx: AccessContext,
    request: SearchRequest,
    visible: ColumnElement[bool],
    *,
    visible_per_row: ColumnElement[bool] | None = None,
) -> SearchResult:
    """Run `request` over the rows matching `visible` (the caller's tenancy filter). `visible_per_row`:
    the same filter shaped for reading a page (`policy.visible_rows(per_row=True)`); counts use `visible`."""
    model = request.kind.model
    query = _base_query(request, visible)
    if request.count_only:
        return SearchResult([], {}, _total(session, query, model), None)
    page_query = query if visible_per_row is None else _base_query(request, visible_per_row)
    if request.sort:
        offset = offset_param(request.cursor)
        order = [column.desc() if descending else column.asc() for column, descending in request.sort]
        # The id breaks ties in the last key's direction, so an index on (column, id) serves the
        # order read forwards or backwards (the _lastUpdated indexes, migration 3e1f0a7c9b24).
        tie = model.id.desc() if request.sort[-1][1] else model.id.asc()
        page = page_query.order_by(*order, tie).offset(offset)
        rows = list(session.scalars(page.limit(request.count + 1)))
        next_cursor = f"+{offset + request.count}" if len(rows) > request.count else None
    else:
        page = page_query if request.cursor is None else page_query.where(model.id > request.cursor)
        rows = list(session.scalars(page.order_by(model.id).limit(request.count + 1)))
        next_cursor = rows[request.count - 1].id if len(rows) > request.count else None
    matches = rows[: request.count]
    total: int | None = None
    if request.accurate_total:
        total = _total(session, query, model)
    elif request.cursor is None and next_cursor is None:
        total = len(matches)
    included: dict[str, list[Any]] = {}
    for value in request.includes:
        if value == CARE_TEAM_MEMBERS:
            if policy.allows(ctx, "PractitionerRole", "r") and matches:
                ids = [row.id for row in matches]
                included["PractitionerRole"] = list(directory.care_team_roles(session, ctx, ids))
            continue
        _add(included, _related(session, ctx, value, matches, reverse=False))
    for value in request.revincludes:
        if value == PROVENANCE_TARGET:
            if policy.allows(ctx, "Provenance", "r") and matches:
                ids = [row.id for row in matches]
                included["Provenance"] = directory.changes_of(session, request.kind.name, ids)
            continue
        _add(included, _related(session, ctx, value, matches, reverse=True))
    return SearchResult(matches, included, total, next_cursor)


def _total(session: Session, query: Select[Any], model: Any) -> int:
    return session.scalar(select(func.count()).select_from(query.with_only_columns(model.id).subquery())) or 0


def offset_param(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.startswith("+") or not cursor[1:].isdigit():
        raise FhirError(400, "_cursor of a sorted search is '+' and an offset, as in the next link")
    return int(cursor[1:])


def subset(resource: dict[str, Any], elements: list[str]) -> dict[str, Any]:
    """`resource` with only `elements` (and the mandatory ones), marked SUBSETTED
    (https://hl7.org/fhir/R4/search.html#elements)."""
    kept = {key: value for key, value in resource.items() if key in {"resourceType", "id", "meta", *elements}}
    meta = dict(kept.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    return {**kept, "meta": meta}


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
    visible = visible_rows(ctx, added_type, per_row=True)
    query = select(model).where(where, visible).order_by(model.id).limit(MAX_REVINCLUDED)
    return added_type, list(session.scalars(query))


def page_link(base_url: str, path: str, request: SearchRequest, cursor: str | None) -> str:
    params = list(request.applied)
    if cursor is not None:
        params.append(("_cursor", cursor))
    query = urlencode(params)
    return f"{base_url}/{path}" + (f"?{query}" if query else "")
