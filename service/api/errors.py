"""One JSON error envelope for the REST API, the same shape flask-smorest uses for its own errors.

``{"code": 409, "status": "Conflict", "message": "...", "errors": {...}}``
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, jsonify
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from service.auth.tokens import challenge
from service.failures import log_unexpected
from service.usecases.errors import Forbidden, Unauthenticated, UseCaseError

log = logging.getLogger(__name__)


def envelope(code: int, message: str, errors: dict[str, Any] | None = None) -> tuple[Any, int]:
    body: dict[str, Any] = {"code": code, "status": HTTPStatus(code).phrase, "message": message}
    if errors:
        body["errors"] = errors
    return jsonify(body), code


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(UseCaseError)
    def _use_case(exc: UseCaseError) -> Any:
        body, status = envelope(exc.status, exc.message, exc.details)
        if isinstance(exc, Unauthenticated):
            return body, status, challenge(exc.error, exc.message if exc.error else None)
        if isinstance(exc, Forbidden) and exc.insufficient_scope:
            return body, status, challenge("insufficient_scope")
        return body, status

    @app.errorhandler(StaleDataError)
    def _stale(_exc: StaleDataError) -> tuple[Any, int]:
        return envelope(409, "The record was changed by someone else at the same time; reload it and try again.")

    # Replaces flask-smorest's handler: every answer gets a message, and the exception's own
    # headers (405's Allow, https://www.rfc-editor.org/rfc/rfc9110#section-15.5.6) are kept.
    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[Any, int]:
        code = exc.code or 500
        data: dict[str, Any] = getattr(exc, "data", None) or {}
        errors = data.get("errors") or data.get("messages")
        message = data.get("message") or _summary(errors) or exc.description or HTTPStatus(code).phrase
        response, status = envelope(code, message, errors)
        for name, value in [*exc.get_headers(), *(data.get("headers") or {}).items()]:
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Any, int]:
        # Never echo internals (or patient data) to the caller; the log has the trace, without values.
        log_unexpected(log, exc)
        return envelope(500, "carebridge could not complete the request; it has been logged.")


def _summary(errors: Any) -> str | None:
    """webargs' {"json": {"family_name": ["..."]}} as "Invalid json.family_name: ..." (first few fields)."""
    if not isinstance(errors, dict):
        return None
    problems = []
    for location, fields in errors.items():
        if isinstance(fields, dict):
            problems += [f"{location}.{name}: {_first(value)}" for name, value in fields.items()]
    return "Invalid " + "; ".join(problems[:5]) if problems else None


def _first(value: Any) -> str:
    while isinstance(value, dict) and value:
        value = next(iter(value.values()))
    if isinstance(value, list) and value:
        return str(value[0]) if not isinstance(value[0], dict | list) else _first(value[0])
    return str(value)
