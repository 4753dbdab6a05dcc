"""Bulk Data `$export` (https://hl7.org/fhir/uv/bulkdata/export.html) and `Group` read.

Kick-off at `/$export`, `/Patient/$export` and `/Group/<id>/$export` (a Group is a payer's
member roster, named by the payer organisation's id) answers 202 with Content-Location; the
status URL answers 202 + Retry-After + X-Progress while running, 200 + manifest when done, and
DELETE cancels. Files are served only to the client whose token started the export.
"""

from __future__ import annotations

from datetime import datetime

import orjson
from flask import Blueprint, Response, request, send_file

from service.app import request_session, writes_on_get
from service.auth import policy
from service.auth.audit import record_access_now
from service.fhir_api import install_error_handlers
from service.fhir_api.guard import authorize, bearer_access
from service.fhir_api.outcome import FhirError, fhir_response, operation_outcome, outcome_json
from service.fhir_api.subscriptions_http import fhir_base, use_case_errors
from service.tasks.export import run_export
from service.tasks.sending import send_after_commit
from service.usecases import bulk_export
from service.usecases.bulk_export import ExportRequest

PREFIX = "/fhir/R4"
bp = Blueprint("fhir_bulk", __name__, url_prefix=PREFIX)
install_error_handlers(bp)

NDJSON_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
UNSUPPORTED = ("_typeFilter", "_elements", "patient", "includeAssociatedData")
RETRY_AFTER_SECONDS = "2"


@bp.get("/$export")
@writes_on_get
def export_system() -> Response:
    return _kick_off("system", None)


@bp.get("/Patient/$export")
@writes_on_get
def export_patients() -> Response:
    return _kick_off("patient", None)


@bp.get("/Group/<group_id>/$export")
@writes_on_get
def export_group(group_id: str) -> Response:
    return _kick_off("group", group_id)


def _kick_off(level: str, group_id: str | None) -> Response:
    ctx = bearer_access()
    # https://hl7.org/fhir/uv/bulkdata/export.html#headers: respond-async is required.
    if "respond-async" not in request.headers.get("Prefer", ""):
        raise FhirError(400, "bulk export is asynchronous only: send 'Prefer: respond-async'")
    output_format = request.args.get("_outputFormat", "application/fhir+ndjson")
    if output_format not in NDJSON_FORMATS:
        raise FhirError(400, f"_outputFormat {output_format!r} is not supported; use application/fhir+ndjson")
    for name in UNSUPPORTED:
        if name in request.args:
            raise FhirError(400, f"the {name} parameter is not supported", code="not-supported")
    types = tuple(t for value in request.args.getlist("_type") for t in value.split(",") if t)
    unknown = sorted(set(types) - set(bulk_export.EXPORT_TYPES))
    if unknown:
        # https://hl7.org/fhir/uv/bulkdata/export.html#query-parameters (_type): an unsupported type is an error.
        raise FhirError(400, f"carebridge does not export {', '.join(unknown)}", code="not-supported")
    refused = [t for t in types if not policy.allows(ctx, t, "r")]
    if refused:
        raise FhirError(403, f"the token's scopes do not permit reading {', '.join(refused)}")
    export = ExportRequest(level, types, _since(), _kick_off_url(), group_id)
    with use_case_errors():
        job = bulk_export.kick_off(request_session(), ctx, export)
    if not job.types:
        raise FhirError(403, "the token's scopes permit reading none of the exported resource types")
    send_after_commit(run_export, job.id)  # the job is saved: beat starts it should the broker be away
    # https://hl7.org/fhir/uv/bulkdata/export.html#response---success: "Optionally, a FHIR
    # OperationOutcome resource in the body in JSON format"; an empty text/html body confused clients.
    return fhir_response(
        outcome_json("informational", f"export {job.id} accepted", severity="information"),
        202,
        {"Content-Location": f"{fhir_base()}/$export-status/{job.id}"},
    )


def _kick_off_url() -> str:
    """The kick-off URL as the client sent it: the manifest's `request` must be byte-identical
    (https://hl7.org/fhir/uv/bulkdata/export.html#response---complete-status), so the raw request
    line is used, not Flask's percent-decoded and re-encoded `request.url`."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    prefix = request.script_root + PREFIX
    if raw and raw.startswith(prefix):
        return fhir_base() + raw[len(prefix) :]
    query = request.query_string.decode("latin-1")
    return fhir_base() + request.path.removeprefix(PREFIX) + (f"?{query}" if query else "")


def _since() -> datetime | None:
    raw = request.args.get("_since")
    if raw is None:
        return None
    try:
        since = datetime.fromisoformat(raw)
    except ValueError:
        raise FhirError(400, f"_since {raw!r} is not a FHIR instant", expression=["_since"]) from None
    if since.tzinfo is None:
        raise FhirError(400, "_since needs a time zone (a FHIR instant)", expression=["_since"])
    return since


@bp.get("/$export-status/<job_id>")
def export_status(job_id: str) -> Response:
    ctx = bearer_access()
    with use_case_errors():
        job = bulk_export.job_for(request_session(), ctx, job_id)
    if job.status in ("accepted", "in-progress"):
        return Response(status=202, headers={"Retry-After": RETRY_AFTER_SECONDS, "X-Progress": job.progress})
    if job.status == "failed":
        return operation_outcome(500, "exception", f"the export failed: {job.error}")
    # The manifest is plain JSON, not a FHIR resource
    # (https://hl7.org/fhir/uv/bulkdata/export.html#response---complete-status: application/json).
    return Response(orjson.dumps(bulk_export.manifest(job, fhir_base())), mimetype="application/json")


@bp.delete("/$export-status/<job_id>")
def export_cancel(job_id: str) -> Response:
    ctx = bearer_access()
    with use_case_errors():
        bulk_export.cancel(request_session(), ctx, job_id, bulk_export.export_dir())
    return Response(status=202)


@bp.get("/$export-file/<job_id>/<name>")
def export_file(job_id: str, name: str) -> Response:
    """https://hl7.org/fhir/uv/bulkdata/export.html#file-request: requiresAccessToken is true,
    and only the kick-off's client may fetch."""
    ctx = bearer_access()
    session = request_session()
    with use_case_errors():
        path = bulk_export.file_path(bulk_export.job_for(session, ctx, job_id), name, bulk_export.export_dir())
    record_access_now(session, ctx, action="R", interaction="export-file", description=f"export {job_id} {name}")
    return send_file(path, mimetype="application/fhir+ndjson", conditional=False)


@bp.get("/Group/<group_id>")
def read_group(group_id: str) -> Response:
    ctx = authorize("Group", "r")
    session = request_session()
    with use_case_errors():
        org, members = bulk_export.group_members(session, ctx, group_id)
    record_access_now(session, ctx, action="R", interaction="read", resource_type="Group", resource_id=group_id)
    return fhir_response(group_json(org.id, org.name, members))


def group_json(group_id: str, payer_name: str, member_ids: list[str]) -> dict[str, object]:
    """A payer's roster as an actual Group of persons (https://hl7.org/fhir/R4/group.html)."""
    return {
        "resourceType": "Group",
        "id": group_id,
        "type": "person",
        "actual": True,
        "name": f"{payer_name} members",
        "managingEntity": {"reference": f"Organization/{group_id}"},
        "quantity": len(member_ids),
        "member": [{"entity": {"reference": f"Patient/{pid}"}} for pid in member_ids],
    }
