"""carebridge's own FHIR R4 API at `/fhir/R4` (JSON only, `application/fhir+json`).

The blueprint `bp` serves metadata, SMART discovery, read/vread/search of CarePlan, Goal,
ServiceRequest, Task, CareTeam, Encounter and Patient, Task updates, and AuditEvent search.
Every handler starts with `service.fhir_api.guard.authorize(resource_type, interaction)`, which
returns the caller's `AccessContext`; every error is an OperationOutcome (`outcome.FhirError`).

Part B (subscriptions, bulk export, messaging) registers its own blueprint with
`url_prefix="/fhir/R4"`, uses `authorize(...)`, `service.auth.policy` and
`service.auth.audit.record_access(...)`, and raises `FhirError` (rendered app-wide); calling
`install_error_handlers(its_blueprint)` makes its other errors OperationOutcomes too.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from service.failures import log_unexpected
from service.fhir_api.outcome import FhirError, operation_outcome

PREFIX = "/fhir/R4"
bp = Blueprint("fhir_api", __name__, url_prefix=PREFIX)
log = logging.getLogger(__name__)


def register_fhir_api(app: Flask) -> None:
    """Mount the FHIR API and carebridge's authorization server on `app`."""
    from service.auth.endpoints import auth_bp
    from service.fhir_api import binary, directory, docref, routes, screenings  # noqa: F401  (register the handlers on bp)

    install_error_handlers(bp)
    app.register_blueprint(bp)
    app.register_blueprint(auth_bp)
    # FhirError may come from any blueprint under /fhir/R4 (part B's too): render it everywhere.
    app.register_error_handler(FhirError, _fhir_error)


def install_error_handlers(blueprint: Blueprint) -> None:
    """Make every error raised in `blueprint`'s views an OperationOutcome (never the REST envelope),
    and apply the FHIR API's one `_format`/Accept rule to its requests (service.fhir_api.formats).

    Idempotent: apps are created many times (tests), a blueprint is set up once.
    """
    if HTTPException in blueprint.error_handler_spec[None][None]:
        return
    from service.fhir_api.formats import check_format

    blueprint.before_request(check_format)
    blueprint.register_error_handler(HTTPException, _http_error)
    blueprint.register_error_handler(Exception, _unexpected)


def _fhir_error(error: FhirError) -> Response:
    return error.response()


def _http_error(error: HTTPException) -> Response:
    return operation_outcome(error.code or 500, None, error.description or error.name)


def _unexpected(error: Exception) -> Response:
    if isinstance(error, FhirError):
        return error.response()
    if isinstance(error, HTTPException):
        return _http_error(error)
    # Never echo internals (or patient data) to the caller; the log has the trace, without values.
    log_unexpected(log, error)
    return operation_outcome(500, "exception", "carebridge could not complete the request; it has been logged.")


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


@bp.route("/<path:unknown>", methods=list(_METHODS))
def unknown_path(unknown: str) -> Response:
    """Paths no FHIR route serves: an OperationOutcome rather than the REST API's error envelope.
    A path served with other methods answers 405 with `Allow` (https://hl7.org/fhir/R4/http.html:
    an interaction the server does not support on a resource it serves)."""
    allowed = _allowed_methods(request.path)
    if allowed:
        raise FhirError(
            405,
            f"{request.method} is not supported on [base]/{unknown} (allowed: {', '.join(allowed)})",
            code="not-supported",
            headers={"Allow": ", ".join(allowed)},
        )
    raise FhirError(404, f"carebridge does not serve {request.method} [base]/{unknown}", code="not-supported")


def _allowed_methods(path: str) -> list[str]:
    return [method for method in _METHODS if endpoint_for(current_app, method, path) is not None]


def endpoint_for(app: Flask, method: str, path: str) -> str | None:
    """The endpoint serving `method` on `path`, None when only the catch-all would."""
    try:
        endpoint, _ = app.url_map.bind("localhost").match(path, method=method)
    except (HTTPException, RequestRedirect):
        return None
    return None if endpoint == f"{bp.name}.unknown_path" else str(endpoint)
