"""OperationOutcome answers (https://hl7.org/fhir/R4/operationoutcome.html), always as
`application/fhir+json`, and the exception FHIR handlers raise to send one."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response

FHIR_JSON = "application/fhir+json"

# https://hl7.org/fhir/R4/valueset-issue-type.html, by HTTP status.
_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    415: "not-supported",
    422: "processing",
    500: "exception",
}


def fhir_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status=status, headers=headers, mimetype=FHIR_JSON)


def outcome_json(code: str, diagnostics: str, expression: list[str] | None = None, severity: str = "error") -> Any:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = expression
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def operation_outcome(
    status: int,
    code: str | None,
    diagnostics: str,
    expression: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An OperationOutcome response; `code` defaults to the issue type usual for `status`."""
    body = outcome_json(code or _ISSUE_CODES.get(status, "processing"), diagnostics, expression)
    return fhir_response(body, status, headers)


class FhirError(Exception):
    """Raised anywhere under /fhir/R4; the blueprint renders it with `operation_outcome`."""

    def __init__(
        self,
        status: int,
        diagnostics: str,
        *,
        code: str | None = None,
        expression: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.diagnostics = diagnostics
        self.code = code
        self.expression = expression
        self.headers = headers or {}

    def response(self) -> Response:
        return operation_outcome(self.status, self.code, self.diagnostics, self.expression, self.headers)
