"""The FHIR interactions served on `bp`: metadata, SMART discovery, read (conditional on
If-None-Match / If-Modified-Since), vread, history, search (GET and POST `_search`), Task update
and AuditEvent search. Every interaction on patient data is audited (service.auth.audit),
whatever its outcome.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import orjson
from flask import Response, current_app, request
from werkzeug.datastructures import MultiDict
from werkzeug.http import http_date, parse_date

from service import clock
from service.app import reads_only, request_session, runtime
from service.auth import tokens
from service.auth.audit import OUTCOME_MINOR, Action, record_access_now, record_accesses_now
from service.auth.context import AccessContext
from service.auth.policy import can_see_access_event, visible_access_events, visible_row, visible_rows
from service.fhir_api import bp
from service.fhir_api.capability import capability_statement, served_by, smart_configuration
from service.fhir_api.guard import authorize
from service.fhir_api.history import instance_history, render_version
from service.fhir_api.history import type_history as type_history_page
from service.fhir_api.incoming import resource_body
from service.fhir_api.outcome import FhirError, fhir_response
from service.fhir_api.resources import AUDIT_EVENT, KINDS, ResourceKind
from service.fhir_api.search import (
    DEFAULT_COUNT,
    SearchRequest,
    count_param,
    execute,
    offset_param,
    page_link,
    parse,
    subset,
)
from service.fhir_api.task_update import update_task
from service.fhir_bridge import (
    audit_event_json,
    history_bundle,
    practitioner_role_json,
    provenance_json,
    render,
    searchset,
    version_of,
)
from service.limits import ascii_int, etag_version
from service.models.audit_events import AccessEvent

TYPES = "any(" + ", ".join(sorted(KINDS)) + "):resource_type"
SOFTWARE_VERSION = "0.1.0"


def _base() -> str:
    return tokens.fhir_base(runtime(current_app).settings)


def _audit(ctx: AccessContext, action: Action, interaction: str, resource_type: str, **fields: Any) -> None:
    record_access_now(
        request_session(), ctx, action=action, interaction=interaction, resource_type=resource_type, **fields
    )


@bp.get("/metadata")
def metadata() -> Response:
    settings = runtime(current_app).settings
    served = served_by(current_app)
    body = capability_statement(
        _base(), tokens.token_endpoint(settings), SOFTWARE_VERSION, clock.now().isoformat(), served
    )
    return fhir_response(body)


@bp.get("/.well-known/smart-configuration")
def smart_config() -> Response:
    settings = runtime(current_app).settings
    body = smart_configuration(
        issuer=tokens.issuer(settings),
        token_url=tokens.token_endpoint(settings),
        authorize_url=tokens.authorize_endpoint(settings),
        jwks_url=settings.public_url.rstrip("/") + "/.well-known/jwks.json",
    )
    # SMART discovery is plain JSON (https://hl7.org/fhir/smart-app-launch/conformance.html#using-well-known).
    return Response(orjson.dumps(body), mimetype="application/json")


def _visible_row(ctx: AccessContext, kind: ResourceKind, ident: str, interaction: str) -> Any:
    """The row, or 404 when it does not exist or `ctx` may not see it (never leak existence)."""
    row = visible_row(request_session(), ctx, kind.name, ident)
    if row is None:
        _audit(ctx, "R", interaction, kind.name, resource_id=ident, outcome=OUTCOME_MINOR, description="not found")
        raise FhirError(404, f"{kind.name}/{ident} is not known")
    return row


def resource_response(resource: dict[str, Any], status: int = 200) -> Response:
    meta = resource["meta"]
    headers = {
        "ETag": f'W/"{meta["versionId"]}"',
        "Last-Modified": http_date(_instant(meta["lastUpdated"])),
        "Location": f"{_base()}/{resource['resourceType']}/{resource['id']}/_history/{meta['versionId']}",
    }
    return fhir_response(resource, status, headers)


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _patient_of(kind: ResourceKind, row: Any) -> str | None:
    value = getattr(row, kind.patient_column.key, None)
    return str(value) if value is not None else None


@bp.get(f"/<{TYPES}>/<ident>")
@reads_only
def read(resource_type: str, ident: str) -> Response:
    kind = KINDS[resource_type]
    ctx = authorize(resource_type, "r")
    row = _visible_row(ctx, kind, ident, "read")
    [resource] = render(request_session(), resource_type, [row], ctx)
    _audit(ctx, "R", "read", resource_type, resource_id=ident, patient_id=_patient_of(kind, row))
    response = resource_response(resource)
    if _not_modified(resource["meta"]):
        # https://hl7.org/fhir/R4/http.html#cread: 304 with the validators, without the body.
        return Response(status=304, headers={k: response.headers[k] for k in ("ETag", "Last-Modified")})
    return response


def _not_modified(meta: dict[str, Any]) -> bool:
    tags = request.headers.get("If-None-Match")
    if tags is not None:
        # Weak comparison (RFC 9110 s13.1.2): W/"3" and "3" name the same version.
        wanted = {tag.strip().removeprefix("W/").strip('"') for tag in tags.split(",")}
        return "*" in wanted or meta["versionId"] in wanted
    since = parse_date(request.headers.get("If-Modified-Since"))
    # HTTP dates have whole seconds: a change within the same second as `since` is not "after" it.
    return since is not None and _instant(meta["lastUpdated"]).replace(microsecond=0) <= since


@bp.get(f"/<{TYPES}>/<ident>/_history/<vid>")
@reads_only
def vread(resource_type: str, ident: str, vid: str) -> Response:
    kind = KINDS[resource_type]
    ctx = authorize(resource_type, "r")
    row = _visible_row(ctx, kind, ident, "vread")
    session = request_session()
    resource = None
    version = ascii_int(vid)
    if version is not None:
        current = version_of(session, resource_type, row)
        if version == current:
            [resource] = render(session, resource_type, [row], ctx)
        elif 0 < version < current and resource_type != "CareTeam":
            resource = render_version(session, resource_type, kind.model, row, version, ctx)
    if resource is None:
        _audit(ctx, "R", "vread", resource_type, resource_id=ident, outcome=OUTCOME_MINOR, description="no version")
        raise FhirError(404, f"{resource_type}/{ident} has no version '{vid}'")
    _audit(ctx, "R", "vread", resource_type, resource_id=f"{ident}/_history/{vid}", patient_id=_patient_of(kind, row))
    return resource_response(resource)


def lenient() -> bool:
    # https://hl7.org/fhir/R4/http.html#Prefer handling=strict|lenient
    return any(
        part.strip() == "handling=lenient" for part in request.headers.get("Prefer", "").replace(";", ",").split(",")
    )


def _bundle(kind: ResourceKind, search: SearchRequest, result: Any, matches: list[Any], included: list[Any]) -> Any:
    base = _base()
    return searchset(
        matches,
        included,
        base_url=base,
        self_link=page_link(base, kind.name, search, search.cursor),
        next_link=page_link(base, kind.name, search, result.next_cursor) if result.next_cursor else None,
        total=result.total,
    )


@bp.get(f"/<{TYPES}>/<ident>/_history")
@reads_only
def history(resource_type: str, ident: str) -> Response:
    kind = KINDS[resource_type]
    ctx = authorize(resource_type, "r")
    row = _visible_row(ctx, kind, ident, "history-instance")
    session = request_session()
    versions = instance_history(session, resource_type, kind.model, row, version_of(session, resource_type, row), ctx)
    _audit(ctx, "R", "history-instance", resource_type, resource_id=ident, patient_id=_patient_of(kind, row))
    link = f"{_base()}/{resource_type}/{ident}/_history"
    bundle = history_bundle(versions, base_url=_base(), self_link=link, next_link=None, total=len(versions))
    return fhir_response(bundle)


@bp.get(f"/<{TYPES}>/_history")
@reads_only
def type_history(resource_type: str) -> Response:
    """Every version of the type's resources the caller may see, most recent change first
    (`_since`, `_count`; paged by offset). A CareTeam, derived from its members, has only its
    current version (as in its instance history)."""
    kind = KINDS[resource_type]
    ctx = authorize(resource_type, "s")
    session = request_session()
    since, count, offset, applied = _history_args()
    visible = visible_rows(ctx, resource_type)
    if resource_type == "CareTeam":
        args = MultiDict([("_sort", "-_lastUpdated"), ("_count", str(count)), ("_cursor", f"+{offset}")])
        if since is not None:
            args.add("_lastUpdated", f"ge{since}")
        result = execute(session, ctx, parse(kind, args, base_url=_base(), lenient=False), visible)
        rendered = render(session, resource_type, result.matches, ctx)
        versions, more = list(zip(result.matches, rendered, strict=True)), result.next_cursor is not None
    else:
        versions, more = type_history_page(
            session, resource_type, kind.model, visible, reader=ctx, since=since, offset=offset, count=count
        )
    patients = sorted({p for p in (_patient_of(kind, row) for row, _ in versions) if p})
    record_accesses_now(
        session, ctx, patients or [None], action="R", interaction="history-type", resource_type=resource_type
    )
    link = f"{_base()}/{resource_type}/_history"
    bundle = history_bundle(
        [resource for _, resource in versions],
        base_url=_base(),
        self_link=_history_link(link, applied, offset),
        next_link=_history_link(link, applied, offset + count) if more else None,
        total=len(versions) if offset == 0 and not more else None,
    )
    return fhir_response(bundle)


def _history_args() -> tuple[str | None, int, int, list[tuple[str, str]]]:
    """`_since`, `_count`, the page offset (`_cursor=+N`) of a type history request, and the
    parameters its links repeat (https://hl7.org/fhir/R4/http.html#history)."""
    since, count, offset, applied = None, DEFAULT_COUNT, 0, []
    for name, value in request.args.items(multi=True):
        if name == "_since":
            since = value
        elif name == "_count":
            count = count_param(value) or DEFAULT_COUNT
        elif name == "_cursor":
            offset = offset_param(value)
            continue
        elif name == "_format" or lenient():
            continue
        else:
            raise FhirError(400, f"'{name}' is not a type history parameter (use _since, _count)", code="not-supported")
        applied.append((name, value))
    return since, count, offset, applied


def _history_link(link: str, applied: list[tuple[str, str]], offset: int) -> str:
    params = [*applied, ("_cursor", f"+{offset}")] if offset else applied
    return link + (f"?{urlencode(params)}" if params else "")


def _search_args() -> MultiDict[str, str]:
    """GET's query string, or POST `_search`'s form body with it (https://hl7.org/fhir/R4/http.html#search)."""
    if request.method != "POST":
        return request.args
    if request.mimetype != "application/x-www-form-urlencoded":
        raise FhirError(415, "POST _search takes an application/x-www-form-urlencoded body", code="not-supported")
    return MultiDict([*request.args.items(multi=True), *request.form.items(multi=True)])


@bp.get(f"/<{TYPES}>")
@bp.post(f"/<{TYPES}>/_search")
@reads_only
def search(resource_type: str) -> Response:
    ctx = authorize(resource_type, "s")
    return searchset_response(ctx, resource_type, _search_args(), "search-type", lenient=lenient())


def searchset_response(
    ctx: AccessContext, resource_type: str, args: MultiDict[str, str], interaction: str, *, lenient: bool
) -> Response:
    """The searchset of `args` on `resource_type`, as far as the policy lets the caller see, audited
    as one access per patient touched (`interaction`: search-type, or operation for a `$` that is
    a search underneath, like DocumentReference/$docref)."""
    kind = KINDS[resource_type]
    session = request_session()
    query = parse(kind, args, base_url=_base(), lenient=lenient)
    visible = visible_rows(ctx, resource_type)
    result = execute(session, ctx, query, visible, visible_per_row=visible_rows(ctx, resource_type, per_row=True))
    matches = render(session, resource_type, result.matches, ctx)
    if query.elements is not None:
        matches = [subset(resource, query.elements) for resource in matches]
    included = [r for t, rows in result.included.items() for r in _render_included(session, ctx, t, rows)]
    patients = {_patient_of(kind, row) for row in result.matches} | {
        _patient_of(KINDS[t], row) for t, rows in result.included.items() if t in KINDS for row in rows
    }
    names = "&".join(dict.fromkeys(name for name, _ in query.applied))  # names only: no data in the audit
    touched: list[str | None] = [*sorted(p for p in patients if p)]
    record_accesses_now(
        session, ctx, touched or [None], action="E", interaction=interaction, resource_type=resource_type,
        query=names or None,
    )  # fmt: skip
    return fhir_response(_bundle(kind, query, result, matches, included))


def _render_included(session: Any, ctx: AccessContext, resource_type: str, rows: list[Any]) -> list[dict[str, Any]]:
    # Provenances are the changes of the matches (usecases.directory.Change), not rows of a model.
    if resource_type == "Provenance":
        return [provenance_json(change) for change in rows]
    if resource_type == "PractitionerRole":  # care-team members' roles: users, not case records
        return [practitioner_role_json(user) for user in rows]
    return render(session, resource_type, rows, ctx)


@bp.put("/Task/<ident>")
def update(ident: str) -> Response:
    kind = KINDS["Task"]
    ctx = authorize("Task", "u")
    proposed = resource_body("Task")
    if proposed.get("id") != ident:
        raise FhirError(400, "the Task's id must match the URL (https://hl7.org/fhir/R4/http.html#update)")
    if_match = request.headers.get("If-Match")
    if if_match is None:
        # Version-aware updates only (CapabilityStatement versioning = versioned-update): a missing
        # If-Match is a failed precondition, 412 (https://hl7.org/fhir/R4/http.html#concurrency).
        raise FhirError(412, 'If-Match is required: send the ETag you read, e.g. W/"3"', code="required")
    expected = etag_version(if_match)
    row = _visible_row(ctx, kind, ident, "update")
    session = request_session()
    if expected is None or expected != row.version:
        raise FhirError(412, f"Task/{ident} is at version {row.version}, not {if_match}", code="conflict")
    [current] = render(session, "Task", [row], ctx)
    try:
        updated = update_task(session, ctx, row, current, proposed, expected)
    except FhirError as refused:
        _audit(ctx, "U", "update", "Task", resource_id=ident, patient_id=row.patient_id, outcome=OUTCOME_MINOR)
        raise refused
    [resource] = render(session, "Task", [updated], ctx)
    _audit(ctx, "U", "update", "Task", resource_id=ident, patient_id=updated.patient_id)
    return resource_response(resource)


@bp.get("/AuditEvent")
@bp.post("/AuditEvent/_search")
def audit_events() -> Response:
    ctx = authorize("AuditEvent", "s")
    session = request_session()
    query = parse(AUDIT_EVENT, _search_args(), base_url=_base(), lenient=lenient())
    result = execute(session, ctx, query, visible_access_events(ctx))
    base = _base()
    events = [audit_event_json(event, base_url=base) for event in result.matches]
    _audit(ctx, "E", "search-type", "AuditEvent", query="&".join(dict.fromkeys(n for n, _ in query.applied)) or None)
    return fhir_response(_bundle(AUDIT_EVENT, query, result, events, []))


@bp.get("/AuditEvent/<ident>")
def audit_event(ident: str) -> Response:
    ctx = authorize("AuditEvent", "r")
    session = request_session()
    event = session.get(AccessEvent, ident)
    if event is None or not can_see_access_event(ctx, event):
        _audit(ctx, "R", "read", "AuditEvent", resource_id=ident, outcome=OUTCOME_MINOR, description="not found")
        raise FhirError(404, f"AuditEvent/{ident} is not known")
    body = audit_event_json(event, base_url=_base())
    _audit(ctx, "R", "read", "AuditEvent", resource_id=ident, patient_id=event.patient_id)
    return fhir_response(body)
