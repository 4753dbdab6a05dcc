"""The discharge planner's worklist page and its self-refreshing table fragment (htmx polling)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import current_app, redirect, render_template, request, url_for

from service import clock
from service.app import request_session, runtime
from service.limits import ascii_int
from service.usecases import access, saved_filters
from service.usecases.worklist import SORTS, WorklistFilter, WorklistRow, worklist, worklist_choices
from service.web.blueprint import blueprint
from service.web.formatting import user_zone
from service.web.forms import optional_date
from service.web.session import current_user, principal, requires

REFRESH_SECONDS = 30
# Sorted pages are read by offset; a page number past this would only make the database skip rows.
LAST_PAGE = 10_000


@dataclass(frozen=True)
class Query:
    """The worklist's query string, parsed: filters, sort and page."""

    filters: WorklistFilter
    sort: str
    descending: bool
    cursor: str | None
    page: int

    @property
    def keyset(self) -> bool:
        """The use case's own order (EDD ascending) pages by cursor; other sorts by page number."""
        return self.sort == "edd" and not self.descending


def parse_query(hospital_id: str) -> Query:
    sort = request.args.get("sort", "edd")
    page = min(LAST_PAGE, max(1, ascii_int(request.args.get("page")) or 1))
    return Query(
        filters=WorklistFilter(
            unit=request.args.get("unit") or None,
            planner_id=request.args.get("planner") or None,
            hospital_id=hospital_id,
            edd_from=optional_date(request.args, "from"),
            edd_to=optional_date(request.args, "to"),
            has_overdue=request.args.get("overdue") == "1",
        ),
        sort=sort if sort in SORTS else "edd",
        descending=request.args.get("dir") == "desc",
        cursor=request.args.get("cursor") or None,
        page=page,
    )


def load_rows(query: Query, page_size: int) -> tuple[list[WorklistRow], str | None, bool]:
    """(rows, next cursor, has next page)."""
    db, user, ctx = request_session(), current_user(), principal()
    page = worklist(
        db,
        now=clock.now(),
        tz=user_zone(user.time_zone),
        filters=query.filters,
        limit=page_size,
        cursor=query.cursor if query.keyset else None,
        ctx=ctx,
        sort=query.sort,
        descending=query.descending,
        offset=(query.page - 1) * page_size,
    )
    access.listed(ctx, "Encounter", [row.stay.patient_id for row in page.rows])
    return page.rows, page.next_cursor, page.has_more


def _table_context() -> dict[str, Any]:
    user = current_user()
    query = parse_query(user.organization_id)
    rows, next_cursor, has_next = load_rows(query, runtime_page_size())
    args = {k: v for k, v in request.args.items() if k not in ("cursor", "page")}
    return {
        "rows": rows,
        "query": query,
        "args": args,
        "next_cursor": next_cursor,
        "has_next": has_next,
        "refresh_seconds": REFRESH_SECONDS,
        "refreshed_at": clock.now(),
    }


def runtime_page_size() -> int:
    return runtime(current_app).settings.worklist_page_size


@blueprint.get("/worklist")
@requires("Encounter", "u")
def worklist_page() -> str:
    db, user = request_session(), current_user()
    units, planners = worklist_choices(db, user.organization_id)
    return render_template(
        "worklist.html",
        units=units,
        planners=planners,
        saved=saved_filters.list_for(db, user.id),
        current_query=urlencode(list(request.args.items())),
        **_table_context(),
    )


@blueprint.post("/worklist/filters")
@requires("Encounter", "u")
def save_filter() -> Any:
    saved = saved_filters.save(
        request_session(), current_user().id, name=request.form.get("name", ""), query=request.form.get("query", "")
    )
    return redirect(url_for("web.worklist_page") + ("?" + saved.query if saved.query else ""), code=303)


@blueprint.post("/worklist/filters/<filter_id>/delete")
@requires("Encounter", "u")
def delete_filter(filter_id: str) -> Any:
    saved_filters.delete(request_session(), current_user().id, filter_id)
    return redirect(url_for("web.worklist_page"), code=303)


@blueprint.get("/worklist/table")
@requires("Encounter", "u")
def worklist_table() -> str:
    return render_template("_worklist_table.html", **_table_context())
