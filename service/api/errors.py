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

from service.failures import log_unexpected
from service.usecases.errors import UseCaseError

log = logging.getLogger(__name__)


def envelope(code: int, message: str, errors: dict[str, Any] | None = None) -> tuple[Any, int]:
    body: dict[str, Any] = {"code": code, "status": HTTPStatus(code).phrase, "message": message}
    if errors:
        body["errors"] = errors
    return jsonify(body), code


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(UseCaseError)
    def _use_case(exc: UseCaseError) -> tuple[Any, int]:
        return envelope(exc.status, exc.message, exc.details)

    @app.errorhandler(StaleDataError)
    def _stale(_exc: StaleDataError) -> tuple[Any, int]:
        return envelope(409, "The record was changed by someone else at the same time; reload it and try again.")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Any, int]:
        if isinstance(exc, HTTPException):
            return envelope(exc.code or 500, exc.description or HTTPStatus(exc.code or 500).phrase)
        # Never echo internals (or patient data) to the caller; the log has the trace, without values.
        log_unexpected(log, exc)
        return envelope(500, "carebridge could not complete the request; it has been logged.")
